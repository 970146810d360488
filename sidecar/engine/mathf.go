package engine

import "math"

// Exp is the engine's own e^x for float32, the same on every platform:
// x = k*ln2 + r with |r| <= ln2/2, e^r by a degree-7 Taylor polynomial in
// float64 (error well below float32 precision), scaled by 2^k exactly.
func Exp(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72283:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	const ln2 = 0.6931471805599453
	xd := float64(x)
	k := math.Floor(xd/ln2 + 0.5)
	r := xd - float64(k*ln2)
	// Horner's rule; float64(…) rounds every product before its add, so
	// no platform fuses them into an FMA (see the package doc).
	p := 1.0 / 5040
	for _, c := range [...]float64{1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2, 1, 1} {
		p = c + float64(r*p)
	}
	return float32(math.Ldexp(p, int(k)))
}

// Log is the engine's own natural logarithm for float32, the same on every
// platform: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), ln m from the
// series of atanh((m-1)/(m+1)) in float64.
func Log(x float32) float32 {
	switch {
	case x != x || x < 0:
		return float32(math.NaN())
	case x == 0:
		return float32(math.Inf(-1))
	case math.IsInf(float64(x), 1):
		return x
	}
	m, e := math.Frexp(float64(x)) // m in [0.5, 1)
	if m < math.Sqrt2/2 {
		m *= 2
		e--
	}
	s := (m - 1) / (m + 1)
	s2 := s * s
	// 2*atanh(s) = 2(s + s^3/3 + s^5/5 + ...); |s| < 0.172, 8 terms suffice.
	q := 1.0 / 15
	for _, c := range [...]float64{1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1} {
		q = c + float64(s2*q)
	}
	sum := float64(s * q)
	const ln2 = 0.6931471805599453
	return float32(float64(2*sum) + float64(float64(e)*ln2))
}
