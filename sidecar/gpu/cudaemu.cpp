//go:build cudaemu && !cuda

// cudaemu: the kernels of kernels/cohort.cu compiled for the CPU, so that
// the device backend can be tested without a GPU (go test -tags cudaemu).
// The CUDA source is included unchanged; this prelude supplies what nvcc
// would: the thread indices, the _rn intrinsics (IEEE-754 single and
// double operations, one rounding each: the file refuses to compile for
// a target with FMA instructions or with fast-math), bit casts, atomicOr, and __syncthreads. A block's
// threads run as fibers (ucontext) on one OS thread, switching at
// __syncthreads, so the shared-memory tiling of cohort_gemm executes as
// it would on a GPU; blocks run one after the other.
//
// What this cannot show: that nvcc and ptxas compile the same source to
// the same arithmetic (the PTX tests check no FMA and no unrounded float
// instruction is left), and the real concurrency of streams.

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>
#include <ucontext.h>

#define COHORT_EMULATE 1

#if defined(__FMA__) || defined(__FAST_MATH__) || defined(__FP_FAST_FMA) || defined(__FP_FAST_FMAF)
#error "cudaemu needs unfused IEEE arithmetic: build without -mfma, -march=native or -ffast-math"
#endif

struct dim3 {
    unsigned int x, y, z;
};
static thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __launch_bounds__(n)
#define __shared__ static

static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline float __double2float_rn(double v) { return (float)v; }
static inline unsigned int __float_as_uint(float v) { unsigned int u; memcpy(&u, &v, 4); return u; }
static inline int __float_as_int(float v) { int u; memcpy(&u, &v, 4); return u; }
static inline float __int_as_float(int v) { float f; memcpy(&f, &v, 4); return f; }
static inline unsigned int atomicOr(unsigned int *p, unsigned int v) { unsigned int o = *p; *p |= v; return o; }
static inline long long min(long long a, long long b) { return a < b ? a : b; }
static inline long long max(long long a, long long b) { return a > b ? a : b; }
static inline int min(int a, int b) { return a < b ? a : b; }
static inline int max(int a, int b) { return a > b ? a : b; }
using std::floor;
using std::frexp;
using std::ldexp;

// Dynamic shared memory of the running block.
static char *emu_dynamic_shared;
#define DYNAMIC_SHARED(T, name) T *name = (T *)emu_dynamic_shared

// Fibers: one per thread of the running block.
struct Fiber {
    ucontext_t ctx;
    bool done;
};
static ucontext_t emu_sched;
static std::vector<Fiber> emu_fibers;
static std::vector<std::vector<char>> emu_stacks;
static int emu_current;
static std::function<void()> emu_body;

static void __syncthreads() { swapcontext(&emu_fibers[emu_current].ctx, &emu_sched); }

static void emu_trampoline() {
    emu_body();
    emu_fibers[emu_current].done = true;
}

#include "kernels/cohort.cu"

