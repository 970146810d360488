package privacy

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// clusters is a separable synthetic dataset (data.Clusters).
func clusters(n, width, classes int, seed uint64) engine.Dataset {
	return data.Clusters(n, width, classes, 2, seed)
}

func mlp(width, hidden, classes int) engine.Spec {
	return engine.Spec{Layers: []engine.LayerSpec{
		{Kind: "dense", Inputs: width, Outputs: hidden}, {Kind: "relu"}, {Kind: "dense", Inputs: hidden, Outputs: classes},
	}}
}

// reference is DP-SGD's signal without noise, computed the plain way:
// per-example gradients of the batch, each clipped to clip with a float64
// norm, summed in float64 and divided by q·N.
func reference(t *testing.T, spec engine.Spec, w tensor.Set, d engine.Dataset, batch []int, clip, q float64) (map[string][]float64, int) {
	sum, clipped := map[string][]float64{}, 0
	for name, tt := range w {
		sum[name] = make([]float64, len(tt.Data))
	}
	for _, i := range batch {
		_, g, err := engine.Gradients(spec, w, d.Inputs[i*d.Width:(i+1)*d.Width], d.Labels[i:i+1])
		require.NoError(t, err)
		n := 0.0
		for _, tt := range g {
			for _, x := range tt.Data {
				n += float64(x) * float64(x)
			}
		}
		n = math.Sqrt(n)
		s := 1.0
		if n > clip {
			s, clipped = clip/n, clipped+1
		}
		for name, tt := range g {
			for k, x := range tt.Data {
				sum[name][k] += float64(x) * s
			}
		}
	}
	for _, v := range sum {
		for k := range v {
			v[k] /= q * float64(len(d.Labels))
		}
	}
	return sum, clipped
}

// step takes one step with plain SGD at learning rate 1 and returns the
// batch and the gradient the optimizer got (old − new weights).
func step(t *testing.T, spec engine.Spec, d engine.Dataset, cfg SGDConfig, w tensor.Set) ([]int, StepStats, map[string][]float64) {
	tr, err := NewTrainer(spec, d, &engine.SGD{LearningRate: 1}, cfg)
	require.NoError(t, err)
	before := cloneSet(w)
	st, err := tr.Step(w)
	require.NoError(t, err)
	require.Equal(t, uint64(1), tr.Steps())
	got := map[string][]float64{}
	for name, tt := range w {
		got[name] = make([]float64, len(tt.Data))
		for k, x := range tt.Data {
			got[name][k] = float64(before[name].Data[k]) - float64(x)
		}
	}
	return append([]int(nil), tr.batch...), st, got
}

func TestTrainerMatchesReference(t *testing.T) {
	spec, d := mlp(20, 16, 3), clusters(300, 20, 3, 1)
	for _, clip := range []float64{1e6, 0.05} { // no clipping; every example clipped
		w, err := engine.Init(spec, 2)
		require.NoError(t, err)
		orig := cloneSet(w)
		cfg := SGDConfig{Clip: clip, NoiseMultiplier: 1e-12, SampleRate: 0.2, Seed: 4}
		batch, st, got := step(t, spec, d, cfg, w)
		require.Equal(t, len(batch), st.Batch)
		require.Greater(t, st.Batch, 30)
		want, clipped := reference(t, spec, orig, d, batch, clip, cfg.SampleRate)
		require.Equal(t, clipped, st.Clipped)
		if clip < 1 {
			require.Equal(t, st.Batch, st.Clipped)
		}
		for name, v := range want {
			scale := 0.0
			for _, x := range v {
				scale = max(scale, math.Abs(x))
			}
			for k, x := range v {
				require.InDelta(t, x, got[name][k], 1e-5*scale, "%s[%d] clip %g", name, k, clip)
			}
		}
		// The reported loss is the batch's mean loss.
		x, labels := make([]float32, 0, len(batch)*d.Width), make([]int, 0, len(batch))
		for _, i := range batch {
			x, labels = append(x, d.Inputs[i*d.Width:(i+1)*d.Width]...), append(labels, d.Labels[i])
		}
		loss, _, err := engine.Gradients(spec, orig, x, labels)
		require.NoError(t, err)
		require.InEpsilon(t, float64(loss), st.Loss, 1e-5)
	}
}

