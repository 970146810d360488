package gpu

import (
	"math"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// This file is the kernels of kernels/cohort.cu written again in Go, one
// function per kernel, each computing every output exactly as one CUDA
// thread does (same operands, same order, same roundings; the explicit
// float32 conversions forbid fused multiply-adds). The CPU backend's
// layer operations run them, the tests check them bit for bit against
// packages engine and aggregate, and the cuda tests check the kernels bit
// for bit against them. The launch parameters (gemmArgs, strides, the
// sorting network) are computed by the same Go code for both.

// gemm modes: what an output's sum starts from.
const (
	gemmZero     = 0 // +0
	gemmBiasCol  = 1 // bias[j]
	gemmBiasRow  = 2 // bias[i]
	gemmContinue = 3 // the value already in C
)

// gemmArgs describes one cohort_gemm launch: for z < Z, i < M, j < N
//
//	C[z·cZ + i·ldc + j] = init + Σ_{s<S} Σ_{k<K} A[z·aZ + s·aSeg + i·aM + k·aK] · B[z·bZ + s·bSeg + k·bK + j·bN]
//
// summed in increasing (s, k), each product rounded to float32 first:
// engine.gemmRow's order.
type gemmArgs struct {
	M, N, K, S, Z    int
	aM, aK, aSeg, aZ int
	bK, bN, bSeg, bZ int
	ldc, cZ          int
	mode             int
}

// emulate runs the launch on the CPU.
func (g gemmArgs) emulate(C, A, B, bias []float32) {
	for z := 0; z < g.Z; z++ {
		for i := 0; i < g.M; i++ {
			for j := 0; j < g.N; j++ {
				var acc float32
				switch g.mode {
				case gemmBiasCol:
					acc = bias[j]
				case gemmBiasRow:
					acc = bias[i]
				case gemmContinue:
					acc = C[z*g.cZ+i*g.ldc+j]
				}
				for s := 0; s < g.S; s++ {
					a := A[z*g.aZ+s*g.aSeg+i*g.aM:]
					b := B[z*g.bZ+s*g.bSeg+j*g.bN:]
					for k := 0; k < g.K; k++ {
						acc += float32(a[k*g.aK] * b[k*g.bK])
					}
				}
				C[z*g.cZ+i*g.ldc+j] = acc
			}
		}
	}
}

// The launches of the dense layer (engine forward.go, backward.go).

// denseForwardArgs: y[n][o] = b[o] + Σ_k x[n][k]·W[k][o], k increasing.
func denseForwardArgs(batch, in, out int) gemmArgs {
	return gemmArgs{M: batch, N: out, K: in, S: 1, Z: 1, aM: in, aK: 1, bK: out, bN: 1, ldc: out, mode: gemmBiasCol}
}

// denseWeightGradArgs: dW[k][o] = Σ_n x[n][k]·dy[n][o], n increasing.
func denseWeightGradArgs(batch, in, out int) gemmArgs {
	return gemmArgs{M: in, N: out, K: batch, S: 1, Z: 1, aM: 1, aK: in, bK: out, bN: 1, ldc: out, mode: gemmZero}
}

// denseInputGradArgs: dx[n][k] = Σ_o dy[n][o]·W[k][o], o increasing.
func denseInputGradArgs(batch, in, out int) gemmArgs {
	return gemmArgs{M: batch, N: in, K: out, S: 1, Z: 1, aM: out, aK: 1, bK: 1, bN: out, ldc: in, mode: gemmZero}
}

// The launches of the conv2d layer (engine conv.go) for a chunk of nb
// examples whose im2col matrices (K×P each) are in col.

// convForwardArgs: y[n][f][p] = b[f] + Σ_r W[f][r]·col_n[r][p], r increasing.
func convForwardArgs(g ConvGeom, nb int) gemmArgs {
	K, P := g.C*g.K*g.K, g.OH()*g.OW()
	return gemmArgs{M: g.F, N: P, K: K, S: 1, Z: nb, aM: K, aK: 1, bK: P, bN: 1, bZ: K * P, ldc: P, cZ: g.F * P, mode: gemmBiasRow}
}

// convWeightGradArgs: dW[f][r] += Σ_n Σ_p dy[n][f][p]·col_n[r][p], n then
// p increasing; the first chunk starts from 0, later ones continue.
func convWeightGradArgs(g ConvGeom, nb int, first bool) gemmArgs {
	K, P := g.C*g.K*g.K, g.OH()*g.OW()
	mode := gemmContinue
	if first {
		mode = gemmZero
	}
	return gemmArgs{M: g.F, N: K, K: P, S: nb, Z: 1, aM: P, aK: 1, aSeg: g.F * P, bK: 1, bN: P, bSeg: K * P, ldc: K, mode: mode}
}

// convColGradArgs: dcol_n[r][p] = Σ_f W[f][r]·dy[n][f][p], f increasing.
func convColGradArgs(g ConvGeom, nb int) gemmArgs {
	K, P := g.C*g.K*g.K, g.OH()*g.OW()
	return gemmArgs{M: K, N: P, K: g.F, S: 1, Z: nb, aM: 1, aK: K, bK: P, bN: 1, bZ: g.F * P, ldc: P, cZ: K * P, mode: gemmZero}
}

// convChunk is how many examples' im2col matrices are built at once:
// at most budget floats of them, at least one example.
func convChunk(g ConvGeom, batch, budget int) int {
	per := g.C * g.K * g.K * g.OH() * g.OW()
	return max(1, min(batch, budget/max(per, 1)))
}

// defaultColBudget bounds the im2col workspace (floats) of one conv call.
const defaultColBudget = 1 << 26

// biasGradEmulate is cohort_bias_grad: db[f] = Σ_n Σ_p dy[n][f][p].
func biasGradEmulate(db, dy []float32, batch, F, P int) {
	for f := 0; f < F; f++ {
		var s float32
		for n := 0; n < batch; n++ {
			for _, v := range dy[n*F*P+f*P : n*F*P+(f+1)*P] {
				s += v
			}
		}
		db[f] = s
	}
}

// im2colEmulate is cohort_im2col for nb examples.
func im2colEmulate(col, x []float32, nb int, g ConvGeom) {
	K, P, ow := g.C*g.K*g.K, g.OH()*g.OW(), g.OW()
	for idx := 0; idx < nb*K*P; idx++ {
		n, rem := idx/(K*P), idx%(K*P)
		r, p := rem/P, rem%P
		ci, ky, kx := r/(g.K*g.K), (r/g.K)%g.K, r%g.K
		oy, ox := p/ow, p%ow
		iy, ix := oy*g.Stride-g.Pad+ky, ox*g.Stride-g.Pad+kx
		var v float32
		if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
			v = x[n*g.C*g.H*g.W+ci*g.H*g.W+iy*g.W+ix]
		}
		col[idx] = v
	}
}

