package gpu

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// These tests need no GPU: they check the kernel emulations (emulate.go),
// the launch parameters and the host-side rule code against packages
// engine and aggregate bit for bit, and the committed PTX against the
// CUDA source. The cuda tests then check the kernels against the same
// emulations on a GPU.

func TestOpenDefault(t *testing.T) {
	b, err := Open()
	require.NoError(t, err)
	defer b.Close()
	if _, ok := b.(cpuBackend); ok {
		require.False(t, CUDA)
		require.Equal(t, "cpu", b.Name())
	} else {
		require.True(t, strings.HasPrefix(b.Name(), "cuda"), b.Name())
	}
}

// TestDenseMatchesEngine: the dense launches, emulated, against the
// engine's forward pass.
func TestDenseMatchesEngine(t *testing.T) {
	for i, c := range denseCases {
		batch, in, out := c[0], c[1], c[2]
		x, w, b := randomFloats(uint64(i), batch*in), randomFloats(uint64(i)+50, in*out), randomFloats(uint64(i)+90, out)
		want, err := CPU().DenseForward(x, batch, in, out, w, b)
		require.NoError(t, err)
		got, _ := emuOps{}.dense(x, batch, in, out, w, b)
		bitsEqual(t, want, got, "dense %v", c)
	}
}

// TestConvMatchesEngine: im2col and the conv launches, emulated (with a
// workspace small enough to split the batch into chunks), against the
// engine's forward pass.
func TestConvMatchesEngine(t *testing.T) {
	for i, g := range convCases {
		batch := 3 + i%3
		x := randomFloats(uint64(i), batch*g.C*g.H*g.W)
		w, b := randomFloats(uint64(i)+7, g.F*g.C*g.K*g.K), randomFloats(uint64(i)+9, g.F)
		want, err := CPU().Conv2DForward(x, batch, g, w, b)
		require.NoError(t, err)
		for _, budget := range []int{1, defaultColBudget} {
			got, _ := emuOps{colBudget: budget}.conv(x, batch, g, w, b)
			bitsEqual(t, want, got, "conv %+v budget %d", g, budget)
		}
	}
}

// TestPoolMatchesEngine: pooling values against the engine's forward pass.
func TestPoolMatchesEngine(t *testing.T) {
	for i, g := range poolCases {
		batch := 2 + i%2
		x := randomFloats(uint64(i)+3, batch*g.C*g.H*g.W)
		s := engine.Spec{Input: []int{g.C, g.H, g.W}, Layers: []engine.LayerSpec{{Kind: engine.KindMaxPool2D, Size: g.Size, Stride: g.Stride}, {Kind: engine.KindFlatten}}}
		want, err := engine.Forward(s, tensor.Set{}, x, batch)
		require.NoError(t, err)
		got, arg, err := CPU().MaxPool2DForward(x, batch, g)
		require.NoError(t, err)
		bitsEqual(t, want, got, "pool %+v", g)
		for o, a := range arg {
			require.Equal(t, math.Float32bits(got[o]), math.Float32bits(x[(o/(g.OH()*g.OW()))*g.H*g.W+int(a)]))
		}
	}
}

func TestSoftmaxMatchesEngine(t *testing.T) {
	for _, c := range [][2]int{{1, 1}, {64, 10}, {5, 3}, {33, 17}} {
		batch, classes := c[0], c[1]
		logits := randomFloats(uint64(batch), batch*classes)
		for i := range logits {
			logits[i] *= 20
		}
		labels := make([]int, batch)
		for i := range labels {
			labels[i] = (i * 5) % classes
		}
		wl, wg, err := engine.SoftmaxCrossEntropy(logits, labels, classes)
		require.NoError(t, err)
		gl, gg, _ := emuOps{}.softmaxXent(logits, labels, classes)
		require.Equal(t, math.Float32bits(wl), math.Float32bits(gl))
		bitsEqual(t, wg, gg, "softmax %v", c)
	}
}

// emuBackend is the CPU backend whose Gradients runs the emulated layer
// launches through modelGradients: the composition the CUDA backend uses.
type emuBackend struct {
	cpuBackend
	budget int
}

