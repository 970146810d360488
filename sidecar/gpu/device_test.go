//go:build cuda || cudaemu

package gpu

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// The device tests: every kernel, on random inputs of many shapes (none
// a multiple of a block), against the CPU bit for bit; whole models'
// gradients and training runs against the engine; every aggregation rule
// and a whole federated round against package aggregate. With the cuda
// tag they run on the GPU; with the cudaemu tag on the CPU emulation of
// the same CUDA source (smaller sizes).

// big reports whether the tests run on a real GPU (larger cases).
const big = CUDA

func openDevice(t testing.TB) *devBackend {
	t.Helper()
	b, err := Open()
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	d, ok := b.(*devBackend)
	require.True(t, ok, "Open returns the device backend in this build")
	prefix := "cudaemu"
	if CUDA {
		prefix = "cuda: "
	}
	require.True(t, strings.HasPrefix(d.Name(), prefix), d.Name())
	t.Logf("backend: %s", d.Name())
	return d
}

func TestDeviceExpLog(t *testing.T) {
	b := openDevice(t)
	var x []float32
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 88.72283, 88.72284, -103.97208, -103.9721, 1e-45, -1e-45,
		math.Inf(1), math.Inf(-1), math.NaN(), 3.4028235e38, 1.17549435e-38, 0.5, 2, 0.6931472, 100, -100} {
		x = append(x, float32(v))
	}
	step := uint32(1<<20 + 7)
	if big {
		step = 4099
	}
	for u := uint64(0); u < 1<<32; u += uint64(step) {
		x = append(x, math.Float32frombits(uint32(u)))
	}
	cpu := CPU()
	for _, f := range []struct {
		name     string
		dev, ref func([]float32) ([]float32, error)
	}{{"exp", b.Exp, cpu.Exp}, {"log", b.Log, cpu.Log}} {
		want, err := f.ref(x)
		require.NoError(t, err)
		got, err := f.dev(x)
		require.NoError(t, err)
		bitsEqual(t, want, got, "%s over %d values", f.name, len(x))
	}
}

func TestDeviceDense(t *testing.T) {
	b := openDevice(t)
	cpu := CPU()
	cases := denseCases
	if !big {
		cases = [][3]int{{1, 1, 1}, {3, 13, 67}, {65, 129, 63}, {5, 17, 130}}
	}
	for i, c := range cases {
		batch, in, out := c[0], c[1], c[2]
		x, w, bias := randomFloats(uint64(i), batch*in), randomFloats(uint64(i)+1, in*out), randomFloats(uint64(i)+2, out)
		dy := randomFloats(uint64(i)+3, batch*out)
		want, err := cpu.DenseForward(x, batch, in, out, w, bias)
		require.NoError(t, err)
		got, err := b.DenseForward(x, batch, in, out, w, bias)
		require.NoError(t, err)
		bitsEqual(t, want, got, "dense forward %v", c)
		for _, needDX := range []bool{false, true} {
			ww, wb, wx, err := cpu.DenseBackward(x, dy, batch, in, out, w, needDX)
			require.NoError(t, err)
			gw, gb, gx, err := b.DenseBackward(x, dy, batch, in, out, w, needDX)
			require.NoError(t, err)
			bitsEqual(t, ww, gw, "dense dW %v", c)
			bitsEqual(t, wb, gb, "dense db %v", c)
			bitsEqual(t, wx, gx, "dense dx %v", c)
		}
	}
}

