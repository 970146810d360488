package engine

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

func TestExpLogAccuracy(t *testing.T) {
	for x := float32(-80); x < 80; x += 0.37 {
		want := math.Exp(float64(x))
		require.InEpsilonf(t, want, float64(Exp(x)), 3e-7, "exp(%v)", x)
	}
	for _, x := range []float32{1e-30, 1e-5, 0.1, 0.5, 1, 2, 3.3, 1e5, 3e38} {
		want := math.Log(float64(x))
		require.InDeltaf(t, want, float64(Log(x)), 1e-6*math.Max(1, math.Abs(want)), "log(%v)", x)
	}
	require.Equal(t, float32(0), Exp(-200))
	require.True(t, math.IsInf(float64(Exp(100)), 1))
	require.True(t, math.IsInf(float64(Log(0)), -1))
	require.True(t, math.IsNaN(float64(Log(-1))))
}

// clusters returns a synthetic dataset: classes Gaussian clusters in width dimensions.
func clusters(n, width, classes int, seed uint64) Dataset {
	g := NewRNG(seed, 9)
	centres := make([]float32, classes*width)
	for i := range centres {
		centres[i] = 2 * g.Normal()
	}
	d := Dataset{Inputs: make([]float32, n*width), Labels: make([]int, n), Width: width}
	for i := 0; i < n; i++ {
		c := i % classes
		d.Labels[i] = c
		for j := 0; j < width; j++ {
			d.Inputs[i*width+j] = centres[c*width+j] + g.Normal()
		}
	}
	return d
}

var mlp = Spec{Layers: []LayerSpec{{Kind: "dense", Inputs: 100, Outputs: 64}, {Kind: "relu"}, {Kind: "dense", Inputs: 64, Outputs: 5}}}

func TestGradientsMatchFiniteDifferences(t *testing.T) {
	spec := Spec{Layers: []LayerSpec{{Kind: "dense", Inputs: 6, Outputs: 5}, {Kind: "relu"}, {Kind: "dense", Inputs: 5, Outputs: 3}}}
	w, err := Init(spec, 3)
	require.NoError(t, err)
	data := clusters(4, 6, 3, 1)
	_, grads, err := Gradients(spec, w, data.Inputs, data.Labels)
	require.NoError(t, err)
	const eps = 1e-3
	for _, name := range w.Names() {
		for i := range w[name].Data {
			orig := w[name].Data[i]
			w[name].Data[i] = orig + eps
			lp, _, _ := Gradients(spec, w, data.Inputs, data.Labels)
			w[name].Data[i] = orig - eps
			lm, _, _ := Gradients(spec, w, data.Inputs, data.Labels)
			w[name].Data[i] = orig
			numeric := float64(lp-lm) / (2 * eps)
			require.InDeltaf(t, numeric, float64(grads[name].Data[i]), 2e-3+0.05*math.Abs(numeric), "%s[%d]", name, i)
		}
	}
}

func TestTrainingLearns(t *testing.T) {
	w, err := Init(mlp, 7)
	require.NoError(t, err)
	data := clusters(1000, 100, 5, 2)
	res, err := Train(mlp, w, data, TrainConfig{Steps: 60, BatchSize: 64, LearningRate: 0.05, Momentum: 0.9, Seed: 11})
	require.NoError(t, err)
	require.Less(t, res.Losses[len(res.Losses)-1], res.Losses[0]/4, "loss falls")
	logits, err := Forward(mlp, res.Weights, data.Inputs, len(data.Labels))
	require.NoError(t, err)
	correct := 0
	for n, y := range data.Labels {
		row := logits[n*5 : (n+1)*5]
		best := 0
		for c := range row {
			if row[c] > row[best] {
				best = c
			}
		}
		if best == y {
			correct++
		}
	}
	require.Greater(t, correct, 950, "separable clusters are learned")
	// The update is new − old.
	for name, u := range res.Update {
		for i := range u.Data {
			require.Equal(t, res.Weights[name].Data[i]-w[name].Data[i], u.Data[i])
		}
	}
}

