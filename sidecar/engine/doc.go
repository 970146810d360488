// Package engine is the sidecar's deterministic training engine: the same
// model, data, seed and step give bit-identical tensors on every run and at
// every GOMAXPROCS.
//
// How determinism is kept, in one place:
//   - Every output element is computed by one goroutine, summing in a fixed
//     index order; parallelism only splits which goroutine computes which
//     outputs (package par), never how one output is summed.
//   - No fused multiply-add: every product is rounded to float32 by an
//     explicit conversion before it is added (the Go spec lets a compiler
//     fuse x*y+z, and some targets do; a conversion forbids it).
//   - The engine's own exp and log (mathf.go), not the platform's.
//   - Randomness only from seeded PCG streams (rand.go).
package engine
