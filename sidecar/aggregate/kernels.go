package aggregate

import "math"

// The inner loops of the aggregation rules, in portable Go. On amd64 with
// AVX2 (kernels_amd64.go) the same loops run eight lanes at a time; each
// lane performs exactly the IEEE-754 operation written here (a float32
// multiply rounded, then a float32 add — never fused; integer min and max),
// so both paths give bit-identical results, which kernels_amd64_test.go
// checks.

// axpyGeneric adds w·v[j] (rounded to float32) to acc[j] for every j < len(acc).
func axpyGeneric(acc, v []float32, w float32) {
	v = v[:len(acc)]
	for j := range acc {
		acc[j] += float32(w * v[j])
	}
}

// minMaxGeneric leaves min(a[c], b[c]) in a[c] and the max in b[c].
func minMaxGeneric(a, b []int32) {
	b = b[:len(a)]
	for c, x := range a {
		y := b[c]
		a[c], b[c] = min(x, y), max(x, y)
	}
}

// loadKeysGeneric converts src into orderedKeys in dst and reports whether
// any value was NaN or ±Inf (exponent all ones), without a branch per value.
func loadKeysGeneric(dst []int32, src []float32) (nonFinite bool) {
	var flag uint32
	dst = dst[:len(src)]
	for c, v := range src {
		b := math.Float32bits(v)
		flag |= (b>>23&0xFF + 1) >> 8
		k := int32(b)
		dst[c] = k ^ (k >> 31 & 0x7FFFFFFF)
	}
	return flag != 0
}

// addKeysGeneric adds the float32 value of each orderedKey, widened to
// float64, to sums.
func addKeysGeneric(sums []float64, keys []int32) {
	keys = keys[:len(sums)]
	for c, k := range keys {
		sums[c] += float64(fromOrderedKey(k))
	}
}

// meanOfSumsGeneric sets out[c] = float32(sums[c] / k).
func meanOfSumsGeneric(out []float32, sums []float64, k float64) {
	sums = sums[:len(out)]
	for c, v := range sums {
		out[c] = float32(v / k)
	}
}
