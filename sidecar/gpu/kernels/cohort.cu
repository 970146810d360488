// Cohort's CUDA kernels: the sidecar's deterministic engine (sidecar/engine)
// and aggregation rules (sidecar/aggregate) on a GPU, bit for bit.
//
// Compiled to PTX by `make ptx`:
//
//     nvcc -ptx -arch=compute_80 -fmad=false -o cohort.ptx cohort.cu
//
// The rules every kernel keeps, so that each output gets exactly the CPU's
// sequence of IEEE-754 roundings:
//
//   * One thread computes one output and sums its terms in the CPU's order
//     (the k-increasing order of engine.gemmRow, client order in aggregate);
//     threads only split which outputs are computed where, never how one
//     is summed. No atomics on values, no tree reductions, no warp shuffles.
//   * No fused multiply-add: every multiply and add goes through the _rn
//     intrinsics (__fmul_rn, __fadd_rn, __dmul_rn, __dadd_rn, ...), which
//     the compiler never contracts, and the file is compiled with
//     -fmad=false besides. No __fmaf_rn, no fast-math intrinsics.
//   * Sums start from +0 and add every term, zero or not (the CPU does:
//     +0 + -0 is +0, and a skipped term would change that).
//   * The engine's own exp and log (mathf.go) are ported operation by
//     operation in double precision; floor, frexp and ldexp are exact.
//
// Every kernel parameter is 64 bits wide (a pointer, long long or double):
// gorgonia.org/cu's Function.Launch copies eight bytes per parameter.
// Grids are grid-stride loops, so sizes need not be multiples of the block.

typedef long long i64;

// Dynamic shared memory (the CPU emulation, ../cudaemu.cpp, defines its own).
#ifndef DYNAMIC_SHARED
#define DYNAMIC_SHARED(T, name) extern __shared__ T name[]
#endif

#define GRID_STRIDE(i, n)                                                   \
    for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n);       \
         i += (i64)blockDim.x * gridDim.x)

