package engine

import "github.com/cohortchain/cohort/sidecar/par"

// convGeom is a conv2d layer on a [c, h, w] input: f filters of c×k×k,
// stride and zero padding on both axes, output [f, oh, ow].
//
// The layer is computed by im2col: for one example, col is the K×P matrix
// (K = c·k·k, P = oh·ow) with col[(ci·k+ky)·k+kx][oy·ow+ox] = x[ci][oy·stride−pad+ky][ox·stride−pad+kx]
// (0 in the padding), so that y[f] = bias[f] + W[f]·col, with W as its
// [f, c, k, k] tensor read as f × K. Every sum below goes through gemmRow,
// in the order stated at each use.
type convGeom struct{ c, h, w, f, k, stride, pad, oh, ow int }

func newConvGeom(l LayerSpec, in []int) convGeom {
	return convGeom{c: in[0], h: in[1], w: in[2], f: l.Filters, k: l.Kernel, stride: l.Stride, pad: l.Padding,
		oh: (in[1]+2*l.Padding-l.Kernel)/l.Stride + 1, ow: (in[2]+2*l.Padding-l.Kernel)/l.Stride + 1}
}

// convImagesPerChunk bounds the im2col matrices backward keeps at once.
const convImagesPerChunk = 16

// im2col fills col (K × P) from one example x (c × h × w).
func (g convGeom) im2col(x, col []float32) {
	P := g.oh * g.ow
	for ci := 0; ci < g.c; ci++ {
		plane := x[ci*g.h*g.w : (ci+1)*g.h*g.w]
		for ky := 0; ky < g.k; ky++ {
			for kx := 0; kx < g.k; kx++ {
				row := col[((ci*g.k+ky)*g.k+kx)*P : ((ci*g.k+ky)*g.k+kx+1)*P]
				for oy := 0; oy < g.oh; oy++ {
					dst := row[oy*g.ow : (oy+1)*g.ow]
					iy := oy*g.stride - g.pad + ky
					if iy < 0 || iy >= g.h {
						clear(dst)
						continue
					}
					src := plane[iy*g.w : (iy+1)*g.w]
					for ox := range dst {
						if ix := ox*g.stride - g.pad + kx; ix >= 0 && ix < g.w {
							dst[ox] = src[ix]
						} else {
							dst[ox] = 0
						}
					}
				}
			}
		}
	}
}

// im2colT fills colT (P × K), the transpose of im2col's matrix.
func (g convGeom) im2colT(x, colT []float32) {
	K := g.c * g.k * g.k
	for oy := 0; oy < g.oh; oy++ {
		for ox := 0; ox < g.ow; ox++ {
			row := colT[(oy*g.ow+ox)*K : (oy*g.ow+ox+1)*K]
			r := 0
			for ci := 0; ci < g.c; ci++ {
				plane := x[ci*g.h*g.w : (ci+1)*g.h*g.w]
				for ky := 0; ky < g.k; ky++ {
					iy := oy*g.stride - g.pad + ky
					for kx := 0; kx < g.k; kx++ {
						ix := ox*g.stride - g.pad + kx
						if iy >= 0 && iy < g.h && ix >= 0 && ix < g.w {
							row[r] = plane[iy*g.w+ix]
						} else {
							row[r] = 0
						}
						r++
					}
				}
			}
		}
	}
}

// col2im adds the k·k rows of dcol (each P long) that belong to one input
// channel into that channel's plane dx (h × w), rows in increasing
// (ky, kx) and positions in increasing (oy, ox): a fixed order.
func (g convGeom) col2im(dcol, dx []float32) {
	P := g.oh * g.ow
	for ky := 0; ky < g.k; ky++ {
		for kx := 0; kx < g.k; kx++ {
			row := dcol[(ky*g.k+kx)*P : (ky*g.k+kx+1)*P]
			for oy := 0; oy < g.oh; oy++ {
				iy := oy*g.stride - g.pad + ky
				if iy < 0 || iy >= g.h {
					continue
				}
				dst := dx[iy*g.w : (iy+1)*g.w]
				for ox, v := range row[oy*g.ow : (oy+1)*g.ow] {
					if ix := ox*g.stride - g.pad + kx; ix >= 0 && ix < g.w {
						dst[ix] += v
					}
				}
			}
		}
	}
}