namespace {

template <typename T> T argAs(uint64_t v) {
    static_assert(sizeof(T) == 8, "every kernel parameter is 64 bits");
    T t;
    memcpy(&t, &v, 8);
    return t;
}

template <typename... P, size_t... I>
void invoke(void (*fn)(P...), const uint64_t *a, std::index_sequence<I...>) {
    fn(argAs<P>(a[I])...);
}

struct Entry {
    const char *name;
    int nparams;
    bool syncs; // uses __syncthreads: run the block's threads as fibers
    std::function<void(const uint64_t *)> call;
};

template <typename... P> Entry entry(const char *name, void (*fn)(P...), bool syncs) {
    return Entry{name, (int)sizeof...(P), syncs,
                 [fn](const uint64_t *a) { invoke(fn, a, std::index_sequence_for<P...>{}); }};
}

const std::vector<Entry> &table() {
    static const std::vector<Entry> t = {
        entry("cohort_exp", cohort_exp, false),
        entry("cohort_log", cohort_log, false),
        entry("cohort_gemm", cohort_gemm, true),
        entry("cohort_bias_grad", cohort_bias_grad, false),
        entry("cohort_im2col", cohort_im2col, false),
        entry("cohort_col2im", cohort_col2im, false),
        entry("cohort_maxpool_fwd", cohort_maxpool_fwd, false),
        entry("cohort_maxpool_bwd", cohort_maxpool_bwd, false),
        entry("cohort_relu_fwd", cohort_relu_fwd, false),
        entry("cohort_relu_bwd", cohort_relu_bwd, false),
        entry("cohort_mul", cohort_mul, false),
        entry("cohort_softmax_xent", cohort_softmax_xent, false),
        entry("cohort_fedavg", cohort_fedavg, false),
        entry("cohort_sorted", cohort_sorted, false),
        entry("cohort_pair_sqdist", cohort_pair_sqdist, false),
        entry("cohort_mean_rows", cohort_mean_rows, false),
        entry("cohort_weighted_rows", cohort_weighted_rows, false),
        entry("cohort_clip_step", cohort_clip_step, false),
        entry("cohort_finite", cohort_finite, false),
    };
    return t;
}

// runBlockFibers runs one block's threads as fibers until all return;
// every fiber must reach each __syncthreads (no divergent barriers).
int runBlockFibers(const Entry &e, const uint64_t *args, int nthreads) {
    const size_t stack = 256 << 10;
    if ((int)emu_stacks.size() < nthreads) emu_stacks.resize(nthreads);
    emu_fibers.assign(nthreads, Fiber{});
    emu_body = [&]() { e.call(args); };
    for (int t = 0; t < nthreads; t++) {
        if (emu_stacks[t].size() < stack) emu_stacks[t].resize(stack);
        getcontext(&emu_fibers[t].ctx);
        emu_fibers[t].ctx.uc_stack.ss_sp = emu_stacks[t].data();
        emu_fibers[t].ctx.uc_stack.ss_size = stack;
        emu_fibers[t].ctx.uc_link = &emu_sched;
        makecontext(&emu_fibers[t].ctx, emu_trampoline, 0);
    }
    for (;;) {
        int done = 0;
        for (int t = 0; t < nthreads; t++) {
            if (emu_fibers[t].done) {
                done++;
                continue;
            }
            emu_current = t;
            threadIdx = dim3{(unsigned)t, 0, 0};
            swapcontext(&emu_sched, &emu_fibers[t].ctx);
            if (emu_fibers[t].done) done++;
        }
        if (done == nthreads) return 0;
        if (done != 0) return -3; // some threads returned while others wait at a barrier
    }
}

} // namespace

extern "C" {

int cohort_emu_launch(const char *name, int gx, int gy, int gz, int block, int shared, const uint64_t *args, int nargs) {
    const Entry *e = nullptr;
    for (const Entry &x : table())
        if (std::string(x.name) == name) e = &x;
    if (!e) return -1;
    if (e->nparams != nargs) return -2;
    std::vector<char> dyn(shared > 0 ? shared : 1);
    emu_dynamic_shared = dyn.data();
    gridDim = dim3{(unsigned)gx, (unsigned)gy, (unsigned)gz};
    blockDim = dim3{(unsigned)block, 1, 1};
    for (int z = 0; z < gz; z++)
        for (int y = 0; y < gy; y++)
            for (int x = 0; x < gx; x++) {
                blockIdx = dim3{(unsigned)x, (unsigned)y, (unsigned)z};
                if (e->syncs) {
                    int rc = runBlockFibers(*e, args, block);
                    if (rc != 0) return rc;
                    continue;
                }
                for (int t = 0; t < block; t++) {
                    threadIdx = dim3{(unsigned)t, 0, 0};
                    e->call(args);
                }
            }
    return 0;
}

int cohort_emu_has_kernel(const char *name) {
    for (const Entry &x : table())
        if (std::string(x.name) == name) return 1;
    return 0;
}

uint64_t cohort_emu_alloc(uint64_t bytes) {
    void *p = nullptr;
    if (posix_memalign(&p, 256, bytes) != 0) return 0;
    memset(p, 0xA5, bytes); // not zero: kernels must not rely on fresh memory
    return (uint64_t)(uintptr_t)p;
}

void cohort_emu_free(uint64_t p) { free((void *)(uintptr_t)p); }

void cohort_emu_h2d(uint64_t dst, const void *src, uint64_t n) { memcpy((void *)(uintptr_t)dst, src, n); }

void cohort_emu_d2h(void *dst, uint64_t src, uint64_t n) { memcpy(dst, (const void *)(uintptr_t)src, n); }

void cohort_emu_d2d(uint64_t dst, uint64_t src, uint64_t n) {
    memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
}

void cohort_emu_memset32(uint64_t dst, uint32_t v, uint64_t n) {
    uint32_t *p = (uint32_t *)(uintptr_t)dst;
    for (uint64_t i = 0; i < n; i++) p[i] = v;
}

} // extern "C"
