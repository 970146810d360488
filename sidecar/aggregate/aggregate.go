// Package aggregate combines clients' model updates into one, by rules that
// resist some clients lying, each deterministic: the same updates in the
// same order give bit-identical results at any GOMAXPROCS. Every rule works
// coordinate by coordinate or on whole vectors with sums in a fixed client
// order; parallelism only splits coordinates between goroutines.
package aggregate

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cohortchain/cohort/sidecar/par"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Update is one client's update as a flat vector, with the number of
// examples it trained on (FedAvg's weight).
type Update struct {
	Vector  []float32
	Samples int
}

// Rule aggregates updates. Aggregate writes the result into dst when
// cap(dst) is at least the update length (its contents are overwritten)
// and allocates otherwise, returning the result either way: a validator
// that aggregates round after round passes the previous round's buffer and
// spares the allocation, which for large models costs more than the
// arithmetic (fresh pages are faulted in and zeroed). Pass nil when that
// does not matter.
type Rule interface {
	Name() string
	Aggregate(dst []float32, updates []Update) ([]float32, error)
}

// output returns dst[:d] when dst can hold d values, else a new slice.
func output(dst []float32, d int) []float32 {
	if cap(dst) >= d {
		return dst[:d]
	}
	return make([]float32, d)
}

// into returns v, copied into dst when dst can hold it.
func into(dst, v []float32) []float32 {
	if cap(dst) < len(v) {
		return v
	}
	return append(dst[:0], v...)
}

// ErrBadUpdates is returned for empty, mismatched, non-finite or unweighted updates.
var ErrBadUpdates = errors.New("bad updates")

// ErrTooFewUpdates is returned (wrapping ErrBadUpdates) when a rule needs
// more updates than it was given for the attackers it tolerates (Krum
// needs n > 2f+2, Bulyan n ≥ 4f+3).
var ErrTooFewUpdates = fmt.Errorf("%w: too few for the rule", ErrBadUpdates)

// Check validates updates: at least one, all of one length, finite, with
// positive sample counts. It returns the common length.
func Check(updates []Update) (int, error) {
	d, err := checkShape(updates)
	if err != nil {
		return 0, err
	}
	return d, checkFinite(updates, d)
}

// checkShape is Check without the finiteness pass, for rules that detect
// non-finite values while they read the data anyway.
func checkShape(updates []Update) (int, error) {
	if len(updates) == 0 {
		return 0, fmt.Errorf("%w: none", ErrBadUpdates)
	}
	d := len(updates[0].Vector)
	for i, u := range updates {
		if len(u.Vector) != d {
			return 0, fmt.Errorf("%w: update %d has %d values, update 0 has %d", ErrBadUpdates, i, len(u.Vector), d)
		}
		if u.Samples <= 0 {
			return 0, fmt.Errorf("%w: update %d has %d samples", ErrBadUpdates, i, u.Samples)
		}
	}
	return d, nil
}

// checkFinite names the first NaN or ±Inf value, checking coordinates in
// parallel (v-v is 0 exactly when v is finite).
func checkFinite(updates []Update, d int) error {
	var mu sync.Mutex
	var bad error
	coordinates(d, func(lo, hi int) {
		for i, u := range updates {
			for j, v := range u.Vector[lo:hi] {
				if v-v != 0 {
					mu.Lock()
					if bad == nil {
						bad = fmt.Errorf("%w: update %d value %d is %v", ErrBadUpdates, i, lo+j, v)
					}
					mu.Unlock()
					return
				}
			}
		}
	})
	return bad
}

// explainNonFinite is called when a rule's output or reading saw a
// non-finite value: it names the bad input, or reports that finite inputs
// overflowed float32.
func explainNonFinite(updates []Update, d int) error {
	if err := checkFinite(updates, d); err != nil {
		return err
	}
	return fmt.Errorf("%w: the aggregate overflows float32", ErrBadUpdates)
}

// coordinates runs fn over [0, d) in contiguous chunks of at least 4096.
func coordinates(d int, fn func(lo, hi int)) { par.Range(d, 4096, fn) }

// Flatten lays a tensor set out as one vector in canonical name order.
func Flatten(s tensor.Set) []float32 {
	var out []float32
	for _, name := range s.Names() {
		out = append(out, s[name].Data...)
	}
	return out
}

// Unflatten is the inverse of Flatten, shaped like template.
func Unflatten(v []float32, template tensor.Set) (tensor.Set, error) {
	out := tensor.Set{}
	at := 0
	for _, name := range template.Names() {
		n := len(template[name].Data)
		if at+n > len(v) {
			return nil, fmt.Errorf("%w: vector of %d values is shorter than the model", ErrBadUpdates, len(v))
		}
		out[name] = tensor.Tensor{Shape: slices.Clone(template[name].Shape), Data: slices.Clone(v[at : at+n])}
		at += n
	}
	if at != len(v) {
		return nil, fmt.Errorf("%w: vector of %d values, the model has %d", ErrBadUpdates, len(v), at)
	}
	return out, nil
}

// FedAvg is the sample-weighted mean: Σ n_i·u_i / Σ n_i, summed in client order.
type FedAvg struct{}

// Name of the rule.
func (FedAvg) Name() string { return "fedavg" }

