package engine

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/par"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// SoftmaxCrossEntropy returns the mean loss of logits (batch × classes)
// against labels, and its gradient with respect to the logits.
func SoftmaxCrossEntropy(logits []float32, labels []int, classes int) (float32, []float32, error) {
	batch := len(labels)
	if len(logits) != batch*classes {
		return 0, nil, fmt.Errorf("engine: %d logits for %d labels of %d classes", len(logits), batch, classes)
	}
	grad := make([]float32, len(logits))
	losses := make([]float32, batch)
	inv := 1 / float32(batch)
	par.Range(batch, 64, func(lo, hi int) {
		for n := lo; n < hi; n++ {
			row, g := logits[n*classes:(n+1)*classes], grad[n*classes:(n+1)*classes]
			maxv := row[0]
			for _, v := range row[1:] {
				maxv = max(maxv, v)
			}
			var sum float32
			for c, v := range row {
				g[c] = Exp(v - maxv)
				sum += g[c]
			}
			label := labels[n]
			losses[n] = Log(sum) - (row[label] - maxv)
			for c := range g {
				p := g[c] / sum
				if c == label {
					p -= 1
				}
				g[c] = float32(p * inv)
			}
		}
	})
	var loss float32
	for _, l := range losses { // fixed order
		loss += l
	}
	return loss * inv, grad, nil
}

// Backward returns the gradient of the mean loss with respect to every
// weight, given the gradient at the logits.
func backward(s Spec, w tensor.Set, acts activations, dout []float32, batch int) tensor.Set {
	grads := tensor.Set{}
	for i := len(s.Layers) - 1; i >= 0; i-- {
		l, x := s.Layers[i], acts.inputs[i]
		switch l.Kind {
		case "relu":
			for j, v := range x {
				if v <= 0 {
					dout[j] = 0
				}
			}
		case "dense":
			in, out := l.Inputs, l.Outputs
			wd := w[weightName(i)].Data
			// dW[k][o] = Σ_n x[n][k]·dout[n][o], in increasing n; rows k in parallel.
			dw := make([]float32, in*out)
			par.Range(in, 64, func(lo, hi int) {
				for k := lo; k < hi; k++ {
					row := dw[k*out : (k+1)*out]
					for n := 0; n < batch; n++ {
						xv, dr := x[n*in+k], dout[n*out:(n+1)*out]
						for o := range row {
							row[o] += float32(xv * dr[o])
						}
					}
				}
			})
			db := make([]float32, out)
			for n := 0; n < batch; n++ {
				for o, v := range dout[n*out : (n+1)*out] {
					db[o] += v
				}
			}
			grads[weightName(i)] = tensor.Tensor{Shape: []int{in, out}, Data: dw}
			grads[biasName(i)] = tensor.Tensor{Shape: []int{out}, Data: db}
			if i == 0 {
				break
			}
			// dx[n][k] = Σ_o dout[n][o]·W[k][o], in increasing o; rows n in parallel.
			dx := make([]float32, batch*in)
			par.Range(batch, 64, func(lo, hi int) {
				for n := lo; n < hi; n++ {
					dr := dout[n*out : (n+1)*out]
					for k := 0; k < in; k++ {
						wr := wd[k*out : (k+1)*out]
						var acc float32
						for o, g := range dr {
							acc += float32(g * wr[o])
						}
						dx[n*in+k] = acc
					}
				}
			})
			dout = dx
		}
	}
	return grads
}

// Gradients returns the mean loss of a batch and the gradient of every weight.
func Gradients(s Spec, w tensor.Set, x []float32, labels []int) (float32, tensor.Set, error) {
	batch := len(labels)
	logits, acts, err := forward(s, w, x, batch)
	if err != nil {
		return 0, nil, err
	}
	classes := len(logits) / max(batch, 1)
	for _, y := range labels {
		if y < 0 || y >= classes {
			return 0, nil, fmt.Errorf("engine: label %d outside [0, %d)", y, classes)
		}
	}
	loss, dlogits, err := SoftmaxCrossEntropy(logits, labels, classes)
	if err != nil {
		return 0, nil, err
	}
	return loss, backward(s, w, acts, dlogits, batch), nil
}
