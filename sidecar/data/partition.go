package data

import (
	"fmt"
	"math"
	"slices"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// PartitionIID splits example indices [0, n) into shards near-equal
// shards by a seeded shuffle.
func PartitionIID(n, shards int, seed uint64) ([][]int, error) {
	if shards <= 0 || shards > n {
		return nil, fmt.Errorf("data: cannot split %d examples into %d shards", n, shards)
	}
	perm := engine.NewRNG(seed, 21).Perm(n)
	out := make([][]int, shards)
	for i, idx := range perm {
		out[i%shards] = append(out[i%shards], idx)
	}
	for _, s := range out {
		slices.Sort(s)
	}
	return out, nil
}

// PartitionDirichlet splits examples into non-IID shards: for each class,
// the shares of the shards are drawn from a symmetric Dirichlet(alpha)
// (smaller alpha, more skew), from seed.
func PartitionDirichlet(labels []int, classes, shards int, alpha float64, seed uint64) ([][]int, error) {
	if shards <= 0 || classes <= 0 || alpha <= 0 {
		return nil, fmt.Errorf("data: need shards, classes and alpha > 0")
	}
	byClass := make([][]int, classes)
	for i, y := range labels {
		if y < 0 || y >= classes {
			return nil, fmt.Errorf("data: label %d of example %d outside [0, %d)", y, i, classes)
		}
		byClass[y] = append(byClass[y], i)
	}
	g := engine.NewRNG(seed, 22)
	out := make([][]int, shards)
	for _, idx := range byClass {
		perm := g.Perm(len(idx))
		shares := make([]float64, shards)
		var sum float64
		for s := range shares {
			shares[s] = gamma(g, alpha)
			sum += shares[s]
		}
		start, acc := 0, 0.0
		for s := range shares {
			acc += shares[s] / sum
			end := int(float64(acc*float64(len(idx))) + 0.5)
			if s == shards-1 {
				end = len(idx)
			}
			for _, p := range perm[start:end] {
				out[s] = append(out[s], idx[p])
			}
			start = end
		}
	}
	for _, s := range out {
		slices.Sort(s)
	}
	return out, nil
}

// gamma draws Gamma(alpha, 1) by Marsaglia and Tsang, boosted for alpha < 1,
// using only the engine's own exp and log.
func gamma(g *engine.RNG, alpha float64) float64 {
	if alpha < 1 {
		u := float64(g.Float32()) + 1e-12
		return gamma(g, alpha+1) * float64(engine.Exp(float32(float64(engine.Log(float32(u)))/alpha)))
	}
	d := alpha - 1.0/3
	c := 1 / math.Sqrt(9*d) // correctly rounded on every platform
	for {
		x := float64(g.Normal())
		v := 1 + float64(c*x)
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := float64(g.Float32()) + 1e-12
		if float64(engine.Log(float32(u))) < float64(float64(0.5*x)*x)+d-float64(d*v)+float64(d*float64(engine.Log(float32(v)))) {
			return d * v
		}
	}
}

// Subset copies the examples idx of d, in that order: one shard of a
// partition.
func Subset(d engine.Dataset, idx []int) engine.Dataset {
	out := engine.Dataset{Width: d.Width, Labels: make([]int, 0, len(idx)), Inputs: make([]float32, 0, len(idx)*d.Width)}
	for _, i := range idx {
		out.Inputs = append(out.Inputs, d.Inputs[i*d.Width:(i+1)*d.Width]...)
		out.Labels = append(out.Labels, d.Labels[i])
	}
	return out
}

// FlipLabels returns d with every label y mapped to classes−1−y: the
// label-flip attack of a Byzantine client (the inputs are shared, not
// copied).
func FlipLabels(d engine.Dataset, classes int) engine.Dataset {
	out := d
	out.Labels = make([]int, len(d.Labels))
	for i, y := range d.Labels {
		out.Labels[i] = classes - 1 - y
	}
	return out
}
