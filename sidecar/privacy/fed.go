package privacy

import (
	"fmt"
	"math"
	"slices"

	"github.com/cohortchain/cohort/sidecar/par"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// ClientDP is client-level differential privacy for federated averaging
// (DP-FedAvg, McMahan et al. 2018): every client's update is clipped to
// L2 norm at most Clip, the clipped updates are summed, Gaussian noise of
// standard deviation NoiseMultiplier·Clip is added to every coordinate of
// the sum, and the sum is divided by ClientsPerRound. The mean therefore
// carries noise of standard deviation σC/m.
//
// One round is one step of the sampled Gaussian mechanism with q = m/N
// when m clients are sampled from N (see SamplingRate); account for it
// with an Accountant or a Budget. The denominator m is fixed, not the
// number of updates that arrived, so that it does not depend on any
// client's data; when fewer clients report, the mean shrinks towards zero
// rather than the noise growing (McMahan et al.'s fixed-denominator
// estimator).
type ClientDP struct {
	Clip            float64 // C: the L2 bound of one client's update
	NoiseMultiplier float64 // σ: the noise on the sum has standard deviation σC
	ClientsPerRound int     // m: the fixed denominator; 0 means the number of updates given
	Seed            uint64  // seeds the noise; round r draws from (Seed, r)
}

// Validate checks that Clip and NoiseMultiplier are positive and finite
// and ClientsPerRound is not negative.
func (c ClientDP) Validate() error {
	if err := checkClip(c.Clip); err != nil {
		return err
	}
	if err := checkMechanism(1, c.NoiseMultiplier); err != nil {
		return err
	}
	if c.ClientsPerRound < 0 {
		return fmt.Errorf("privacy: %d clients per round", c.ClientsPerRound)
	}
	return nil
}

// SamplingRate is the q of one round, ClientsPerRound/totalClients,
// for the accountant. ClientsPerRound must be set and at most
// totalClients.
func (c ClientDP) SamplingRate(totalClients int) (float64, error) {
	return ClientSamplingRate(c.ClientsPerRound, totalClients)
}

// ClientSamplingRate is perRound/total, the sampling rate of a federated
// round that draws perRound of total clients, with both checked
// (0 < perRound ≤ total).
func ClientSamplingRate(perRound, total int) (float64, error) {
	if perRound <= 0 || total <= 0 || perRound > total {
		return 0, fmt.Errorf("privacy: %d clients per round out of %d: need 0 < per round ≤ total", perRound, total)
	}
	return float64(perRound) / float64(total), nil
}

// AggregateStats describes one private aggregation.
type AggregateStats struct {
	Clients int       // updates aggregated
	Clipped int       // of them, how many were longer than Clip
	Norms   []float64 // each update's L2 norm before clipping, in order (not private)
}

// Aggregate is one round's private mean of updates, which must all have
// the same tensor names and shapes: a copy of each is clipped to Clip
// (the updates themselves are left unchanged), the copies are summed in
// the order given, N(0, (σC)²) is added to every coordinate, and the
// result is divided by ClientsPerRound (or by len(updates) when that is
// 0). The noise of round comes from (Seed, round) alone, so the result is
// the same on every run and at every GOMAXPROCS.
//
// It returns an error for an invalid configuration, no updates, more
// updates than ClientsPerRound, mismatched shapes, or NaN or ±Inf in any
// update.
func (c ClientDP) Aggregate(updates []tensor.Set, round uint64) (tensor.Set, AggregateStats, error) {
	if err := c.Validate(); err != nil {
		return nil, AggregateStats{}, err
	}
	if len(updates) == 0 {
		return nil, AggregateStats{}, fmt.Errorf("privacy: no updates to aggregate")
	}
	names := updates[0].Names()
	for i, u := range updates {
		if err := u.SameLayout(updates[0]); err != nil {
			return nil, AggregateStats{}, fmt.Errorf("privacy: update %d: %w", i, err)
		}
	}
	flat := make([][][]float32, len(updates))
	for i, u := range updates {
		flat[i] = make([][]float32, len(names))
		for j, name := range names {
			flat[i][j] = u[name].Data
		}
	}
	sum, stats, err := c.aggregate(flat, names, round)
	if err != nil {
		return nil, AggregateStats{}, err
	}
	out := tensor.Set{}
	for j, name := range names {
		out[name] = tensor.Tensor{Shape: slices.Clone(updates[0][name].Shape), Data: sum[j]}
	}
	return out, stats, nil
}

// AggregateVectors is Aggregate for updates given as flat vectors of one
// length (the layout of package aggregate).
func (c ClientDP) AggregateVectors(updates [][]float32, round uint64) ([]float32, AggregateStats, error) {
	if err := c.Validate(); err != nil {
		return nil, AggregateStats{}, err
	}
	if len(updates) == 0 {
		return nil, AggregateStats{}, fmt.Errorf("privacy: no updates to aggregate")
	}
	flat := make([][][]float32, len(updates))
	for i, u := range updates {
		if len(u) != len(updates[0]) {
			return nil, AggregateStats{}, fmt.Errorf("privacy: update %d has %d values, update 0 has %d", i, len(u), len(updates[0]))
		}
		flat[i] = [][]float32{u}
	}
	sum, stats, err := c.aggregate(flat, nil, round)
	if err != nil {
		return nil, AggregateStats{}, err
	}
	return sum[0], stats, nil
}

// aggregate is Aggregate on updates given as lists of vectors of one
// layout (updates[i][j] is part j of update i, named names[j] in errors
// when names are given).
func (c ClientDP) aggregate(updates [][][]float32, names []string, round uint64) ([][]float32, AggregateStats, error) {
	m := c.ClientsPerRound
	if m == 0 {
		m = len(updates)
	}
	if len(updates) > m {
		return nil, AggregateStats{}, fmt.Errorf("privacy: %d updates for %d clients per round", len(updates), m)
	}
	stats := AggregateStats{Clients: len(updates), Norms: make([]float64, len(updates))}
	scales := make([]float64, len(updates))
	for i, parts := range updates {
		sum := 0.0
		for j, v := range parts {
			var err error
			if sum, err = addSquares(sum, v); err != nil {
				if names != nil {
					return nil, AggregateStats{}, fmt.Errorf("privacy: update %d, %s: %w", i, names[j], err)
				}
				return nil, AggregateStats{}, fmt.Errorf("privacy: update %d: %w", i, err)
			}
		}
		stats.Norms[i] = math.Sqrt(sum)
		scales[i] = clipScale(stats.Norms[i], c.Clip)
		if scales[i] != 1 {
			stats.Clipped++
		}
	}
	out := make([][]float32, len(updates[0]))
	for j := range out {
		out[j] = make([]float32, len(updates[0][j]))
		dst := out[j]
		// Coordinates are independent: each sums the updates in order.
		par.Range(len(dst), 4096, func(lo, hi int) {
			for i, parts := range updates {
				src, s := parts[j][lo:hi], scales[i]
				for k, x := range src {
					dst[lo+k] += float32(float64(x) * s)
				}
			}
		})
	}
	noisyScale(out, c.NoiseMultiplier*c.Clip, 1/float64(m), c.Seed, domainFed, round)
	return out, stats, nil
}
