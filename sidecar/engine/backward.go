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

// backward returns the gradient of the mean loss with respect to every
// weight, given the gradient at the logits. It may overwrite dout.
func backward(s Spec, w tensor.Set, acts activations, dout []float32, batch int) tensor.Set {
	grads := tensor.Set{}
	for i := len(s.Layers) - 1; i >= 0; i-- {
		l, x := s.Layers[i], acts.inputs[i]
		switch l.Kind {
		case KindReLU:
			for j, v := range x {
				if v <= 0 {
					dout[j] = 0
				}
			}
		case KindDropout:
			if m := acts.masks[i]; m != nil {
				for j := range dout {
					dout[j] *= m[j]
				}
			}
		case KindFlatten:
			// Same data, new shape.
		case KindMaxPool2D:
			dout = poolBackward(dout, acts.argmax[i], batch, newPoolGeom(l, acts.shapes[i]))
		case KindConv2D:
			t := w[WeightName(i)]
			dw, db, dx := convBackward(x, dout, batch, newConvGeom(l, acts.shapes[i]), t.Data, i > 0)
			grads[WeightName(i)] = tensor.Tensor{Shape: t.Shape, Data: dw}
			grads[BiasName(i)] = tensor.Tensor{Shape: []int{l.Filters}, Data: db}
			dout = dx
		case KindDense:
			in, out := l.Inputs, l.Outputs
			// dW[k][o] = Σ_n x[n][k]·dout[n][o], in increasing n; rows k in parallel.
			dw := make([]float32, in*out)
			par.Range(in, grainFor(batch*out), func(lo, hi int) {
				col := make([]float32, batch)
				for k := lo; k < hi; k++ {
					for n := range col {
						col[n] = x[n*in+k]
					}
					gemmRow(dw[k*out:(k+1)*out], col, dout, out)
				}
			})
			db := make([]float32, out)
			for n := 0; n < batch; n++ {
				for o, v := range dout[n*out : (n+1)*out] {
					db[o] += v
				}
			}
			grads[WeightName(i)] = tensor.Tensor{Shape: []int{in, out}, Data: dw}
			grads[BiasName(i)] = tensor.Tensor{Shape: []int{out}, Data: db}
			if i == 0 {
				break
			}
			// dx[n][k] = Σ_o dout[n][o]·W[k][o], in increasing o; rows n in parallel.
			wt := transpose(w[WeightName(i)].Data, in, out) // out × in
			dx := make([]float32, batch*in)
			par.Range(batch, grainFor(in*out), func(lo, hi int) {
				for n := lo; n < hi; n++ {
					gemmRow(dx[n*in:(n+1)*in], dout[n*out:(n+1)*out], wt, in)
				}
			})
			dout = dx
		}
	}
	return grads
}

// Gradients returns the mean loss of a batch and the gradient of every
// weight, with dropout layers as the identity (inference mode): the value
// depends only on the spec, the weights and the batch. It is correct for
// any batch ≥ 1, including one example at a time (per-example gradients).
func Gradients(s Spec, w tensor.Set, x []float32, labels []int) (float32, tensor.Set, error) {
	return gradients(s, w, x, labels, nil)
}

// GradientsWithDropout is Gradients in training mode: every dropout layer
// drops units with a mask drawn from seed and step alone (see
// dropoutMask), the masks Train uses at that step of a run with that seed.
// A spec without dropout layers gives exactly Gradients' result.
func GradientsWithDropout(s Spec, w tensor.Set, x []float32, labels []int, seed, step uint64) (float32, tensor.Set, error) {
	return gradients(s, w, x, labels, &dropoutKey{seed: seed, step: step})
}

func gradients(s Spec, w tensor.Set, x []float32, labels []int, drop *dropoutKey) (float32, tensor.Set, error) {
	batch := len(labels)
	logits, acts, err := forward(s, w, x, batch, drop)
	if err != nil {
		return 0, nil, err
	}
	classes := len(logits) / batch
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
