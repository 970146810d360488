package aggregate

import (
	"math"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// Attacks forge malicious updates from what the attacker knows (the
// honest updates, in the strongest threat model). They exist to test and
// benchmark the rules.

// SignFlip returns −scale·u.
func SignFlip(u []float32, scale float32) []float32 {
	out := make([]float32, len(u))
	for i, v := range u {
		out[i] = -scale * v
	}
	return out
}

// GaussianNoise returns a vector of N(0, sigma²) noise from a seeded stream.
func GaussianNoise(d int, sigma float32, seed uint64) []float32 {
	g := engine.NewRNG(seed, 31)
	out := make([]float32, d)
	for i := range out {
		out[i] = sigma * g.Normal()
	}
	return out
}

// ALIE ("a little is enough", Baruch et al.) returns mean − z·std of the
// honest updates, coordinate by coordinate: small enough to pass as honest,
// consistent enough to drag the aggregate.
func ALIE(honest [][]float32, z float64) []float32 {
	d := len(honest[0])
	out := make([]float32, d)
	for j := 0; j < d; j++ {
		var s, s2 float64
		for _, h := range honest {
			s += float64(h[j])
		}
		m := s / float64(len(honest))
		for _, h := range honest {
			s2 += float64((float64(h[j]) - m) * (float64(h[j]) - m))
		}
		out[j] = float32(m - float64(z*math.Sqrt(s2/float64(len(honest)))))
	}
	return out
}

// IPM (inner-product manipulation, Xie et al.) returns −eps times the
// honest mean, so that the aggregate's inner product with the true
// direction turns negative.
func IPM(honest [][]float32, eps float32) []float32 {
	d := len(honest[0])
	out := make([]float32, d)
	for j := 0; j < d; j++ {
		var s float64
		for _, h := range honest {
			s += float64(h[j])
		}
		out[j] = -eps * float32(s/float64(len(honest)))
	}
	return out
}