func (e emuBackend) Gradients(s engine.Spec, w tensor.Set, x []float32, labels []int, drop *Dropout) (float32, tensor.Set, error) {
	return modelGradients[[]float32, []int32](emuOps{colBudget: e.budget}, s, w, x, labels, drop)
}

// TestModelGradientsMatchEngine: every backward launch (dense, conv in
// chunks, pooling with overlapping windows, ReLU, dropout) composed as
// the CUDA backend composes them, against engine.Gradients and
// engine.GradientsWithDropout.
func TestModelGradientsMatchEngine(t *testing.T) {
	for _, m := range []struct {
		name  string
		spec  engine.Spec
		batch int
	}{{"fashion-mlp", fashionMLP, 5}, {"fashion-cnn", fashionCNN, 3}, {"odd-cnn", oddCNN, 6}, {"odd-mlp", oddMLP, 11}} {
		w, err := engine.Init(m.spec, 3)
		require.NoError(t, err)
		for _, wt := range w { // non-zero biases
			for i := range wt.Data {
				if wt.Data[i] == 0 {
					wt.Data[i] = float32(i%5) * 0.01
				}
			}
		}
		x, labels := batchFor(t, m.spec, m.batch, 5)
		for _, drop := range []*Dropout{nil, {Seed: 9, Step: 4}} {
			wantLoss, want, err := CPU().Gradients(m.spec, w, x, labels, drop)
			require.NoError(t, err)
			for _, budget := range []int{1, defaultColBudget} {
				loss, got, err := emuBackend{budget: budget}.Gradients(m.spec, w, x, labels, drop)
				require.NoError(t, err)
				require.Equal(t, math.Float32bits(wantLoss), math.Float32bits(loss), "%s loss", m.name)
				setsEqual(t, want, got, "%s dropout=%v budget=%d", m.name, drop != nil, budget)
			}
		}
	}
}

// TestTrainMatchesEngine: Train's replay of engine.Train (batch order,
// dropout steps, optimizers, checkpoints), with the engine's gradients
// and with the emulated launches.
func TestTrainMatchesEngine(t *testing.T) {
	spec := oddCNN
	w, err := engine.Init(spec, 1)
	require.NoError(t, err)
	x, labels := batchFor(t, spec, 40, 2)
	data := engine.Dataset{Inputs: x, Labels: labels, Width: spec.InputWidth()}
	for _, cfg := range []engine.TrainConfig{
		{Steps: 5, BatchSize: 16, LearningRate: 0.05, Momentum: 0.9, Seed: 3},
		{Steps: 4, BatchSize: 7, LearningRate: 0.01, Optimizer: "adam", Seed: 8},
	} {
		want, err := engine.Train(spec, w, data, cfg)
		require.NoError(t, err)
		for _, b := range []Backend{CPU(), emuBackend{budget: 100}} {
			got, err := Train(b, spec, w, data, cfg)
			require.NoError(t, err)
			require.Equal(t, want.Checkpoints, got.Checkpoints)
			require.Equal(t, want.Losses, got.Losses)
			setsEqual(t, want.Update, got.Update, "update")
		}
	}
}

// TestSortingNetworkRanks: the emulated sorting kernel with the replica
// of aggregate's network gives aggregate's median and trimmed mean.
func TestSortedMatchesAggregate(t *testing.T) {
	const d = 301
	for n := 1; n <= 21; n++ {
		ups := randomUpdates(uint64(n), n, d)
		rows := make([]int, n)
		for i := range rows {
			rows[i] = i
		}
		e := newEmuVec(ups)
		want, err := aggregate.Median{}.Aggregate(nil, ups)
		require.NoError(t, err)
		bad, _ := e.setSorted(rows, sortedMedian, 0)
		require.False(t, bad)
		got, _ := e.result(nil)
		bitsEqual(t, want, got, "median n=%d", n)
		for _, beta := range []float64{0.1, 0.2, 0.34, 0.49} {
			cut, err := trimmedCut(beta, n)
			want, werr := aggregate.TrimmedMean{Beta: beta}.Aggregate(nil, ups)
			if err != nil {
				require.Error(t, werr)
				continue
			}
			require.NoError(t, werr)
			bad, _ := e.setSorted(rows, sortedTrimmed, cut)
			require.False(t, bad)
			got, _ := e.result(nil)
			bitsEqual(t, want, got, "trimmed mean n=%d beta=%v", n, beta)
		}
	}
}