func TestDeviceConv(t *testing.T) {
	b := openDevice(t)
	cpu := CPU()
	cases := convCases
	if !big {
		cases = convCases[2:]
	}
	for i, g := range cases {
		batch := 3 + i%3
		if big {
			batch = 64 + i
		}
		x := randomFloats(uint64(i), batch*g.C*g.H*g.W)
		w, bias := randomFloats(uint64(i)+7, g.F*g.C*g.K*g.K), randomFloats(uint64(i)+9, g.F)
		dy := randomFloats(uint64(i)+11, batch*g.F*g.OH()*g.OW())
		want, err := cpu.Conv2DForward(x, batch, g, w, bias)
		require.NoError(t, err)
		ww, wb, wx, err := cpu.Conv2DBackward(x, dy, batch, g, w, true)
		require.NoError(t, err)
		for _, budget := range []int{1, defaultColBudget} {
			b.colBudget = budget
			got, err := b.Conv2DForward(x, batch, g, w, bias)
			require.NoError(t, err)
			bitsEqual(t, want, got, "conv forward %+v budget %d", g, budget)
			gw, gb, gx, err := b.Conv2DBackward(x, dy, batch, g, w, true)
			require.NoError(t, err)
			bitsEqual(t, ww, gw, "conv dW %+v budget %d", g, budget)
			bitsEqual(t, wb, gb, "conv db %+v", g)
			bitsEqual(t, wx, gx, "conv dx %+v budget %d", g, budget)
		}
		b.colBudget = defaultColBudget
	}
}

func TestDevicePoolReluSoftmax(t *testing.T) {
	b := openDevice(t)
	cpu := CPU()
	for i, g := range poolCases {
		batch := 2 + i
		x := randomFloats(uint64(i)+3, batch*g.C*g.H*g.W)
		wy, warg, err := cpu.MaxPool2DForward(x, batch, g)
		require.NoError(t, err)
		gy, garg, err := b.MaxPool2DForward(x, batch, g)
		require.NoError(t, err)
		bitsEqual(t, wy, gy, "pool forward %+v", g)
		require.Equal(t, warg, garg, "pool argmax %+v", g)
		dy := randomFloats(uint64(i)+5, len(wy))
		wx, err := cpu.MaxPool2DBackward(dy, warg, batch, g)
		require.NoError(t, err)
		gx, err := b.MaxPool2DBackward(dy, warg, batch, g)
		require.NoError(t, err)
		bitsEqual(t, wx, gx, "pool backward %+v", g)
	}
	for _, n := range []int{1, 255, 257, 10007} {
		x, dy := randomFloats(uint64(n), n), randomFloats(uint64(n)+1, n)
		want, _ := cpu.ReLUForward(x)
		got, err := b.ReLUForward(x)
		require.NoError(t, err)
		bitsEqual(t, want, got, "relu %d", n)
		want, _ = cpu.ReLUBackward(x, dy)
		got, err = b.ReLUBackward(x, dy)
		require.NoError(t, err)
		bitsEqual(t, want, got, "relu backward %d", n)
	}
	for _, c := range [][2]int{{1, 1}, {64, 10}, {5, 3}, {300, 17}} {
		batch, classes := c[0], c[1]
		logits := randomFloats(uint64(batch)+9, batch*classes)
		for i := range logits {
			logits[i] *= 30
		}
		labels := make([]int, batch)
		for i := range labels {
			labels[i] = (i * 3) % classes
		}
		wl, wg, err := cpu.SoftmaxCrossEntropy(logits, labels, classes)
		require.NoError(t, err)
		gl, gg, err := b.SoftmaxCrossEntropy(logits, labels, classes)
		require.NoError(t, err)
		require.Equal(t, math.Float32bits(wl), math.Float32bits(gl), "softmax loss %v", c)
		bitsEqual(t, wg, gg, "softmax gradient %v", c)
	}
}

// TestDeviceGradients: whole models on the device against the engine.
func TestDeviceGradients(t *testing.T) {
	b := openDevice(t)
	type model struct {
		name  string
		spec  engine.Spec
		batch int
	}
	models := []model{{"odd-cnn", oddCNN, 9}, {"odd-mlp", oddMLP, 70}, {"fashion-cnn", fashionCNN, 2}}
	if big {
		models = append(models, model{"fashion-mlp", fashionMLP, 64}, model{"fashion-cnn", fashionCNN, 64})
	}
	for _, m := range models {
		w, err := engine.Init(m.spec, 11)
		require.NoError(t, err)
		x, labels := batchFor(t, m.spec, m.batch, 4)
		for _, drop := range []*Dropout{nil, {Seed: 3, Step: 7}} {
			wl, want, err := CPU().Gradients(m.spec, w, x, labels, drop)
			require.NoError(t, err)
			gl, got, err := b.Gradients(m.spec, w, x, labels, drop)
			require.NoError(t, err)
			require.Equal(t, math.Float32bits(wl), math.Float32bits(gl), "%s loss", m.name)
			setsEqual(t, want, got, "%s batch %d dropout %v", m.name, m.batch, drop != nil)
		}
	}
}

