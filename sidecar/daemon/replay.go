package daemon

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"time"

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
}

// Replayed is a round recomputed in one process.
type Replayed struct {
	Outcome federation.Outcome
	// Train is the summed local training time, Aggregate the aggregation's.
	Train, Aggregate time.Duration
}

// ReplayRound recomputes a finalised round from the chain's record of it
// (its seed, the updates committed and by whom) and the participants'
// data, with the same functions providers and validators run, and checks
// every step against the chain: each recomputed update must hash to the
// participant's commitment, and the aggregate to the round's new weights.
// It is the in-process simulation whose hashes must equal the chain's.
func ReplayRound(spec engine.Spec, global tensor.Set, run fedtypes.Run, round fedtypes.Round, updates []fedtypes.Update, parts map[string]Participant) (Replayed, error) {
	cfg, err := federation.LocalConfigOf(run.Spec)
	if err != nil {
		return Replayed{}, err
	}
	var out Replayed
	var subs []federation.Submitted
	for _, u := range updates {
		p, ok := parts[u.Participant]
		if !ok {
			return out, fmt.Errorf("replay: round %d: no data for participant %s", round.Number, u.Participant)
		}
		start := time.Now()
		res, err := federation.LocalUpdate(spec, global, p.Data, cfg, federation.TrainingSeed(round.Seed, u.Participant))
		if err != nil {
			return out, err
		}
		if res, err = Attack(p.Attack, res, round.Seed); err != nil {
			return out, err
		}
		out.Train += time.Since(start)
		if h := sha256.Sum256(res.Blob); !bytes.Equal(h[:], u.Hash) {
			return out, fmt.Errorf("replay: round %d: %s's update hashes to %X in-process, %X on-chain", round.Number, u.Participant, h, u.Hash)
		}
		sub := federation.Submitted{Hash: u.Hash, Update: res.Update, Samples: u.SampleCount}
		if uint64(len(res.Blob)) != u.Size_ {
			// What a validator sees when it fetches this update.
			sub = federation.Submitted{Hash: u.Hash, Samples: u.SampleCount, Invalid: "blob does not match its commitment"}
		}
		subs = append(subs, sub)
	}
	start := time.Now()
	o, err := federation.Aggregate(run.Spec.Aggregation, global, subs)
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
