package engine

import (
	"math"
	"math/rand/v2"
)

// RNG is a seeded random stream; the same seed and stream give the same
// numbers everywhere.
type RNG struct{ r *rand.Rand }

// NewRNG returns the stream of seed and stream id.
func NewRNG(seed, stream uint64) *RNG { return &RNG{r: rand.New(rand.NewPCG(seed, stream))} }

// Float32 returns a uniform number in [0, 1) with 24 random bits.
func (g *RNG) Float32() float32 { return float32(g.r.Uint32()>>8) / (1 << 24) }

// Normal returns a standard normal number (Box–Muller with the engine's
// own log; cos and sqrt are exact IEEE operations or computed in float64).
func (g *RNG) Normal() float32 {
	u1 := float64(g.r.Uint64()>>11+1) / (1 << 53)
	u2 := float64(g.r.Uint64()>>11) / (1 << 53)
	return float32(math.Sqrt(-2*float64(Log(float32(u1)))) * cosTaylor(float64(2*math.Pi*u2)))
}

// Perm returns a permutation of [0, n).
func (g *RNG) Perm(n int) []int { return g.r.Perm(n) }

// cosTaylor is cos(x) for x in [0, 2π) without the platform's libm: reduce
// to [-π, π] and sum the Taylor series in float64.
func cosTaylor(x float64) float64 {
	if x > math.Pi {
		x -= 2 * math.Pi
	}
	x2 := x * x
	term, sum := 1.0, 1.0
	for i := 1; i <= 14; i++ {
		term = float64(term * (-x2 / float64((2*i-1)*(2*i))))
		sum += term
	}
	return sum
}
