package data

import "github.com/cohortchain/cohort/sidecar/engine"

// Clusters is a synthetic, separable dataset for tests and benchmarks: n
// examples of width values in classes Gaussian clusters (example i is of
// class i mod classes). The cluster centres are N(0, spread²) per value
// and each example is its centre plus N(0, 1) noise, all drawn from one
// seeded stream, so the same arguments give the same data everywhere.
func Clusters(n, width, classes int, spread float32, seed uint64) engine.Dataset {
	g := engine.NewRNG(seed, 9)
	centres := make([]float32, classes*width)
	for i := range centres {
		centres[i] = spread * g.Normal()
	}
	d := engine.Dataset{Inputs: make([]float32, n*width), Labels: make([]int, n), Width: width}
	for i := 0; i < n; i++ {
		c := i % classes
		d.Labels[i] = c
		for j := 0; j < width; j++ {
			d.Inputs[i*width+j] = centres[c*width+j] + g.Normal()
		}
	}
	return d
}