// TestDeviceTrainReplay: a training run re-executed on the device gives
// the provider's checkpoint hashes.
func TestDeviceTrainReplay(t *testing.T) {
	b := openDevice(t)
	spec, n, batch, steps := oddCNN, 60, 16, 4
	if big {
		spec, n, batch, steps = fashionCNN, 512, 64, 5
	}
	w, err := engine.Init(spec, 2)
	require.NoError(t, err)
	x, labels := batchFor(t, spec, n, 6)
	data := engine.Dataset{Inputs: x, Labels: labels, Width: spec.InputWidth()}
	for _, cfg := range []engine.TrainConfig{
		{Steps: steps, BatchSize: batch, LearningRate: 0.05, Momentum: 0.9, Seed: 1},
		{Steps: steps, BatchSize: batch, LearningRate: 0.001, Optimizer: "adam", Seed: 2},
	} {
		want, err := engine.Train(spec, w, data, cfg)
		require.NoError(t, err)
		got, err := Train(b, spec, w, data, cfg)
		require.NoError(t, err)
		require.Equal(t, want.Checkpoints, got.Checkpoints, "optimizer %q", cfg.Optimizer)
		require.Equal(t, want.Losses, got.Losses)
	}
}

func allRules() []aggregate.Rule {
	return append([]aggregate.Rule{aggregate.FedAvg{}, aggregate.Median{}, aggregate.TrimmedMean{Beta: 0.1},
		aggregate.TrimmedMean{Beta: 0.2}, aggregate.TrimmedMean{Beta: 0.45}}, vectorRules()...)
}

// TestDeviceAggregation: every rule for many client counts and sizes,
// with the pipeline in one chunk and in many, against package aggregate.
func TestDeviceAggregation(t *testing.T) {
	b := openDevice(t)
	sizes := []int{1, 255, 257, 4099}
	if big {
		sizes = append(sizes, 1<<20+3)
	}
	for _, n := range []int{1, 2, 3, 7, 11, 16, 17} {
		for _, d := range sizes {
			ups := randomUpdates(uint64(n*7+d), n, d)
			small := int64(1 << 10) // many chunks; at the large size, still dozens
			if d > 1<<16 {
				small = 1 << 22
			}
			for _, pipe := range []int64{small, defaultPipeBytes} {
				b.pipeBytes, b.stageBytes = pipe, min(pipe, defaultStageBytes)
				for _, r := range allRules() {
					want, werr := r.Aggregate(nil, ups)
					got, gerr := b.Aggregate(r, make([]float32, 0, d), ups)
					if werr != nil {
						require.Error(t, gerr, "%s n=%d d=%d", r.Name(), n, d)
						continue
					}
					require.NoError(t, gerr, "%s n=%d d=%d", r.Name(), n, d)
					bitsEqual(t, want, got, "%s n=%d d=%d pipeline %d", r.Name(), n, d, pipe)
				}
			}
		}
	}
	b.pipeBytes, b.stageBytes = defaultPipeBytes, defaultStageBytes
	ups := randomUpdates(5, 9, 300)
	want, err := CPU().PairwiseSqDist(ups)
	require.NoError(t, err)
	got, err := b.PairwiseSqDist(ups)
	require.NoError(t, err)
	bits64Equal(t, want, got, "pairwise distances")
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(-1))} {
		ups[4].Vector[123] = bad
		for _, r := range allRules() {
			_, err := b.Aggregate(r, nil, ups)
			require.ErrorIs(t, err, aggregate.ErrBadUpdates, r.Name())
		}
	}
	// Empty vectors.
	empty := []aggregate.Update{{Vector: []float32{}, Samples: 1}, {Vector: []float32{}, Samples: 2}, {Vector: []float32{}, Samples: 3}}
	for _, r := range []aggregate.Rule{aggregate.FedAvg{}, aggregate.Median{}} {
		want, werr := r.Aggregate(nil, empty)
		got, gerr := b.Aggregate(r, nil, empty)
		require.Equal(t, werr == nil, gerr == nil, r.Name())
		require.Equal(t, len(want), len(got))
	}
}

