package engine

import (
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"
)

// dropMLP is an MLP with dropout, so that re-executing a step also needs
// the step's dropout key.
var dropMLP = Spec{Layers: []LayerSpec{
	{Kind: KindDense, Inputs: 20, Outputs: 16}, {Kind: KindReLU}, {Kind: KindDropout, Rate: 0.25}, {Kind: KindDense, Inputs: 16, Outputs: 4},
}}

// TestStepFromReproducesEveryLeaf: re-running any step s from the
// checkpoint after step s−1 (the initial checkpoint for s = 0) gives leaf
// s bit for bit, for SGD with momentum and for Adam, with dropout and
// several passes over the data (the batch order is skipped forward); the
// checkpoint survives its encoding, and Resume from a snapshot
// regenerates every later checkpoint.
func TestStepFromReproducesEveryLeaf(t *testing.T) {
	data := clusters(50, 20, 4, 3) // 50 examples, batch 16: a new permutation every 3⅛ steps
	for _, cfg := range []TrainConfig{
		{Steps: 12, BatchSize: 16, LearningRate: 0.05, Momentum: 0.9, Seed: 8},
		{Steps: 12, BatchSize: 16, LearningRate: 0.01, Optimizer: OptimizerAdam, Seed: 9},
	} {
		w, err := Init(dropMLP, 4)
		require.NoError(t, err)
		res, err := Train(dropMLP, w, data, cfg)
		require.NoError(t, err)
		require.Len(t, res.Checkpoints, cfg.Steps)

		// Every checkpoint, kept from one resumed run of the whole job.
		var cks []Checkpoint
		_, err = Resume(dropMLP, InitialCheckpoint(w, cfg.Optimizer), data, cfg, cfg.Steps, func(c Checkpoint, _ float32) error {
			cks = append(cks, c.Clone())
			return nil
		})
		require.NoError(t, err)
		for s := 0; s < cfg.Steps; s++ {
			h, err := cks[s].Hash()
			require.NoError(t, err)
			require.Equal(t, res.Checkpoints[s], h, "%s: Resume's checkpoint %d", cfg.Optimizer, s)
			require.Equal(t, uint64(s+1), cks[s].Step)

			prev := InitialCheckpoint(w, cfg.Optimizer)
			if s > 0 {
				// Through the wire: the verifier decodes what it fetched.
				b, err := cks[s-1].Encode()
				require.NoError(t, err)
				require.Equal(t, res.Checkpoints[s-1], sha256.Sum256(b))
				prev, err = DecodeCheckpoint(b, dropMLP)
				require.NoError(t, err)
			}
			next, err := StepFrom(dropMLP, prev, data, cfg)
			require.NoError(t, err)
			got, err := next.Hash()
			require.NoError(t, err)
			require.Equal(t, res.Checkpoints[s], got, "%s: step %d re-executed", cfg.Optimizer, s)
		}
		// A regenerated checkpoint from a snapshot at step 5.
		last, err := Resume(dropMLP, cks[4], data, cfg, cfg.Steps-5, nil)
		require.NoError(t, err)
		lh, err := last.Hash()
		require.NoError(t, err)
		require.Equal(t, res.Checkpoints[cfg.Steps-1], lh)
		wh, err := last.Weights.Hash()
		require.NoError(t, err)
		rh, err := res.Weights.Hash()
		require.NoError(t, err)
		require.Equal(t, rh, wh)

		// A wrong step, wrong state or wrong optimizer does not reproduce.
		wrong := cks[5].Clone()
		wrong.Step = 3
		next, err := StepFrom(dropMLP, wrong, data, cfg)
		require.NoError(t, err)
		got, _ := next.Hash()
		require.NotEqual(t, res.Checkpoints[6], got)
		other := cfg
		other.Optimizer = map[string]string{OptimizerAdam: OptimizerSGD, "": OptimizerAdam}[cfg.Optimizer]
		_, err = StepFrom(dropMLP, cks[5], data, other)
		require.Error(t, err)
	}
}

