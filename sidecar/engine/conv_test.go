package engine

import (
	"math"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/tensor"
)

// smallCNN exercises every image layer: padding, a stride of 2,
// overlapping pooling windows (stride < size), a second convolution on
// several channels, flatten, dropout and a dense head.
var smallCNN = Spec{Input: []int{2, 7, 6}, Layers: []LayerSpec{
	{Kind: KindConv2D, Filters: 3, Kernel: 3, Stride: 2, Padding: 1}, // → 3×4×3
	{Kind: KindReLU},
	{Kind: KindMaxPool2D, Size: 2, Stride: 1},            // → 3×3×2
	{Kind: KindConv2D, Filters: 2, Kernel: 2, Stride: 1}, // → 2×2×1
	{Kind: KindFlatten},                                  // → 4
	{Kind: KindDropout, Rate: 0.3},
	{Kind: KindDense, Inputs: 4, Outputs: 3},
}}

// images returns n random examples of the given shape with labels in [0, classes).
func images(n int, shape []int, classes int, seed uint64) Dataset {
	g := NewRNG(seed, 17)
	width := prod(shape)
	d := Dataset{Inputs: make([]float32, n*width), Labels: make([]int, n), Width: width}
	for i := range d.Inputs {
		d.Inputs[i] = g.Normal()
	}
	for i := range d.Labels {
		d.Labels[i] = i % classes
	}
	return d
}

func TestCNNShapesAndParams(t *testing.T) {
	shapes, err := smallCNN.Shapes()
	require.NoError(t, err)
	require.Equal(t, [][]int{{2, 7, 6}, {3, 4, 3}, {3, 4, 3}, {3, 3, 2}, {2, 2, 1}, {4}, {4}, {3}}, shapes)
	require.Equal(t, 3*2*9+3+2*3*4+2+4*3+3, smallCNN.Params())
	require.Equal(t, 84, smallCNN.InputWidth())
}

// TestConvForwardMatchesDirectConvolution checks im2col's indexing against
// the textbook definition, computed in float64.
func TestConvForwardMatchesDirectConvolution(t *testing.T) {
	for _, l := range []LayerSpec{
		{Kind: KindConv2D, Filters: 4, Kernel: 3, Stride: 1, Padding: 1},
		{Kind: KindConv2D, Filters: 3, Kernel: 3, Stride: 2, Padding: 2},
		{Kind: KindConv2D, Filters: 5, Kernel: 5, Stride: 3},
		{Kind: KindConv2D, Filters: 9, Kernel: 1, Stride: 1}, // 9 filters: the AVX2 path and the tail
	} {
		in := []int{3, 11, 9}
		spec := Spec{Input: in, Layers: []LayerSpec{l, {Kind: KindFlatten}}}
		shapes, err := spec.Shapes()
		require.NoError(t, err)
		g := newConvGeom(l, in)
		w, err := Init(Spec{Input: in, Layers: []LayerSpec{l, {Kind: KindFlatten}, {Kind: KindDense, Inputs: shapes[2][0], Outputs: 1}}}, 5)
		require.NoError(t, err)
		wt, b := w["layer0.weight"].Data, w["layer0.bias"].Data
		for i := range b {
			b[i] = float32(i) / 10
		}
		const batch = 2
		x := images(batch, in, 1, 3).Inputs
		y := convForward(x, batch, g, wt, b)
		require.Len(t, y, batch*g.f*g.oh*g.ow)
		for n := 0; n < batch; n++ {
			for f := 0; f < g.f; f++ {
				for oy := 0; oy < g.oh; oy++ {
					for ox := 0; ox < g.ow; ox++ {
						want := float64(b[f])
						for c := 0; c < g.c; c++ {
							for ky := 0; ky < g.k; ky++ {
								for kx := 0; kx < g.k; kx++ {
									iy, ix := oy*g.stride-g.pad+ky, ox*g.stride-g.pad+kx
									if iy < 0 || iy >= g.h || ix < 0 || ix >= g.w {
										continue
									}
									want += float64(wt[((f*g.c+c)*g.k+ky)*g.k+kx]) * float64(x[((n*g.c+c)*g.h+iy)*g.w+ix])
								}
							}
						}
						got := y[((n*g.f+f)*g.oh+oy)*g.ow+ox]
						require.InDeltaf(t, want, float64(got), 1e-5, "%+v n%d f%d (%d,%d)", l, n, f, oy, ox)
					}
				}
			}
		}
	}
}

