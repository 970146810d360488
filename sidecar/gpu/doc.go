// Package gpu is the sidecar's GPU backend: the engine's layer operations
// (verification re-execution of training steps) and the aggregation
// rules, on an NVIDIA GPU through the CUDA driver API (gorgonia.org/cu),
// giving the same bits as the CPU code (packages engine and aggregate).
//
// # One API, two builds
//
// Callers use Backend:
//
//	b, err := gpu.Open()       // "cpu", or "cuda: NVIDIA H100 80GB HBM3, 79.1 GiB"
//	defer b.Close()
//	agg, err := b.Aggregate(aggregate.Krum{F: 3}, dst, updates)
//	loss, grads, err := b.Gradients(spec, weights, x, labels, &gpu.Dropout{Seed: s, Step: i})
//	res, err := gpu.Train(b, spec, weights, data, cfg) // engine.Train, gradients on b
//
// Without build tags (the default build, CI, this repository's tests)
// Open returns the CPU backend (CPU): package aggregate's rules, the
// engine's Gradients, and Go emulations of the kernels (emulate.go). No
// file of the default build imports gorgonia.org/cu.
//
// With the cuda tag Open returns the CUDA backend. Every import of
// gorgonia.org/cu is in a file with //go:build cuda. cu's package
// initialisation calls cuInit and exits the process (status 1,
// "NoDevice") when there is no driver or no GPU, before main or any
// test runs: build with the cuda tag only binaries meant for GPU hosts.
//
// # Bit for bit
//
// The kernels (kernels/cohort.cu) keep the CPU's summation order and
// roundings: one thread per output summing in the engine's order
// (gemmRow's k-increasing order, aggregate's client order), every float
// multiply and add through the _rn intrinsics and compiled with
// -fmad=false (no fused multiply-add), sums from +0, the engine's own Exp
// and Log ported operation by operation in double precision, FedAvg's
// float32 weights and float32 axpy, the median and trimmed mean through
// the same pruned Batcher network on orderedKeys with the same float64
// sums, squared distances as one float64 chain per pair in coordinate
// order. The host-side steps (Krum scores, Bulyan's selection, geometric
// median weights, clipping scales, the optimizers) are package
// aggregate's and the engine's code run on the CPU. Results are identical
// for all finite values; NaN payloads may differ (a GPU produces the
// canonical NaN where x86 propagates an operand's), which no rule
// accepts and no training run survives. The reference is the CPU code as
// Go builds it by default (GOAMD64=v1): with GOAMD64=v3, or on arm64,
// the Go compiler may fuse the float64 x*y+z of engine.Exp and Log and
// of aggregate's distance sums, which the kernels never do.
//
// The GPU cannot be faster than the CPU's definition allows: a squared
// distance (Krum, Bulyan, geometric median, centered clipping) is, on the
// CPU, one float64 chain of additions over all coordinates, so each pair
// is one serial chain on the GPU too (pairs in parallel).
//
// # Memory and streams
//
// The PTX is embedded (go:embed) and JIT-compiled for the device when
// Open loads the module. Device buffers come from a grow-only pool of
// size classes reused across calls; transfers go through page-locked
// host buffers (cuMemAllocHost); uploads run on a copy stream and
// kernels and downloads on a compute stream, ordered by events, so that
// FedAvg, median and trimmed mean stream the updates through the device
// in chunks, the upload of one chunk overlapping the kernel on the
// previous one. Krum, Bulyan, geometric median and centered clipping
// stage the updates in device memory; if they do not fit, the rule runs
// on the CPU (the same bits). No managed memory.
//
// # README: building and running
//
// PTX. The committed kernels/cohort.ptx is generated from kernels/cohort.cu
// by
//
//	make ptx   # nvcc -ptx -arch=compute_80 -fmad=false -o cohort.ptx cohort.cu
//
// which appends the source's sha256 to the PTX; TestPTXMatchesSource (no
// tags) fails when the PTX is stale, defines a kernel the Go code does
// not know, or holds an fma or an unrounded float add, sub or mul. The
// compiler comes from Debian bookworm's non-free archive: add a sources
// entry with "Components: contrib non-free non-free-firmware", then
// apt-get install nvidia-cuda-toolkit nvidia-cuda-dev libcuda1 (CUDA
// 11.8). compute_80 PTX is JIT-compiled by the driver on Ampere (A100),
// Ada and Hopper (H100, H200) GPUs.
//
// Building the cuda test binary needs cgo, the CUDA headers (cuda.h, from
// nvidia-cuda-dev) and libcuda.so to link against: the driver's, or
// Debian libcuda1's, or, on a machine with neither, the toolkit's stub:
//
//	go test -c -tags cuda -o gpu.test ./sidecar/gpu/
//	# without libcuda.so on the build machine:
//	CGO_LDFLAGS="-L/usr/lib/x86_64-linux-gnu/stubs" go test -c -tags cuda -o gpu.test ./sidecar/gpu/
//
// The binary loads the driver's libcuda.so.1 at run time. Copy it and
// the package directory's kernels/ (the tests read kernels/*.cu and
// kernels/*.ptx; the backend itself embeds the PTX) to the GPU host and
// run it from the package directory:
//
//	cd sidecar/gpu && ./gpu.test -test.v -test.timeout 30m   # bit-for-bit tests
//	./gpu.test -test.run '^$' -test.bench Device -test.benchtime 3x -test.timeout 60m
//	COHORT_GPU_AGG_PARAMS=10000000 ./gpu.test -test.run '^$' -test.bench DeviceAggregate
//
// (At 16 × 100M parameters the CPU baselines take minutes: Bulyan on the
// CPU recomputes its distances for every selection; hence the timeout.)
//
// The benchmarks read COHORT_GPU_AGG_PARAMS (parameters per update,
// default 100,000,000, reduced to fit free device memory),
// COHORT_GPU_AGG_CLIENTS (default 16) and COHORT_GPU_BENCH_CPU (0 skips
// the CPU baselines, which take minutes at 100M parameters);
// COHORT_CUDA_DEVICE selects the device.
//
// Without a GPU, the device backend can still be tested: the cudaemu tag
// builds it on a driver that runs kernels/cohort.cu compiled for the CPU
// (cudaemu.cpp: the CUDA source included unchanged, _rn intrinsics as
// IEEE operations, the threads of a block as fibers switching at
// __syncthreads). It needs cgo and g++, not CUDA:
//
//	go test -tags cudaemu ./sidecar/gpu/
//
// It checks the kernels' indexing, tiling and arithmetic and the host
// code around them (launch parameters, pools, the pipeline), not nvcc's
// code generation, the real concurrency of streams or the timings.
package gpu
