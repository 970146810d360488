package secagg

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCodecRoundTrip: values on the grid come back exactly, others round
// half to even, and large values are clipped and counted.
func TestCodecRoundTrip(t *testing.T) {
	c := DefaultCodec
	ulp := float32(math.Ldexp(1, -32))
	in := []float32{0, 1, -1, 0.5, -0.25, 3 * ulp, -7 * ulp, 65536, -65536, 1e-3,
		0.5 * ulp, 1.5 * ulp, 2.5 * ulp, -0.5 * ulp, -1.5 * ulp, 0.25 * ulp, 0.75 * ulp,
		70000, -1e30, float32(math.SmallestNonzeroFloat32)}
	enc, clipped, err := c.Encode(nil, in)
	require.NoError(t, err)
	require.Equal(t, 2, clipped)
	want := []int64{0, 1 << 32, -1 << 32, 1 << 31, -1 << 30, 3, -7, 1 << 48, -1 << 48, int64(math.RoundToEven(float64(float32(1e-3)) * (1 << 32))),
		0, 2, 2, 0, -2, 0, 1,
		1 << 48, -1 << 48, 0}
	for i := range want {
		require.Equal(t, want[i], int64(enc[i]), "value %d (%v)", i, in[i])
	}
	dec, err := c.Decode(nil, enc, 1)
	require.NoError(t, err)
	for i, v := range in[:9] {
		require.Equal(t, v, dec[i], "grid value %d", i)
	}

	// dst reuse.
	buf := make([]uint64, 0, 64)
	enc2, _, err := c.Encode(buf, in)
	require.NoError(t, err)
	require.Equal(t, enc, enc2)
	require.Same(t, &buf[:1][0], &enc2[0])
	fbuf := make([]float32, 0, 64)
	dec2, err := c.Decode(fbuf, enc, 1)
	require.NoError(t, err)
	require.Equal(t, dec, dec2)
	require.Same(t, &fbuf[:1][0], &dec2[0])
}

// TestCodecRejects: NaN, ±Inf, bad codecs, too many clients for the
// range, and sums outside it.
func TestCodecRejects(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		_, _, err := DefaultCodec.Encode(nil, []float32{1, v})
		require.ErrorIs(t, err, ErrBadEncoding)
		require.ErrorContains(t, err, "value 1")
	}
	for _, c := range []Codec{{FracBits: -1, Clip: 1}, {FracBits: 63, Clip: 1}, {FracBits: 8, Clip: 0}, {FracBits: 8, Clip: -1},
		{FracBits: 8, Clip: float32(math.Inf(1))}, {FracBits: 8, Clip: float32(math.NaN())}, {FracBits: 40, Clip: 1 << 23}, {FracBits: 0, Clip: 0.25}} {
		_, err := c.Capacity()
		require.ErrorIs(t, err, ErrBadEncoding, "%+v", c)
		_, _, err = c.Encode(nil, []float32{1})
		require.ErrorIs(t, err, ErrBadEncoding)
	}
	capacity, err := DefaultCodec.Capacity()
	require.NoError(t, err)
	require.Equal(t, 32767, capacity)
	require.GreaterOrEqual(t, capacity, MaxClients)
	require.NoError(t, DefaultCodec.Validate(MaxClients))
	require.ErrorIs(t, DefaultCodec.Validate(capacity+1), ErrBadEncoding)
	require.ErrorIs(t, DefaultCodec.Validate(0), ErrBadEncoding)

	// A sum beyond what 2 clients can produce, e.g. a masked value.
	_, err = DefaultCodec.Decode(nil, []uint64{1 << 49, 1<<49 + 1}, 2)
	require.ErrorIs(t, err, ErrBadEncoding)
	require.ErrorContains(t, err, "coordinate 1")
	_, err = DefaultCodec.Decode(nil, []uint64{1 << 63}, 2)
	require.ErrorIs(t, err, ErrBadEncoding)
	mag := uint64(1) << 49
	neg := -mag
	got, err := DefaultCodec.Decode(nil, []uint64{neg}, 2)
	require.NoError(t, err)
	require.Equal(t, float32(-131072), got[0])
}

// TestCodecSumsExactly: the decoded sum of many clients' encodings is the
// exact integer sum rounded once to float32 (checked against math/big), so
// it does not depend on the order of the clients.
func TestCodecSumsExactly(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const clients, d = 300, 2000
	sum := make([]uint64, d)
	exact := make([]*big.Int, d)
	for j := range exact {
		exact[j] = new(big.Int)
	}
	x := make([]float32, d)
	for range clients {
		for j := range x {
			// Magnitudes from 1e-9 to 6e4, both signs.
			x[j] = float32((rng.Float64()*2 - 1) * math.Pow(10, rng.Float64()*13.8-9))
		}
		enc, _, err := DefaultCodec.Encode(nil, x)
		require.NoError(t, err)
		for j, v := range enc {
			sum[j] += v
			exact[j].Add(exact[j], big.NewInt(int64(v)))
		}
	}
	got, err := DefaultCodec.Decode(nil, sum, clients)
	require.NoError(t, err)
	for j := range got {
		want, _ := new(big.Float).SetMantExp(new(big.Float).SetInt(exact[j]), -32).Float32()
		require.Equal(t, want, got[j], "coordinate %d", j)
	}
}

// TestRoundToFloat32 compares the integer rounding with math/big's
// round-half-even on values around every power of two and on ties.
func TestRoundToFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var vals []uint64
	for e := range 64 {
		base := uint64(1) << e
		for _, delta := range []int64{-2, -1, 0, 1, 2} {
			vals = append(vals, uint64(int64(base)+delta))
		}
		if e > 24 {
			half := uint64(1) << (e - 24)
			vals = append(vals, base+half/2, base+half/2*3, base+half/2+1, base+half/2-1)
		}
	}
	for range 10000 {
		vals = append(vals, rng.Uint64()>>rng.UintN(64))
	}
	vals = append(vals, math.MaxUint64)
	for _, v := range vals {
		want, _ := new(big.Float).SetUint64(v).Float32()
		require.Equal(t, float64(want), roundToFloat32(v), "%d", v)
	}
}
