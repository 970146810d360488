package engine

import "github.com/cohortchain/cohort/sidecar/par"

// poolGeom is a maxpool2d layer on a [c, h, w] input.
type poolGeom struct{ c, h, w, size, stride, oh, ow int }

func newPoolGeom(l LayerSpec, in []int) poolGeom {
	return poolGeom{c: in[0], h: in[1], w: in[2], size: l.Size, stride: l.Stride,
		oh: (in[1]-l.Size)/l.Stride + 1, ow: (in[2]-l.Size)/l.Stride + 1}
}

// poolForward takes the max of every window. arg[o] is the index, within
// its input plane, of output o's max: the first in row-major window order
// among equal values. Planes (example, channel) are independent and split
// between goroutines.
func poolForward(x []float32, batch int, g poolGeom) ([]float32, []int32) {
	planeIn, planeOut := g.h*g.w, g.oh*g.ow
	y := make([]float32, batch*g.c*planeOut)
	arg := make([]int32, len(y))
	par.Range(batch*g.c, grainFor(planeOut*g.size*g.size), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			xp := x[p*planeIn : (p+1)*planeIn]
			yp, ap := y[p*planeOut:(p+1)*planeOut], arg[p*planeOut:(p+1)*planeOut]
			for oy := 0; oy < g.oh; oy++ {
				for ox := 0; ox < g.ow; ox++ {
					bi := oy*g.stride*g.w + ox*g.stride
					bv := xp[bi]
					for ky := 0; ky < g.size; ky++ {
						row := (oy*g.stride+ky)*g.w + ox*g.stride
						for kx, v := range xp[row : row+g.size] {
							if v > bv {
								bv, bi = v, row+kx
							}
						}
					}
					yp[oy*g.ow+ox], ap[oy*g.ow+ox] = bv, int32(bi)
				}
			}
		}
	})
	return y, arg
}

// poolBackward routes each output's gradient to its max: dx[arg[o]] +=
// dy[o], outputs in increasing order (windows may overlap when stride <
// size, so one input can receive several, always summed in that order).
func poolBackward(dy []float32, arg []int32, batch int, g poolGeom) []float32 {
	planeIn, planeOut := g.h*g.w, g.oh*g.ow
	dx := make([]float32, batch*g.c*planeIn)
	par.Range(batch*g.c, grainFor(planeIn), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			dp := dx[p*planeIn : (p+1)*planeIn]
			for o, a := range arg[p*planeOut : (p+1)*planeOut] {
				dp[a] += dy[p*planeOut+o]
			}
		}
	})
	return dx
}
