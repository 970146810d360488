package gpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Helpers shared by the default tests and the cuda tests.

// randomFloats returns n values: mostly normal, with ±0, exact ties and
// tiny and large magnitudes mixed in, so that orderings and signed zeros
// are exercised.
func randomFloats(seed uint64, n int) []float32 {
	g := engine.NewRNG(seed, 77)
	v := make([]float32, n)
	for i := range v {
		u := g.Float32()
		switch {
		case u < 0.02:
			v[i] = 0
		case u < 0.04:
			v[i] = float32(math.Copysign(0, -1))
		case u < 0.06 && i > 0:
			v[i] = v[i-1]
		case u < 0.07:
			v[i] = g.Normal() * 1e-30
		case u < 0.08:
			v[i] = g.Normal() * 1e6
		default:
			v[i] = g.Normal()
		}
	}
	return v
}

// randomUpdates returns n updates of d values, with distinct sample counts.
func randomUpdates(seed uint64, n, d int) []aggregate.Update {
	ups := make([]aggregate.Update, n)
	for i := range ups {
		ups[i] = aggregate.Update{Vector: randomFloats(seed*1000+uint64(i), d), Samples: 1 + (i*37)%50}
	}
	// Some columns where every client agrees, and some duplicated clients.
	if n > 2 && d > 3 {
		for i := range ups {
			ups[i].Vector[3] = ups[0].Vector[3]
		}
		copy(ups[n-1].Vector, ups[0].Vector)
	}
	return ups
}

// bitsEqual fails unless a and b are identical bit for bit.
func bitsEqual(t testing.TB, want, got []float32, msg string, args ...any) {
	t.Helper()
	require.Equalf(t, len(want), len(got), msg, args...)
	for i := range want {
		if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
			require.FailNowf(t, "bits differ", "%s: index %d: want %v (%08x), got %v (%08x)", sprintf(msg, args...), i,
				want[i], math.Float32bits(want[i]), got[i], math.Float32bits(got[i]))
		}
	}
}

func bits64Equal(t testing.TB, want, got []float64, msg string, args ...any) {
	t.Helper()
	require.Equalf(t, len(want), len(got), msg, args...)
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
			require.FailNowf(t, "bits differ", "%s: index %d: want %v, got %v", sprintf(msg, args...), i, want[i], got[i])
		}
	}
}

func setsEqual(t testing.TB, want, got tensor.Set, msg string, args ...any) {
	t.Helper()
	hw, err := want.Hash()
	require.NoError(t, err)
	hg, err := got.Hash()
	require.NoError(t, err)
	if hw != hg {
		for _, name := range want.Names() {
			require.Containsf(t, got, name, msg, args...)
			bitsEqual(t, want[name].Data, got[name].Data, "%s: %s", sprintf(msg, args...), name)
		}
		require.Equalf(t, hw, hg, msg, args...)
	}
}

// Models: the Fashion-MNIST ones cohort-sidecar trains, and small ones
// that reach the corners (stride 2, overlapping pools, conv first with
// padding 2, dense first, dropout anywhere).
var (
	fashionMLP = engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: 784, Outputs: 256}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 256, Outputs: 10}}}
	fashionCNN = engine.Spec{Input: []int{1, 28, 28}, Layers: []engine.LayerSpec{
		{Kind: engine.KindConv2D, Filters: 16, Kernel: 3, Stride: 1, Padding: 1}, {Kind: engine.KindReLU}, {Kind: engine.KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: engine.KindConv2D, Filters: 32, Kernel: 3, Stride: 1, Padding: 1}, {Kind: engine.KindReLU}, {Kind: engine.KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: engine.KindFlatten}, {Kind: engine.KindDense, Inputs: 1568, Outputs: 64}, {Kind: engine.KindReLU},
		{Kind: engine.KindDropout, Rate: 0.3}, {Kind: engine.KindDense, Inputs: 64, Outputs: 10},
	}}
	oddCNN = engine.Spec{Input: []int{3, 11, 9}, Layers: []engine.LayerSpec{
		{Kind: engine.KindConv2D, Filters: 5, Kernel: 4, Stride: 2, Padding: 2}, {Kind: engine.KindReLU}, {Kind: engine.KindDropout, Rate: 0.25},
		{Kind: engine.KindMaxPool2D, Size: 3, Stride: 1}, {Kind: engine.KindConv2D, Filters: 3, Kernel: 2, Stride: 1},
		{Kind: engine.KindMaxPool2D, Size: 2, Stride: 1}, {Kind: engine.KindFlatten}, {Kind: engine.KindDense, Inputs: 6, Outputs: 7},
	}}
	oddMLP = engine.Spec{Layers: []engine.LayerSpec{{Kind: engine.KindDense, Inputs: 13, Outputs: 67}, {Kind: engine.KindReLU},
		{Kind: engine.KindDropout, Rate: 0.5}, {Kind: engine.KindDense, Inputs: 67, Outputs: 9}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 9, Outputs: 3}}}
)

// batchFor returns inputs and labels of a batch for spec s.
func batchFor(t testing.TB, s engine.Spec, batch int, seed uint64) ([]float32, []int) {
	t.Helper()
	shapes, err := s.Shapes()
	require.NoError(t, err)
	classes := shapes[len(shapes)-1][0]
	g := engine.NewRNG(seed, 3)
	x := make([]float32, batch*s.InputWidth())
	for i := range x {
		x[i] = g.Normal()
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = (i*7 + int(seed)) % classes
	}
	return x, labels
}

// convCases are conv geometries of many shapes, none a multiple of a block.
var convCases = []ConvGeom{
	{C: 1, H: 28, W: 28, F: 16, K: 3, Stride: 1, Pad: 1},
	{C: 16, H: 14, W: 14, F: 32, K: 3, Stride: 1, Pad: 1},
	{C: 3, H: 11, W: 9, F: 5, K: 4, Stride: 2, Pad: 2},
	{C: 2, H: 7, W: 13, F: 3, K: 1, Stride: 1, Pad: 0},
	{C: 4, H: 9, W: 9, F: 7, K: 5, Stride: 3, Pad: 1},
	{C: 1, H: 5, W: 6, F: 1, K: 5, Stride: 1, Pad: 0},
}

// poolCases are pooling geometries, overlapping windows included.
var poolCases = []PoolGeom{
	{C: 16, H: 28, W: 28, Size: 2, Stride: 2},
	{C: 3, H: 9, W: 7, Size: 3, Stride: 1},
	{C: 2, H: 10, W: 11, Size: 3, Stride: 2},
	{C: 5, H: 6, W: 6, Size: 6, Stride: 4},
	{C: 1, H: 13, W: 5, Size: 2, Stride: 3},
}

// denseCases are (batch, in, out).
var denseCases = [][3]int{{64, 784, 256}, {64, 256, 10}, {1, 1, 1}, {3, 13, 67}, {65, 129, 63}, {7, 1568, 64}, {130, 17, 9}}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
