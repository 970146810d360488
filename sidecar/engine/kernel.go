package engine

// gemmRow is the engine's one matrix kernel: for every j < len(y),
//
//	y[j] = (((y[j] + a[0]·b[j]) + a[1]·b[ldb+j]) + …) + a[K-1]·b[(K-1)·ldb+j]
//
// with K = len(a): the products in increasing k, each rounded to float32
// before it is added. That is exactly the scalar loop
// `y[j] += float32(a[k] * b[k*ldb+j])` for k = 0, 1, …, so the AVX2 path
// (VMULPS then VADDPS, eight columns at a time, never fused) and the
// generic path give the same bits. Columns are independent, so how they
// are grouped into vectors does not change any sum.
//
// It panics if b is too short, which the callers' shape checks rule out.
func gemmRow(y, a, b []float32, ldb int) {
	k := len(a)
	if k == 0 || len(y) == 0 {
		return
	}
	if len(y) > ldb || (k-1)*ldb+len(y) > len(b) {
		panic("engine: gemmRow operands out of range")
	}
	done := 0
	if hasAVX2 {
		done = len(y) &^ 7
		if done > 0 {
			gemmRowAVX2(y[:done], a, b, ldb)
		}
	}
	gemmRowGeneric(y[done:], a, b[done:], ldb)
}

// gemmRowGeneric is gemmRow in plain Go, k outer so that b is read row by
// row; each y[j] still sums its products in increasing k.
func gemmRowGeneric(y, a, b []float32, ldb int) {
	if len(y) == 0 {
		return
	}
	for k, av := range a {
		br := b[k*ldb : k*ldb+len(y)]
		for j, bv := range br {
			y[j] += float32(av * bv)
		}
	}
}