// convForward computes y[n][f][p] = b[f] + Σ_r W[f][r]·col_n[r][p], r in
// increasing order. The outputs (n, f) are independent; goroutines take
// contiguous runs of them, each building col_n once per example it meets.
func convForward(x []float32, batch int, g convGeom, w, b []float32) []float32 {
	K, P := g.c*g.k*g.k, g.oh*g.ow
	in, out := g.c*g.h*g.w, g.f*P
	y := make([]float32, batch*out)
	par.Range(batch*g.f, grainFor(K*P), func(lo, hi int) {
		col := make([]float32, K*P)
		cur := -1
		for idx := lo; idx < hi; idx++ {
			n, f := idx/g.f, idx%g.f
			if n != cur {
				g.im2col(x[n*in:(n+1)*in], col)
				cur = n
			}
			yr := y[n*out+f*P : n*out+(f+1)*P]
			for j := range yr {
				yr[j] = b[f]
			}
			gemmRow(yr, w[f*K:(f+1)*K], col, P)
		}
	})
	return y
}

// convBackward returns the gradients of the weights, the biases and (when
// needDX) the input, given dy (batch × f × P) and the layer's input x:
//
//	dW[f][r] = Σ_n Σ_p dy[n][f][p]·colT_n[p][r]   n, then p, increasing
//	db[f]    = Σ_n Σ_p dy[n][f][p]                n, then p, increasing
//	dx[n]    = col2im(dcol_n), dcol_n[r][p] = Σ_f W[f][r]·dy[n][f][p], f increasing
//
// dW and db are split between goroutines by filter, dx by (example, input
// channel); images go through dW in chunks of convImagesPerChunk so that
// their colT matrices are built once, in parallel, and memory stays bounded.
func convBackward(x, dy []float32, batch int, g convGeom, w []float32, needDX bool) (dw, db, dx []float32) {
	K, P := g.c*g.k*g.k, g.oh*g.ow
	in, out := g.c*g.h*g.w, g.f*P
	dw, db = make([]float32, g.f*K), make([]float32, g.f)
	colT := make([]float32, min(batch, convImagesPerChunk)*P*K)
	for n0 := 0; n0 < batch; n0 += convImagesPerChunk {
		n1 := min(n0+convImagesPerChunk, batch)
		par.Range(n1-n0, 1, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				g.im2colT(x[(n0+n)*in:(n0+n+1)*in], colT[n*P*K:(n+1)*P*K])
			}
		})
		par.Range(g.f, grainFor((n1-n0)*P*K), func(lo, hi int) {
			for f := lo; f < hi; f++ {
				for n := n0; n < n1; n++ {
					d := dy[n*out+f*P : n*out+(f+1)*P]
					gemmRow(dw[f*K:(f+1)*K], d, colT[(n-n0)*P*K:(n-n0+1)*P*K], K)
					s := db[f]
					for _, v := range d {
						s += v
					}
					db[f] = s
				}
			}
		})
	}
	if !needDX {
		return dw, db, nil
	}
	wt := transpose(w, g.f, K) // K × f
	kk := g.k * g.k
	dx = make([]float32, batch*in)
	par.Range(batch*g.c, grainFor(kk*P*g.f), func(lo, hi int) {
		dcol := make([]float32, kk*P)
		for idx := lo; idx < hi; idx++ {
			n, ci := idx/g.c, idx%g.c
			clear(dcol)
			for r := 0; r < kk; r++ {
				gemmRow(dcol[r*P:(r+1)*P], wt[(ci*kk+r)*g.f:(ci*kk+r+1)*g.f], dy[n*out:(n+1)*out], P)
			}
			g.col2im(dcol, dx[n*in+ci*g.h*g.w:n*in+(ci+1)*g.h*g.w])
		}
	})
	return dw, db, dx
}

// transpose returns the cols × rows transpose of a rows × cols matrix.
func transpose(m []float32, rows, cols int) []float32 {
	t := make([]float32, rows*cols)
	for r := 0; r < rows; r++ {
		for c, v := range m[r*cols : (r+1)*cols] {
			t[c*rows+r] = v
		}
	}
	return t
}
