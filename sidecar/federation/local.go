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
	// CheckpointRoot commits to the checkpoint after every local step;
	// Leaves are those checkpoints' hashes.
	CheckpointRoot [32]byte
	Leaves         [][32]byte
	// Losses are the local steps' losses.
	Losses []float32
}

// LocalUpdate trains cfg.Steps steps of SGD with momentum from global on
// data, with the dropout masks and batch order of seed (TrainingSeed), and
// returns the update (LocalTrainConfig).
func LocalUpdate(spec engine.Spec, global tensor.Set, data engine.Dataset, cfg LocalConfig, seed uint64) (LocalResult, error) {
	if len(data.Labels) == 0 {
		return LocalResult{}, fmt.Errorf("federation: no local examples to train on")
	}
	res, err := engine.Train(spec, global, data, LocalTrainConfig(cfg, len(data.Labels), seed))
	if err != nil {
		return LocalResult{}, err
	}
	blob, err := EncodeWeights(res.Update)
	if err != nil {
		return LocalResult{}, err
	}
	return LocalResult{Update: res.Update, Blob: blob, Samples: len(data.Labels),
		CheckpointRoot: CheckpointRoot(res.Checkpoints), Leaves: res.Checkpoints, Losses: res.Losses}, nil
}

// UpdateOf is the contribution of a participant that trained from global
// to final on samples examples, its local checkpoints committed by root:
// the update final − global (what LocalUpdate computes) and its blob.
func UpdateOf(global, final tensor.Set, samples int, root [32]byte) (LocalResult, error) {
	update := tensor.Set{}
	for name, t := range final {
		g, ok := global[name]
		if !ok || len(g.Data) != len(t.Data) {
			return LocalResult{}, fmt.Errorf("federation: tensor %q of the trained weights is not the global weights'", name)
		}
		d := make([]float32, len(t.Data))
		for i, v := range t.Data {
			d[i] = v - g.Data[i]
		}
		update[name] = tensor.Tensor{Shape: t.Shape, Data: d}
	}
	blob, err := EncodeWeights(update)
	if err != nil {
		return LocalResult{}, err
	}
	return LocalResult{Update: update, Blob: blob, Samples: samples, CheckpointRoot: root}, nil
}
