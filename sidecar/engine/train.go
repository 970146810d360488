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
// of GradientsWithDropout(…, cfg.Seed, i). Checkpoints[i] is the Hash of
// the Checkpoint after step i: weights, optimizer state and step count.
func Train(s Spec, w tensor.Set, data Dataset, cfg TrainConfig) (TrainResult, error) {
	if err := CheckWeights(s, w); err != nil {
		return TrainResult{}, err
	}
	n := len(data.Labels)
	if cfg.Steps == 0 && cfg.Epochs > 0 && cfg.BatchSize > 0 && cfg.Epochs <= 1<<20 {
		cfg.Steps = cfg.Epochs * ((n + cfg.BatchSize - 1) / cfg.BatchSize)
	}
	if cfg.Steps <= 0 {
		return TrainResult{}, fmt.Errorf("engine: %d steps", cfg.Steps)
	}
	var opt Optimizer = &SGD{LearningRate: cfg.LearningRate, Momentum: cfg.Momentum}
	switch {
	case cfg.Resume != nil:
		opt = cfg.Resume
	case cfg.Optimizer == OptimizerAdam:
		opt = NewAdam(cfg.LearningRate)
	}
	r, err := newRunner(s, cloneSet(w), opt, 0, data, cfg)
	if err != nil {
		return TrainResult{}, err
	}
	res := TrainResult{}
	for step := 0; step < cfg.Steps; step++ {
		loss, err := r.step()
		if err != nil {
			return TrainResult{}, err
		}
		h, err := r.checkpoint().Hash()
		if err != nil {
			return TrainResult{}, err
		}
		res.Checkpoints = append(res.Checkpoints, h)
		res.Losses = append(res.Losses, loss)
		if cfg.Progress != nil {
			cfg.Progress(step+1, loss)
		}
	}
	cur := r.w
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

// Resume continues a run from checkpoint ck for steps steps, exactly as
// Train from the run's initial weights would have gone on after ck.Step
// steps: the batch order is skipped forward to ck.Step without any
// gradient work, and step i keeps the dropout key (cfg.Seed, i). cfg
// gives the data order, hyperparameters and optimizer (cfg.Resume and
// cfg.Steps are ignored). each, when set, sees the checkpoint after every
// step (shared with the run: clone it to keep it) with its loss. Resume
// returns the last checkpoint.
func Resume(s Spec, ck Checkpoint, data Dataset, cfg TrainConfig, steps int, each func(Checkpoint, float32) error) (Checkpoint, error) {
	if err := CheckWeights(s, ck.Weights); err != nil {
		return Checkpoint{}, err
	}
	if err := ck.check(); err != nil {
		return Checkpoint{}, err
	}
	w := cloneSet(ck.Weights)
	opt, err := restore(cfg, ck.Optimizer, w)
	if err != nil {
		return Checkpoint{}, err
	}
	r, err := newRunner(s, w, opt, ck.Step, data, cfg)
	if err != nil {
		return Checkpoint{}, err
	}
	for i := 0; i < steps; i++ {
		loss, err := r.step()
		if err != nil {
			return Checkpoint{}, err
		}
		if each != nil {
			if err := each(r.checkpoint(), loss); err != nil {
				return Checkpoint{}, err
			}
		}
	}
	return r.checkpoint(), nil // the run's own copy, not ck's
}

// StepFrom runs exactly one step, step ck.Step (0-based), from checkpoint
// ck: the checkpoint after it, whose Hash is that step's leaf. For step 0,
// ck is InitialCheckpoint(the initial weights, cfg.Optimizer).
func StepFrom(s Spec, ck Checkpoint, data Dataset, cfg TrainConfig) (Checkpoint, error) {
	return Resume(s, ck, data, cfg, 1, nil)
}

// StepOnBatch runs step ck.Step (0-based) from checkpoint ck on that
// step's batch given alone: x holds the examples of BatchIndices(cfg, n,
// ck.Step) in draw order (cfg.BatchSize rows), labels their labels. It is
// what StepFrom computes over the whole data, for a verifier that was
// shown one batch of private data.
func StepOnBatch(s Spec, ck Checkpoint, x []float32, labels []int, cfg TrainConfig) (Checkpoint, error) {
	if err := CheckWeights(s, ck.Weights); err != nil {
		return Checkpoint{}, err
	}
	if err := ck.check(); err != nil {
		return Checkpoint{}, err
	}
	if cfg.BatchSize <= 0 || len(labels) != cfg.BatchSize || len(x) != cfg.BatchSize*s.InputWidth() {
		return Checkpoint{}, fmt.Errorf("engine: a batch of %d rows (%d values) for batches of %d into %d inputs", len(labels), len(x), cfg.BatchSize, s.InputWidth())
	}
	w := cloneSet(ck.Weights)
	opt, err := restore(cfg, ck.Optimizer, w)
	if err != nil {
		return Checkpoint{}, err
	}
	if _, err := applyStep(s, w, opt, x, labels, cfg, ck.Step); err != nil {
		return Checkpoint{}, err
	}
	return Checkpoint{Step: ck.Step + 1, Weights: w, Optimizer: opt.State()}, nil
}

// applyStep is one training step, the rule every path shares: the
// gradients of the batch (x, labels) at w, with the dropout key (cfg.Seed,
// step), applied by opt to w. It returns the batch's loss.
func applyStep(s Spec, w tensor.Set, opt Optimizer, x []float32, labels []int, cfg TrainConfig, step uint64) (float32, error) {
	grad := cfg.Gradients
	if grad == nil {
		grad = GradientsWithDropout
	}
	loss, grads, err := grad(s, w, x, labels, cfg.Seed, step)
	if err != nil {
		return 0, err
	}
	opt.Step(w, grads)
	return loss, nil
}

// runner is one run's loop state: weights, optimizer, batch order.
type runner struct {
	spec   Spec
	data   Dataset
	cfg    TrainConfig
	w      tensor.Set
	opt    Optimizer
	done   uint64
	order  *batchOrder
	x      []float32
	labels []int
}

// batchOrder is the order examples are drawn in: draws are taken from
// successive permutations of the n examples (RNG (seed, 2)), so draw p
// (0-based) is element p mod n of permutation p div n.
type batchOrder struct {
	g     *RNG
	n     int
	order []int
	pos   int
}

// newBatchOrder positions the order of n examples after done steps of
// batch examples each; only the permutations before the next draw are
// generated.
func newBatchOrder(seed uint64, n, batch int, done uint64) (*batchOrder, error) {
	drawn := done * uint64(batch)
	if done != 0 && drawn/uint64(batch) != done {
		return nil, fmt.Errorf("engine: step %d is out of range", done)
	}
	o := &batchOrder{g: NewRNG(seed, 2), n: n}
	o.order = o.g.Perm(n)
	for k := drawn / uint64(n); k > 0; k-- {
		o.order = o.g.Perm(n)
	}
	o.pos = int(drawn % uint64(n))
	return o, nil
}

// next is the index of the next example drawn.
func (o *batchOrder) next() int {
	if o.pos == o.n {
		o.order, o.pos = o.g.Perm(o.n), 0
	}
	i := o.order[o.pos]
	o.pos++
	return i
}

// skip passes over d draws, generating only the permutations it enters.
func (o *batchOrder) skip(d uint64) {
	for d > 0 {
		if o.pos == o.n {
			o.order, o.pos = o.g.Perm(o.n), 0
		}
		k := min(d, uint64(o.n-o.pos))
		o.pos += int(k)
		d -= k
	}
}

// BatchCursor walks a run's batch order forward: Batch gives the indices
// of the examples a step draws, for steps in ascending order, generating
// each permutation of the order once (a verifier's sampled steps share one
// cursor).
type BatchCursor struct {
	batch int
	order *batchOrder
	// at is the step whose batch comes next.
	at uint64
}

// NewBatchCursor is a cursor at step 0 of a run of cfg.Seed over n
// examples in batches of cfg.BatchSize.
func NewBatchCursor(cfg TrainConfig, n int) (*BatchCursor, error) {
	if cfg.BatchSize <= 0 || cfg.BatchSize > n {
		return nil, fmt.Errorf("engine: %d examples cannot feed batches of %d", n, cfg.BatchSize)
	}
	o, err := newBatchOrder(cfg.Seed, n, cfg.BatchSize, 0)
	if err != nil {
		return nil, err
	}
	return &BatchCursor{batch: cfg.BatchSize, order: o}, nil
}

// Batch is the indices, in draw order, of the examples of step (0-based):
// what Train feeds that step. Steps must come in ascending order.
func (c *BatchCursor) Batch(step uint64) ([]int, error) {
	if step < c.at {
		return nil, fmt.Errorf("engine: batch of step %d asked after step %d's", step, c.at-1)
	}
	d := step - c.at
	skip := d * uint64(c.batch)
	if d != 0 && skip/uint64(c.batch) != d {
		return nil, fmt.Errorf("engine: step %d is out of range", step)
	}
	c.order.skip(skip)
	out := make([]int, c.batch)
	for b := range out {
		out[b] = c.order.next()
	}
	c.at = step + 1
	return out, nil
}

// BatchIndices are the indices, in draw order, of the examples of step
// (0-based) of a run of cfg.Seed over n examples in batches of
// cfg.BatchSize: what Train feeds that step, and what a verifier needs of
// the data to re-execute it (NewBatchCursor serves many steps at once).
func BatchIndices(cfg TrainConfig, n int, step uint64) ([]int, error) {
	c, err := NewBatchCursor(cfg, n)
	if err != nil {
		return nil, err
	}
	return c.Batch(step)
}

// Gather is the inputs and labels of data's examples idx, in order: a
// batch as StepOnBatch takes it.
func Gather(data Dataset, idx []int) ([]float32, []int) {
	x, labels := make([]float32, 0, len(idx)*data.Width), make([]int, 0, len(idx))
	for _, i := range idx {
		x = append(x, data.Inputs[i*data.Width:(i+1)*data.Width]...)
		labels = append(labels, data.Labels[i])
	}
	return x, labels
}

// newRunner positions the batch order after done steps.
func newRunner(s Spec, w tensor.Set, opt Optimizer, done uint64, data Dataset, cfg TrainConfig) (*runner, error) {
	n := len(data.Labels)
	if width := s.InputWidth(); cfg.BatchSize <= 0 || cfg.BatchSize > n || len(data.Inputs) != n*data.Width || data.Width != width {
		return nil, fmt.Errorf("engine: %d examples of width %d cannot feed batches of %d into %d inputs", n, data.Width, cfg.BatchSize, width)
	}
	order, err := newBatchOrder(cfg.Seed, n, cfg.BatchSize, done)
	if err != nil {
		return nil, err
	}
	return &runner{spec: s, data: data, cfg: cfg, w: w, opt: opt, done: done, order: order,
		x: make([]float32, cfg.BatchSize*data.Width), labels: make([]int, cfg.BatchSize)}, nil
}

// step runs the next step.
func (r *runner) step() (float32, error) {
	width := r.data.Width
	for b := 0; b < r.cfg.BatchSize; b++ {
		i := r.order.next()
		copy(r.x[b*width:(b+1)*width], r.data.Inputs[i*width:(i+1)*width])
		r.labels[b] = r.data.Labels[i]
	}
	loss, err := applyStep(r.spec, r.w, r.opt, r.x, r.labels, r.cfg, r.done)
	if err != nil {
		return 0, err
	}
	r.done++
	return loss, nil
}

// checkpoint is the run's state now (sharing its tensors).
func (r *runner) checkpoint() Checkpoint {
	return Checkpoint{Step: r.done, Weights: r.w, Optimizer: r.opt.State()}
}
