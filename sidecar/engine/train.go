package engine

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/par"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// SGD is stochastic gradient descent with momentum:
// v ← μ·v + g; w ← w − η·v.
type SGD struct {
	LearningRate, Momentum float32
	velocity               tensor.Set
}

// Step updates w in place with gradients g, in canonical name order.
func (o *SGD) Step(w, g tensor.Set) {
	if o.velocity == nil {
		o.velocity = tensor.Set{}
	}
	for _, name := range g.Names() {
		gd := g[name].Data
		v, ok := o.velocity[name]
		if !ok {
			v = tensor.Tensor{Shape: g[name].Shape, Data: make([]float32, len(gd))}
			o.velocity[name] = v
		}
		wd := w[name].Data
		par.Range(len(gd), elementGrain, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				v.Data[i] = float32(o.Momentum*v.Data[i]) + gd[i]
				wd[i] -= float32(o.LearningRate * v.Data[i])
			}
		})
	}
}

// Dataset is labelled examples: Inputs is len(Labels) × Width, row-major.
type Dataset struct {
	Inputs []float32
	Labels []int
	Width  int
}

// TrainConfig is one local training run of Steps steps, or, when Steps is
// 0, of Epochs passes over the data (Epochs·ceil(n/BatchSize) steps).
// Optimizer "adam" uses Adam; anything else SGD with Momentum. Resume,
// when set, is used instead and keeps its state (momentum, moments) from
// a previous run.
type TrainConfig struct {
	Steps, BatchSize       int
	Epochs                 int
	LearningRate, Momentum float32
	Optimizer              string
	Resume                 Optimizer
	Seed                   uint64
	// Gradients, when set, computes each step's loss and gradients in
	// place of GradientsWithDropout (which it must equal bit for bit, e.g.
	// the same computation on a GPU); seed and step are the dropout key.
	Gradients GradientFunc
	// Progress, when set, is called after every step with the number of
	// steps done and that step's loss. It observes; it cannot change the
	// result.
	Progress func(done int, loss float32)
}

// GradientFunc computes the mean loss of a batch and the gradient of every
// weight with the dropout masks of (seed, step): GradientsWithDropout's
// signature.
type GradientFunc func(s Spec, w tensor.Set, x []float32, labels []int, seed, step uint64) (float32, tensor.Set, error)

// TrainResult is what a training run returns: the new weights, the update
// (new − old), the hash of the weights after every step (the evidence a
// verifier re-executes against), and the loss of every step.
type TrainResult struct {
	Weights     tensor.Set
	Update      tensor.Set
	Checkpoints [][32]byte
	Losses      []float32
}

// Train runs cfg.Steps steps of minibatch SGD from weights w (left
// unchanged), drawing batches by a seeded shuffle of the data. Dropout
// layers are active: step i (counted from 0 in this call) uses the masks
// of GradientsWithDropout(…, cfg.Seed, i).
func Train(s Spec, w tensor.Set, data Dataset, cfg TrainConfig) (TrainResult, error) {
	if err := CheckWeights(s, w); err != nil {
		return TrainResult{}, err
	}
	n := len(data.Labels)
	if cfg.Steps == 0 && cfg.Epochs > 0 && cfg.BatchSize > 0 && cfg.Epochs <= 1<<20 {
		cfg.Steps = cfg.Epochs * ((n + cfg.BatchSize - 1) / cfg.BatchSize)
	}
	if width := s.InputWidth(); cfg.BatchSize <= 0 || cfg.BatchSize > n || cfg.Steps <= 0 || len(data.Inputs) != n*data.Width || data.Width != width {
		return TrainResult{}, fmt.Errorf("engine: %d examples of width %d cannot feed %d steps of batch %d into %d inputs", n, data.Width, cfg.Steps, cfg.BatchSize, width)
	}
	cur := tensor.Set{}
	for name, t := range w {
		cur[name] = tensor.Tensor{Shape: t.Shape, Data: append([]float32(nil), t.Data...)}
	}
	var opt Optimizer = &SGD{LearningRate: cfg.LearningRate, Momentum: cfg.Momentum}
	switch {
	case cfg.Resume != nil:
		opt = cfg.Resume
	case cfg.Optimizer == "adam":
		opt = NewAdam(cfg.LearningRate)
	}
	grad := cfg.Gradients
	if grad == nil {
		grad = GradientsWithDropout
	}
	g := NewRNG(cfg.Seed, 2)
	order, pos := g.Perm(n), 0
	x := make([]float32, cfg.BatchSize*data.Width)
	labels := make([]int, cfg.BatchSize)
	res := TrainResult{}
	for step := 0; step < cfg.Steps; step++ {
		for b := 0; b < cfg.BatchSize; b++ {
			if pos == n {
				order, pos = g.Perm(n), 0
			}
			i := order[pos]
			pos++
			copy(x[b*data.Width:(b+1)*data.Width], data.Inputs[i*data.Width:(i+1)*data.Width])
			labels[b] = data.Labels[i]
		}
		loss, grads, err := grad(s, cur, x, labels, cfg.Seed, uint64(step))
		if err != nil {
			return TrainResult{}, err
		}
		opt.Step(cur, grads)
		h, err := cur.Hash()
		if err != nil {
			return TrainResult{}, err
		}
		res.Checkpoints = append(res.Checkpoints, h)
		res.Losses = append(res.Losses, loss)
		if cfg.Progress != nil {
			cfg.Progress(step+1, loss)
		}
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
