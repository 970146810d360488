// Package compress shrinks model updates before they are sent: top-k
// sparsification with error feedback, and stochastic int8 quantisation.
// Both are deterministic (ties and rounding come from the data and a
// seed), and their wire formats decode exactly to what the sender meant.
package compress

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// ErrMalformed is returned for encoded updates that do not decode.
var ErrMalformed = errors.New("malformed compressed update")

// Sparse is a top-k update: the kept indices, increasing, and their values.
type Sparse struct {
	Dim     int
	Indices []uint32
	Values  []float32
}

// TopK keeps the k entries of v with the largest magnitude; ties go to the
// lower index.
func TopK(v []float32, k int) Sparse {
	k = min(max(k, 0), len(v))
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		ma, mb := math.Abs(float64(v[a])), math.Abs(float64(v[b]))
		switch {
		case ma > mb:
			return -1
		case ma < mb:
			return 1
		}
		return a - b
	})
	kept := idx[:k]
	slices.Sort(kept)
	s := Sparse{Dim: len(v), Indices: make([]uint32, k), Values: make([]float32, k)}
	for i, j := range kept {
		s.Indices[i], s.Values[i] = uint32(j), v[j]
	}
	return s
}

// Dense expands s.
func (s Sparse) Dense() []float32 {
	out := make([]float32, s.Dim)
	for i, j := range s.Indices {
		out[j] = s.Values[i]
	}
	return out
}

// ErrorFeedback is a sender's top-k compressor that remembers what it did
// not send and adds it to the next update, so nothing is lost, only late.
type ErrorFeedback struct {
	K        int
	residual []float32
}

// Compress returns the top-k of update plus the residual, and keeps the rest.
func (e *ErrorFeedback) Compress(update []float32) Sparse {
	if len(e.residual) != len(update) {
		e.residual = make([]float32, len(update))
	}
	acc := make([]float32, len(update))
	for i, v := range update {
		acc[i] = v + e.residual[i]
	}
	s := TopK(acc, e.K)
	copy(e.residual, acc)
	for _, j := range s.Indices {
		e.residual[j] = 0
	}
	return s
}

// Encode writes s as: uint32 dim, uint32 k (little-endian), then the k
// indices as unsigned varints of their gaps (the first index itself, then
// each index minus the one before, always ≥ 1), then the k values as
// little-endian float32. Kept entries of a 1% top-k lie about 100 apart,
// so a gap takes one or two bytes and an entry about five, not eight.
func (s Sparse) Encode() []byte {
	b := make([]byte, 0, 8+6*len(s.Indices))
	b = binary.LittleEndian.AppendUint32(b, uint32(s.Dim))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s.Indices)))
	prev := uint32(0)
	for _, j := range s.Indices {
		b = binary.AppendUvarint(b, uint64(j-prev))
		prev = j
	}
	for _, v := range s.Values {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// DecodeSparse parses what Encode wrote, for an update of dim values:
// every varint must be in its shortest form, indices must increase and
// stay below dim, values must be finite, and nothing may follow.
func DecodeSparse(b []byte, dim int) (Sparse, error) {
	if len(b) < 8 {
		return Sparse{}, fmt.Errorf("%w: %d bytes", ErrMalformed, len(b))
	}
	d, k := int(binary.LittleEndian.Uint32(b)), int(binary.LittleEndian.Uint32(b[4:]))
	// Each entry takes at least 5 bytes, which bounds k before allocating.
	if d != dim || k > d || 8+5*k > len(b) {
		return Sparse{}, fmt.Errorf("%w: dim %d (want %d), k %d, %d bytes", ErrMalformed, d, dim, k, len(b))
	}
	s := Sparse{Dim: d, Indices: make([]uint32, k), Values: make([]float32, k)}
	at, prev := 8, uint64(0)
	for i := 0; i < k; i++ {
		gap, n := binary.Uvarint(b[at:])
		if n <= 0 || n != varintLen(gap) {
			return Sparse{}, fmt.Errorf("%w: index %d is not a shortest-form varint", ErrMalformed, i)
		}
		at += n
		j := prev + gap
		if (i > 0 && gap == 0) || j >= uint64(d) {
			return Sparse{}, fmt.Errorf("%w: index %d (%d) out of range or not increasing", ErrMalformed, i, j)
		}
		s.Indices[i], prev = uint32(j), j
	}
	if len(b) != at+4*k {
		return Sparse{}, fmt.Errorf("%w: %d bytes of values for %d entries", ErrMalformed, len(b)-at, k)
	}
	for i := range s.Values {
		v := math.Float32frombits(binary.LittleEndian.Uint32(b[at+4*i:]))
		if v-v != 0 {
			return Sparse{}, fmt.Errorf("%w: value %d is %v", ErrMalformed, i, v)
		}
		s.Values[i] = v
	}
	return s, nil
}

// varintLen is the length of v's shortest unsigned varint.
func varintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// Int8 is a stochastically quantised update: value i is Q[i]·Scale.
type Int8 struct {
	Scale float32
	Q     []int8
}

// QuantizeInt8 rounds v/scale up or down at random (seeded), with
// probabilities that make the rounding unbiased; scale = max|v|/127.
func QuantizeInt8(v []float32, seed uint64) Int8 {
	var m float32
	for _, x := range v {
		m = max(m, float32(math.Abs(float64(x))))
	}
	q := Int8{Scale: m / 127, Q: make([]int8, len(v))}
	if m == 0 {
		return q
	}
	g := engine.NewRNG(seed, 41)
	for i, x := range v {
		r := x / q.Scale
		f := float32(math.Floor(float64(r)))
		if g.Float32() < r-f {
			f++
		}
		q.Q[i] = int8(max(-127, min(127, f)))
	}
	return q
}

// Dense returns the dequantised values.
func (q Int8) Dense() []float32 {
	out := make([]float32, len(q.Q))
	for i, v := range q.Q {
		out[i] = float32(v) * q.Scale
	}
	return out
}

// Encode writes q as float32 scale then one byte per value.
func (q Int8) Encode() []byte {
	b := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(q.Q)), math.Float32bits(q.Scale))
	for _, v := range q.Q {
		b = append(b, byte(v))
	}
	return b
}

// DecodeInt8 parses what Encode wrote for an update of dim values.
func DecodeInt8(b []byte, dim int) (Int8, error) {
	if len(b) != 4+dim {
		return Int8{}, fmt.Errorf("%w: %d bytes for %d values", ErrMalformed, len(b), dim)
	}
	s := math.Float32frombits(binary.LittleEndian.Uint32(b))
	if s-s != 0 || s < 0 {
		return Int8{}, fmt.Errorf("%w: scale %v", ErrMalformed, s)
	}
	q := Int8{Scale: s, Q: make([]int8, dim)}
	for i := range q.Q {
		q.Q[i] = int8(b[4+i])
		if q.Q[i] == -128 {
			return Int8{}, fmt.Errorf("%w: value %d is -128", ErrMalformed, i)
		}
	}
	return q, nil
}