// col2imEmulate is cohort_col2im for nb examples.
func col2imEmulate(dx, dcol []float32, nb int, g ConvGeom) {
	K, P, oh, ow := g.C*g.K*g.K, g.OH()*g.OW(), g.OH(), g.OW()
	chw := g.C * g.H * g.W
	for idx := 0; idx < nb*chw; idx++ {
		n, rem := idx/chw, idx%chw
		ci, iy, ix := rem/(g.H*g.W), (rem/g.W)%g.H, rem%g.W
		dc := dcol[n*K*P:]
		var s float32
		for ky := 0; ky < g.K; ky++ {
			ty := iy + g.Pad - ky
			if ty < 0 || ty%g.Stride != 0 || ty/g.Stride >= oh {
				continue
			}
			oy := ty / g.Stride
			for kx := 0; kx < g.K; kx++ {
				tx := ix + g.Pad - kx
				if tx < 0 || tx%g.Stride != 0 || tx/g.Stride >= ow {
					continue
				}
				ox := tx / g.Stride
				s += dc[((ci*g.K+ky)*g.K+kx)*P+oy*ow+ox]
			}
		}
		dx[idx] = s
	}
}

// maxPoolForwardEmulate is cohort_maxpool_fwd.
func maxPoolForwardEmulate(y []float32, arg []int32, x []float32, planes int, g PoolGeom) {
	oh, ow := g.OH(), g.OW()
	for idx := 0; idx < planes*oh*ow; idx++ {
		p, o := idx/(oh*ow), idx%(oh*ow)
		oy, ox := o/ow, o%ow
		xp := x[p*g.H*g.W:]
		bi := oy*g.Stride*g.W + ox*g.Stride
		bv := xp[bi]
		for ky := 0; ky < g.Size; ky++ {
			row := (oy*g.Stride+ky)*g.W + ox*g.Stride
			for kx := 0; kx < g.Size; kx++ {
				if v := xp[row+kx]; v > bv {
					bv, bi = v, row+kx
				}
			}
		}
		y[idx], arg[idx] = bv, int32(bi)
	}
}

