// Package federation is one round of a Cohort federated run as the
// off-chain parties compute it:
//
//   - a selected provider trains from the round's global weights on its own
//     shard (LocalUpdate) and commits to the update's blob;
//   - each validator of the committee fetches the round's updates, checks
//     them, and aggregates them with the run's rule (Aggregate), which also
//     says which updates were accepted and which were rejected as outliers;
//   - the validators attest the hash of the resulting types.RoundResult
//     (Result) in their vote extensions.
//
// Providers, validators and the in-process replay (Replay) all call these
// functions, so the global weights hash the chain records equals the
// replay's, bit for bit. Everything here is deterministic: the same inputs
// give the same bytes on any machine and thread count, with one deliberate
// exception: in a client-dp run a provider adds Gaussian noise from private
// randomness to its clipped update (PrivatizeUpdate, see clientdp.go), so
// the update cannot be recomputed by anyone; validators and the replay
// aggregate the committed blobs (AggregateRun), which is deterministic.
package federation

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/cohortchain/cohort/x/federated/types"
)

// TrainingSeed is the seed of a participant's local training in a round:
// the first 8 bytes (big endian) of sha256("cohort/federated/train/v1" ‖
// round seed ‖ participant address). The round seed is drawn on-chain when
// the round opens, so nobody knows a round's seeds in advance, and every
// participant's differ.
func TrainingSeed(roundSeed []byte, participant string) uint64 {
	h := sha256.New()
	h.Write([]byte("cohort/federated/train/v1"))
	h.Write(roundSeed)
	h.Write([]byte(participant))
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// Momentum is the heavy-ball momentum of every participant's local SGD.
const Momentum = 0.9

// LocalConfig is how a participant trains locally in every round.
type LocalConfig struct {
	Steps        int
	BatchSize    int
	LearningRate float32
}

// LocalConfigOf reads the local training settings of a run.
func LocalConfigOf(s types.RunSpec) (LocalConfig, error) {
	lr, err := parseDec("learning_rate", s.LearningRate)
	if err != nil {
		return LocalConfig{}, err
	}
	if s.LocalSteps == 0 || s.BatchSize == 0 || !(lr > 0) {
		return LocalConfig{}, fmt.Errorf("federation: run needs positive local steps, batch size and learning rate, got %d, %d, %v", s.LocalSteps, s.BatchSize, lr)
	}
	return LocalConfig{Steps: int(s.LocalSteps), BatchSize: int(s.BatchSize), LearningRate: float32(lr)}, nil
}

// parseDec reads a cosmos.Dec string ("0.05") as the nearest float64.
// strconv's conversion is correctly rounded, hence the same everywhere.
func parseDec(field, s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("federation: %s %q: %w", field, s, err)
	}
	return v, nil
}
