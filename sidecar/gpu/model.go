package gpu

import (
	"fmt"
	"math"
	"math/rand/v2"
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

// weightName and biasName are the engine's tensor names.
func weightName(i int) string { return fmt.Sprintf("layer%d.weight", i) }
func biasName(i int) string   { return fmt.Sprintf("layer%d.bias", i) }

// checkWeightShapes is the engine's check that w has exactly the spec's
// tensors and shapes (engine.CheckWeights without the finiteness scan,
// which Gradients does not make either).
func checkWeightShapes(s engine.Spec, shapes [][]int, w tensor.Set) error {
	type named struct {
		name  string
		shape []int
	}
	var want []named
	for i, l := range s.Layers {
		switch l.Kind {
		case engine.KindDense:
			want = append(want, named{weightName(i), []int{l.Inputs, l.Outputs}}, named{biasName(i), []int{l.Outputs}})
		case engine.KindConv2D:
			want = append(want, named{weightName(i), []int{l.Filters, shapes[i][0], l.Kernel, l.Kernel}}, named{biasName(i), []int{l.Filters}})
		}
	}
	for _, t := range want {
		got, ok := w[t.name]
		if !ok {
			return fmt.Errorf("gpu: weights lack %s", t.name)
		}
		if !slices.Equal(got.Shape, t.shape) {
			return fmt.Errorf("gpu: %s has shape %v, the spec says %v", t.name, got.Shape, t.shape)
		}
		if err := got.Validate(); err != nil {
			return fmt.Errorf("gpu: %s: %w", t.name, err)
		}
	}
	if len(w) != len(want) {
		return fmt.Errorf("gpu: weights have %d tensors, the spec %d", len(w), len(want))
	}
	return nil
}

// dropoutMask is the engine's dropout mask of layer `layer` at step
// `step` of a run seeded with seed (engine dropout.go): n values, 0 or
// 1/(1−rate), from the PCG stream NewRNG(seed, dropoutStream(step, layer)).
func dropoutMask(rate float64, seed, step uint64, layer, n int) []float32 {
	mask := make([]float32, n)
	threshold := uint32(math.Ceil(rate * (1 << 24)))
	scale := float32(1 / (1 - rate))
	r := rand.New(rand.NewPCG(seed, dropoutStream(step, layer)))
	for j := range mask {
		if r.Uint32()>>8 >= threshold {
			mask[j] = scale
		}
	}
	return mask
}

func dropoutStream(step uint64, layer int) uint64 {
	return splitmix64(step ^ splitmix64(uint64(layer)^0x64726f706f7574)) // "dropout"
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// modelGradients is engine.gradients on a device: forward pass keeping
// each layer's input (and the pooling argmax and dropout masks), softmax
// cross-entropy, backward pass, weights' gradients downloaded into a
// tensor.Set shaped as the engine shapes them.
func modelGradients[T, A any](ops layerOps[T, A], s engine.Spec, w tensor.Set, x []float32, labels []int, drop *Dropout) (float32, tensor.Set, error) {
	shapes, err := s.Shapes()
	if err != nil {
		return 0, nil, err
	}
	if err := checkWeightShapes(s, shapes, w); err != nil {
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
			cur, err = ops.dense(cur, batch, l.Inputs, l.Outputs, dw[weightName(i)], dw[biasName(i)])
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
			if masks[i], err = ops.upload(dropoutMask(l.Rate, drop.Seed, drop.Step, i, size)); err != nil {
				break
			}
			hasMask[i] = true
			cur, err = ops.mul(cur, masks[i])
		case engine.KindConv2D:
			cur, err = ops.conv(cur, batch, ConvGeomOf(l, in), dw[weightName(i)], dw[biasName(i)])
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
			gw, gb, dout, err = ops.convBack(xi, dout, batch, ConvGeomOf(l, shapes[i]), dw[weightName(i)], i > 0)
			if err == nil {
				err = put(weightName(i), w[weightName(i)].Shape, gw)
			}
			if err == nil {
				err = put(biasName(i), []int{l.Filters}, gb)
			}
		case engine.KindDense:
			var gw, gb T
			gw, gb, dout, err = ops.denseBack(xi, dout, batch, l.Inputs, l.Outputs, dw[weightName(i)], i > 0)
			if err == nil {
				err = put(weightName(i), []int{l.Inputs, l.Outputs}, gw)
			}
			if err == nil {
				err = put(biasName(i), []int{l.Outputs}, gb)
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
	if err := engine.CheckWeights(s, w); err != nil {
		return engine.TrainResult{}, err
	}
	n := len(data.Labels)
	if width := s.InputWidth(); cfg.BatchSize <= 0 || cfg.BatchSize > n || cfg.Steps <= 0 || len(data.Inputs) != n*data.Width || data.Width != width {
		return engine.TrainResult{}, fmt.Errorf("gpu: %d examples of width %d cannot feed %d steps of batch %d into %d inputs", n, data.Width, cfg.Steps, cfg.BatchSize, width)
	}
	cur := tensor.Set{}
	for name, t := range w {
		cur[name] = tensor.Tensor{Shape: t.Shape, Data: append([]float32(nil), t.Data...)}
	}
	var opt engine.Optimizer = &engine.SGD{LearningRate: cfg.LearningRate, Momentum: cfg.Momentum}
	switch {
	case cfg.Resume != nil:
		opt = cfg.Resume
	case cfg.Optimizer == "adam":
		opt = engine.NewAdam(cfg.LearningRate)
	}
	g := engine.NewRNG(cfg.Seed, 2)
	order, pos := g.Perm(n), 0
	x := make([]float32, cfg.BatchSize*data.Width)
	labels := make([]int, cfg.BatchSize)
	res := engine.TrainResult{}
	for step := 0; step < cfg.Steps; step++ {
		for i := 0; i < cfg.BatchSize; i++ {
			if pos == n {
				order, pos = g.Perm(n), 0
			}
			j := order[pos]
			pos++
			copy(x[i*data.Width:(i+1)*data.Width], data.Inputs[j*data.Width:(j+1)*data.Width])
			labels[i] = data.Labels[j]
		}
		loss, grads, err := b.Gradients(s, cur, x, labels, &Dropout{Seed: cfg.Seed, Step: uint64(step)})
		if err != nil {
			return engine.TrainResult{}, err
		}
		opt.Step(cur, grads)
		h, err := cur.Hash()
		if err != nil {
			return engine.TrainResult{}, err
		}
		res.Checkpoints = append(res.Checkpoints, h)
		res.Losses = append(res.Losses, loss)
	}
	res.Weights = cur
	res.Update = tensor.Set{}
	for name, t := range cur {
		d := make([]float32, len(t.Data))
		for i, v := range t.Data {
			d[i] = v - w[name].Data[i]
		}
		res.Update[name] = tensor.Tensor{Shape: t.Shape, Data: d}
	}
	return res, nil
}