// maxPoolBackwardEmulate is cohort_maxpool_bwd.
func maxPoolBackwardEmulate(dx, dy []float32, arg []int32, planes int, g PoolGeom) {
	oh, ow := g.OH(), g.OW()
	for idx := 0; idx < planes*g.H*g.W; idx++ {
		p, i := idx/(g.H*g.W), idx%(g.H*g.W)
		iy, ix := i/g.W, i%g.W
		ty, tx := iy-g.Size+1, ix-g.Size+1
		oy0, ox0 := 0, 0
		if ty > 0 {
			oy0 = (ty + g.Stride - 1) / g.Stride
		}
		if tx > 0 {
			ox0 = (tx + g.Stride - 1) / g.Stride
		}
		oy1, ox1 := min(iy/g.Stride, oh-1), min(ix/g.Stride, ow-1)
		ap, dp := arg[p*oh*ow:], dy[p*oh*ow:]
		var s float32
		for oy := oy0; oy <= oy1; oy++ {
			for ox := ox0; ox <= ox1; ox++ {
				if o := oy*ow + ox; ap[o] == int32(i) {
					s += dp[o]
				}
			}
		}
		dx[idx] = s
	}
}

// reluForwardEmulate is cohort_relu_fwd.
func reluForwardEmulate(y, x []float32) {
	for i, v := range x {
		if v > 0 {
			y[i] = v
		} else {
			y[i] = 0
		}
	}
}

// reluBackwardEmulate is cohort_relu_bwd.
func reluBackwardEmulate(dx, x, dy []float32) {
	for i, v := range x {
		if v <= 0 {
			dx[i] = 0
		} else {
			dx[i] = dy[i]
		}
	}
}

// mulEmulate is cohort_mul.
func mulEmulate(y, x, m []float32) {
	for i := range y {
		y[i] = x[i] * m[i]
	}
}

// softmaxXentEmulate is cohort_softmax_xent; the caller sums the losses.
func softmaxXentEmulate(grad, losses, logits []float32, labels []int, classes int) {
	batch := len(labels)
	inv := 1 / float32(batch)
	for n := 0; n < batch; n++ {
		row, g := logits[n*classes:(n+1)*classes], grad[n*classes:(n+1)*classes]
		maxv := row[0]
		for _, v := range row[1:] {
			maxv = max(maxv, v)
		}
		var sum float32
		for c, v := range row {
			g[c] = engine.Exp(v - maxv)
			sum += g[c]
		}
		label := labels[n]
		losses[n] = engine.Log(sum) - (row[label] - maxv)
		for c := range g {
			p := g[c] / sum
			if c == label {
				p -= 1
			}
			g[c] = float32(p * inv)
		}
	}
}

// sumLosses is the engine's final loss: the per-example losses summed in
// order, times 1/batch.
func sumLosses(losses []float32) float32 {
	var loss float32
	for _, l := range losses {
		loss += l
	}
	return loss * (1 / float32(len(losses)))
}

// Aggregation kernels: row r of a matrix of m coordinates starts at r·ld.

