package daemon

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/tensor"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
)

// Participant is what a replay knows of a provider: its local data and
// the attack it was told to make ("" for an honest one).
type Participant struct {
	Data   engine.Dataset
	Attack string
	// Residuals are its error-feedback memories in top-k runs (as the
	// provider keeps them); nil for runs that do not compress.
	Residuals *federation.Residuals
}

// Replayed is a round recomputed in one process.
type Replayed struct {
	Outcome federation.Outcome
	// Train is the summed local training time, Aggregate the aggregation's.
	Train, Aggregate time.Duration
	// Private is set for a client-dp round: the updates carry private
	// noise, so their hashes could not be recomputed; the committed blobs
	// were fetched and checked against their commitments instead, and the
	// aggregate recomputed from them.
	Private bool
}

// FetchUpdate gets the blob an update commits to from its location and
// verifies it against the committed hash and size; errors wrap
// blobstore.ErrCorrupt or blobstore.ErrTooLarge when the bytes served do
// not match the commitment.
type FetchUpdate func(u fedtypes.Update) ([]byte, error)

// ReplayRound recomputes a finalised round from the chain's record of it
// (its seed, the updates committed and by whom) and the participants'
// data, with the same functions providers and validators run, and checks
// every step against the chain: each recomputed update must hash to the
// participant's commitment, and the aggregate to the round's new weights.
// It is the in-process simulation whose hashes must equal the chain's.
//
// A client-dp round cannot be replayed that way: every update carries
// noise from its provider's private randomness. For one, ReplayRound
// fetches the committed blobs with fetch, checks them against their
// commitments (a blob that does not match is rejected, as validators
// reject it), recomputes the aggregate from them with the validators'
// function and compares its hash with the chain's. When parts are given,
// it also re-runs each participant's deterministic local training and
// checks its checkpoint root against the committed one (an attacker's
// changes to its update do not show there).
func ReplayRound(spec engine.Spec, global tensor.Set, run fedtypes.Run, round fedtypes.Round, updates []fedtypes.Update, parts map[string]Participant, fetch FetchUpdate) (Replayed, error) {
	cfg, err := federation.LocalConfigOf(run.Spec)
	if err != nil {
		return Replayed{}, err
	}
	if run.Spec.Privacy.Mode == fedtypes.PRIVACY_MODE_CLIENT_DP {
		return replayPrivate(spec, global, run, round, updates, parts, fetch, cfg)
	}
	var out Replayed
	var subs []federation.Submitted
	for _, u := range updates {
		p, ok := parts[u.Participant]
		if !ok {
			return out, fmt.Errorf("replay: round %d: no data for participant %s", round.Number, u.Participant)
		}
		start := time.Now()
		seed := federation.TrainingSeed(round.Seed, u.Participant)
		var res federation.LocalResult
		if run.Spec.VerifyUpdates {
			// Trained the way its provider trains a verified round.
			var x *execJob
			if x, err = roundExec(spec, run, global, p.Data, seed, p.Attack); err == nil {
				res, err = verifiedUpdate(x)
			}
		} else {
			res, err = federation.LocalUpdate(spec, global, p.Data, cfg, seed)
		}
		if err != nil {
			return out, err
		}
		if res, err = Attack(p.Attack, res, round.Seed); err != nil {
			return out, err
		}
		residual, err := p.Residuals.Get(run.Id)
		if err != nil {
			return out, err
		}
		if res, residual, err = federation.Compress(run.Spec, res, residual); err != nil {
			return out, err
		}
		out.Train += time.Since(start)
		if h := sha256.Sum256(res.Blob); !bytes.Equal(h[:], u.Hash) {
			return out, fmt.Errorf("replay: round %d: %s's update hashes to %X in-process, %X on-chain", round.Number, u.Participant, h, u.Hash)
		}
		if err := p.Residuals.Set(run.Id, residual); err != nil {
			return out, err
		}
		sub := federation.Submitted{Hash: u.Hash, Update: res.Update, Samples: u.SampleCount}
		if uint64(len(res.Blob)) != u.Size_ {
			// What a validator sees when it fetches this update.
			sub = federation.Submitted{Hash: u.Hash, Samples: u.SampleCount, Invalid: "blob does not match its commitment"}
		}
		subs = append(subs, sub)
	}
	return aggregateReplay(global, run, round, subs, out)
}

// aggregateReplay aggregates subs as validators do and compares the
// result with the round's new weights.
func aggregateReplay(global tensor.Set, run fedtypes.Run, round fedtypes.Round, subs []federation.Submitted, out Replayed) (Replayed, error) {
	start := time.Now()
	o, err := federation.AggregateRun(run.Spec, global, subs)
	if err != nil {
		return out, err
	}
	out.Aggregate = time.Since(start)
	out.Outcome = o
	if !bytes.Equal(o.WeightsHash[:], round.NewWeightsHash) {
		return out, fmt.Errorf("replay: round %d: weights hash %X in-process, %X on-chain", round.Number, o.WeightsHash, round.NewWeightsHash)
	}
	return out, nil
}

// replayPrivate is ReplayRound for a client-dp round.
func replayPrivate(spec engine.Spec, global tensor.Set, run fedtypes.Run, round fedtypes.Round, updates []fedtypes.Update, parts map[string]Participant, fetch FetchUpdate, cfg federation.LocalConfig) (Replayed, error) {
	out := Replayed{Private: true}
	if fetch == nil {
		return out, fmt.Errorf("replay: round %d is client-dp: its update blobs must be fetched", round.Number)
	}
	var subs []federation.Submitted
	for _, u := range updates {
		if p, ok := parts[u.Participant]; ok {
			start := time.Now()
			res, err := federation.LocalUpdate(spec, global, p.Data, cfg, federation.TrainingSeed(round.Seed, u.Participant))
			if err != nil {
				return out, err
			}
			out.Train += time.Since(start)
			if !bytes.Equal(res.CheckpointRoot[:], u.CheckpointRoot) {
				return out, fmt.Errorf("replay: round %d: %s's checkpoint root is %X in-process, %X on-chain", round.Number, u.Participant, res.CheckpointRoot, u.CheckpointRoot)
			}
		}
		sub := federation.Submitted{Hash: u.Hash, Samples: u.SampleCount}
		blob, err := fetch(u)
		switch {
		case err == nil:
			if sub.Update, err = federation.DecodeUpdate(run.Spec, blob, global); err != nil {
				sub.Invalid = "undecodable: " + err.Error()
			}
		case errors.Is(err, blobstore.ErrCorrupt), errors.Is(err, blobstore.ErrTooLarge):
			sub.Invalid = "blob does not match its commitment: " + err.Error()
		default:
			return out, fmt.Errorf("replay: round %d: %s's update: %w", round.Number, u.Participant, err)
		}
		subs = append(subs, sub)
	}
	return aggregateReplay(global, run, round, subs, out)
}
