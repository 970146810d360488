package federation

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"
)

// RuleOf maps a run's on-chain aggregation rule to the engine's.
func RuleOf(r types.AggregationRule) (aggregate.Rule, error) {
	switch r.Name {
	case types.RuleFedAvg:
		return aggregate.FedAvg{}, nil
	case types.RuleMedian:
		return aggregate.Median{}, nil
	case types.RuleTrimmedMean:
		beta, err := parseDec("trim_fraction", r.TrimFraction)
		if err != nil {
			return nil, err
		}
		return aggregate.TrimmedMean{Beta: beta}, nil
	case types.RuleKrum:
		return aggregate.Krum{F: int(r.Byzantine), Multi: 1}, nil
	case types.RuleMultiKrum:
		return aggregate.Krum{F: int(r.Byzantine), Multi: int(r.SelectCount)}, nil
	case types.RuleGeometricMedian:
		return aggregate.GeometricMedian{Iterations: int(r.MaxIterations)}, nil
	case types.RuleCenteredClipping:
		tau, err := parseDec("clip_radius", r.ClipRadius)
		if err != nil {
			return nil, err
		}
		return aggregate.CenteredClipping{Tau: tau, Iterations: int(r.MaxIterations)}, nil
	case types.RuleBulyan:
		return aggregate.Bulyan{F: int(r.Byzantine)}, nil
	}
	return nil, fmt.Errorf("federation: unknown aggregation rule %q", r.Name)
}

// OutlierFactor is the outlier screen of the robust rules that do not
// select updates (median, trimmed mean, geometric median, centered
// clipping, Bulyan): an update farther from the aggregate than
// OutlierFactor times the median distance of all updates to it is
// rejected. It needs at least MinScreened updates.
const (
	OutlierFactor = 3.0
	MinScreened   = 3
)

// Submitted is one update of a round as a validator received it.
type Submitted struct {
	// Hash is the on-chain commitment (sha256 of the blob).
	Hash []byte
	// Update is the decoded blob; nil when it could not be fetched or
	// decoded, in which case Invalid says why.
	Update  tensor.Set
	Samples uint64
	Invalid string
}

// Outcome is the aggregate of a round.
type Outcome struct {
	// Weights are the new global weights (global + aggregate of the
	// updates); Blob their encoding, whose sha256 is WeightsHash.
	Weights     tensor.Set
	Blob        []byte
	WeightsHash [32]byte
	// Accepted and Rejected are update hashes in byte-wise order. Rejected
	// includes the invalid updates and the rule's outliers; Reasons says
	// why each was rejected.
	Accepted, Rejected [][]byte
	Reasons            map[string]string
}

// ErrNothingToAggregate is returned when no update of the round is usable.
var ErrNothingToAggregate = errors.New("federation: no valid update to aggregate")

// AggregateRun aggregates a round of a run with spec: Aggregate under
// the run's rule, except that a client-dp run takes the unweighted mean
// of the valid updates within the client-dp norm bound (see the package's
// client-dp notes; the rule must be fedavg). Secure-aggregation runs are
// not aggregated by this sidecar. Validators and the replay both call it.
func AggregateRun(spec types.RunSpec, global tensor.Set, updates []Submitted) (Outcome, error) {
	switch spec.Privacy.Mode {
	case types.PRIVACY_MODE_NONE:
		return Aggregate(spec.Aggregation, global, updates)
	case types.PRIVACY_MODE_CLIENT_DP:
		p, _, err := DPParamsOf(spec.Privacy)
		if err != nil {
			return Outcome{}, err
		}
		ups := slices.Clone(updates)
		sort.Slice(ups, func(i, j int) bool { return bytes.Compare(ups[i].Hash, ups[j].Hash) < 0 })
		return aggregateClientDP(spec.Aggregation, p, global, ups)
	}
	return Outcome{}, fmt.Errorf("federation: privacy mode %s is not aggregated by this sidecar", spec.Privacy.Mode)
}

