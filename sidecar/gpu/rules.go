package gpu

import (
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/cohortchain/cohort/sidecar/aggregate"
)

// The host side of the aggregation rules: what package aggregate computes
// on small arrays (weights, Krum scores, clipping scales), written once
// here and shared by the CPU emulation and the CUDA backend; the
// coordinate-wide work goes to the device through vecOps.

// checkShape is aggregate's check of lengths and sample counts.
func checkShape(updates []aggregate.Update) (int, error) {
	if len(updates) == 0 {
		return 0, fmt.Errorf("%w: none", aggregate.ErrBadUpdates)
	}
	d := len(updates[0].Vector)
	for i, u := range updates {
		if len(u.Vector) != d {
			return 0, fmt.Errorf("%w: update %d has %d values, update 0 has %d", aggregate.ErrBadUpdates, i, len(u.Vector), d)
		}
		if u.Samples <= 0 {
			return 0, fmt.Errorf("%w: update %d has %d samples", aggregate.ErrBadUpdates, i, u.Samples)
		}
	}
	return d, nil
}

// nonFiniteError is the error for updates that hold a NaN or ±Inf (or
// whose aggregate overflows): aggregate.Check names the value.
func nonFiniteError(updates []aggregate.Update) error {
	if _, err := aggregate.Check(updates); err != nil {
		return err
	}
	return fmt.Errorf("%w: the aggregate overflows float32", aggregate.ErrBadUpdates)
}

// fedAvgWeights are aggregate.FedAvg's float32 weights n_i / Σ n.
func fedAvgWeights(updates []aggregate.Update) []float32 {
	total := 0
	for _, u := range updates {
		total += u.Samples
	}
	w := make([]float32, len(updates))
	for i, u := range updates {
		w[i] = float32(float64(u.Samples) / float64(total))
	}
	return w
}

// medianRanks are the ranks aggregate.Median reads: [lo, hi).
func medianRanks(k int) (lo, hi int) {
	lo, hi = k/2, k/2+1
	if k%2 == 0 {
		lo = k/2 - 1
	}
	return lo, hi
}

// trimmedCut is aggregate.TrimmedMean's cut, or its error.
func trimmedCut(beta float64, n int) (int, error) {
	cut := int(beta * float64(n))
	if beta < 0 || beta >= 0.5 || 2*cut >= n {
		return 0, fmt.Errorf("%w: beta %.2f leaves nothing of %d updates", aggregate.ErrBadUpdates, beta, n)
	}
	return cut, nil
}

// sortingNetwork is aggregate's sortingNetwork (sortnet.go): Batcher's
// odd–even merge sort on the next power of two, comparators touching
// padding wires dropped, pruned to those that can change wires
// [keepLo, keepHi). Returned flattened: I0, J0, I1, J1, …
func sortingNetwork(n, keepLo, keepHi int) []int32 {
	key := [3]int{n, keepLo, keepHi}
	if net, ok := networks.Load(key); ok {
		return net.([]int32)
	}
	p := 1
	for p < n {
		p <<= 1
	}
	var full [][2]int
	for size := 1; size < p; size <<= 1 {
		for k := size; k >= 1; k >>= 1 {
			for j := k % size; j+k < p; j += 2 * k {
				for i := 0; i < k && i+j+k < p; i++ {
					if (i+j)/(2*size) == (i+j+k)/(2*size) && i+j+k < n {
						full = append(full, [2]int{i + j, i + j + k})
					}
				}
			}
		}
	}
	needed := make([]bool, n)
	for w := keepLo; w < keepHi; w++ {
		needed[w] = true
	}
	var kept [][2]int
	for c := len(full) - 1; c >= 0; c-- {
		if cp := full[c]; needed[cp[0]] || needed[cp[1]] {
			needed[cp[0]], needed[cp[1]] = true, true
			kept = append(kept, cp)
		}
	}
	net := make([]int32, 0, 2*len(kept))
	for c := len(kept) - 1; c >= 0; c-- {
		net = append(net, int32(kept[c][0]), int32(kept[c][1]))
	}
	networks.Store(key, net)
	return net
}

var networks sync.Map // [3]int → []int32

// allPairs lists the pairs (i, j), i < j, of n updates, flattened.
func allPairs(n int) []int32 {
	var p []int32
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			p = append(p, int32(i), int32(j))
		}
	}
	return p
}