// TestCNNGradientsMatchFiniteDifferences checks every image layer's
// backward pass against central differences of the loss.
func TestCNNGradientsMatchFiniteDifferences(t *testing.T) {
	w, err := Init(smallCNN, 3)
	require.NoError(t, err)
	data := images(3, smallCNN.Input, 3, 1)
	_, grads, err := Gradients(smallCNN, w, data.Inputs, data.Labels)
	require.NoError(t, err)
	const eps = 1e-3
	for _, name := range w.Names() {
		for i := range w[name].Data {
			orig := w[name].Data[i]
			w[name].Data[i] = orig + eps
			lp, _, err := Gradients(smallCNN, w, data.Inputs, data.Labels)
			require.NoError(t, err)
			w[name].Data[i] = orig - eps
			lm, _, _ := Gradients(smallCNN, w, data.Inputs, data.Labels)
			w[name].Data[i] = orig
			numeric := float64(lp-lm) / (2 * eps)
			require.InDeltaf(t, numeric, float64(grads[name].Data[i]), 2e-3+0.05*math.Abs(numeric), "%s[%d]", name, i)
		}
	}
}

// TestMaxPoolRoutesGradientToFirstMax: among equal values the first in
// window order wins, so ties never depend on anything but the layout.
func TestMaxPoolRoutesGradientToFirstMax(t *testing.T) {
	g := poolGeom{c: 1, h: 2, w: 3, size: 2, stride: 1, oh: 1, ow: 2}
	x := []float32{1, 5, 5, 0, 5, 2}
	y, arg := poolForward(x, 1, g)
	require.Equal(t, []float32{5, 5}, y)
	require.Equal(t, []int32{1, 1}, arg, "both windows pick the first 5, at index 1")
	dx := poolBackward([]float32{0.5, 0.25}, arg, 1, g)
	require.Equal(t, []float32{0, 0.75, 0, 0, 0, 0}, dx, "overlapping windows add up")
}

func TestDropoutMasks(t *testing.T) {
	m := DropoutMask(0.25, 9, 4, 2, 100000)
	kept := 0
	for _, v := range m {
		require.True(t, v == 0 || v == float32(1/0.75))
		if v != 0 {
			kept++
		}
	}
	require.InDelta(t, 0.75, float64(kept)/float64(len(m)), 0.01)
	require.Equal(t, m, DropoutMask(0.25, 9, 4, 2, 100000), "same seed, step and layer")
	require.NotEqual(t, m, DropoutMask(0.25, 9, 5, 2, 100000), "another step")
	require.NotEqual(t, m, DropoutMask(0.25, 9, 4, 3, 100000), "another layer")

	// Training mode differs from inference mode; rate 0 and a spec without
	// dropout give Gradients' exact result.
	w, err := Init(smallCNN, 2)
	require.NoError(t, err)
	data := images(8, smallCNN.Input, 3, 2)
	_, plain, err := Gradients(smallCNN, w, data.Inputs, data.Labels)
	require.NoError(t, err)
	_, dropped, err := GradientsWithDropout(smallCNN, w, data.Inputs, data.Labels, 1, 0)
	require.NoError(t, err)
	require.NotEqual(t, hashOf(t, plain), hashOf(t, dropped))
	noDrop := Spec{Input: smallCNN.Input, Layers: append([]LayerSpec(nil), smallCNN.Layers...)}
	noDrop.Layers[5].Rate = 0
	_, zero, err := GradientsWithDropout(noDrop, w, data.Inputs, data.Labels, 1, 0)
	require.NoError(t, err)
	require.Equal(t, hashOf(t, plain), hashOf(t, zero))
}

func hashOf(t *testing.T, s tensor.Set) [32]byte {
	h, err := s.Hash()
	require.NoError(t, err)
	return h
}

// TestCNNDeterministicAcrossThreads trains a CNN with dropout for a few
// steps at GOMAXPROCS 1, 2 and 8: bit-identical checkpoints every time.
func TestCNNDeterministicAcrossThreads(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	spec := Spec{Input: []int{1, 12, 12}, Layers: []LayerSpec{
		{Kind: KindConv2D, Filters: 8, Kernel: 3, Stride: 1, Padding: 1}, {Kind: KindReLU},
		{Kind: KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: KindConv2D, Filters: 12, Kernel: 3, Stride: 1}, {Kind: KindReLU},
		{Kind: KindMaxPool2D, Size: 2, Stride: 2},
		{Kind: KindFlatten}, {Kind: KindDropout, Rate: 0.25}, {Kind: KindDense, Inputs: 48, Outputs: 4},
	}}
	data := images(96, spec.Input, 4, 5)
	run := func(procs int) TrainResult {
		runtime.GOMAXPROCS(procs)
		w, err := Init(spec, 8)
		require.NoError(t, err)
		res, err := Train(spec, w, data, TrainConfig{Steps: 6, BatchSize: 40, LearningRate: 0.01, Optimizer: "adam", Seed: 3})
		require.NoError(t, err)
		return res
	}
	want := run(1)
	for _, procs := range []int{2, 8} {
		got := run(procs)
		require.Equal(t, want.Checkpoints, got.Checkpoints, "GOMAXPROCS=%d", procs)
		require.Equal(t, want.Losses, got.Losses, "GOMAXPROCS=%d", procs)
	}
}

