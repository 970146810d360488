package aggregate

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// TestKernelsMatchPortableGo: the AVX2 kernels give the portable loops'
// results bit for bit, on lengths that are and are not multiples of 8.
func TestKernelsMatchPortableGo(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2 on this CPU")
	}
	g := engine.NewRNG(9, 2)
	r := rand.New(rand.NewPCG(9, 3))
	for _, n := range []int{0, 1, 7, 8, 9, 31, 64, 257, 2048} {
		v := make([]float32, n)
		acc1 := make([]float32, n)
		for j := range v {
			v[j] = g.Normal() * float32(math.Pow(10, float64(j%7)-3))
			acc1[j] = g.Normal()
		}
		acc2 := append([]float32(nil), acc1...)
		axpy(acc1, v, 0.3183099)
		axpyGeneric(acc2, v, 0.3183099)
		for j := range acc1 {
			require.Equal(t, math.Float32bits(acc2[j]), math.Float32bits(acc1[j]), "axpy n=%d j=%d", n, j)
		}

		a1, b1 := make([]int32, n), make([]int32, n)
		for j := range a1 {
			a1[j], b1[j] = int32(r.Uint32()), int32(r.Uint32())
		}
		a2, b2 := append([]int32{}, a1...), append([]int32{}, b1...)
		minMax(a1, b1)
		minMaxGeneric(a2, b2)
		require.Equal(t, a2, a1)
		require.Equal(t, b2, b1)

		s1, s2 := make([]float64, n), make([]float64, n)
		for j := range s1 {
			s1[j] = float64(g.Normal())
			s2[j] = s1[j]
		}
		addKeys(s1, a1)
		addKeysGeneric(s2, a1)
		for j := range s1 {
			require.Equal(t, math.Float64bits(s2[j]), math.Float64bits(s1[j]), "addKeys n=%d j=%d", n, j)
		}

		o1, o2 := make([]float32, n), make([]float32, n)
		meanOfSums(o1, s1, 7)
		meanOfSumsGeneric(o2, s1, 7)
		for j := range o1 {
			require.Equal(t, math.Float32bits(o2[j]), math.Float32bits(o1[j]), "meanOfSums n=%d j=%d", n, j)
		}

		k1, k2 := make([]int32, n), make([]int32, n)
		require.False(t, loadKeys(k1, v))
		require.False(t, loadKeysGeneric(k2, v))
		require.Equal(t, k2, k1)
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			if n == 0 {
				continue
			}
			w := append([]float32(nil), v...)
			w[n-1] = bad
			require.True(t, loadKeys(k1, w), "n=%d %v", n, bad)
			w[n-1], w[0] = v[n-1], bad
			require.True(t, loadKeys(k1, w), "n=%d %v first", n, bad)
		}
	}
}