// Aggregate computes the weighted mean. Inputs are not checked for NaN or
// Inf up front: any such value makes the output non-finite (NaN and Inf
// survive multiplication by a positive weight and addition), which one pass
// over the output detects; only then are the inputs searched for the culprit.
func (FedAvg) Aggregate(dst []float32, updates []Update) ([]float32, error) {
	d, err := checkShape(updates)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, u := range updates {
		total += u.Samples
	}
	weights := make([]float32, len(updates))
	for i, u := range updates {
		weights[i] = float32(float64(u.Samples) / float64(total))
	}
	out := output(dst, d)
	coordinates(d, func(lo, hi int) {
		// Tiles small enough that the running sums stay in cache while
		// every client's slice of the tile streams past; within a
		// coordinate the clients are summed in order.
		const tile = 32768
		for t := lo; t < hi; t += tile {
			acc := out[t:min(t+tile, hi)]
			m := len(acc)
			clear(acc)
			for i, u := range updates {
				axpy(acc, u.Vector[t:t+m], weights[i])
			}
		}
	})
	if !allFinite(out) {
		return nil, explainNonFinite(updates, d)
	}
	return out, nil
}

// allFinite reports whether v holds no NaN or ±Inf.
func allFinite(v []float32) bool {
	var flag uint32
	for _, x := range v {
		flag |= (math.Float32bits(x)>>23&0xFF + 1) >> 8
	}
	return flag == 0
}

// Median is the coordinate-wise median (mean of the middle two for an
// even number of clients).
type Median struct{}

// Name of the rule.
func (Median) Name() string { return "median" }

// Aggregate computes the coordinate-wise median.
func (Median) Aggregate(dst []float32, updates []Update) ([]float32, error) {
	k := len(updates)
	lo, hi := k/2, k/2+1
	if k%2 == 0 {
		lo = k/2 - 1
	}
	return sortedReduce(dst, updates, lo, hi, func(rows [][]int32, out []float32, _ []float64) {
		if k%2 == 1 {
			for c, key := range rows[k/2][:len(out)] {
				out[c] = fromOrderedKey(key)
			}
			return
		}
		a, b := rows[k/2-1][:len(out)], rows[k/2][:len(out)]
		for c := range out {
			out[c] = float32((float64(fromOrderedKey(a[c])) + float64(fromOrderedKey(b[c]))) / 2)
		}
	})
}

// TrimmedMean drops the Beta fraction of largest and of smallest values of
// each coordinate and averages the rest.
type TrimmedMean struct{ Beta float64 }

// Name of the rule.
func (t TrimmedMean) Name() string { return fmt.Sprintf("trimmed-mean(%.2f)", t.Beta) }

// Aggregate computes the trimmed mean.
func (t TrimmedMean) Aggregate(dst []float32, updates []Update) ([]float32, error) {
	cut := int(t.Beta * float64(len(updates)))
	if t.Beta < 0 || t.Beta >= 0.5 || 2*cut >= len(updates) {
		return nil, fmt.Errorf("%w: beta %.2f leaves nothing of %d updates", ErrBadUpdates, t.Beta, len(updates))
	}
	return trimmedMean(dst, updates, cut)
}

// trimmedMean averages, per coordinate, the values left after dropping the
// cut smallest and cut largest, summed in float64 in ascending order.
func trimmedMean(dst []float32, updates []Update, cut int) ([]float32, error) {
	n := len(updates)
	return sortedReduce(dst, updates, cut, n-cut, func(rows [][]int32, out []float32, sums []float64) {
		clear(sums)
		for _, row := range rows[cut : n-cut] {
			addKeys(sums, row)
		}
		meanOfSums(out, sums, float64(n-2*cut))
	})
}

// sortedReduce sorts every coordinate's column of client values with a
// sorting network pruned to the ranks [keepLo, keepHi) that reduce reads,
// a block of coordinates at a time: reduce gets rows[i][c], the i-th
// smallest value (as an orderedKey) at coordinate c of the block, and
// writes the block's results to out, with scratch (as long as out) to use
// as it likes. A NaN or Inf anywhere is an error.
func sortedReduce(dst []float32, updates []Update, keepLo, keepHi int, reduce func(rows [][]int32, out []float32, scratch []float64)) ([]float32, error) {
	d, err := checkShape(updates)
	if err != nil {
		return nil, err
	}
	n := len(updates)
	net := sortingNetwork(n, keepLo, keepHi)
	out := output(dst, d)
	var sawNonFinite atomic.Bool
	coordinates(d, func(lo, hi int) {
		buf := make([]int32, n*columnBlock)
		scratch := make([]float64, columnBlock)
		rows := make([][]int32, n)
		for t := lo; t < hi; t += columnBlock {
			m := min(columnBlock, hi-t)
			bad := false
			for i, u := range updates {
				rows[i] = buf[i*columnBlock : i*columnBlock+m]
				bad = loadKeys(rows[i], u.Vector[t:t+m]) || bad
			}
			if bad {
				sawNonFinite.Store(true)
				return
			}
			sortColumns(rows, net)
			reduce(rows, out[t:t+m], scratch[:m])
		}
	})
	if sawNonFinite.Load() {
		return nil, explainNonFinite(updates, d)
	}
	return out, nil
}