func TestFedAvgMatchesAggregate(t *testing.T) {
	for _, n := range []int{1, 2, 3, 16, 17} {
		for _, d := range []int{1, 7, 4099} {
			ups := randomUpdates(uint64(n*d), n, d)
			want, err := aggregate.FedAvg{}.Aggregate(nil, ups)
			require.NoError(t, err)
			mat := newEmuVec(ups).mat
			got := make([]float32, d)
			require.False(t, fedAvgEmulate(got, mat, d, n, d, fedAvgWeights(ups)))
			bitsEqual(t, want, got, "fedavg n=%d d=%d", n, d)
		}
	}
}

func vectorRules() []aggregate.Rule {
	return []aggregate.Rule{aggregate.Krum{F: 2}, aggregate.Krum{F: 2, Multi: 4}, aggregate.Krum{F: 0, Multi: 3},
		aggregate.Bulyan{F: 1}, aggregate.Bulyan{F: 2}, aggregate.GeometricMedian{Iterations: 30}, aggregate.GeometricMedian{},
		aggregate.CenteredClipping{Tau: 2, Iterations: 3}, aggregate.CenteredClipping{Tau: 0.5}}
}

// TestVectorRulesMatchAggregate: runVector on the emulated device against
// package aggregate, errors included.
func TestVectorRulesMatchAggregate(t *testing.T) {
	for _, n := range []int{7, 11, 16} {
		for _, d := range []int{5, 1001} {
			ups := randomUpdates(uint64(n+d), n, d)
			for _, r := range vectorRules() {
				want, werr := r.Aggregate(nil, ups)
				got, gerr := runVector(newEmuVec(ups), r, nil, ups)
				if werr != nil {
					require.Error(t, gerr, "%s n=%d", r.Name(), n)
					continue
				}
				require.NoError(t, gerr, "%s n=%d d=%d", r.Name(), n, d)
				bitsEqual(t, want, got, "%s n=%d d=%d", r.Name(), n, d)
			}
		}
	}
	ups := randomUpdates(4, 11, 50)
	ups[5].Vector[17] = float32(math.Inf(1))
	for _, r := range vectorRules() {
		_, err := runVector(newEmuVec(ups), r, nil, ups)
		require.ErrorIs(t, err, aggregate.ErrBadUpdates, r.Name())
	}
}

func TestPairwiseSqDist(t *testing.T) {
	ups := randomUpdates(1, 5, 33)
	d, err := CPU().PairwiseSqDist(ups)
	require.NoError(t, err)
	for i := 0; i < 5; i++ {
		require.Zero(t, d[i*5+i])
		for j := 0; j < 5; j++ {
			var s float64
			for c := range ups[i].Vector {
				x := float64(ups[i].Vector[c]) - float64(ups[j].Vector[c])
				s += float64(x * x)
			}
			require.Equal(t, s, d[i*5+j])
		}
	}
}

