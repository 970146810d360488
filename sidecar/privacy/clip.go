package privacy

import (
	"fmt"
	"math"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/par"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// clipMargin shrinks every clipping scale by 2⁻²² so that rounding the
// scaled values to float32 (a relative error of at most 2⁻²⁴ each) can
// never leave a clipped vector with a norm above the bound.
const clipMargin = 1 - 1.0/(1<<22)

// checkClip validates a clipping bound.
func checkClip(clip float64) error {
	if !(clip > 0) || math.IsInf(clip, 1) {
		return fmt.Errorf("privacy: clipping bound %v is not a positive finite number", clip)
	}
	return nil
}

// VectorNorm is the L2 norm of v, its squares summed in float64 in index
// order. It returns an error when v holds NaN or ±Inf.
func VectorNorm(v []float32) (float64, error) {
	s, err := addSquares(0, v)
	if err != nil {
		return 0, fmt.Errorf("privacy: %w", err)
	}
	return math.Sqrt(s), nil
}

// Norm is the L2 norm of a set of tensors taken as one vector: the
// squares of every element, tensor by tensor in canonical name order,
// summed in float64. It returns an error when a tensor's data does not
// match its shape or holds NaN or ±Inf.
func Norm(s tensor.Set) (float64, error) {
	sum := 0.0
	for _, name := range s.Names() {
		t := s[name]
		if err := t.Validate(); err != nil {
			return 0, fmt.Errorf("privacy: %s: %w", name, err)
		}
		var err error
		if sum, err = addSquares(sum, t.Data); err != nil {
			return 0, fmt.Errorf("privacy: %s: %w", name, err)
		}
	}
	return math.Sqrt(sum), nil
}

// addSquares returns acc plus the sum of the squares of v in float64: the
// one way every norm of this package is summed, the same on every
// platform. Four running sums take the elements in turn (element i goes
// to sum i mod 4, in index order, each square rounded before it is added,
// never fused) and are added as ((s0 + s1) + (s2 + s3)), then to acc. It
// fails on NaN or ±Inf. (A float32 squared is below 2²⁵⁶, so a sum of
// finite values cannot overflow: the sum is finite exactly when every
// value is.)
func addSquares(acc float64, v []float32) (float64, error) {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(v); i += 4 {
		x0, x1, x2, x3 := float64(v[i]), float64(v[i+1]), float64(v[i+2]), float64(v[i+3])
		s0 += float64(x0 * x0)
		s1 += float64(x1 * x1)
		s2 += float64(x2 * x2)
		s3 += float64(x3 * x3)
	}
	for j, x := range v[i:] { // the last len(v) mod 4 elements
		f := float64(x)
		switch j {
		case 0:
			s0 += float64(f * f)
		case 1:
			s1 += float64(f * f)
		default:
			s2 += float64(f * f)
		}
	}
	s := acc + ((s0 + s1) + (s2 + s3))
	if math.IsNaN(s) || math.IsInf(s, 0) {
		for i, x := range v {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, fmt.Errorf("%w: element %d is %v", tensor.ErrNotFinite, i, x)
			}
		}
		return 0, fmt.Errorf("%w: running sum of squares is %v", tensor.ErrNotFinite, acc)
	}
	return s, nil
}

// clipScale is the factor that brings a vector of norm n to norm at most
// clip, or 1 when it is already there.
func clipScale(n, clip float64) float64 {
	if n <= clip {
		return 1
	}
	return clip / n * clipMargin
}

// scale multiplies v by s in place, each product in float64 rounded once.
func scale(v []float32, s float64) {
	for i, x := range v {
		v[i] = float32(float64(x) * s)
	}
}

// ClipVector scales v in place so that its L2 norm (see VectorNorm) is at
// most clip, and returns the norm it had and whether it was scaled. A
// vector within the bound is left exactly as it is; a longer one ends
// with a norm at most clip and at least clip·(1 − 3·10⁻⁷). On error
// (clip not positive and finite, NaN or ±Inf in v) v is unchanged.
func ClipVector(v []float32, clip float64) (norm float64, clipped bool, err error) {
	if err := checkClip(clip); err != nil {
		return 0, false, err
	}
	norm, err = VectorNorm(v)
	if err != nil {
		return 0, false, err
	}
	if s := clipScale(norm, clip); s != 1 {
		scale(v, s)
		return norm, true, nil
	}
	return norm, false, nil
}

// ClipUpdate is ClipVector for a set of tensors taken as one vector (see
// Norm): it scales every tensor of u in place by the same factor so that
// the norm of the whole set is at most clip, and returns the norm it had
// and whether it was scaled. On error u is unchanged.
func ClipUpdate(u tensor.Set, clip float64) (norm float64, clipped bool, err error) {
	if err := checkClip(clip); err != nil {
		return 0, false, err
	}
	norm, err = Norm(u)
	if err != nil {
		return 0, false, err
	}
	s := clipScale(norm, clip)
	if s == 1 {
		return norm, false, nil
	}
	for _, name := range u.Names() {
		scale(u[name].Data, s)
	}
	return norm, true, nil
}

// noiseBlock is how many coordinates draw their noise from one random
// stream: blocks are filled in parallel, each from its own stream, so the
// noise is the same at every GOMAXPROCS.
const noiseBlock = 1 << 14

// Random-stream domains of this package, kept apart from each other and
// from the engine's (1 for Init, 2 for batch order, hashed ids for
// dropout) by hashing.
const (
	domainSample uint64 = 0x64702d73616d706c // "dp-sampl"
	domainNoise  uint64 = 0x64702d6e6f697365 // "dp-noise"
	domainFed    uint64 = 0x64702d6665646176 // "dp-fedav"
)

// streamID is the engine.RNG stream of (domain, counter, block): a
// splitmix64 hash chain of the three.
func streamID(domain, counter, block uint64) uint64 {
	return splitmix64(block ^ splitmix64(counter^splitmix64(domain)))
}

// splitmix64 is Steele, Lea and Flood's 64-bit finaliser.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// noisyScale replaces every coordinate x of vecs (taken in order as one
// vector) by (x + std·z)·mul, z standard normal, computed in float64
// (every product rounded, never fused) and rounded to float32 once. Coordinate j of the whole draws z from block j/noiseBlock
// of the stream (seed, streamID(domain, counter, block)), in order, so
// the result depends only on the arguments. Blocks run in parallel.
func noisyScale(vecs [][]float32, std, mul float64, seed, domain, counter uint64) {
	type block struct {
		v   []float32
		idx uint64
	}
	var blocks []block
	idx := uint64(0)
	for _, v := range vecs {
		// Blocks are numbered over the concatenation, but one block never
		// spans two tensors: a new tensor starts a new block.
		for lo := 0; lo < len(v); lo += noiseBlock {
			blocks = append(blocks, block{v: v[lo:min(lo+noiseBlock, len(v))], idx: idx})
			idx++
		}
	}
	par.Range(len(blocks), 1, func(lo, hi int) {
		for _, b := range blocks[lo:hi] {
			g := engine.NewRNG(seed, streamID(domain, counter, b.idx))
			for i, x := range b.v {
				b.v[i] = float32((float64(x) + float64(std*float64(g.Normal()))) * mul)
			}
		}
	})
}
