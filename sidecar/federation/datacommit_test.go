package federation

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
)

// A committee shown one revealed batch per sampled step re-executes a
// participant's local steps exactly; a batch that is not the committed
// data, or not the step's, is refused.
func TestRevealedBatchesReexecuteLocalSteps(t *testing.T) {
	spec := testSpec()
	global, err := engine.Init(spec, 1)
	require.NoError(t, err)
	shard := data.Clusters(70, 8, 3, 2, 5)
	cfg := LocalConfig{Steps: 7, BatchSize: 16, LearningRate: 0.05}
	seed := TrainingSeed([]byte("round seed"), "participant")
	res, err := LocalUpdate(spec, global, shard, cfg, seed)
	require.NoError(t, err)
	require.Len(t, res.Leaves, cfg.Steps)
	require.Equal(t, res.CheckpointRoot, CheckpointRoot(res.Leaves))

	leaves := DataLeaves(shard)
	root := DataRoot(shard)
	tc := LocalTrainConfig(cfg, len(shard.Labels), seed)
	cks := []engine.Checkpoint{engine.InitialCheckpoint(global, tc.Optimizer)}
	_, err = engine.Resume(spec, cks[0], shard, tc, cfg.Steps, func(c engine.Checkpoint, _ float32) error {
		cks = append(cks, c.Clone())
		return nil
	})
	require.NoError(t, err)
	n := uint64(len(shard.Labels))
	for s := range uint64(cfg.Steps) {
		b, err := RevealBatch(shard, leaves, tc, s)
		require.NoError(t, err)
		x, labels, err := CheckBatch(b, root, n, shard.Width, tc, s)
		require.NoError(t, err)
		next, err := engine.StepOnBatch(spec, cks[s], x, labels, tc)
		require.NoError(t, err)
		h, err := next.Hash()
		require.NoError(t, err)
		require.Equal(t, res.Leaves[s], h, "local step %d re-executed from its revealed batch", s)
	}

	b, err := RevealBatch(shard, leaves, tc, 3)
	require.NoError(t, err)
	_, _, err = CheckBatch(b, root, n, shard.Width, tc, 4)
	require.Error(t, err, "another step's batch")
	tampered := b
	tampered.Examples = append([]BatchExample(nil), b.Examples...)
	tampered.Examples[2].Inputs = append([]byte(nil), b.Examples[2].Inputs...)
	tampered.Examples[2].Inputs[0] ^= 1
	_, _, err = CheckBatch(tampered, root, n, shard.Width, tc, 3)
	require.ErrorContains(t, err, "not in the committed data")
	relabelled := b
	relabelled.Examples = append([]BatchExample(nil), b.Examples...)
	relabelled.Examples[0].Label = (b.Examples[0].Label + 1) % 3
	_, _, err = CheckBatch(relabelled, root, n, shard.Width, tc, 3)
	require.Error(t, err, "a changed label")
	other := DataRoot(data.Clusters(70, 8, 3, 2, 6))
	_, _, err = CheckBatch(b, other, n, shard.Width, tc, 3)
	require.Error(t, err, "another shard's commitment")
	_, _, err = CheckBatch(b, root, n, shard.Width+1, tc, 3)
	require.Error(t, err, "another width")
}
