package aggregate

import (
	"fmt"
	"math"
)

// ServerOptimizer applies an aggregated update (the clients' mean delta)
// to the global model, in place.
type ServerOptimizer interface {
	Apply(global, delta []float32) error
}

// FedAvgM is server momentum (Hsu et al.): v ← βv + Δ; w ← w + ηv.
type FedAvgM struct {
	LearningRate, Beta float32
	v                  []float32
}

// Apply updates global.
func (o *FedAvgM) Apply(global, delta []float32) error {
	if len(global) != len(delta) {
		return fmt.Errorf("%w: model has %d values, update %d", ErrBadUpdates, len(global), len(delta))
	}
	if o.v == nil {
		o.v = make([]float32, len(delta))
	}
	for i, d := range delta {
		o.v[i] = float32(o.Beta*o.v[i]) + d
		global[i] += float32(o.LearningRate * o.v[i])
	}
	return nil
}

// FedAdam is the adaptive server optimizer of Reddi et al.:
// m ← β1m + (1−β1)Δ; v ← β2v + (1−β2)Δ²; w ← w + η·m/(√v + τ).
type FedAdam struct {
	LearningRate, Beta1, Beta2, Tau float32
	m, v                            []float32
}

// Apply updates global.
func (o *FedAdam) Apply(global, delta []float32) error {
	if len(global) != len(delta) {
		return fmt.Errorf("%w: model has %d values, update %d", ErrBadUpdates, len(global), len(delta))
	}
	if o.m == nil {
		o.m, o.v = make([]float32, len(delta)), make([]float32, len(delta))
	}
	for i, d := range delta {
		o.m[i] = float32(o.Beta1*o.m[i]) + float32((1-o.Beta1)*d)
		o.v[i] = float32(o.Beta2*o.v[i]) + float32(float32((1-o.Beta2)*d)*d)
		global[i] += float32(o.LearningRate*o.m[i]) / (float32(math.Sqrt(float64(o.v[i]))) + o.Tau)
	}
	return nil
}