// distMatrix lays pairwise distances (in allPairs order) out as n×n.
func distMatrix(n int, d []float64) []float64 {
	m := make([]float64, n*n)
	q := 0
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			m[i*n+j], m[j*n+i] = d[q], d[q]
			q++
		}
	}
	return m
}

// krumSelect is aggregate.KrumSelect on the updates idx (indices into
// the n×n distance matrix dist, in that order): the positions within idx
// of the m lowest Krum scores, ties to the lower position.
func krumSelect(dist []float64, n int, idx []int, f, m int) ([]int, error) {
	return aggregate.KrumSelect(len(idx), f, m, func(a, b int) float64 { return dist[idx[a]*n+idx[b]] })
}

// vecOps is a device holding n updates of d values each, and one vector
// v of d values, for the rules that work on whole vectors.
type vecOps interface {
	// allFinite reports whether every value of every update is finite.
	allFinite() (bool, error)
	// dists returns ||x_a − x_b||² for the flattened pairs (a, b); b < 0
	// stands for v.
	dists(pairs []int32) ([]float64, error)
	// setMean sets v to the mean of the rows (cohort_mean_rows).
	setMean(rows []int) error
	// setWeighted sets v to Σ w_i·x_i / total (cohort_weighted_rows).
	setWeighted(w []float64, total float64) error
	// setClip moves v by one centered-clipping step (cohort_clip_step).
	setClip(scale []float64) error
	// setSorted sets v to the median (mode sortedMedian) or the trimmed
	// mean of the rows; bad reports a non-finite value.
	setSorted(rows []int, mode, cut int) (bad bool, err error)
	// result copies v out, into dst when it can hold it.
	result(dst []float32) ([]float32, error)
}

// vectorRules are the rules runVector computes.
func isVectorRule(r aggregate.Rule) bool {
	switch r.(type) {
	case aggregate.Krum, aggregate.Bulyan, aggregate.GeometricMedian, aggregate.CenteredClipping:
		return true
	}
	return false
}

// runVector computes Krum, Multi-Krum, Bulyan, geometric median and
// centered clipping exactly as package aggregate does, the coordinate
// work on ops. updates must have passed checkShape.
func runVector(ops vecOps, rule aggregate.Rule, dst []float32, updates []aggregate.Update) ([]float32, error) {
	n := len(updates)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	checkFinite := func() error {
		ok, err := ops.allFinite()
		if err != nil {
			return err
		}
		if !ok {
			return nonFiniteError(updates)
		}
		return nil
	}
	switch r := rule.(type) {
	case aggregate.Krum:
		if err := checkFinite(); err != nil {
			return nil, err
		}
		m := max(1, r.Multi)
		if n <= 2*r.F+2 || m > n-r.F {
			return nil, fmt.Errorf("%w: Krum with f=%d, m=%d needs more than %d updates, got %d", aggregate.ErrTooFewUpdates, r.F, m, 2*r.F+2, n)
		}
		d, err := ops.dists(allPairs(n))
		if err != nil {
			return nil, err
		}
		best, err := krumSelect(distMatrix(n, d), n, all, r.F, m)
		if err != nil {
			return nil, err
		}
		best = slices.Clone(best)
		slices.Sort(best)
		if err := ops.setMean(best); err != nil {
			return nil, err
		}
		return ops.result(dst)
	case aggregate.Bulyan:
		if err := checkFinite(); err != nil {
			return nil, err
		}
		if n < 4*r.F+3 {
			return nil, fmt.Errorf("%w: Bulyan with f=%d needs at least %d updates, got %d", aggregate.ErrTooFewUpdates, r.F, 4*r.F+3, n)
		}
		d, err := ops.dists(allPairs(n))
		if err != nil {
			return nil, err
		}
		dist := distMatrix(n, d)
		remaining := slices.Clone(all)
		var selected []int
		for len(selected) < n-2*r.F {
			best, err := krumSelect(dist, n, remaining, r.F, 1)
			if err != nil {
				selected = append(selected, remaining[:n-2*r.F-len(selected)]...)
				break
			}
			selected = append(selected, remaining[best[0]])
			remaining = slices.Delete(remaining, best[0], best[0]+1)
		}
		bad, err := ops.setSorted(selected, sortedTrimmed, r.F)
		if err != nil {
			return nil, err
		}
		if bad {
			return nil, nonFiniteError(updates)
		}
		return ops.result(dst)
	case aggregate.GeometricMedian:
		if err := checkFinite(); err != nil {
			return nil, err
		}
		iters := r.Iterations
		if iters <= 0 {
			iters = 20
		}
		if err := ops.setMean(all); err != nil {
			return nil, err
		}
		toV := make([]int32, 0, 2*n)
		for i := 0; i < n; i++ {
			toV = append(toV, int32(i), -1)
		}
		w := make([]float64, n)
		for it := 0; it < iters; it++ {
			d, err := ops.dists(toV)
			if err != nil {
				return nil, err
			}
			var total float64
			for i := range w {
				w[i] = 1 / math.Max(math.Sqrt(d[i]), 1e-8)
				total += w[i]
			}
			if err := ops.setWeighted(w, total); err != nil {
				return nil, err
			}
		}
		return ops.result(dst)
	case aggregate.CenteredClipping:
		bad, err := ops.setSorted(all, sortedMedian, 0)
		if err != nil {
			return nil, err
		}
		if bad {
			return nil, nonFiniteError(updates)
		}
		if r.Tau <= 0 {
			return nil, fmt.Errorf("%w: tau must be positive", aggregate.ErrBadUpdates)
		}
		iters := max(r.Iterations, 1)
		toV := make([]int32, 0, 2*n)
		for i := 0; i < n; i++ {
			toV = append(toV, int32(i), -1)
		}
		scale := make([]float64, n)
		for it := 0; it < iters; it++ {
			d, err := ops.dists(toV)
			if err != nil {
				return nil, err
			}
			for i := range scale {
				scale[i] = math.Min(1, r.Tau/math.Max(math.Sqrt(d[i]), 1e-12))
			}
			if err := ops.setClip(scale); err != nil {
				return nil, err
			}
		}
		return ops.result(dst)
	}
	return nil, fmt.Errorf("gpu: %s is not a vector rule", rule.Name())
}

