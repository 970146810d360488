package privacy

import (
	"fmt"
	"math"
	"runtime"
	"slices"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/par"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// SGDConfig is the privacy side of DP-SGD.
type SGDConfig struct {
	Clip            float64 // C: every example's gradient is clipped to L2 norm at most C
	NoiseMultiplier float64 // σ: the sum of clipped gradients gets N(0, (σC)²) per coordinate
	SampleRate      float64 // q: each example joins a step's batch independently with probability q
	Seed            uint64  // seeds sampling and noise; step t draws from (Seed, t) alone
}

// Validate checks that Clip and NoiseMultiplier are positive and finite
// and SampleRate is in (0, 1].
func (c SGDConfig) Validate() error {
	if err := checkClip(c.Clip); err != nil {
		return err
	}
	return checkMechanism(c.SampleRate, c.NoiseMultiplier)
}

// chunkBytes bounds the per-example gradients a Trainer holds at once.
const chunkBytes = 256 << 20

// sumBlock is how many coordinates of the gradient sum are kept in cache
// while the examples of a chunk are added to them.
const sumBlock = 2048

// Trainer runs DP-SGD steps (see the package documentation) on one model
// and one dataset. Its buffers are reused from step to step; it is not
// safe for concurrent use.
type Trainer struct {
	spec    engine.Spec
	data    engine.Dataset
	opt     engine.Optimizer
	cfg     SGDConfig
	rate    float64 // the sampling rate Poisson sampling really has
	params  int
	step    uint64
	names   []string   // canonical order of the weights
	sum     tensor.Set // the private gradient, reused
	batch   []int      // indices of this step's examples, reused
	grads   []tensor.Set
	scales  []float64
	losses  []float32
	clipped []bool
	errs    []error
}

// StepStats describes one DP-SGD step. Batch, Clipped and Loss are
// computed from the private batch and are not themselves private: they
// are for monitoring a run, not for publishing.
type StepStats struct {
	Step    uint64  // the step's index, from 0
	Batch   int     // examples Poisson sampling drew
	Clipped int     // of them, how many had a gradient longer than Clip
	Loss    float64 // mean loss of the batch before the step (0 for an empty batch)
}

// NewTrainer returns a trainer of spec on data (which it reads but does
// not copy: leave it unchanged while the trainer is in use) that updates
// weights with opt, starting at step 0. The data must have the spec's
// input width, at least one example, finite inputs and labels among the
// spec's outputs. Dropout layers are inactive (per-example gradients are
// engine.Gradients, in inference mode).
func NewTrainer(spec engine.Spec, data engine.Dataset, opt engine.Optimizer, cfg SGDConfig) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if opt == nil {
		return nil, fmt.Errorf("privacy: no optimizer")
	}
	shapes, err := spec.Shapes()
	if err != nil {
		return nil, err
	}
	n, width, classes := len(data.Labels), spec.InputWidth(), shapes[len(shapes)-1][0]
	if n == 0 || data.Width != width || len(data.Inputs) != n*width {
		return nil, fmt.Errorf("privacy: dataset of %d labels and %d inputs of width %d does not fit a model of input width %d", n, len(data.Inputs), data.Width, width)
	}
	for i, y := range data.Labels {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("privacy: example %d has label %d outside [0, %d)", i, y, classes)
		}
	}
	if err := (tensor.Tensor{Shape: []int{len(data.Inputs)}, Data: data.Inputs}).CheckFinite(); err != nil {
		return nil, fmt.Errorf("privacy: inputs: %w", err)
	}
	return &Trainer{spec: spec, data: data, opt: opt, cfg: cfg, params: spec.Params(),
		rate: EffectiveSampleRate(cfg.SampleRate)}, nil
}

// EffectiveSampleRate is the probability with which a Trainer configured
// with sampling rate q really draws each example: q rounded up to a
// multiple of 2⁻²⁴, the resolution of the uniforms it compares with q.
// Account with this rate; it exceeds q by less than 6·10⁻⁸. It returns q
// unchanged when q is outside (0, 1].
func EffectiveSampleRate(q float64) float64 {
	if !(q > 0 && q <= 1) {
		return q
	}
	return math.Ceil(q*(1<<24)) / (1 << 24)
}

// SampleRate is EffectiveSampleRate of the configured rate: the rate to
// account with.
func (t *Trainer) SampleRate() float64 { return t.rate }

// Config is the trainer's privacy configuration.
func (t *Trainer) Config() SGDConfig { return t.cfg }

// Steps is the number of steps taken so far, the index of the next one.
func (t *Trainer) Steps() uint64 { return t.step }

