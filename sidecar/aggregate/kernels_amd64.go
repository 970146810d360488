package aggregate

import "golang.org/x/sys/cpu"

// hasAVX2 selects the eight-lane kernels of kernels_amd64.s.
var hasAVX2 = cpu.X86.HasAVX2

// axpy adds w·v[j] to acc[j]; see axpyGeneric.
func axpy(acc, v []float32, w float32) {
	if !hasAVX2 {
		axpyGeneric(acc, v, w)
		return
	}
	v = v[:len(acc)]
	n := len(acc) &^ 7
	axpyAVX2(acc[:n], v[:n], w)
	axpyGeneric(acc[n:], v[n:], w)
}

// minMax leaves the lane-wise min in a and max in b; see minMaxGeneric.
func minMax(a, b []int32) {
	if !hasAVX2 {
		minMaxGeneric(a, b)
		return
	}
	b = b[:len(a)]
	n := len(a) &^ 7
	minMaxAVX2(a[:n], b[:n])
	minMaxGeneric(a[n:], b[n:])
}

// loadKeys converts src to orderedKeys in dst; see loadKeysGeneric.
func loadKeys(dst []int32, src []float32) (nonFinite bool) {
	if !hasAVX2 {
		return loadKeysGeneric(dst, src)
	}
	dst = dst[:len(src)]
	n := len(src) &^ 7
	bad := loadKeysAVX2(dst[:n], src[:n])
	return loadKeysGeneric(dst[n:], src[n:]) || bad
}

// addKeys adds the keys' float values to sums; see addKeysGeneric.
func addKeys(sums []float64, keys []int32) {
	if !hasAVX2 {
		addKeysGeneric(sums, keys)
		return
	}
	keys = keys[:len(sums)]
	n := len(sums) &^ 7
	addKeysAVX2(sums[:n], keys[:n])
	addKeysGeneric(sums[n:], keys[n:])
}

// meanOfSums sets out[c] = float32(sums[c] / k); see meanOfSumsGeneric.
func meanOfSums(out []float32, sums []float64, k float64) {
	if !hasAVX2 {
		meanOfSumsGeneric(out, sums, k)
		return
	}
	sums = sums[:len(out)]
	n := len(out) &^ 7
	meanOfSumsAVX2(out[:n], sums[:n], k)
	meanOfSumsGeneric(out[n:], sums[n:], k)
}

// The assembly kernels take slices whose length is a multiple of 8.

//go:noescape
func axpyAVX2(acc, v []float32, w float32)

//go:noescape
func minMaxAVX2(a, b []int32)

//go:noescape
func loadKeysAVX2(dst []int32, src []float32) bool

//go:noescape
func addKeysAVX2(sums []float64, keys []int32)

//go:noescape
func meanOfSumsAVX2(out []float32, sums []float64, k float64)