func TestTrainerNoiseScale(t *testing.T) {
	spec, d := mlp(100, 64, 3), clusters(200, 100, 3, 5)
	w, err := engine.Init(spec, 1)
	require.NoError(t, err)
	orig := cloneSet(w)
	cfg := SGDConfig{Clip: 0.5, NoiseMultiplier: 3, SampleRate: 0.25, Seed: 8}
	batch, _, got := step(t, spec, d, cfg, w)
	signal, _ := reference(t, spec, orig, d, batch, cfg.Clip, cfg.SampleRate)
	var res []float64
	for name, v := range signal {
		for k, x := range v {
			res = append(res, got[name][k]-x)
		}
	}
	mean, sq := 0.0, 0.0
	for _, r := range res {
		mean += r
	}
	mean /= float64(len(res))
	for _, r := range res {
		sq += (r - mean) * (r - mean)
	}
	want := cfg.NoiseMultiplier * cfg.Clip / (cfg.SampleRate * float64(len(d.Labels))) // σC/(qN)
	require.Greater(t, len(res), 6000)
	require.InDelta(t, 0, mean, 5*want/math.Sqrt(float64(len(res))))
	require.InEpsilon(t, want, math.Sqrt(sq/float64(len(res)-1)), 0.04)
}

func TestPoissonSampling(t *testing.T) {
	d := clusters(300, 4, 3, 1)
	tr, err := NewTrainer(mlp(4, 4, 3), d, &engine.SGD{LearningRate: 0.1}, SGDConfig{Clip: 1, NoiseMultiplier: 1, SampleRate: 0.2, Seed: 3})
	require.NoError(t, err)
	const steps = 400
	total, hits := 0, make([]int, 300)
	var first []int
	for s := uint64(0); s < steps; s++ {
		tr.step = s
		tr.sample()
		if s == 0 {
			first = append([]int(nil), tr.batch...)
		}
		total += len(tr.batch)
		for _, i := range tr.batch {
			hits[i]++
		}
	}
	require.InDelta(t, 60, float64(total)/steps, 1.5, "mean batch ≈ q·N")
	for i, h := range hits {
		require.InDelta(t, 0.2, float64(h)/steps, 0.1, "example %d", i)
	}
	tr.step = 0
	tr.sample()
	require.Equal(t, first, tr.batch, "a step's batch depends on (seed, step) only")
	tr.cfg.Seed = 4
	tr.sample()
	require.NotEqual(t, first, tr.batch)

	require.Equal(t, 0.5, EffectiveSampleRate(0.5))
	require.Equal(t, 1.0, EffectiveSampleRate(1))
	for _, q := range []float64{256.0 / 60000, 1e-9, 0.3} {
		e := EffectiveSampleRate(q)
		require.GreaterOrEqual(t, e, q)
		require.Less(t, e-q, 6e-8)
	}
}

// TestTrainerDeterministic: the same seed gives the same weights hash on
// every run and at GOMAXPROCS 1, 2 and 8 (which also changes how many
// examples a chunk holds).
func TestTrainerDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	spec, d := mlp(30, 24, 4), clusters(400, 30, 4, 2)
	type result struct {
		hash  [32]byte
		stats []StepStats
	}
	run := func(procs int, seed uint64) result {
		runtime.GOMAXPROCS(procs)
		w, err := engine.Init(spec, 1)
		require.NoError(t, err)
		tr, err := NewTrainer(spec, d, engine.NewAdam(0.01), SGDConfig{Clip: 0.5, NoiseMultiplier: 1.1, SampleRate: 0.1, Seed: seed})
		require.NoError(t, err)
		var res result
		for i := 0; i < 6; i++ {
			st, err := tr.Step(w)
			require.NoError(t, err)
			res.stats = append(res.stats, st)
		}
		res.hash, err = w.Hash()
		require.NoError(t, err)
		return res
	}
	ref := run(1, 7)
	require.Equal(t, ref, run(1, 7), "same seed, same run")
	require.Equal(t, ref, run(2, 7), "GOMAXPROCS=2")
	require.Equal(t, ref, run(8, 7), "GOMAXPROCS=8")
	require.NotEqual(t, ref.hash, run(2, 8).hash, "another seed")
}

// TestTrainerLearns: DP-SGD separates clusters, and the accountant says
// what it cost.
func TestTrainerLearns(t *testing.T) {
	spec, d := mlp(20, 16, 3), clusters(600, 20, 3, 3)
	w, err := engine.Init(spec, 1)
	require.NoError(t, err)
	cfg := SGDConfig{Clip: 1, NoiseMultiplier: 1, SampleRate: 0.1, Seed: 1}
	tr, err := NewTrainer(spec, d, engine.NewAdam(0.02), cfg)
	require.NoError(t, err)
	for i := 0; i < 60; i++ {
		_, err := tr.Step(w)
		require.NoError(t, err)
	}
	acc, err := engine.Accuracy(spec, w, d)
	require.NoError(t, err)
	require.Greater(t, acc, 0.95)
	eps, _, err := Epsilon(tr.SampleRate(), cfg.NoiseMultiplier, int(tr.Steps()), 1e-5)
	require.NoError(t, err)
	require.Less(t, eps, 10.0)
	require.Greater(t, eps, 0.5)
}

