//go:build !cuda && !cudaemu

package gpu

// CUDA reports whether this build has the CUDA backend (the cuda tag).
const CUDA = false

// Open returns the best backend of this build: without the cuda tag, the
// CPU backend (see CPU). It never fails.
func Open() (Backend, error) { return CPU(), nil }