// Aggregate applies rule to the valid updates of a round, in byte-wise
// order of their hashes, and adds the result to global. Which updates are
// accepted: for Krum and Multi-Krum the ones the rule selects; for FedAvg
// all valid ones; for the other rules the valid ones that pass the outlier
// screen (OutlierFactor). Invalid updates (unfetchable, wrong shapes,
// non-finite, no samples) are rejected and left out of the aggregate.
func Aggregate(rule types.AggregationRule, global tensor.Set, updates []Submitted) (Outcome, error) {
	r, err := RuleOf(rule)
	if err != nil {
		return Outcome{}, err
	}
	ups := slices.Clone(updates)
	sort.Slice(ups, func(i, j int) bool { return bytes.Compare(ups[i].Hash, ups[j].Hash) < 0 })
	out := Outcome{Reasons: map[string]string{}}
	reject := func(h []byte, why string) {
		out.Rejected = append(out.Rejected, h)
		out.Reasons[string(h)] = why
	}
	var valid []Submitted
	var vecs []aggregate.Update
	for _, u := range ups {
		switch {
		case u.Invalid != "":
			reject(u.Hash, u.Invalid)
		case u.Samples == 0:
			reject(u.Hash, "no samples")
		case u.Update == nil:
			reject(u.Hash, "no update")
		default:
			if err := u.Update.SameLayout(global); err != nil {
				reject(u.Hash, err.Error())
				continue
			}
			valid = append(valid, u)
			vecs = append(vecs, aggregate.Update{Vector: aggregate.Flatten(u.Update), Samples: int(min(u.Samples, math.MaxInt32))})
		}
	}
	if len(valid) == 0 {
		return Outcome{}, ErrNothingToAggregate
	}
	delta, err := r.Aggregate(nil, vecs)
	if err != nil {
		return Outcome{}, err
	}
	accepted, err := acceptedUpdates(rule, r, vecs, delta)
	if err != nil {
		return Outcome{}, err
	}
	for i, u := range valid {
		if accepted[i] {
			out.Accepted = append(out.Accepted, u.Hash)
		} else {
			reject(u.Hash, "outlier under "+r.Name())
		}
	}
	return finish(out, global, delta)
}

// finish sorts out's hashes and completes it with the new global weights,
// global + delta, their blob and its hash.
func finish(out Outcome, global tensor.Set, delta []float32) (Outcome, error) {
	sortHashes(out.Accepted)
	sortHashes(out.Rejected)
	flat := aggregate.Flatten(global)
	for i := range flat {
		flat[i] += delta[i]
	}
	var err error
	if out.Weights, err = aggregate.Unflatten(flat, global); err != nil {
		return Outcome{}, err
	}
	if out.Blob, err = EncodeWeights(out.Weights); err != nil {
		return Outcome{}, err
	}
	out.WeightsHash = sha256.Sum256(out.Blob)
	return out, nil
}

// acceptedUpdates says which of vecs the rule accepts (see Aggregate).
func acceptedUpdates(rule types.AggregationRule, r aggregate.Rule, vecs []aggregate.Update, agg []float32) ([]bool, error) {
	ok := make([]bool, len(vecs))
	switch rule.Name {
	case types.RuleFedAvg:
		for i := range ok {
			ok[i] = true
		}
	case types.RuleKrum, types.RuleMultiKrum:
		chosen, err := r.(aggregate.Krum).Select(vecs)
		if err != nil {
			return nil, err
		}
		for _, i := range chosen {
			ok[i] = true
		}
	default:
		dist := make([]float64, len(vecs))
		for i, v := range vecs {
			dist[i] = math.Sqrt(aggregate.SqDistance(v.Vector, agg))
		}
		if len(vecs) < MinScreened {
			for i := range ok {
				ok[i] = true
			}
			break
		}
		sorted := slices.Clone(dist)
		slices.Sort(sorted)
		med := sorted[len(sorted)/2]
		if len(sorted)%2 == 0 {
			med = (sorted[len(sorted)/2-1] + sorted[len(sorted)/2]) / 2
		}
		for i, d := range dist {
			ok[i] = d <= OutlierFactor*med
		}
	}
	return ok, nil
}

func sortHashes(hs [][]byte) {
	sort.Slice(hs, func(i, j int) bool { return bytes.Compare(hs[i], hs[j]) < 0 })
}

// Result is the RoundResult validators attest for an outcome. The location
// of the new weights is not part of what they attest (types.RoundResult's
// ResultHash leaves it out): each validator serves the weights from its own
// blob store, and the one that reveals the result names its own.
func Result(runID uint64, round uint32, o Outcome, location string) types.RoundResult {
	return types.RoundResult{RunId: runID, Round: round, NewWeightsHash: o.WeightsHash[:],
		NewWeightsLocation: location, AcceptedUpdates: o.Accepted}
}

// Tamper returns o with its first weight nudged by 1/1024 and the blob and
// hash to match: the aggregate of a faulty or lying validator, which tests
// use to check that the honest majority outvotes it.
func Tamper(o Outcome) (Outcome, error) {
	flat := aggregate.Flatten(o.Weights)
	flat[0] += 1.0 / 1024
	w, err := aggregate.Unflatten(flat, o.Weights)
	if err != nil {
		return o, err
	}
	o.Weights = w
	if o.Blob, err = EncodeWeights(w); err != nil {
		return o, err
	}
	o.WeightsHash = sha256.Sum256(o.Blob)
	return o, nil
}
