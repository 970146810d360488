package aggregate

import (
	"fmt"
	"math"
	"slices"
)

// SqDistance is ||a-b||² summed in index order in float64: the distance
// every distance-based rule (Krum, the outlier screen of a federated
// round) uses, so that they agree to the bit.
func SqDistance(a, b []float32) float64 { return sqDist(a, b) }

// sqDist is ||a-b||² summed in index order in float64.
func sqDist(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += float64(d * d)
	}
	return s
}

// Krum picks the update(s) closest to their n−f−2 nearest neighbours
// (Blanchard et al.). With Multi > 1 it averages the Multi best (Multi-Krum).
// F is the number of attackers tolerated; it needs n > 2F + 2.
type Krum struct{ F, Multi int }

// Name of the rule.
func (k Krum) Name() string {
	if k.Multi > 1 {
		return fmt.Sprintf("multi-krum(f=%d,m=%d)", k.F, k.Multi)
	}
	return fmt.Sprintf("krum(f=%d)", k.F)
}

// Aggregate applies Krum.
func (k Krum) Aggregate(dst []float32, updates []Update) ([]float32, error) {
	if _, err := Check(updates); err != nil {
		return nil, err
	}
	best, err := krumSelect(updates, k.F, max(1, k.Multi))
	if err != nil {
		return nil, err
	}
	return mean(dst, updates, best), nil
}

// Select returns the indices of the updates Krum (or Multi-Krum) averages,
// lowest score first: the updates it accepts.
func (k Krum) Select(updates []Update) ([]int, error) {
	if _, err := Check(updates); err != nil {
		return nil, err
	}
	return krumSelect(updates, k.F, max(1, k.Multi))
}

// krumSelect returns the indices of the m updates with the lowest Krum
// scores; ties go to the lower index.
func krumSelect(updates []Update, f, m int) ([]int, error) {
	n := len(updates)
	if err := checkKrum(n, f, m); err != nil {
		return nil, err
	}
	dist := make([][]float64, n)
	for i := range dist {
		dist[i] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			d := sqDist(updates[i].Vector, updates[j].Vector)
			dist[i][j], dist[j][i] = d, d
		}
	}
	return KrumSelect(n, f, m, func(a, b int) float64 { return dist[a][b] })
}

func checkKrum(n, f, m int) error {
	if n <= 2*f+2 || m < 1 || m > n-f {
		return fmt.Errorf("%w: Krum with f=%d, m=%d needs more than %d updates, got %d", ErrTooFewUpdates, f, m, 2*f+2, n)
	}
	return nil
}

// KrumSelect is Krum's selection rule, given the squared distance dist(a,
// b) between updates a and b of n: update a scores the sum of its n−f−2
// smallest distances to the others (summed smallest first, in float64),
// and the m lowest scores win, ties to the lower index. It returns their
// indices, lowest score first. Every backend (CPU, GPU) that computes the
// distances selects with this one function.
func KrumSelect(n, f, m int, dist func(a, b int) float64) ([]int, error) {
	if err := checkKrum(n, f, m); err != nil {
		return nil, err
	}
	scores := make([]float64, n)
	row := make([]float64, 0, n-1)
	for a := range scores {
		row = row[:0]
		for b := 0; b < n; b++ {
			if b != a {
				row = append(row, dist(a, b))
			}
		}
		slices.Sort(row)
		for _, d := range row[:n-f-2] {
			scores[a] += d
		}
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case scores[a] < scores[b]:
			return -1
		case scores[a] > scores[b]:
			return 1
		}
		return a - b
	})
	return idx[:m], nil
}

// mean is the plain average of the chosen updates, in index order.
func mean(dst []float32, updates []Update, chosen []int) []float32 {
	chosen = slices.Clone(chosen)
	slices.Sort(chosen)
	d := len(updates[0].Vector)
	out := output(dst, d)
	coordinates(d, func(lo, hi int) {
		for j := lo; j < hi; j++ {
			var s float64
			for _, i := range chosen {
				s += float64(updates[i].Vector[j])
			}
			out[j] = float32(s / float64(len(chosen)))
		}
	})
	return out
}