func TestTrainerEmptyBatch(t *testing.T) {
	spec, d := mlp(4, 4, 3), clusters(10, 4, 3, 1)
	w, err := engine.Init(spec, 1)
	require.NoError(t, err)
	tr, err := NewTrainer(spec, d, &engine.SGD{LearningRate: 1}, SGDConfig{Clip: 1, NoiseMultiplier: 1, SampleRate: 1e-7, Seed: 1})
	require.NoError(t, err)
	before, err := w.Hash()
	require.NoError(t, err)
	st, err := tr.Step(w)
	require.NoError(t, err)
	require.Zero(t, st.Batch)
	require.Zero(t, st.Loss)
	after, err := w.Hash()
	require.NoError(t, err)
	require.NotEqual(t, before, after, "an empty batch still takes a (pure noise) step")
}

func TestTrainerBadInput(t *testing.T) {
	spec, d := mlp(4, 4, 3), clusters(30, 4, 3, 1)
	good := SGDConfig{Clip: 1, NoiseMultiplier: 1, SampleRate: 0.1}
	opt := &engine.SGD{LearningRate: 0.1}
	for _, cfg := range []SGDConfig{
		{Clip: 0, NoiseMultiplier: 1, SampleRate: 0.1}, {Clip: -1, NoiseMultiplier: 1, SampleRate: 0.1},
		{Clip: math.Inf(1), NoiseMultiplier: 1, SampleRate: 0.1}, {Clip: 1, NoiseMultiplier: 0, SampleRate: 0.1},
		{Clip: 1, NoiseMultiplier: -2, SampleRate: 0.1}, {Clip: 1, NoiseMultiplier: math.NaN(), SampleRate: 0.1},
		{Clip: 1, NoiseMultiplier: 1, SampleRate: 0}, {Clip: 1, NoiseMultiplier: 1, SampleRate: 1.5},
		{Clip: 1, NoiseMultiplier: 1, SampleRate: math.NaN()},
	} {
		_, err := NewTrainer(spec, d, opt, cfg)
		require.Error(t, err, "%+v", cfg)
	}
	_, err := NewTrainer(spec, d, nil, good)
	require.ErrorContains(t, err, "optimizer")
	_, err = NewTrainer(engine.Spec{}, d, opt, good)
	require.Error(t, err)
	_, err = NewTrainer(mlp(5, 4, 3), d, opt, good)
	require.ErrorContains(t, err, "width")
	_, err = NewTrainer(spec, engine.Dataset{Width: 4}, opt, good)
	require.Error(t, err)
	bad := clusters(30, 4, 3, 1)
	bad.Labels[3] = 3
	_, err = NewTrainer(spec, bad, opt, good)
	require.ErrorContains(t, err, "label 3")
	bad = clusters(30, 4, 3, 1)
	bad.Inputs[5] = float32(math.NaN())
	_, err = NewTrainer(spec, bad, opt, good)
	require.ErrorContains(t, err, "inputs")
	bad = clusters(30, 4, 3, 1)
	bad.Inputs = bad.Inputs[:100]
	_, err = NewTrainer(spec, bad, opt, good)
	require.Error(t, err)

	tr, err := NewTrainer(spec, d, opt, good)
	require.NoError(t, err)
	w, err := engine.Init(spec, 1)
	require.NoError(t, err)
	w["layer0.weight"].Data[0] = float32(math.Inf(1))
	_, err = tr.Step(w)
	require.Error(t, err)
	delete(w, "layer0.weight")
	_, err = tr.Step(w)
	require.ErrorContains(t, err, "lack")
	require.Zero(t, tr.Steps(), "a failed step is not counted")
}

// BenchmarkStep is one DP-SGD step of the Fashion-MNIST MLP (784→128→10)
// with an expected batch of 256 synthetic examples; it reports per-example
// gradients per second.
func BenchmarkStep(b *testing.B) {
	spec, d := mlp(784, 128, 10), clusters(4096, 784, 10, 1)
	w, err := engine.Init(spec, 1)
	require.NoError(b, err)
	tr, err := NewTrainer(spec, d, engine.NewAdam(0.001), SGDConfig{Clip: 1, NoiseMultiplier: 1, SampleRate: 256.0 / 4096, Seed: 1})
	require.NoError(b, err)
	images := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := tr.Step(w)
		require.NoError(b, err)
		images += st.Batch
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}
