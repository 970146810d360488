package engine

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/par"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// activations keeps what backward needs.
type activations struct {
	shapes [][]int     // from Spec.Shapes
	inputs [][]float32 // inputs[i] is layer i's input, batch × prod(shapes[i])
	argmax [][]int32   // maxpool2d layers: where in its input plane each output's max is
	masks  [][]float32 // dropout layers while training: 0 or 1/(1−rate) per value; nil otherwise
}

// grainFor is the least number of items, each of about work
// multiply-adds, worth a goroutine of its own. It only decides how par
// splits independent outputs, never how one is summed.
func grainFor(work int) int { return max(1, (1<<15)/max(work, 1)) }

// denseForward computes y = x·W + b for a batch: y[n][o] = b[o] + Σ_k x[n][k]·W[k][o],
// summed in increasing k, each product rounded to float32 first (gemmRow).
// Rows n are independent and split between goroutines.
func denseForward(x []float32, batch, in, out int, w, b []float32) []float32 {
	y := make([]float32, batch*out)
	par.Range(batch, grainFor(in*out), func(lo, hi int) {
		for n := lo; n < hi; n++ {
			yr := y[n*out : (n+1)*out]
			copy(yr, b)
			gemmRow(yr, x[n*in:(n+1)*in], w, out)
		}
	})
	return y
}

// Forward returns the logits of a batch: x is batch examples of the spec's
// input shape, each flattened row-major (NCHW for images). Dropout layers
// are the identity.
func Forward(s Spec, w tensor.Set, x []float32, batch int) ([]float32, error) {
	logits, _, err := forward(s, w, x, batch, nil)
	return logits, err
}

// dropoutKey seeds the dropout masks of one training step; nil turns
// dropout off.
type dropoutKey struct{ seed, step uint64 }

func forward(s Spec, w tensor.Set, x []float32, batch int, drop *dropoutKey) ([]float32, activations, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return nil, activations{}, err
	}
	if err := checkWeightShapes(s, shapes, w); err != nil {
		return nil, activations{}, err
	}
	if width := prod(shapes[0]); batch <= 0 || len(x) != batch*width {
		return nil, activations{}, fmt.Errorf("engine: input of %d values is not a batch of %d examples of %d values", len(x), batch, width)
	}
	acts := activations{shapes: shapes, inputs: make([][]float32, len(s.Layers)),
		argmax: make([][]int32, len(s.Layers)), masks: make([][]float32, len(s.Layers))}
	for i, l := range s.Layers {
		acts.inputs[i] = x
		in := shapes[i]
		switch l.Kind {
		case KindDense:
			x = denseForward(x, batch, l.Inputs, l.Outputs, w[WeightName(i)].Data, w[BiasName(i)].Data)
		case KindReLU:
			y := make([]float32, len(x))
			for j, v := range x {
				if v > 0 {
					y[j] = v
				}
			}
			x = y
		case KindFlatten:
			// NCHW is already flat row-major: same data, new shape.
		case KindDropout:
			if drop == nil || l.Rate == 0 {
				break
			}
			m := DropoutMask(l.Rate, drop.seed, drop.step, i, len(x))
			y := make([]float32, len(x))
			for j, v := range x {
				y[j] = v * m[j]
			}
			acts.masks[i] = m
			x = y
		case KindConv2D:
			x = convForward(x, batch, newConvGeom(l, in), w[WeightName(i)].Data, w[BiasName(i)].Data)
		case KindMaxPool2D:
			x, acts.argmax[i] = poolForward(x, batch, newPoolGeom(l, in))
		}
	}
	return x, acts, nil
}