// TestDeviceFederatedRound: a whole federated round. Clients train
// locally (on the device and on the CPU: the same updates), then each
// rule aggregates the updates on the device and on the CPU; the new
// global weights hash the same.
func TestDeviceFederatedRound(t *testing.T) {
	b := openDevice(t)
	spec, clients, per, batch, steps := oddCNN, 7, 24, 8, 2
	if big {
		spec, clients, per, batch, steps = fashionCNN, 16, 256, 32, 3
	}
	global, err := engine.Init(spec, 21)
	require.NoError(t, err)
	var ups []aggregate.Update
	for c := 0; c < clients; c++ {
		x, labels := batchFor(t, spec, per, uint64(100+c))
		data := engine.Dataset{Inputs: x, Labels: labels, Width: spec.InputWidth()}
		cfg := engine.TrainConfig{Steps: steps, BatchSize: batch, LearningRate: 0.05, Momentum: 0.9, Seed: uint64(c)}
		want, err := engine.Train(spec, global, data, cfg)
		require.NoError(t, err)
		got, err := Train(b, spec, global, data, cfg)
		require.NoError(t, err)
		setsEqual(t, want.Update, got.Update, "client %d update", c)
		ups = append(ups, aggregate.Update{Vector: aggregate.Flatten(got.Update), Samples: per - c})
	}
	for _, r := range allRules() {
		want, werr := r.Aggregate(nil, ups)
		got, gerr := b.Aggregate(r, nil, ups)
		if werr != nil {
			require.Error(t, gerr, r.Name())
			continue
		}
		require.NoError(t, gerr, r.Name())
		apply := func(agg []float32) [32]byte {
			delta, err := aggregate.Unflatten(agg, global)
			require.NoError(t, err)
			next := tensor.Set{}
			for name, tt := range global {
				d := make([]float32, len(tt.Data))
				for i := range d {
					d[i] = tt.Data[i] + delta[name].Data[i]
				}
				next[name] = tensor.Tensor{Shape: tt.Shape, Data: d}
			}
			h, err := next.Hash()
			require.NoError(t, err)
			return h
		}
		require.Equal(t, apply(want), apply(got), "global weights after %s", r.Name())
	}
}

// TestDevicePoolSteadyState: repeated calls reuse the pooled buffers.
func TestDevicePoolSteadyState(t *testing.T) {
	b := openDevice(t)
	w, err := engine.Init(oddCNN, 1)
	require.NoError(t, err)
	x, labels := batchFor(t, oddCNN, 8, 1)
	ups := randomUpdates(1, 11, 1000)
	call := func() {
		_, _, err := b.Gradients(oddCNN, w, x, labels, &Dropout{Seed: 1})
		require.NoError(t, err)
		for _, r := range allRules() {
			_, err := b.Aggregate(r, nil, ups)
			require.NoError(t, err)
		}
	}
	call()
	held := b.dev.held
	for range 3 {
		call()
	}
	require.Equal(t, held, b.dev.held, "no device allocation once warm")
}

func TestDeviceShapeErrors(t *testing.T) {
	b := openDevice(t)
	_, err := b.DenseForward(make([]float32, 5), 2, 3, 4, make([]float32, 12), make([]float32, 4))
	require.ErrorIs(t, err, ErrShape)
	_, err = b.Conv2DForward(nil, 1, ConvGeom{C: 1, H: 3, W: 3, F: 1, K: 5, Stride: 1}, nil, nil)
	require.ErrorIs(t, err, ErrShape)
	_, _, err = b.SoftmaxCrossEntropy(make([]float32, 6), []int{0, 3}, 3)
	require.ErrorIs(t, err, ErrShape)
	_, err = b.FedAvg(nil, nil)
	require.ErrorIs(t, err, aggregate.ErrBadUpdates)
	w, _ := engine.Init(oddMLP, 1)
	_, _, err = b.Gradients(oddMLP, w, make([]float32, 13), []int{9}, nil)
	require.Error(t, err)
	require.NoError(t, b.Close())
	_, err = b.Exp([]float32{1})
	require.ErrorIs(t, err, ErrClosed)
}
