package engine

import "math"

// DropoutMask is the mask of dropout layer `layer` (its index in the
// spec) for the training step `step` of a run seeded by seed: n values,
// each 0 (dropped) or 1/(1−rate) (kept, so that the expected activation
// is unchanged and inference needs no rescaling).
//
// The draws come from one PCG stream, NewRNG(seed, dropoutStream(step,
// layer)), read in order: value j of the batch (example-major, then the
// layer's NCHW order) takes the j-th draw's top 24 bits u and is dropped
// when u < ceil(rate·2^24). The mask depends on nothing else, so it is
// the same on every run and at every GOMAXPROCS.
func DropoutMask(rate float64, seed, step uint64, layer, n int) []float32 {
	mask := make([]float32, n)
	threshold := uint32(math.Ceil(rate * (1 << 24)))
	scale := float32(1 / (1 - rate))
	g := NewRNG(seed, dropoutStream(step, layer))
	for j := range mask {
		if g.r.Uint32()>>8 >= threshold {
			mask[j] = scale
		}
	}
	return mask
}

// dropoutStream is the PCG stream id of a dropout layer at a step: a
// splitmix64 hash of both, well away from the engine's small fixed
// stream ids (1 for Init, 2 for batch order).
func dropoutStream(step uint64, layer int) uint64 {
	return splitmix64(step ^ splitmix64(uint64(layer)^0x64726f706f7574)) // "dropout"
}

// splitmix64 is Steele, Lea and Flood's 64-bit finaliser.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
