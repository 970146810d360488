package engine

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/par"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// activations keeps what backward needs: each layer's input.
type activations struct {
	inputs [][]float32 // inputs[i] is layer i's input, batch × width
}

// denseForward computes y = x·W + b for a batch: y[n][o] = b[o] + Σ_k x[n][k]·W[k][o],
// summed in increasing k, each product rounded to float32 first.
func denseForward(x []float32, batch, in, out int, w, b []float32) []float32 {
	y := make([]float32, batch*out)
	par.Range(batch, 64, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			xr, yr := x[n*in:(n+1)*in], y[n*out:(n+1)*out]
			copy(yr, b)
			for k := 0; k < in; k++ {
				xv := xr[k]
				wr := w[k*out : (k+1)*out]
				for o := range yr {
					yr[o] += float32(xv * wr[o])
				}
			}
		}
	})
	return y
}

// Forward returns the logits of a batch (batch × inputs, row-major).
func Forward(s Spec, w tensor.Set, x []float32, batch int) ([]float32, error) {
	logits, _, err := forward(s, w, x, batch)
	return logits, err
}

func forward(s Spec, w tensor.Set, x []float32, batch int) ([]float32, activations, error) {
	if len(s.Layers) == 0 || s.Layers[0].Kind != "dense" || len(x) != batch*s.Layers[0].Inputs {
		return nil, activations{}, fmt.Errorf("engine: input of %d values is not %d × the first layer's inputs", len(x), batch)
	}
	var acts activations
	for i, l := range s.Layers {
		acts.inputs = append(acts.inputs, x)
		switch l.Kind {
		case "dense":
			x = denseForward(x, batch, l.Inputs, l.Outputs, w[weightName(i)].Data, w[biasName(i)].Data)
		case "relu":
			y := make([]float32, len(x))
			for j, v := range x {
				if v > 0 {
					y[j] = v
				}
			}
			x = y
		}
	}
	return x, acts, nil
}
