package compress

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
)

func randomVec(d int, seed uint64) []float32 {
	g := engine.NewRNG(seed, 3)
	v := make([]float32, d)
	for i := range v {
		v[i] = g.Normal()
	}
	return v
}

func TestTopKKeepsTheLargestWithLowIndexTies(t *testing.T) {
	s := TopK([]float32{0.1, -5, 3, 5, 0, -3}, 3)
	require.Equal(t, []uint32{1, 2, 3}, s.Indices, "5 and -5 tie: both kept; 3 and -3 tie: the lower index wins")
	require.Equal(t, []float32{0, -5, 3, 5, 0, 0}, s.Dense())
}

func TestErrorFeedbackLosesNothing(t *testing.T) {
	const d, rounds = 1000, 60
	ef := &ErrorFeedback{K: d / 100}
	var sentSum, inputSum = make([]float64, d), make([]float64, d)
	bytes := 0
	for r := 0; r < rounds; r++ {
		u := randomVec(d, uint64(r))
		for i, v := range u {
			inputSum[i] += float64(v)
		}
		s := ef.Compress(u)
		enc := s.Encode()
		bytes += len(enc)
		back, err := DecodeSparse(enc, d)
		require.NoError(t, err)
		require.Equal(t, s, back, "exact decode")
		for i, v := range back.Dense() {
			sentSum[i] += float64(v)
		}
	}
	// What was sent plus what is still owed equals everything that came in.
	for i := range sentSum {
		require.InDelta(t, inputSum[i], sentSum[i]+float64(ef.residual[i]), 1e-3)
	}
	require.GreaterOrEqual(t, float64(4*d*rounds)/float64(bytes), 60.0, "1%% top-k sends ≥ 50x fewer bytes")
}

func TestInt8UnbiasedAndExact(t *testing.T) {
	v := randomVec(10_000, 9)
	q := QuantizeInt8(v, 1)
	enc := q.Encode()
	require.Len(t, enc, 4+len(v), "4x fewer bytes")
	back, err := DecodeInt8(enc, len(v))
	require.NoError(t, err)
	require.Equal(t, q, back)
	var bias float64
	for i, x := range back.Dense() {
		require.LessOrEqual(t, math.Abs(float64(x-v[i])), float64(q.Scale)+1e-6)
		bias += float64(x - v[i])
	}
	require.Less(t, math.Abs(bias/float64(len(v))), float64(q.Scale)/20, "stochastic rounding is unbiased")
	require.Equal(t, q, QuantizeInt8(v, 1), "seeded")
	require.NotEqual(t, q, QuantizeInt8(v, 2))
	zero := QuantizeInt8(make([]float32, 4), 1)
	require.Equal(t, make([]float32, 4), zero.Dense())
}

func TestMalformed(t *testing.T) {
	good := TopK([]float32{1, 2, 3}, 2).Encode()
	_, err := DecodeSparse(good, 4)
	require.ErrorIs(t, err, ErrMalformed, "wrong dimension")
	_, err = DecodeSparse(good[:len(good)-1], 3)
	require.ErrorIs(t, err, ErrMalformed, "short")
	for name, bad := range map[string][]byte{
		"repeated index":  {3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8},
		"index too large": {3, 0, 0, 0, 1, 0, 0, 0, 3, 1, 2, 3, 4},
		"overlong varint": {3, 0, 0, 0, 1, 0, 0, 0, 0x81, 0, 1, 2, 3, 4},
		"trailing byte":   append(append([]byte(nil), good...), 0),
		"huge k":          {3, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 1},
	} {
		_, err = DecodeSparse(bad, 3)
		require.ErrorIs(t, err, ErrMalformed, name)
	}
	nan := Sparse{Dim: 2, Indices: []uint32{0}, Values: []float32{float32(math.NaN())}}.Encode()
	_, err = DecodeSparse(nan, 2)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = DecodeInt8([]byte{0, 0, 0, 0, 1}, 2)
	require.ErrorIs(t, err, ErrMalformed)
	_, err = DecodeInt8([]byte{0, 0, 0xc0, 0x7f, 1}, 1)
	require.ErrorIs(t, err, ErrMalformed, "NaN scale")
}

// FuzzDecodeSparse: any bytes either decode to a sparse update that encodes
// back to the same bytes, or give ErrMalformed — never a panic.
func FuzzDecodeSparse(f *testing.F) {
	f.Add(TopK([]float32{1, -2, 3, 0.5}, 2).Encode(), 4)
	f.Add(TopK(randomVec(1000, 1), 10).Encode(), 1000)
	f.Add([]byte{3, 0, 0, 0, 1, 0, 0, 0, 0x81, 0, 1, 2, 3, 4}, 3)
	f.Fuzz(func(t *testing.T, b []byte, dim int) {
		if dim < 0 || dim > 1<<20 {
			return
		}
		s, err := DecodeSparse(b, dim)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformed)
			return
		}
		require.Equal(t, b, s.Encode())
	})
}
