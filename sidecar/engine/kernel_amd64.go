package engine

import "golang.org/x/sys/cpu"

// hasAVX2 selects the eight-lane kernel of kernel_amd64.s.
var hasAVX2 = cpu.X86.HasAVX2

// gemmRowAVX2 is gemmRow for len(y) a multiple of 8 (kernel_amd64.s).
//
//go:noescape
func gemmRowAVX2(y, a, b []float32, ldb int)