// TestDeterministicAcrossRunsAndThreads is the engine's defining property:
// the same spec, weights, data and seed give bit-identical checkpoints and
// weights on every run at GOMAXPROCS 1, 2 and 8.
func TestDeterministicAcrossRunsAndThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	data := clusters(512, 100, 5, 3)
	run := func(procs int) ([][32]byte, [32]byte) {
		runtime.GOMAXPROCS(procs)
		w, err := Init(mlp, 5)
		require.NoError(t, err)
		res, err := Train(mlp, w, data, TrainConfig{Steps: 12, BatchSize: 128, LearningRate: 0.05, Momentum: 0.9, Seed: 4})
		require.NoError(t, err)
		h, err := res.Weights.Hash()
		require.NoError(t, err)
		return res.Checkpoints, h
	}
	wantCk, want := run(1)
	for _, procs := range []int{1, 2, 8, 8, 2} {
		ck, got := run(procs)
		require.Equal(t, want, got, "GOMAXPROCS=%d", procs)
		require.Equal(t, wantCk, ck, "GOMAXPROCS=%d", procs)
	}
	// And a different seed gives different weights.
	w, _ := Init(mlp, 5)
	res, err := Train(mlp, w, data, TrainConfig{Steps: 12, BatchSize: 128, LearningRate: 0.05, Momentum: 0.9, Seed: 5})
	require.NoError(t, err)
	other, _ := res.Weights.Hash()
	require.NotEqual(t, want, other)
}

func TestAdamLearnsAndIsDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	data := clusters(1000, 100, 5, 2)
	run := func(procs int) TrainResult {
		runtime.GOMAXPROCS(procs)
		w, err := Init(mlp, 7)
		require.NoError(t, err)
		res, err := Train(mlp, w, data, TrainConfig{Steps: 40, BatchSize: 64, LearningRate: 0.003, Optimizer: "adam", Seed: 11})
		require.NoError(t, err)
		return res
	}
	a, b := run(1), run(8)
	require.Less(t, a.Losses[len(a.Losses)-1], a.Losses[0]/4)
	require.Equal(t, a.Checkpoints, b.Checkpoints)
}

func TestBadInput(t *testing.T) {
	require.Error(t, Spec{}.Validate())
	require.Error(t, Spec{Layers: []LayerSpec{{Kind: "relu"}}}.Validate())
	require.Error(t, Spec{Layers: []LayerSpec{{Kind: "dense", Inputs: 3, Outputs: 2}, {Kind: "dense", Inputs: 4, Outputs: 1}}}.Validate())
	require.Error(t, Spec{Layers: []LayerSpec{{Kind: "conv9"}}}.Validate())
	w, err := Init(mlp, 1)
	require.NoError(t, err)
	bad := tensor.Set{}
	for k, v := range w {
		bad[k] = v
	}
	bad["layer0.bias"] = tensor.Tensor{Shape: []int{3}, Data: make([]float32, 3)}
	require.Error(t, CheckWeights(mlp, bad))
	nan := tensor.Tensor{Shape: []int{64}, Data: make([]float32, 64)}
	nan.Data[3] = float32(math.NaN())
	bad["layer0.bias"] = nan
	require.ErrorIs(t, CheckWeights(mlp, bad), tensor.ErrNotFinite)
	_, _, err = Gradients(mlp, w, make([]float32, 100), []int{7})
	require.Error(t, err, "label out of range")
	_, err = Train(mlp, w, Dataset{Inputs: make([]float32, 10), Labels: []int{0}, Width: 10}, TrainConfig{Steps: 1, BatchSize: 1})
	require.Error(t, err, "width mismatch")
}

// TestTrainEpochs: Epochs sets the number of steps to whole passes over the
// data, and gives the same run as those steps named directly.
func TestTrainEpochs(t *testing.T) {
	data := clusters(200, 100, 5, 2)
	w, err := Init(mlp, 7)
	require.NoError(t, err)
	byEpochs, err := Train(mlp, w, data, TrainConfig{Epochs: 2, BatchSize: 64, LearningRate: 0.05, Seed: 3})
	require.NoError(t, err)
	require.Len(t, byEpochs.Checkpoints, 2*4, "ceil(200/64) = 4 steps an epoch")
	bySteps, err := Train(mlp, w, data, TrainConfig{Steps: 8, BatchSize: 64, LearningRate: 0.05, Seed: 3})
	require.NoError(t, err)
	require.Equal(t, bySteps.Checkpoints, byEpochs.Checkpoints)
	_, err = Train(mlp, w, data, TrainConfig{BatchSize: 64})
	require.Error(t, err, "neither steps nor epochs")
}
