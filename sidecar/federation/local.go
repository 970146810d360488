package federation

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// LocalResult is a participant's contribution to a round.
type LocalResult struct {
	// Update is new weights − global weights; Blob its encoding
	// (EncodeWeights), whose sha256 and size go on-chain.
	Update tensor.Set
	Blob   []byte
	// Samples is the number of examples trained on, FedAvg's weight.
	Samples int
	// CheckpointRoot commits to the weights after every local step.
	CheckpointRoot [32]byte
	// Losses are the local steps' losses.
	Losses []float32
}

// LocalUpdate trains cfg.Steps steps of SGD with momentum from global on
// data, with the dropout masks and batch order of seed (TrainingSeed), and
// returns the update. A shard smaller than the batch trains on batches of
// the whole shard.
func LocalUpdate(spec engine.Spec, global tensor.Set, data engine.Dataset, cfg LocalConfig, seed uint64) (LocalResult, error) {
	if len(data.Labels) == 0 {
		return LocalResult{}, fmt.Errorf("federation: no local examples to train on")
	}
	res, err := engine.Train(spec, global, data, engine.TrainConfig{
		Steps: cfg.Steps, BatchSize: min(cfg.BatchSize, len(data.Labels)),
		LearningRate: cfg.LearningRate, Momentum: Momentum, Seed: seed,
	})
	if err != nil {
		return LocalResult{}, err
	}
	blob, err := EncodeWeights(res.Update)
	if err != nil {
		return LocalResult{}, err
	}
	return LocalResult{Update: res.Update, Blob: blob, Samples: len(data.Labels),
		CheckpointRoot: CheckpointRoot(res.Checkpoints), Losses: res.Losses}, nil
}
