package gpu

import (
	"fmt"
	"slices"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// layerOps is what a whole forward and backward pass needs from a device:
// T is a float32 tensor where the device keeps it, A an int32 one (the
// pooling argmax). The CPU emulation (T = []float32) and the CUDA backend
// (device buffers) implement it; modelGradients is the one composition,
// so the order of layers and the bookkeeping are the same for both.
type layerOps[T, A any] interface {
	upload(v []float32) (T, error)
	download(t T) ([]float32, error)
	dense(x T, batch, in, out int, w, b T) (T, error)
	denseBack(x, dy T, batch, in, out int, w T, needDX bool) (dw, db, dx T, err error)
	conv(x T, batch int, g ConvGeom, w, b T) (T, error)
	convBack(x, dy T, batch int, g ConvGeom, w T, needDX bool) (dw, db, dx T, err error)
	pool(x T, batch int, g PoolGeom) (T, A, error)
	poolBack(dy T, arg A, batch int, g PoolGeom) (T, error)
	relu(x T) (T, error)
	reluBack(x, dy T) (T, error)
	mul(x, m T) (T, error)
	softmaxXent(logits T, labels []int, classes int) (float32, T, error)
}

// modelGradients is engine.gradients on a device: forward pass keeping
// each layer's input (and the pooling argmax and dropout masks), softmax
// cross-entropy, backward pass, weights' gradients downloaded into a
// tensor.Set shaped as the engine shapes them.
func modelGradients[T, A any](ops layerOps[T, A], s engine.Spec, w tensor.Set, x []float32, labels []int, drop *Dropout) (float32, tensor.Set, error) {
	if err := engine.CheckWeightShapes(s, w); err != nil {
		return 0, nil, err
	}
	shapes, err := s.Shapes()
	if err != nil {
		return 0, nil, err
	}
	batch := len(labels)
	width := 1
	for _, d := range shapes[0] {
		width *= d
	}
	if batch <= 0 || len(x) != batch*width {
		return 0, nil, fmt.Errorf("gpu: input of %d values is not a batch of %d examples of %d values", len(x), batch, width)
	}
	classes := shapes[len(shapes)-1][0]
	for _, y := range labels {
		if y < 0 || y >= classes {
			return 0, nil, fmt.Errorf("gpu: label %d outside [0, %d)", y, classes)
		}
	}
	dw := map[string]T{}
	for _, name := range w.Names() {
		if dw[name], err = ops.upload(w[name].Data); err != nil {
			return 0, nil, err
		}
	}
	n := len(s.Layers)
	inputs, masks := make([]T, n), make([]T, n)
	hasMask := make([]bool, n)
	argmax := make([]A, n)
	cur, err := ops.upload(x)
	if err != nil {
		return 0, nil, err
	}
	for i, l := range s.Layers {
		inputs[i] = cur
		in := shapes[i]
		switch l.Kind {
		case engine.KindDense:
			cur, err = ops.dense(cur, batch, l.Inputs, l.Outputs, dw[engine.WeightName(i)], dw[engine.BiasName(i)])
		case engine.KindReLU:
			cur, err = ops.relu(cur)
		case engine.KindFlatten:
		case engine.KindDropout:
			if drop == nil || l.Rate == 0 {
				break
			}
			size := batch
			for _, d := range in {
				size *= d
			}
			if masks[i], err = ops.upload(engine.DropoutMask(l.Rate, drop.Seed, drop.Step, i, size)); err != nil {
				break
			}
			hasMask[i] = true
			cur, err = ops.mul(cur, masks[i])
		case engine.KindConv2D:
			cur, err = ops.conv(cur, batch, ConvGeomOf(l, in), dw[engine.WeightName(i)], dw[engine.BiasName(i)])
		case engine.KindMaxPool2D:
			cur, argmax[i], err = ops.pool(cur, batch, PoolGeomOf(l, in))
		default:
			err = fmt.Errorf("gpu: layer %d: unknown kind %q", i, l.Kind)
		}
		if err != nil {
			return 0, nil, err
		}
	}
	loss, dout, err := ops.softmaxXent(cur, labels, classes)
	if err != nil {
		return 0, nil, err
	}
	grads := tensor.Set{}
	put := func(name string, shape []int, t T) error {
		v, err := ops.download(t)
		if err != nil {
			return err
		}
		grads[name] = tensor.Tensor{Shape: slices.Clone(shape), Data: v}
		return nil
	}
	for i := n - 1; i >= 0; i-- {
		l, xi := s.Layers[i], inputs[i]
		switch l.Kind {
		case engine.KindReLU:
			dout, err = ops.reluBack(xi, dout)
		case engine.KindDropout:
			if hasMask[i] {
				dout, err = ops.mul(dout, masks[i])
			}
		case engine.KindFlatten:
		case engine.KindMaxPool2D:
			dout, err = ops.poolBack(dout, argmax[i], batch, PoolGeomOf(l, shapes[i]))
		case engine.KindConv2D:
			var gw, gb T
			gw, gb, dout, err = ops.convBack(xi, dout, batch, ConvGeomOf(l, shapes[i]), dw[engine.WeightName(i)], i > 0)
			if err == nil {
				err = put(engine.WeightName(i), w[engine.WeightName(i)].Shape, gw)
			}
			if err == nil {
				err = put(engine.BiasName(i), []int{l.Filters}, gb)
			}
		case engine.KindDense:
			var gw, gb T
			gw, gb, dout, err = ops.denseBack(xi, dout, batch, l.Inputs, l.Outputs, dw[engine.WeightName(i)], i > 0)
			if err == nil {
				err = put(engine.WeightName(i), []int{l.Inputs, l.Outputs}, gw)
			}
			if err == nil {
				err = put(engine.BiasName(i), []int{l.Outputs}, gb)
			}
		}
		if err != nil {
			return 0, nil, err
		}
	}
	return loss, grads, nil
}

// Train is engine.Train with the gradients computed by b: the same batch
// order, dropout masks, optimizer (engine.SGD or engine.Adam on the host)
// and checkpoint hashes, so a verifier can re-execute a provider's
// training run on a GPU and compare hashes with the CPU's.
func Train(b Backend, s engine.Spec, w tensor.Set, data engine.Dataset, cfg engine.TrainConfig) (engine.TrainResult, error) {
	cfg.Gradients = func(s engine.Spec, w tensor.Set, x []float32, labels []int, seed, step uint64) (float32, tensor.Set, error) {
		return b.Gradients(s, w, x, labels, &Dropout{Seed: seed, Step: step})
	}
	return engine.Train(s, w, data, cfg)
}