func nonFinite32(v float32) bool { return math.Float32bits(v)>>23&0xFF == 0xFF }

func orderedKey(v float32) int32 {
	k := int32(math.Float32bits(v))
	return k ^ (k >> 31 & 0x7FFFFFFF)
}

func fromOrderedKey(k int32) float32 {
	return math.Float32frombits(uint32(k ^ (k >> 31 & 0x7FFFFFFF)))
}

// fedAvgEmulate is cohort_fedavg; it reports whether an output is not finite.
func fedAvgEmulate(out, base []float32, ld, n, m int, w []float32) (bad bool) {
	for c := 0; c < m; c++ {
		var acc float32
		for i := 0; i < n; i++ {
			acc += float32(w[i] * base[i*ld+c])
		}
		out[c] = acc
		bad = bad || nonFinite32(acc)
	}
	return bad
}

// Modes of cohort_sorted.
const (
	sortedMedian  = 0
	sortedTrimmed = 1
)

// sortedEmulate is cohort_sorted; it reports whether an input is not finite.
func sortedEmulate(out, base []float32, ld int, rows []int64, m int, net []int32, mode, cut int) (bad bool) {
	n := len(rows)
	keys := make([]int32, n)
	for c := 0; c < m; c++ {
		rowBad := false
		for i, r := range rows {
			v := base[int(r)*ld+c]
			rowBad = rowBad || nonFinite32(v)
			keys[i] = orderedKey(v)
		}
		if rowBad {
			bad = true
			continue
		}
		for q := 0; q+1 < len(net); q += 2 {
			I, J := net[q], net[q+1]
			x, y := keys[I], keys[J]
			keys[I], keys[J] = min(x, y), max(x, y)
		}
		var r float32
		if mode == sortedMedian {
			if n%2 == 1 {
				r = fromOrderedKey(keys[n/2])
			} else {
				r = float32((float64(fromOrderedKey(keys[n/2-1])) + float64(fromOrderedKey(keys[n/2]))) / 2)
			}
		} else {
			var s float64
			for _, k := range keys[cut : n-cut] {
				s += float64(fromOrderedKey(k))
			}
			r = float32(s / float64(n-2*cut))
		}
		out[c] = r
	}
	return bad
}

// pairSqDistEmulate is cohort_pair_sqdist; pairs are (a, b) flattened,
// b < 0 meaning v.
func pairSqDistEmulate(out []float64, base []float32, ld, m int, pairs []int32, v []float32) {
	for q := 0; q < len(pairs)/2; q++ {
		a, b := int(pairs[2*q]), int(pairs[2*q+1])
		x := base[a*ld : a*ld+m]
		var y []float32
		if b < 0 {
			y = v[:m]
		} else {
			y = base[b*ld : b*ld+m]
		}
		var s float64
		for c := range x {
			d := float64(x[c]) - float64(y[c])
			s += float64(d * d)
		}
		out[q] = s
	}
}

// meanRowsEmulate is cohort_mean_rows.
func meanRowsEmulate(out, base []float32, ld int, rows []int64, m int) {
	for c := 0; c < m; c++ {
		var s float64
		for _, r := range rows {
			s += float64(base[int(r)*ld+c])
		}
		out[c] = float32(s / float64(len(rows)))
	}
}

// weightedRowsEmulate is cohort_weighted_rows.
func weightedRowsEmulate(out, base []float32, ld, n, m int, w []float64, total float64) {
	for c := 0; c < m; c++ {
		var s float64
		for i := 0; i < n; i++ {
			s += float64(w[i] * float64(base[i*ld+c]))
		}
		out[c] = float32(s / total)
	}
}

// clipStepEmulate is cohort_clip_step.
func clipStepEmulate(out, base []float32, ld, n, m int, v []float32, scale []float64) {
	for c := 0; c < m; c++ {
		vc := float64(v[c])
		var s float64
		for i := 0; i < n; i++ {
			s += float64(scale[i] * (float64(base[i*ld+c]) - vc))
		}
		out[c] = float32(vc + s/float64(n))
	}
}
