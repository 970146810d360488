// Package engine is the sidecar's deterministic training engine: the same
// model, data, seed and step give bit-identical tensors on every run and at
// every GOMAXPROCS.
//
// How determinism is kept, in one place:
//   - Every output element is computed by one goroutine, summing in a fixed
//     index order; parallelism only splits which goroutine computes which
//     outputs (package par), never how one output is summed.
//   - No fused multiply-add: every product is rounded by an explicit
//     conversion (float32(…) or float64(…)) before it is added; the Go spec
//     lets a compiler fuse x*y+z, arm64 and GOAMD64=v3 builds do, and a
//     conversion forbids it. `GOARCH=arm64 go build -gcflags=-S
//     ./sidecar/... | grep FMADD` lists any fusion left (there is none).
//     Golden-hash tests (golden_test.go here, in aggregate and in data)
//     pin the bits, and pass on amd64 (AVX2 and plain loops, GOAMD64 v1
//     and v3) and on arm64 (run under qemu-aarch64).
//   - The engine's own exp and log (mathf.go), not the platform's.
//   - Randomness only from seeded PCG streams (rand.go).
package engine