// TestStepOnBatch: a step re-executes to the same checkpoint from its
// batch's examples alone (BatchIndices, in draw order): what a verifier
// that was shown one batch of private data has. Another step's batch does
// not reproduce it.
func TestStepOnBatch(t *testing.T) {
	data := clusters(50, 20, 4, 3)
	cfg := TrainConfig{Steps: 9, BatchSize: 16, LearningRate: 0.05, Momentum: 0.9, Seed: 8}
	w, err := Init(dropMLP, 4)
	require.NoError(t, err)
	cks := []Checkpoint{InitialCheckpoint(w, cfg.Optimizer)}
	_, err = Resume(dropMLP, cks[0], data, cfg, cfg.Steps, func(c Checkpoint, _ float32) error {
		cks = append(cks, c.Clone())
		return nil
	})
	require.NoError(t, err)
	batch := func(s uint64) ([]float32, []int) {
		idx, err := BatchIndices(cfg, len(data.Labels), s)
		require.NoError(t, err)
		return Gather(data, idx)
	}
	// One cursor over ascending steps, skipping some, gives each step's batch.
	cur, err := NewBatchCursor(cfg, len(data.Labels))
	require.NoError(t, err)
	for _, s := range []uint64{0, 1, 4, 5, 8} {
		got, err := cur.Batch(s)
		require.NoError(t, err)
		want, _ := BatchIndices(cfg, len(data.Labels), s)
		require.Equal(t, want, got, "the cursor's batch of step %d", s)
	}
	_, err = cur.Batch(2)
	require.Error(t, err, "a cursor goes forward only")
	for s := range uint64(cfg.Steps) {
		x, labels := batch(s)
		next, err := StepOnBatch(dropMLP, cks[s], x, labels, cfg)
		require.NoError(t, err)
		got, _ := next.Hash()
		want, _ := cks[s+1].Hash()
		require.Equal(t, want, got, "step %d from its batch alone", s)
		if s > 0 {
			ox, ol := batch(s - 1)
			other, err := StepOnBatch(dropMLP, cks[s], ox, ol, cfg)
			require.NoError(t, err)
			oh, _ := other.Hash()
			require.NotEqual(t, want, oh, "step %d from another step's batch", s)
		}
	}
	_, err = StepOnBatch(dropMLP, cks[0], make([]float32, 3), []int{1}, cfg)
	require.Error(t, err, "a batch of the wrong size")
}

// TestInitialCheckpointThroughTheWire: the initial checkpoint (no
// optimizer state yet) decodes to one that steps exactly like it.
func TestInitialCheckpointThroughTheWire(t *testing.T) {
	data := clusters(50, 20, 4, 3)
	for _, opt := range []string{OptimizerSGD, OptimizerAdam} {
		cfg := TrainConfig{BatchSize: 16, LearningRate: 0.05, Momentum: 0.9, Optimizer: opt, Seed: 8}
		w, err := Init(dropMLP, 4)
		require.NoError(t, err)
		ck := InitialCheckpoint(w, opt)
		b, err := ck.Encode()
		require.NoError(t, err)
		dck, err := DecodeCheckpoint(b, dropMLP)
		require.NoError(t, err)
		a, err := StepFrom(dropMLP, ck, data, cfg)
		require.NoError(t, err)
		c, err := StepFrom(dropMLP, dck, data, cfg)
		require.NoError(t, err)
		ha, _ := a.Hash()
		hc, _ := c.Hash()
		require.Equal(t, ha, hc, opt)
	}
}

func TestDecodeCheckpointRefusesMalformed(t *testing.T) {
	w, err := Init(dropMLP, 1)
	require.NoError(t, err)
	b, err := InitialCheckpoint(w, OptimizerAdam).Encode()
	require.NoError(t, err)
	_, err = DecodeCheckpoint(b, dropMLP)
	require.NoError(t, err)
	_, err = DecodeCheckpoint(b[:len(b)-1], dropMLP)
	require.Error(t, err)
	_, err = DecodeCheckpoint(append(b, 0), dropMLP)
	require.Error(t, err)
	_, err = DecodeCheckpoint(b, mlp)
	require.Error(t, err, "another model's layout")
}