// Step takes one DP-SGD step and updates w (the spec's weights) in place:
// it samples the batch, clips and sums the per-example gradients, adds
// noise, divides by the expected batch size q·N and hands the result to
// the optimizer. The gradient set the optimizer gets is the trainer's
// buffer: valid until the next Step. On error w and the trainer are
// unchanged. The result depends only on the spec, the weights, the data,
// the configuration, the optimizer's state and the step index: it is the
// same on every run and at every GOMAXPROCS.
func (t *Trainer) Step(w tensor.Set) (StepStats, error) {
	if err := engine.CheckWeights(t.spec, w); err != nil {
		return StepStats{}, err
	}
	if t.sum == nil {
		t.names = w.Names()
		t.sum = tensor.Set{}
		for _, name := range t.names {
			t.sum[name] = tensor.Tensor{Shape: slices.Clone(w[name].Shape), Data: make([]float32, len(w[name].Data))}
		}
	}
	for _, name := range t.names {
		clear(t.sum[name].Data)
	}
	t.sample()
	stats := StepStats{Step: t.step, Batch: len(t.batch)}
	k := max(1, min(4*runtime.GOMAXPROCS(0), chunkBytes/(4*max(t.params, 1))))
	lossSum := 0.0 // in example order, whatever the chunk size
	for lo := 0; lo < len(t.batch); lo += k {
		chunk := t.batch[lo:min(lo+k, len(t.batch))]
		clipped, err := t.addClipped(w, chunk, &lossSum)
		if err != nil {
			return StepStats{}, err
		}
		stats.Clipped += clipped
	}
	if stats.Batch > 0 {
		stats.Loss = lossSum / float64(stats.Batch)
	}
	vecs := make([][]float32, len(t.names))
	for i, name := range t.names {
		vecs[i] = t.sum[name].Data
	}
	expected := t.cfg.SampleRate * float64(len(t.data.Labels))
	noisyScale(vecs, t.cfg.NoiseMultiplier*t.cfg.Clip, 1/expected, t.cfg.Seed, domainNoise, t.step)
	t.opt.Step(w, t.sum)
	t.step++
	return stats, nil
}

// sample draws this step's batch: example i joins when the i-th uniform
// of the stream (Seed, streamID(domainSample, step, 0)) is below the
// sampling rate.
func (t *Trainer) sample() {
	g := engine.NewRNG(t.cfg.Seed, streamID(domainSample, t.step, 0))
	t.batch = t.batch[:0]
	for i := range t.data.Labels {
		if float64(g.Float32()) < t.rate {
			t.batch = append(t.batch, i)
		}
	}
}

// addClipped computes the gradients of the examples of chunk, one example
// at a time and in parallel, clips each, and adds them to t.sum in chunk
// order, and their losses to *lossSum. It returns how many were clipped.
func (t *Trainer) addClipped(w tensor.Set, chunk []int, lossSum *float64) (int, error) {
	n := len(chunk)
	if cap(t.grads) < n {
		t.grads, t.scales = make([]tensor.Set, n), make([]float64, n)
		t.losses, t.clipped, t.errs = make([]float32, n), make([]bool, n), make([]error, n)
	}
	grads, scales, losses, clipped, errs := t.grads[:n], t.scales[:n], t.losses[:n], t.clipped[:n], t.errs[:n]
	width := t.data.Width
	par.Range(n, 1, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			i := chunk[j]
			loss, g, err := engine.Gradients(t.spec, w, t.data.Inputs[i*width:(i+1)*width], t.data.Labels[i:i+1])
			if err == nil {
				norm := 0.0
				for _, name := range t.names {
					if norm, err = addSquares(norm, g[name].Data); err != nil {
						err = fmt.Errorf("%s: %w", name, err)
						break
					}
				}
				norm = math.Sqrt(norm)
				scales[j], clipped[j] = clipScale(norm, t.cfg.Clip), norm > t.cfg.Clip
			}
			grads[j], losses[j], errs[j] = g, loss, err
		}
	})
	defer clear(grads) // let the collector have them
	count := 0
	for j, err := range errs {
		if err != nil {
			return 0, fmt.Errorf("privacy: gradient of example %d: %w", chunk[j], err)
		}
		if clipped[j] {
			count++
		}
	}
	for _, l := range losses {
		*lossSum += float64(l)
	}
	for _, name := range t.names {
		dst := t.sum[name].Data
		// Coordinates are independent; each adds the examples in order.
		// Blocks of sumBlock coordinates keep dst in cache while every
		// example's values are added to it.
		par.Range(len(dst), 4096, func(lo, hi int) {
			for b := lo; b < hi; b += sumBlock {
				e := min(b+sumBlock, hi)
				d := dst[b:e]
				for j, g := range grads {
					src, s := g[name].Data[b:e], scales[j]
					if s == 1 {
						for k, x := range src {
							d[k] += x
						}
						continue
					}
					for k, x := range src {
						d[k] += float32(float64(x) * s)
					}
				}
			}
		})
	}
	return count, nil
}