__device__ __forceinline__ float rn_fmul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float rn_fadd(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float rn_fsub(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ float rn_fdiv(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double rn_dmul(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ double rn_dadd(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ double rn_dsub(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ double rn_ddiv(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float rn_tof32(double v) { return __double2float_rn(v); }

// nonFinite: the exponent bits are all ones (NaN or ±Inf).
__device__ __forceinline__ bool nonFinite(float v) {
    return ((__float_as_uint(v) >> 23) & 0xFF) == 0xFF;
}

// orderedKey / fromOrderedKey: aggregate's map from float32 to an int32
// whose integer order is the float's total order (its own inverse).
__device__ __forceinline__ int orderedKey(float v) {
    int k = __float_as_int(v);
    return k ^ ((k >> 31) & 0x7FFFFFFF);
}
__device__ __forceinline__ float fromOrderedKey(int k) {
    return __int_as_float(k ^ ((k >> 31) & 0x7FFFFFFF));
}

// goMax32 is Go's built-in max for float32 (runtime.fmax32 on amd64).
__device__ __forceinline__ float goMax32(float x, float y) {
    if (y != y || y > x) return y;
    if (x != x || x > y || x != 0.0f) return x;
    return __int_as_float(__float_as_int(x) & __float_as_int(y));
}

// The engine's constants, as Go computes them (exact rationals rounded
// once to float64).
#define LN2 0.6931471805599453
#define SQRT2_2 0.7071067811865476

// cohortExp is engine.Exp.
__device__ float cohortExp(float x) {
    if (x != x) return x;
    if (x > 88.72283f) return __int_as_float(0x7F800000);
    if (x < -103.97208f) return 0.0f;
    double xd = (double)x;
    double k = floor(rn_dadd(rn_ddiv(xd, LN2), 0.5));
    double r = rn_dsub(xd, rn_dmul(k, LN2));
    double p = rn_dadd(1.0 / 720, rn_dmul(r, 1.0 / 5040));
    p = rn_dadd(1.0 / 120, rn_dmul(r, p));
    p = rn_dadd(1.0 / 24, rn_dmul(r, p));
    p = rn_dadd(1.0 / 6, rn_dmul(r, p));
    p = rn_dadd(1.0 / 2, rn_dmul(r, p));
    p = rn_dadd(1.0, rn_dmul(r, p));
    p = rn_dadd(1.0, rn_dmul(r, p));
    return rn_tof32(ldexp(p, (int)k));
}

// cohortLog is engine.Log.
__device__ float cohortLog(float x) {
    if (x != x || x < 0.0f) return __int_as_float(0x7FC00000); // float32(math.NaN())
    if (x == 0.0f) return __int_as_float(0xFF800000);
    if (__float_as_uint(x) == 0x7F800000u) return x;
    int e;
    double m = frexp((double)x, &e);
    if (m < SQRT2_2) {
        m = rn_dmul(m, 2.0);
        e--;
    }
    double s = rn_ddiv(rn_dsub(m, 1.0), rn_dadd(m, 1.0));
    double s2 = rn_dmul(s, s);
    double q = rn_dadd(1.0 / 13, rn_dmul(s2, 1.0 / 15));
    q = rn_dadd(1.0 / 11, rn_dmul(s2, q));
    q = rn_dadd(1.0 / 9, rn_dmul(s2, q));
    q = rn_dadd(1.0 / 7, rn_dmul(s2, q));
    q = rn_dadd(1.0 / 5, rn_dmul(s2, q));
    q = rn_dadd(1.0 / 3, rn_dmul(s2, q));
    q = rn_dadd(1.0, rn_dmul(s2, q));
    double sum = rn_dmul(s, q);
    return rn_tof32(rn_dadd(rn_dmul(2.0, sum), rn_dmul((double)e, LN2)));
}

extern "C" {

// ---------------------------------------------------------------- math

__global__ void cohort_exp(float *y, const float *x, i64 n) {
    GRID_STRIDE(i, n) { y[i] = cohortExp(x[i]); }
}

__global__ void cohort_log(float *y, const float *x, i64 n) {
    GRID_STRIDE(i, n) { y[i] = cohortLog(x[i]); }
}

// ---------------------------------------------------------------- layers

// cohort_gemm: for z < Z, i < M, j < N
//
//   C[z][i][j] = init + Σ_{s<S} Σ_{k<K} A(z,s,i,k) · B(z,s,k,j)
//
// summed in increasing (s, k), each product rounded to float32 before it
// is added (engine.gemmRow's order), with
//   A(z,s,i,k) = A[z·aZ + s·aSeg + i·aM + k·aK]
//   B(z,s,k,j) = B[z·bZ + s·bSeg + k·bK + j·bN]
//   C[z][i][j] = C[z·cZ + i·ldc + j]
// and init 0 (mode 0), bias[j] (1), bias[i] (2) or C's value (3, to
// continue a sum over another launch). 64×64 tiles of C per block of 256
// threads, 4×4 outputs per thread, K in slices of 16 through shared
// memory; each thread walks k in increasing order.
#define GBM 64
#define GBN 64
#define GBK 16
__global__ void __launch_bounds__(256) cohort_gemm(
    float *C, const float *A, const float *B, const float *bias,
    i64 M, i64 N, i64 K, i64 S, i64 Z,
    i64 aM, i64 aK, i64 aSeg, i64 aZ,
    i64 bK, i64 bN, i64 bSeg, i64 bZ,
    i64 ldc, i64 cZ, i64 mode) {
    __shared__ float As[GBK][GBM];
    __shared__ float Bs[GBK][GBN];
    const int tid = threadIdx.x;
    const int tx = tid & 15, ty = tid >> 4;
    const i64 tilesN = (N + GBN - 1) / GBN;
    const i64 i0 = (blockIdx.x / tilesN) * GBM;
    const i64 j0 = (blockIdx.x % tilesN) * GBN;
    for (i64 z = blockIdx.y; z < Z; z += gridDim.y) {
        float acc[4][4];
#pragma unroll
        for (int a = 0; a < 4; a++) {
#pragma unroll
            for (int b = 0; b < 4; b++) {
                const i64 i = i0 + ty + 16 * a, j = j0 + tx + 16 * b;
                float v = 0.0f;
                if (i < M && j < N) {
                    if (mode == 1) v = bias[j];
                    else if (mode == 2) v = bias[i];
                    else if (mode == 3) v = C[z * cZ + i * ldc + j];
                }
                acc[a][b] = v;
            }
        }
        for (i64 s = 0; s < S; s++) {
            const float *Ab = A + z * aZ + s * aSeg;
            const float *Bb = B + z * bZ + s * bSeg;
            for (i64 k0 = 0; k0 < K; k0 += GBK) {
                const int kn = (int)(K - k0 < GBK ? K - k0 : GBK);
                // Load the A and B slices; the thread-to-element map
                // follows whichever stride is 1 so that loads coalesce.
                for (int q = tid; q < GBK * GBM; q += 256) {
                    int kk, ii;
                    if (aK == 1) { ii = q / GBK; kk = q % GBK; }
                    else { kk = q / GBM; ii = q % GBM; }
                    const i64 i = i0 + ii;
                    As[kk][ii] = (i < M && kk < kn) ? Ab[i * aM + (k0 + kk) * aK] : 0.0f;
                }
                for (int q = tid; q < GBK * GBN; q += 256) {
                    int kk, jj;
                    if (bN == 1) { kk = q / GBN; jj = q % GBN; }
                    else { jj = q / GBK; kk = q % GBK; }
                    const i64 j = j0 + jj;
                    Bs[kk][jj] = (j < N && kk < kn) ? Bb[(k0 + kk) * bK + j * bN] : 0.0f;
                }
                __syncthreads();
                for (int kk = 0; kk < kn; kk++) {
                    float av[4], bv[4];
#pragma unroll
                    for (int a = 0; a < 4; a++) av[a] = As[kk][ty + 16 * a];
#pragma unroll
                    for (int b = 0; b < 4; b++) bv[b] = Bs[kk][tx + 16 * b];
#pragma unroll
                    for (int a = 0; a < 4; a++) {
#pragma unroll
                        for (int b = 0; b < 4; b++) acc[a][b] = rn_fadd(acc[a][b], rn_fmul(av[a], bv[b]));
                    }
                }
                __syncthreads();
            }
        }
#pragma unroll
        for (int a = 0; a < 4; a++) {
#pragma unroll
            for (int b = 0; b < 4; b++) {
                const i64 i = i0 + ty + 16 * a, j = j0 + tx + 16 * b;
                if (i < M && j < N) C[z * cZ + i * ldc + j] = acc[a][b];
            }
        }
    }
}

// cohort_bias_grad: db[f] = Σ_{n<batch} Σ_{p<P} dy[n·F·P + f·P + p], n then
// p increasing, from +0 (dense layers: P = 1).
__global__ void cohort_bias_grad(float *db, const float *dy, i64 batch, i64 F, i64 P) {
    GRID_STRIDE(f, F) {
        float s = 0.0f;
        for (i64 n = 0; n < batch; n++) {
            const float *d = dy + n * F * P + f * P;
            for (i64 p = 0; p < P; p++) s = rn_fadd(s, d[p]);
        }
        db[f] = s;
    }
}

// cohort_im2col: col[n][r][p] for nb examples (engine convGeom.im2col):
// r = (ci·k + ky)·k + kx, p = oy·ow + ox, 0 in the padding.
__global__ void cohort_im2col(float *col, const float *x, i64 nb, i64 c, i64 h, i64 w,
                              i64 k, i64 stride, i64 pad, i64 oh, i64 ow) {
    const i64 K = c * k * k, P = oh * ow;
    GRID_STRIDE(idx, nb * K * P) {
        const i64 n = idx / (K * P), rem = idx % (K * P);
        const i64 r = rem / P, p = rem % P;
        const i64 ci = r / (k * k), ky = (r / k) % k, kx = r % k;
        const i64 oy = p / ow, ox = p % ow;
        const i64 iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
        float v = 0.0f;
        if (iy >= 0 && iy < h && ix >= 0 && ix < w) v = x[n * c * h * w + ci * h * w + iy * w + ix];
        col[idx] = v;
    }
}

// cohort_col2im: dx[n][ci][iy][ix] = the sum, from +0, of the dcol values
// convGeom.col2im adds into it, in its order: (ky, kx) increasing, each
// giving at most one output position (oy, ox).
__global__ void cohort_col2im(float *dx, const float *dcol, i64 nb, i64 c, i64 h, i64 w,
                              i64 k, i64 stride, i64 pad, i64 oh, i64 ow) {
    const i64 K = c * k * k, P = oh * ow;
    GRID_STRIDE(idx, nb * c * h * w) {
        const i64 n = idx / (c * h * w), rem = idx % (c * h * w);
        const i64 ci = rem / (h * w), iy = (rem / w) % h, ix = rem % w;
        const float *dc = dcol + n * K * P;
        float s = 0.0f;
        for (i64 ky = 0; ky < k; ky++) {
            const i64 ty = iy + pad - ky;
            if (ty < 0 || ty % stride != 0 || ty / stride >= oh) continue;
            const i64 oy = ty / stride;
            for (i64 kx = 0; kx < k; kx++) {
                const i64 tx = ix + pad - kx;
                if (tx < 0 || tx % stride != 0 || tx / stride >= ow) continue;
                const i64 ox = tx / stride;
                s = rn_fadd(s, dc[((ci * k + ky) * k + kx) * P + oy * ow + ox]);
            }
        }
        dx[idx] = s;
    }
}

// cohort_maxpool_fwd: engine poolForward, one thread per output: the first
// maximum in row-major window order, and its index within the plane.
__global__ void cohort_maxpool_fwd(float *y, int *arg, const float *x, i64 planes, i64 h, i64 w,
                                   i64 size, i64 stride, i64 oh, i64 ow) {
    GRID_STRIDE(idx, planes * oh * ow) {
        const i64 p = idx / (oh * ow), o = idx % (oh * ow);
        const i64 oy = o / ow, ox = o % ow;
        const float *xp = x + p * h * w;
        i64 bi = oy * stride * w + ox * stride;
        float bv = xp[bi];
        for (i64 ky = 0; ky < size; ky++) {
            const i64 row = (oy * stride + ky) * w + ox * stride;
            for (i64 kx = 0; kx < size; kx++) {
                const float v = xp[row + kx];
                if (v > bv) {
                    bv = v;
                    bi = row + kx;
                }
            }
        }
        y[idx] = bv;
        arg[idx] = (int)bi;
    }
}

// cohort_maxpool_bwd: engine poolBackward as a gather: each input sums,
// from +0, dy of the outputs whose max it is, outputs in increasing order.
__global__ void cohort_maxpool_bwd(float *dx, const float *dy, const int *arg, i64 planes, i64 h, i64 w,
                                   i64 size, i64 stride, i64 oh, i64 ow) {
    GRID_STRIDE(idx, planes * h * w) {
        const i64 p = idx / (h * w), i = idx % (h * w);
        const i64 iy = i / w, ix = i % w;
        const i64 ty = iy - size + 1, tx = ix - size + 1;
        const i64 oy0 = ty <= 0 ? 0 : (ty + stride - 1) / stride;
        const i64 ox0 = tx <= 0 ? 0 : (tx + stride - 1) / stride;
        const i64 oy1 = min(iy / stride, oh - 1), ox1 = min(ix / stride, ow - 1);
        const int *ap = arg + p * oh * ow;
        const float *dp = dy + p * oh * ow;
        float s = 0.0f;
        for (i64 oy = oy0; oy <= oy1; oy++) {
            for (i64 ox = ox0; ox <= ox1; ox++) {
                const i64 o = oy * ow + ox;
                if (ap[o] == (int)i) s = rn_fadd(s, dp[o]);
            }
        }
        dx[idx] = s;
    }
}

// cohort_relu_fwd: y = x if x > 0, else +0.
__global__ void cohort_relu_fwd(float *y, const float *x, i64 n) {
    GRID_STRIDE(i, n) {
        const float v = x[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

// cohort_relu_bwd: dx = +0 where x <= 0, else dy.
__global__ void cohort_relu_bwd(float *dx, const float *x, const float *dy, i64 n) {
    GRID_STRIDE(i, n) { dx[i] = x[i] <= 0.0f ? 0.0f : dy[i]; }
}

// cohort_mul: y = x · m (dropout, forward and backward).
__global__ void cohort_mul(float *y, const float *x, const float *m, i64 n) {
    GRID_STRIDE(i, n) { y[i] = rn_fmul(x[i], m[i]); }
}

// cohort_softmax_xent: engine.SoftmaxCrossEntropy, one thread per example:
// the gradient row and the example's loss (the host sums the losses in
// example order, as the engine does).
__global__ void cohort_softmax_xent(float *grad, float *losses, const float *logits, const i64 *labels,
                                    i64 batch, i64 classes) {
    const float inv = rn_fdiv(1.0f, (float)batch);
    GRID_STRIDE(n, batch) {
        const float *row = logits + n * classes;
        float *g = grad + n * classes;
        float maxv = row[0];
        for (i64 c = 1; c < classes; c++) maxv = goMax32(maxv, row[c]);
        float sum = 0.0f;
        for (i64 c = 0; c < classes; c++) {
            g[c] = cohortExp(rn_fsub(row[c], maxv));
            sum = rn_fadd(sum, g[c]);
        }
        const i64 label = labels[n];
        losses[n] = rn_fsub(cohortLog(sum), rn_fsub(row[label], maxv));
        for (i64 c = 0; c < classes; c++) {
            float p = rn_fdiv(g[c], sum);
            if (c == label) p = rn_fsub(p, 1.0f);
            g[c] = rn_fmul(p, inv);
        }
    }
}

// ---------------------------------------------------------------- aggregation
//
// Updates are rows of a matrix: row r of m coordinates starts at
// base + r·ld. flag is set to 1 when a NaN or ±Inf is seen.

// cohort_fedavg: out[c] = Σ_i w[i]·x_i[c] in client order from +0, each
// product rounded to float32 (aggregate.FedAvg's axpy).
__global__ void cohort_fedavg(float *out, const float *base, i64 ld, i64 n, i64 m, const float *w,
                              unsigned int *flag) {
    GRID_STRIDE(c, m) {
        float acc = 0.0f;
        for (i64 i = 0; i < n; i++) acc = rn_fadd(acc, rn_fmul(w[i], base[i * ld + c]));
        out[c] = acc;
        if (nonFinite(acc)) atomicOr(flag, 1u);
    }
}

// cohort_sorted: aggregate's sortedReduce for one coordinate per thread:
// the rows' values as orderedKeys in shared memory (n per thread), sorted
// by the pruned sorting network net (ncomp comparators, pairs I < J), then
// mode 0: the median (mean of the middle two in float64 for even n);
// mode 1: the trimmed mean, float64 sum of ranks [cut, n−cut) ascending
// divided by n − 2·cut. Dynamic shared memory: n·blockDim.x ints.
__global__ void cohort_sorted(float *out, const float *base, i64 ld, const i64 *rows, i64 n, i64 m,
                              const int *net, i64 ncomp, i64 mode, i64 cut, unsigned int *flag) {
    DYNAMIC_SHARED(int, keys);
    const int t = threadIdx.x, B = blockDim.x;
    GRID_STRIDE(c, m) {
        bool bad = false;
        for (i64 i = 0; i < n; i++) {
            const float v = base[rows[i] * ld + c];
            bad = bad || nonFinite(v);
            keys[i * B + t] = orderedKey(v);
        }
        if (bad) {
            atomicOr(flag, 1u);
            continue;
        }
        for (i64 q = 0; q < ncomp; q++) {
            const int I = net[2 * q], J = net[2 * q + 1];
            const int x = keys[I * B + t], y = keys[J * B + t];
            keys[I * B + t] = min(x, y);
            keys[J * B + t] = max(x, y);
        }
        float r;
        if (mode == 0) {
            if (n % 2 == 1) {
                r = fromOrderedKey(keys[(n / 2) * B + t]);
            } else {
                const double a = (double)fromOrderedKey(keys[(n / 2 - 1) * B + t]);
                const double b = (double)fromOrderedKey(keys[(n / 2) * B + t]);
                r = rn_tof32(rn_ddiv(rn_dadd(a, b), 2.0));
            }
        } else {
            double s = 0.0;
            for (i64 i = cut; i < n - cut; i++) s = rn_dadd(s, (double)fromOrderedKey(keys[i * B + t]));
            r = rn_tof32(rn_ddiv(s, (double)(n - 2 * cut)));
        }
        out[c] = r;
    }
}

// cohort_pair_sqdist: out[q] = ||x_a − x_b||² for pair q = (a, b), summed
// in coordinate order in float64 (aggregate's sqDist); b < 0 stands for
// the vector v. One thread per pair: the sum is one chain of m additions,
// as on the CPU.
__global__ void cohort_pair_sqdist(double *out, const float *base, i64 ld, i64 m, const int *pairs,
                                   i64 npairs, const float *v) {
    GRID_STRIDE(q, npairs) {
        const int a = pairs[2 * q], b = pairs[2 * q + 1];
        const float *x = base + (i64)a * ld;
        const float *y = b < 0 ? v : base + (i64)b * ld;
        double s = 0.0;
#pragma unroll 8
        for (i64 c = 0; c < m; c++) {
            const double d = rn_dsub((double)x[c], (double)y[c]);
            s = rn_dadd(s, rn_dmul(d, d));
        }
        out[q] = s;
    }
}

// cohort_mean_rows: out[c] = float32(Σ_r float64(x_rows[r][c]) / nrows),
// rows in the given order from +0 (aggregate's mean).
__global__ void cohort_mean_rows(float *out, const float *base, i64 ld, const i64 *rows, i64 nrows, i64 m) {
    GRID_STRIDE(c, m) {
        double s = 0.0;
        for (i64 r = 0; r < nrows; r++) s = rn_dadd(s, (double)base[rows[r] * ld + c]);
        out[c] = rn_tof32(rn_ddiv(s, (double)nrows));
    }
}

// cohort_weighted_rows: out[c] = float32(Σ_i w[i]·float64(x_i[c]) / total)
// (one Weiszfeld step of aggregate.GeometricMedian).
__global__ void cohort_weighted_rows(float *out, const float *base, i64 ld, i64 n, i64 m, const double *w,
                                     double total) {
    GRID_STRIDE(c, m) {
        double s = 0.0;
        for (i64 i = 0; i < n; i++) s = rn_dadd(s, rn_dmul(w[i], (double)base[i * ld + c]));
        out[c] = rn_tof32(rn_ddiv(s, total));
    }
}

// cohort_clip_step: out[c] = float32(v[c] + Σ_i scale[i]·(x_i[c] − v[c]) / n)
// in float64 (one step of aggregate.CenteredClipping).
__global__ void cohort_clip_step(float *out, const float *base, i64 ld, i64 n, i64 m, const float *v,
                                 const double *scale) {
    GRID_STRIDE(c, m) {
        const double vc = (double)v[c];
        double s = 0.0;
        for (i64 i = 0; i < n; i++) s = rn_dadd(s, rn_dmul(scale[i], rn_dsub((double)base[i * ld + c], vc)));
        out[c] = rn_tof32(rn_dadd(vc, rn_ddiv(s, (double)n)));
    }
}

// cohort_finite: flag = 1 if any of x[0..n) is NaN or ±Inf.
__global__ void cohort_finite(const float *x, i64 n, unsigned int *flag) {
    bool bad = false;
    GRID_STRIDE(i, n) { bad = bad || nonFinite(x[i]); }
    if (bad) atomicOr(flag, 1u);
}

} // extern "C"
