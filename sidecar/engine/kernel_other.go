//go:build !amd64

package engine

const hasAVX2 = false

func gemmRowAVX2(y, a, b []float32, ldb int) { gemmRowGeneric(y, a, b, ldb) }