// GeometricMedian approximates the point minimising the sum of distances
// to the updates (RFA) by Weiszfeld's method with a fixed number of
// iterations, so that every validator stops at the same point.
type GeometricMedian struct{ Iterations int }

// Name of the rule.
func (g GeometricMedian) Name() string { return "geometric-median" }

// Aggregate applies Weiszfeld's method from the mean.
func (g GeometricMedian) Aggregate(dst []float32, updates []Update) ([]float32, error) {
	d, err := Check(updates)
	if err != nil {
		return nil, err
	}
	iters := g.Iterations
	if iters <= 0 {
		iters = 20
	}
	all := make([]int, len(updates))
	for i := range all {
		all[i] = i
	}
	z := mean(nil, updates, all)
	w := make([]float64, len(updates))
	for it := 0; it < iters; it++ {
		var total float64
		for i, u := range updates {
			w[i] = 1 / math.Max(math.Sqrt(sqDist(u.Vector, z)), 1e-8)
			total += w[i]
		}
		next := make([]float32, d)
		coordinates(d, func(lo, hi int) {
			for j := lo; j < hi; j++ {
				var s float64
				for i, u := range updates {
					s += float64(w[i] * float64(u.Vector[j]))
				}
				next[j] = float32(s / total)
			}
		})
		z = next
	}
	return into(dst, z), nil
}

// CenteredClipping (Karimireddy et al.) moves from the coordinate-wise
// median by the mean of the clients' differences, each clipped to norm Tau,
// for a fixed number of iterations.
type CenteredClipping struct {
	Tau        float64
	Iterations int
}

// Name of the rule.
func (c CenteredClipping) Name() string { return "centered-clipping" }

// Aggregate applies centered clipping.
func (c CenteredClipping) Aggregate(dst []float32, updates []Update) ([]float32, error) {
	v, err := Median{}.Aggregate(nil, updates)
	if err != nil {
		return nil, err
	}
	if c.Tau <= 0 {
		return nil, fmt.Errorf("%w: tau must be positive", ErrBadUpdates)
	}
	iters := max(c.Iterations, 1)
	scale := make([]float64, len(updates))
	for it := 0; it < iters; it++ {
		for i, u := range updates {
			norm := math.Sqrt(sqDist(u.Vector, v))
			scale[i] = math.Min(1, c.Tau/math.Max(norm, 1e-12))
		}
		next := make([]float32, len(v))
		coordinates(len(v), func(lo, hi int) {
			for j := lo; j < hi; j++ {
				var s float64
				for i, u := range updates {
					s += float64(scale[i] * (float64(u.Vector[j]) - float64(v[j])))
				}
				next[j] = float32(float64(v[j]) + s/float64(len(updates)))
			}
		})
		v = next
	}
	return into(dst, v), nil
}

// Bulyan (El Mhamdi et al.) selects n−2F updates by repeated Krum, then
// takes the coordinate-wise trimmed mean of the selection, dropping F from
// each end. It needs n ≥ 4F + 3.
type Bulyan struct{ F int }

// Name of the rule.
func (b Bulyan) Name() string { return fmt.Sprintf("bulyan(f=%d)", b.F) }

// Aggregate applies Bulyan.
func (b Bulyan) Aggregate(dst []float32, updates []Update) ([]float32, error) {
	if _, err := Check(updates); err != nil {
		return nil, err
	}
	n := len(updates)
	if n < 4*b.F+3 {
		return nil, fmt.Errorf("%w: Bulyan with f=%d needs at least %d updates, got %d", ErrTooFewUpdates, b.F, 4*b.F+3, n)
	}
	remaining := slices.Clone(updates)
	var selected []Update
	for len(selected) < n-2*b.F {
		best, err := krumSelect(remaining, b.F, 1)
		if err != nil {
			// Fewer than 2F+3 remain: take them in order.
			selected = append(selected, remaining[:n-2*b.F-len(selected)]...)
			break
		}
		selected = append(selected, remaining[best[0]])
		remaining = slices.Delete(remaining, best[0], best[0]+1)
	}
	return trimmedMean(dst, selected, b.F)
}