// TestGemmRowMatchesScalarLoop: the AVX2 kernel and the plain loop give
// the same bits for every width, including tails that are not a multiple
// of 8 or 32.
func TestGemmRowMatchesScalarLoop(t *testing.T) {
	g := NewRNG(1, 2)
	for _, width := range []int{1, 7, 8, 9, 31, 32, 33, 64, 100} {
		for _, k := range []int{1, 3, 17} {
			ldb := width + 3
			a, b := make([]float32, k), make([]float32, k*ldb)
			for i := range a {
				a[i] = g.Normal()
			}
			for i := range b {
				b[i] = g.Normal()
			}
			y, want := make([]float32, width), make([]float32, width)
			for j := range y {
				y[j] = g.Normal()
				want[j] = y[j]
			}
			for kk := 0; kk < k; kk++ {
				for j := range want {
					want[j] += float32(a[kk] * b[kk*ldb+j])
				}
			}
			gemmRow(y, a, b, ldb)
			require.Equal(t, want, y, "width %d, k %d", width, k)
		}
	}
}

func TestSpecValidationErrors(t *testing.T) {
	img := []int{1, 8, 8}
	for name, s := range map[string]Spec{
		"conv without input shape":    {Layers: []LayerSpec{{Kind: KindConv2D, Filters: 1, Kernel: 3, Stride: 1}}},
		"conv on a flat input":        {Input: []int{64}, Layers: []LayerSpec{{Kind: KindConv2D, Filters: 1, Kernel: 3, Stride: 1}}},
		"dense on an image":           {Input: img, Layers: []LayerSpec{{Kind: KindDense, Inputs: 64, Outputs: 2}}},
		"padding not below kernel":    {Input: img, Layers: []LayerSpec{{Kind: KindConv2D, Filters: 1, Kernel: 2, Stride: 1, Padding: 2}, {Kind: KindFlatten}}},
		"kernel larger than input":    {Input: img, Layers: []LayerSpec{{Kind: KindConv2D, Filters: 1, Kernel: 9, Stride: 1}, {Kind: KindFlatten}}},
		"zero stride":                 {Input: img, Layers: []LayerSpec{{Kind: KindConv2D, Filters: 1, Kernel: 3}, {Kind: KindFlatten}}},
		"pool window too large":       {Input: img, Layers: []LayerSpec{{Kind: KindMaxPool2D, Size: 9, Stride: 1}, {Kind: KindFlatten}}},
		"ends in an image":            {Input: img, Layers: []LayerSpec{{Kind: KindReLU}}},
		"flatten twice":               {Input: img, Layers: []LayerSpec{{Kind: KindFlatten}, {Kind: KindFlatten}}},
		"dropout rate 1":              {Input: []int{4}, Layers: []LayerSpec{{Kind: KindDropout, Rate: 1}}},
		"dropout rate NaN":            {Input: []int{4}, Layers: []LayerSpec{{Kind: KindDropout, Rate: math.NaN()}}},
		"field the kind does not use": {Layers: []LayerSpec{{Kind: KindDense, Inputs: 4, Outputs: 2, Kernel: 3}}},
		"relu with a size":            {Input: []int{4}, Layers: []LayerSpec{{Kind: KindReLU, Size: 1}}},
		"input of two dimensions":     {Input: []int{4, 4}, Layers: []LayerSpec{{Kind: KindFlatten}}},
		"negative input dimension":    {Input: []int{1, -8, 8}, Layers: []LayerSpec{{Kind: KindFlatten}}},
		"huge dense layer":            {Layers: []LayerSpec{{Kind: KindDense, Inputs: 1 << 16, Outputs: 1 << 16}}},
		"huge conv output":            {Input: []int{1, 1 << 12, 1 << 12}, Layers: []LayerSpec{{Kind: KindConv2D, Filters: 64, Kernel: 1, Stride: 1}, {Kind: KindFlatten}}},
	} {
		require.Error(t, s.Validate(), name)
		require.Zero(t, s.Params(), name)
		_, err := Init(s, 1)
		require.Error(t, err, name)
	}
}
