package secagg

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Codec is the fixed-point encoding of float32 vectors as integers mod
// 2^64, the ring the masks live in. A value x is clipped to [−Clip, Clip]
// and encoded as the two's complement of round(x·2^FracBits), rounding
// half to even. The sum of k encodings, read back as a signed integer, is
// the exact sum of the rounded values as long as k·round(Clip·2^FracBits)
// stays below 2^63 (Capacity); Decode then rounds that exact sum once to
// the nearest float32, half to even.
//
// All parties of a session must use the same Codec.
type Codec struct {
	// FracBits is the number of fractional bits: the scale is 2^FracBits
	// and the resolution 2^−FracBits. 0 ≤ FracBits ≤ 62.
	FracBits int
	// Clip bounds the magnitude of an encoded value; larger values are
	// clipped to ±Clip. It must be positive and finite.
	Clip float32
}

// DefaultCodec has resolution 2^−32 (about 2.3e−10) and clips at ±65536:
// one encoded value is at most 2^48 in magnitude, so sums of up to 32767
// clients (more than MaxClients) cannot wrap.
var DefaultCodec = Codec{FracBits: 32, Clip: 1 << 16}

// ErrBadEncoding is returned for invalid codecs, non-finite inputs and sums
// that cannot come from the stated number of encoded inputs.
var ErrBadEncoding = errors.New("secagg: bad fixed-point encoding")

// maxAbs is the largest encoded magnitude, round(Clip·2^FracBits).
func (c Codec) maxAbs() (uint64, error) {
	if c.FracBits < 0 || c.FracBits > 62 {
		return 0, fmt.Errorf("%w: FracBits %d outside [0, 62]", ErrBadEncoding, c.FracBits)
	}
	clip := float64(c.Clip)
	if !(clip > 0) || math.IsInf(clip, 0) {
		return 0, fmt.Errorf("%w: Clip %v is not positive and finite", ErrBadEncoding, c.Clip)
	}
	m := math.RoundToEven(math.Ldexp(clip, c.FracBits))
	if m < 1 || m >= 1<<63 {
		return 0, fmt.Errorf("%w: Clip·2^FracBits = %v outside [1, 2^63)", ErrBadEncoding, m)
	}
	return uint64(m), nil
}

// Capacity is the largest number of encoded inputs whose sum cannot wrap:
// floor((2^63−1) / round(Clip·2^FracBits)).
func (c Codec) Capacity() (int, error) {
	m, err := c.maxAbs()
	if err != nil {
		return 0, err
	}
	return int(min((1<<63-1)/m, math.MaxInt32)), nil
}

// Validate checks the codec and that sums of the given number of clients
// cannot wrap.
func (c Codec) Validate(clients int) error {
	capacity, err := c.Capacity()
	if err != nil {
		return err
	}
	if clients < 1 || clients > capacity {
		return fmt.Errorf("%w: %d clients, the codec sums at most %d without wrapping", ErrBadEncoding, clients, capacity)
	}
	return nil
}

// Encode writes the encoding of x into dst when cap(dst) ≥ len(x) (its
// contents are overwritten) and allocates otherwise. It returns the
// encoding and how many values were clipped, or an error naming the first
// NaN or ±Inf.
//
// Encoding is exact up to the documented rounding: x·2^FracBits is exact
// in float64 and is rounded half to even to an integer.
func (c Codec) Encode(dst []uint64, x []float32) ([]uint64, int, error) {
	if _, err := c.maxAbs(); err != nil {
		return nil, 0, err
	}
	scale := pow2(c.FracBits) // multiplying by it is exact
	if cap(dst) >= len(x) {
		dst = dst[:len(x)]
	} else {
		dst = make([]uint64, len(x))
	}
	clipped := 0
	for i, v := range x {
		if v-v != 0 { // NaN or ±Inf
			return nil, 0, fmt.Errorf("%w: value %d is %v", ErrBadEncoding, i, v)
		}
		switch {
		case v > c.Clip:
			v, clipped = c.Clip, clipped+1
		case v < -c.Clip:
			v, clipped = -c.Clip, clipped+1
		}
		dst[i] = uint64(int64(math.RoundToEven(float64(v) * scale)))
	}
	return dst, clipped, nil
}

// Decode reads sum, the sum mod 2^64 of the encodings of clients vectors,
// as float32 values: each coordinate is the signed integer s divided by
// 2^FracBits, rounded once to the nearest float32 with ties to even (the
// division by a power of two is exact). It writes into dst when cap(dst) ≥
// len(sum) and allocates otherwise.
//
// A coordinate whose magnitude exceeds clients·round(Clip·2^FracBits)
// cannot be such a sum (it was masked, corrupted or encoded differently)
// and is reported as ErrBadEncoding.
func (c Codec) Decode(dst []float32, sum []uint64, clients int) ([]float32, error) {
	if err := c.Validate(clients); err != nil {
		return nil, err
	}
	m, _ := c.maxAbs()
	bound := m * uint64(clients) // < 2^63 by Validate
	unscale := pow2(-c.FracBits) // exact: results stay far above float64's subnormals
	if cap(dst) >= len(sum) {
		dst = dst[:len(sum)]
	} else {
		dst = make([]float32, len(sum))
	}
	for i, u := range sum {
		s := int64(u)
		neg := s < 0
		mag := u
		if neg {
			mag = -u // two's complement magnitude; s ≠ MinInt64 since bound < 2^63
		}
		if mag > bound {
			return nil, fmt.Errorf("%w: coordinate %d is %d, beyond the %d clients' range ±%d", ErrBadEncoding, i, s, clients, bound)
		}
		f := float32(roundToFloat32(mag) * unscale) // exact, and exactly a float32
		if neg {
			f = -f
		}
		dst[i] = f
	}
	return dst, nil
}

// roundToFloat32 is m rounded to 24 significant bits, ties to even, as a
// float64 (exactly representable as float32). It is done in integers so
// that the result does not depend on how a platform converts uint64 to
// float32.
func roundToFloat32(m uint64) float64 {
	n := bits.Len64(m)
	if n <= 24 {
		return float64(m)
	}
	shift := n - 24
	q := m >> shift
	r := m & (1<<shift - 1)
	half := uint64(1) << (shift - 1)
	if r > half || (r == half && q&1 == 1) {
		q++ // may reach 2^24, still exact
	}
	return float64(q) * pow2(shift)
}

// pow2 is 2^e for −1022 ≤ e ≤ 1023.
func pow2(e int) float64 { return math.Float64frombits(uint64(1023+e) << 52) }
