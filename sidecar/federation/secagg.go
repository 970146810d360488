package federation

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/secagg"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/x/federated/types"
)

// Secure aggregation of a round (PRIVACY_MODE_SECURE_AGGREGATION).
//
// The participants run sidecar/secagg's four steps through the chain (see
// x/federated/keeper/secagg.go); each message is a blob in its sender's
// store, committed on-chain. A participant's input is its update
// multiplied by its sample count, flattened in the canonical tensor order
// and fixed-point encoded (secagg.DefaultCodec), so that the unmasked sum
// divided by the survivors' total sample count is FedAvg's weighted mean.
// Validators learn that sum and nothing about any one update.
//
// Every party derives the session from the round alone (SecAggSession),
// and a participant's secagg id is its place in the round's selection
// plus one (SecAggID); a message whose sender id is not that of the
// participant that committed to it is refused, so nobody can speak for
// another.

// SecAggCodec is the fixed-point encoding of every secure-aggregation
// input: resolution 2^−32, values clipped to ±65536 (an update times its
// sample count stays far inside for any sane learning rate).
var SecAggCodec = secagg.DefaultCodec

// SecAggSession names a round's secure aggregation: sha256 of a domain
// label, the run, the round, its attempt and its on-chain seed. A retried
// round has a new seed, hence a new session.
func SecAggSession(round types.Round) [32]byte {
	h := sha256.New()
	h.Write([]byte("cohort/federated/secagg/v1"))
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], round.RunId)
	binary.BigEndian.PutUint32(b[8:12], round.Number)
	binary.BigEndian.PutUint32(b[12:], round.Attempt)
	h.Write(b[:])
	h.Write(round.Seed)
	return [32]byte(h.Sum(nil))
}

// SecAggParams are the session parameters of a round for a model of
// vectorLen parameters.
func SecAggParams(round types.Round, vectorLen int) secagg.Params {
	return secagg.Params{Session: SecAggSession(round), Threshold: int(round.SecaggThreshold), VectorLen: vectorLen}
}

// SecAggID is participant's secagg client id in round: its index in the
// selection plus one.
func SecAggID(round types.Round, participant string) (secagg.ClientID, error) {
	i := slices.Index(round.Selected, participant)
	if i < 0 {
		return 0, fmt.Errorf("federation: %s was not selected for round %d of run %d", participant, round.Number, round.RunId)
	}
	return secagg.ClientID(i + 1), nil
}

// SecAggInput is a participant's input: update × samples, flattened and
// encoded with SecAggCodec.
func SecAggInput(update tensor.Set, samples int) ([]uint64, error) {
	if samples <= 0 {
		return nil, fmt.Errorf("federation: no samples")
	}
	flat := aggregate.Flatten(update)
	for i := range flat {
		flat[i] *= float32(samples)
	}
	x, clipped, err := SecAggCodec.Encode(nil, flat)
	if err != nil {
		return nil, err
	}
	if clipped > 0 {
		return nil, fmt.Errorf("federation: %d values of update × samples exceed ±%v", clipped, SecAggCodec.Clip)
	}
	return x, nil
}

// SecAggRound is what the chain recorded of a secure-aggregation round,
// with each message fetched and decoded.
type SecAggRound struct {
	Keys    []*secagg.AdvertiseKeys
	Shares  []*secagg.ShareKeys
	Answers []*secagg.UnmaskShares
	// Masked are the submitted masked inputs, with their update hashes and
	// sample counts, as on-chain.
	Masked []MaskedUpdate
}

// MaskedUpdate is one submitted masked input.
type MaskedUpdate struct {
	Hash    []byte
	Samples uint64
	Input   *secagg.MaskedInput
}

// CheckSender fails unless a message's sender id is that of the
// participant that committed to it on-chain.
func CheckSender(round types.Round, participant string, from secagg.ClientID) error {
	id, err := SecAggID(round, participant)
	if err != nil {
		return err
	}
	if id != from {
		return fmt.Errorf("federation: %s committed to a message from secagg client %d, its id is %d", participant, from, id)
	}
	return nil
}

// AggregateSecAgg unmasks the sum of a round's masked inputs and adds the
// weighted mean update to global: Σ(samples·update) / Σ samples over the
// survivors. Every masked input is accepted (the rule is fedavg, and
// nobody can tell an outlier from a sum). Any inconsistency — a message of
// the wrong session, a wrong share, a masked input that does not fit the
// model — fails the round's aggregation; the chain then retries the round
// after its aggregation timeout.
func AggregateSecAgg(global tensor.Set, round types.Round, r SecAggRound) (Outcome, error) {
	n := len(aggregate.Flatten(global))
	p := SecAggParams(round, n)
	masked := make([]*secagg.MaskedInput, len(r.Masked))
	samplesOf := map[secagg.ClientID]MaskedUpdate{}
	for i, m := range r.Masked {
		masked[i] = m.Input
		samplesOf[m.Input.From] = m
	}
	res, err := secagg.Aggregate(p, r.Keys, r.Shares, masked, r.Answers)
	if err != nil {
		return Outcome{}, err
	}
	var total uint64
	out := Outcome{Reasons: map[string]string{}}
	for _, id := range res.Survivors {
		m := samplesOf[id]
		if m.Samples == 0 || total+m.Samples < total {
			return Outcome{}, fmt.Errorf("federation: survivor %d has sample count %d", id, m.Samples)
		}
		total += m.Samples
		out.Accepted = append(out.Accepted, m.Hash)
	}
	sum, err := SecAggCodec.Decode(nil, res.Sum, len(res.Survivors))
	if err != nil {
		return Outcome{}, err
	}
	inv := 1 / float64(total)
	delta := make([]float32, len(sum))
	for i, s := range sum {
		v := float64(s) * inv
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Outcome{}, fmt.Errorf("federation: non-finite aggregate at %d", i)
		}
		delta[i] = float32(v)
	}
	return finish(out, global, delta)
}
