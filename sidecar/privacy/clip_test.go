package privacy

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// naiveNorm is the L2 norm summed the obvious way in float64.
func naiveNorm(vs ...[]float32) float64 {
	s := 0.0
	for _, v := range vs {
		for _, x := range v {
			s += float64(x) * float64(x)
		}
	}
	return math.Sqrt(s)
}

// normals returns n standard normal values scaled by std.
func normals(n int, std float32, seed uint64) []float32 {
	g := engine.NewRNG(seed, 77)
	v := make([]float32, n)
	for i := range v {
		v[i] = std * g.Normal()
	}
	return v
}

func TestVectorNorm(t *testing.T) {
	for n := 0; n < 12; n++ {
		v := normals(n, 3, uint64(n))
		got, err := VectorNorm(v)
		require.NoError(t, err)
		require.InDelta(t, naiveNorm(v), got, 1e-12*max(1, got), "length %d", n)
	}
	got, err := VectorNorm([]float32{3, 4})
	require.NoError(t, err)
	require.Equal(t, 5.0, got)
	big := []float32{math.MaxFloat32, math.MaxFloat32}
	got, err = VectorNorm(big)
	require.NoError(t, err)
	require.InEpsilon(t, math.Sqrt2*math.MaxFloat32, got, 1e-12, "float64 sums cannot overflow")
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		_, err := VectorNorm([]float32{1, 2, 3, 4, 5, bad, 7})
		require.True(t, errors.Is(err, tensor.ErrNotFinite))
		require.ErrorContains(t, err, "element 5")
	}
}

func TestClipVectorExactNorms(t *testing.T) {
	v := []float32{3, 4}
	norm, clipped, err := ClipVector(v, 5)
	require.NoError(t, err)
	require.Equal(t, 5.0, norm)
	require.False(t, clipped, "a vector at the bound is not scaled")
	require.Equal(t, []float32{3, 4}, v)

	norm, clipped, err = ClipVector(v, 1)
	require.NoError(t, err)
	require.Equal(t, 5.0, norm)
	require.True(t, clipped)
	require.InDelta(t, 0.6, v[0], 1e-6)
	require.InDelta(t, 0.8, v[1], 1e-6)
	after, err := VectorNorm(v)
	require.NoError(t, err)
	require.LessOrEqual(t, after, 1.0)
	require.GreaterOrEqual(t, after, 1-3e-7)

	// Many random vectors and bounds: never above the bound, direction kept.
	for trial := 0; trial < 200; trial++ {
		n := 1 + trial*37%5000
		v := normals(n, float32(1+trial%7), uint64(trial))
		orig := slices.Clone(v)
		c := 0.01 + float64(trial%13)
		before := naiveNorm(orig)
		norm, clipped, err := ClipVector(v, c)
		require.NoError(t, err)
		require.InDelta(t, before, norm, 1e-9*before)
		after := naiveNorm(v)
		require.LessOrEqual(t, after, c, "trial %d", trial)
		if before > c {
			require.True(t, clipped)
			require.GreaterOrEqual(t, after, c*(1-3e-7), "trial %d", trial)
			for i := range v {
				require.InDelta(t, float64(orig[i])*c/before, float64(v[i]), 1e-6*math.Abs(float64(orig[i]))*c/before+1e-30)
			}
		} else {
			require.False(t, clipped)
			require.Equal(t, orig, v)
		}
	}
}

func TestClipUpdateSet(t *testing.T) {
	u := tensor.Set{
		"a": {Shape: []int{2, 2}, Data: []float32{1, 2, 3, 4}},
		"b": {Shape: []int{3}, Data: []float32{5, 6, 7}},
	}
	want := naiveNorm([]float32{1, 2, 3, 4}, []float32{5, 6, 7}) // √140
	norm, clipped, err := ClipUpdate(u, 100)
	require.NoError(t, err)
	require.InDelta(t, want, norm, 1e-12)
	require.False(t, clipped)

	norm, clipped, err = ClipUpdate(u, 2)
	require.NoError(t, err)
	require.InDelta(t, want, norm, 1e-12)
	require.True(t, clipped)
	after, err := Norm(u)
	require.NoError(t, err)
	require.LessOrEqual(t, after, 2.0)
	require.InDelta(t, 2, after, 1e-6)
	// One factor for the whole set.
	f := 2 / want
	require.InDelta(t, 1*f, float64(u["a"].Data[0]), 1e-6)
	require.InDelta(t, 7*f, float64(u["b"].Data[2]), 1e-6)
}

func TestClipBadInput(t *testing.T) {
	for _, c := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		_, _, err := ClipVector([]float32{1}, c)
		require.ErrorContains(t, err, "clipping bound")
		_, _, err = ClipUpdate(tensor.Set{"a": {Shape: []int{1}, Data: []float32{1}}}, c)
		require.ErrorContains(t, err, "clipping bound")
	}
	v := []float32{10, float32(math.NaN()), 10}
	_, _, err := ClipVector(v, 1)
	require.True(t, errors.Is(err, tensor.ErrNotFinite))
	require.Equal(t, float32(10), v[0], "unchanged on error")

	u := tensor.Set{"a": {Shape: []int{2}, Data: []float32{10, 10}}, "b": {Shape: []int{1}, Data: []float32{float32(math.Inf(1))}}}
	_, _, err = ClipUpdate(u, 1)
	require.True(t, errors.Is(err, tensor.ErrNotFinite))
	require.ErrorContains(t, err, "b")
	require.Equal(t, []float32{10, 10}, u["a"].Data, "unchanged on error")

	_, _, err = ClipUpdate(tensor.Set{"a": {Shape: []int{3}, Data: []float32{1}}}, 1)
	require.ErrorContains(t, err, "needs 3 elements")
}

func TestNoiseStatistics(t *testing.T) {
	const n, std = 200000, 2.5
	v := make([]float32, n)
	noisyScale([][]float32{v[:70000], v[70000:]}, std, 1, 9, domainNoise, 3)
	mean, sq := 0.0, 0.0
	for _, x := range v {
		mean += float64(x)
	}
	mean /= n
	for _, x := range v {
		sq += (float64(x) - mean) * (float64(x) - mean)
	}
	sd := math.Sqrt(sq / (n - 1))
	require.InDelta(t, 0, mean, 5*std/math.Sqrt(n), "mean ≈ 0")
	require.InEpsilon(t, std, sd, 0.01, "std ≈ σC")

	// Scaling: (x + noise)·mul.
	w := make([]float32, 1000)
	for i := range w {
		w[i] = 4
	}
	noisyScale([][]float32{w}, 1e-9, 0.25, 1, domainNoise, 0)
	for _, x := range w {
		require.InDelta(t, 1, x, 1e-6)
	}
}

func TestNoiseDeterministic(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	draw := func(procs int, seed, counter uint64) []float32 {
		runtime.GOMAXPROCS(procs)
		v := make([]float32, 3*noiseBlock+17)
		noisyScale([][]float32{v[:5], v[5:]}, 1, 1, seed, domainNoise, counter)
		return v
	}
	ref := draw(1, 5, 7)
	require.Equal(t, ref, draw(2, 5, 7))
	require.Equal(t, ref, draw(8, 5, 7))
	require.NotEqual(t, ref, draw(2, 5, 8), "another step, other noise")
	require.NotEqual(t, ref, draw(2, 6, 7), "another seed, other noise")
	// Blocks draw from distinct streams.
	require.NotEqual(t, ref[5:5+noiseBlock], ref[5+noiseBlock:5+2*noiseBlock])
}