func TestRuleWrapperAndErrors(t *testing.T) {
	ups := randomUpdates(2, 11, 40)
	for _, r := range append(vectorRules(), aggregate.FedAvg{}, aggregate.Median{}, aggregate.TrimmedMean{Beta: 0.2}) {
		w := Rule(CPU(), r)
		require.Equal(t, r.Name(), w.Name())
		want, err := r.Aggregate(nil, ups)
		require.NoError(t, err)
		got, err := w.Aggregate(make([]float32, 0, 40), ups)
		require.NoError(t, err)
		bitsEqual(t, want, got, "%s", r.Name())
	}
	b := CPU()
	_, err := b.DenseForward(make([]float32, 5), 2, 3, 4, make([]float32, 12), make([]float32, 4))
	require.ErrorIs(t, err, ErrShape)
	_, err = b.Conv2DForward(nil, 1, ConvGeom{C: 1, H: 3, W: 3, F: 1, K: 5, Stride: 1}, nil, nil)
	require.ErrorIs(t, err, ErrShape)
	_, err = b.MaxPool2DBackward(make([]float32, 4), []int32{0, 1, 2, 99}, 1, PoolGeom{C: 1, H: 4, W: 4, Size: 2, Stride: 2})
	require.ErrorIs(t, err, ErrShape)
	_, _, err = b.SoftmaxCrossEntropy(make([]float32, 6), []int{0, 3}, 3)
	require.ErrorIs(t, err, ErrShape)
	_, err = b.FedAvg(nil, nil)
	require.True(t, errors.Is(err, aggregate.ErrBadUpdates))
}

// TestDropoutMaskMatchesEngine: the replica of the engine's mask stream,
// through the engine's own forward pass with dropout.
func TestDropoutMaskMatchesEngine(t *testing.T) {
	// A spec of dropout then dense with weights identity-like: the
	// gradient of the dense weight sees the dropped inputs.
	s := engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: 6, Outputs: 40}, {Kind: engine.KindDropout, Rate: 0.5}, {Kind: engine.KindDense, Inputs: 40, Outputs: 2}}}
	w, err := engine.Init(s, 1)
	require.NoError(t, err)
	x, labels := batchFor(t, s, 8, 1)
	_, want, err := engine.GradientsWithDropout(s, w, x, labels, 5, 6)
	require.NoError(t, err)
	_, got, err := emuBackend{}.Gradients(s, w, x, labels, &Dropout{Seed: 5, Step: 6})
	require.NoError(t, err)
	setsEqual(t, want, got, "dropout")
	m := engine.DropoutMask(0.5, 5, 6, 1, 1000)
	zeros := 0
	for _, v := range m {
		if v == 0 {
			zeros++
		} else {
			require.Equal(t, float32(2), v)
		}
	}
	require.InDelta(t, 500, zeros, 60)
}

// kernelSource and kernelPTX are the committed CUDA source and its PTX.
const (
	kernelSource = "kernels/cohort.cu"
	kernelPTX    = "kernels/cohort.ptx"
)

// TestPTXMatchesSource: the committed PTX was generated from the
// committed source (make ptx records the source's sha256), defines every
// kernel the Go code launches, and has no fused multiply-add and no float
// add, sub or mul without an explicit rounding mode (which ptxas could
// contract into one).
func TestPTXMatchesSource(t *testing.T) {
	src, err := os.ReadFile(kernelSource)
	require.NoError(t, err)
	ptx, err := os.ReadFile(kernelPTX)
	require.NoError(t, err)
	sum := sha256.Sum256(src)
	require.Contains(t, string(ptx), "// cohort-source-sha256: "+hex.EncodeToString(sum[:]),
		"kernels/cohort.ptx is stale: run make ptx")
	for _, k := range kernelNames {
		require.Contains(t, string(ptx), fmt.Sprintf(".visible .entry %s(", k))
		require.Regexp(t, regexp.MustCompile(`__global__ void (__launch_bounds__\(\d+\) )?`+k+`\(`), string(src))
	}
	require.NotRegexp(t, regexp.MustCompile(`(?m)^\s*fma\.`), string(ptx))
	require.NotRegexp(t, regexp.MustCompile(`(?m)^\s*(add|sub|mul|mad)\.f(32|64)\s`), string(ptx))
	require.NotRegexp(t, regexp.MustCompile(`(?m)^\s*(add|sub|mul)\.(ftz\.)?(sat\.)?f(32|64)\s`), string(ptx))
	require.NotContains(t, string(ptx), ".approx", "no approximate instructions")
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "//") {
			continue
		}
		require.NotContains(t, line, "__fmaf", "no fma intrinsics")
		require.NotContains(t, line, "__fma_rn", "no fma intrinsics")
	}
}