// emuVec is vecOps on the CPU with the kernel emulations: the tests run
// runVector on it against package aggregate.
type emuVec struct {
	mat  []float32 // n × d
	n, d int
	v    []float32
}

func newEmuVec(updates []aggregate.Update) *emuVec {
	n, d := len(updates), len(updates[0].Vector)
	e := &emuVec{mat: make([]float32, n*d), n: n, d: d, v: make([]float32, d)}
	for i, u := range updates {
		copy(e.mat[i*d:], u.Vector)
	}
	return e
}

func (e *emuVec) allFinite() (bool, error) {
	for _, v := range e.mat {
		if nonFinite32(v) {
			return false, nil
		}
	}
	return true, nil
}

func (e *emuVec) dists(pairs []int32) ([]float64, error) {
	out := make([]float64, len(pairs)/2)
	pairSqDistEmulate(out, e.mat, e.d, e.d, pairs, e.v)
	return out, nil
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func (e *emuVec) setMean(rows []int) error {
	next := make([]float32, e.d)
	meanRowsEmulate(next, e.mat, e.d, int64s(rows), e.d)
	e.v = next
	return nil
}

func (e *emuVec) setWeighted(w []float64, total float64) error {
	next := make([]float32, e.d)
	weightedRowsEmulate(next, e.mat, e.d, e.n, e.d, w, total)
	e.v = next
	return nil
}

func (e *emuVec) setClip(scale []float64) error {
	next := make([]float32, e.d)
	clipStepEmulate(next, e.mat, e.d, e.n, e.d, e.v, scale)
	e.v = next
	return nil
}

func (e *emuVec) setSorted(rows []int, mode, cut int) (bool, error) {
	k := len(rows)
	lo, hi := cut, k-cut
	if mode == sortedMedian {
		lo, hi = medianRanks(k)
	}
	next := make([]float32, e.d)
	bad := sortedEmulate(next, e.mat, e.d, int64s(rows), e.d, sortingNetwork(k, lo, hi), mode, cut)
	e.v = next
	return bad, nil
}

func (e *emuVec) result(dst []float32) ([]float32, error) {
	out := output(dst, e.d)
	copy(out, e.v)
	return out, nil
}
