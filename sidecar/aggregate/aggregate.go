// Package aggregate combines clients' model updates into one, by rules that
// resist some clients lying, each deterministic: the same updates in the
// same order give bit-identical results at any GOMAXPROCS. Every rule works
// coordinate by coordinate or on whole vectors with sums in a fixed client
// order; parallelism only splits coordinates between goroutines.
package aggregate

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cohortchain/cohort/sidecar/par"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Update is one client's update as a flat vector, with the number of
// examples it trained on (FedAvg's weight).
type Update struct {
	Vector  []float32
	Samples int
}

// Rule aggregates updates.
type Rule interface {
	Name() string
	Aggregate(updates []Update) ([]float32, error)
}

// ErrBadUpdates is returned for empty, mismatched, non-finite or unweighted updates.
var ErrBadUpdates = errors.New("bad updates")

// Check validates updates: at least one, all of one length, finite, with
// positive sample counts.
func Check(updates []Update) (int, error) {
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
	// Finiteness, checked in parallel: v-v is 0 exactly when v is finite.
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
	return d, bad
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

// Aggregate computes the weighted mean.
func (FedAvg) Aggregate(updates []Update) ([]float32, error) {
	d, err := Check(updates)
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
	out := make([]float32, d)
	coordinates(d, func(lo, hi int) {
		// Tiles small enough that the running sums stay in cache while
		// every client's slice of the tile streams past; within a
		// coordinate the clients are still summed in order.
		const tile = 2048
		for t := lo; t < hi; t += tile {
			acc := out[t:min(t+tile, hi)]
			for i, u := range updates {
				w, vec := weights[i], u.Vector[t:t+len(acc)]
				for j := range acc {
					acc[j] += float32(w * vec[j])
				}
			}
		}
	})
	return out, nil
}

// Median is the coordinate-wise median (mean of the middle two for an
// even number of clients).
type Median struct{}

// Name of the rule.
func (Median) Name() string { return "median" }

// Aggregate computes the coordinate-wise median.
func (Median) Aggregate(updates []Update) ([]float32, error) {
	return sortedReduce(updates, func(col []float32) float32 {
		k := len(col)
		if k%2 == 1 {
			return col[k/2]
		}
		return float32((float64(col[k/2-1]) + float64(col[k/2])) / 2)
	})
}

// TrimmedMean drops the Beta fraction of largest and of smallest values of
// each coordinate and averages the rest.
type TrimmedMean struct{ Beta float64 }

// Name of the rule.
func (t TrimmedMean) Name() string { return fmt.Sprintf("trimmed-mean(%.2f)", t.Beta) }

// Aggregate computes the trimmed mean.
func (t TrimmedMean) Aggregate(updates []Update) ([]float32, error) {
	cut := int(t.Beta * float64(len(updates)))
	if t.Beta < 0 || t.Beta >= 0.5 || 2*cut >= len(updates) {
		return nil, fmt.Errorf("%w: beta %.2f leaves nothing of %d updates", ErrBadUpdates, t.Beta, len(updates))
	}
	return sortedReduce(updates, func(col []float32) float32 {
		var sum float64
		for _, v := range col[cut : len(col)-cut] {
			sum += float64(v)
		}
		return float32(sum / float64(len(col)-2*cut))
	})
}

// sortedReduce applies fn to each coordinate's sorted column of values.
func sortedReduce(updates []Update, fn func([]float32) float32) ([]float32, error) {
	d, err := Check(updates)
	if err != nil {
		return nil, err
	}
	out := make([]float32, d)
	coordinates(d, func(lo, hi int) {
		col := make([]float32, len(updates))
		for j := lo; j < hi; j++ {
			for i, u := range updates {
				col[i] = u.Vector[j]
			}
			slices.Sort(col)
			out[j] = fn(col)
		}
	})
	return out, nil
}
