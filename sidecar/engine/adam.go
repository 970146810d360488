package engine

import (
	"math"

	"github.com/cohortchain/cohort/sidecar/par"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// elementGrain is the least number of values an element-wise optimizer
// update gives a goroutine of its own.
const elementGrain = 1 << 15

// Optimizer updates weights in place from gradients.
type Optimizer interface {
	Step(w, g tensor.Set)
	// State is what the optimizer carries between steps, for checkpoints.
	State() OptimizerState
}

// Adam (Kingma & Ba) with bias correction. The powers of β are kept as
// running products, not computed with the platform's pow; sqrt is IEEE
// exact everywhere.
type Adam struct {
	LearningRate, Beta1, Beta2, Epsilon float32
	m, v                                tensor.Set
	p1, p2                              float64 // β1^t and β2^t
}

// NewAdam returns Adam with the usual β1 = 0.9, β2 = 0.999, ε = 1e-8.
func NewAdam(lr float32) *Adam {
	return &Adam{LearningRate: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
}

// Step updates w in place with gradients g, in canonical name order.
func (o *Adam) Step(w, g tensor.Set) {
	if o.m == nil {
		o.m, o.v, o.p1, o.p2 = tensor.Set{}, tensor.Set{}, 1, 1
	}
	// float64(…) rounds each product on its own: Go may otherwise fuse a
	// multiply and an add into one FMA (arm64 does), changing the bits.
	o.p1 = float64(o.p1 * float64(o.Beta1))
	o.p2 = float64(o.p2 * float64(o.Beta2))
	c1, c2 := float32(1-o.p1), float32(1-o.p2)
	for _, name := range g.Names() {
		gd := g[name].Data
		m, ok := o.m[name]
		if !ok {
			m = tensor.Tensor{Shape: g[name].Shape, Data: make([]float32, len(gd))}
			o.m[name] = m
			o.v[name] = tensor.Tensor{Shape: g[name].Shape, Data: make([]float32, len(gd))}
		}
		v, wd := o.v[name], w[name].Data
		// Each value is updated on its own, so splitting the range
		// between goroutines cannot change a bit.
		par.Range(len(gd), elementGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				gv := gd[i]
				m.Data[i] = float32(o.Beta1*m.Data[i]) + float32((1-o.Beta1)*gv)
				v.Data[i] = float32(o.Beta2*v.Data[i]) + float32(float32((1-o.Beta2)*gv)*gv)
				mh, vh := m.Data[i]/c1, v.Data[i]/c2
				wd[i] -= float32(o.LearningRate*mh) / (float32(math.Sqrt(float64(vh))) + o.Epsilon)
			}
		})
	}
}
