package training

import (
	"crypto/sha256"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// TestReexecutionCost measures what a verifier's re-execution costs
// against the provider's training: a 1,000-step job of the demo's MLP
// (784 → 128 → 10, batch 64) trained in full, against re-executing k of
// its steps the way a validator does (decode the fetched checkpoint, check
// its hash, run the step, hash the result), for the levels' k. It runs
// with COHORT_COST=1 (scripts/reexec-cost.sh); STEPS, OPTIMIZER, BATCH
// override.
func TestReexecutionCost(t *testing.T) {
	if os.Getenv("COHORT_COST") == "" {
		t.Skip("measurement: set COHORT_COST=1 (scripts/reexec-cost.sh)")
	}
	steps := 1000
	if s, err := strconv.Atoi(os.Getenv("STEPS")); err == nil && s > 0 {
		steps = s
	}
	opt := engine.OptimizerAdam
	if o := os.Getenv("OPTIMIZER"); o != "" {
		opt = o
	}
	batch := 64
	if b, err := strconv.Atoi(os.Getenv("BATCH")); err == nil && b > 0 {
		batch = b
	}
	spec := engine.Spec{Layers: []engine.LayerSpec{
		{Kind: engine.KindDense, Inputs: 784, Outputs: 128}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 128, Outputs: 10},
	}}
	ds := data.Clusters(4096, 784, 10, 2, 7)
	w, err := engine.Init(spec, 1)
	require.NoError(t, err)
	cfg := engine.TrainConfig{Steps: steps, BatchSize: batch, LearningRate: 0.001, Optimizer: opt, Seed: 3}
	if opt == engine.OptimizerSGD {
		cfg.Momentum, cfg.LearningRate = Momentum, 0.01
	}

	// The provider: the whole job, keeping the checkpoints a verifier
	// would fetch (encoded, as served).
	keep := map[uint64][]byte{}
	sample := func(k int) []uint64 { // k spread steps, as a sample would be
		out := make([]uint64, k)
		for i := range out {
			out[i] = uint64((i*steps)/k + steps/(2*k))
		}
		return out
	}
	want := map[uint64]bool{}
	for _, k := range []int{44, 66, 100} {
		for _, s := range sample(k) {
			want[s] = true
		}
	}
	leaves := make([][32]byte, 0, steps)
	t0 := time.Now()
	_, err = engine.Resume(spec, engine.InitialCheckpoint(w, opt), ds, cfg, steps, func(c engine.Checkpoint, _ float32) error {
		h, err := c.Hash()
		leaves = append(leaves, h)
		if want[c.Step] { // the checkpoint before sampled step c.Step
			b, err := c.Encode()
			keep[c.Step] = b
			return err
		}
		return err
	})
	train := time.Since(t0)
	require.NoError(t, err)
	// The provider's own cost: engine.Train, which hashes every step's
	// checkpoint too (the run above also encoded the kept checkpoints).
	// The best of two runs, and of three for each re-execution below: the
	// machine may be shared.
	var provider time.Duration
	for range 2 {
		t1 := time.Now()
		res, err := engine.Train(spec, w, ds, cfg)
		require.NoError(t, err)
		require.Equal(t, leaves, res.Checkpoints)
		if d := time.Since(t1); provider == 0 || d < provider {
			provider = d
		}
	}
	t.Logf("job: %d steps of %s, batch %d, %d weights: engine.Train with checkpoint leaves %s (%s with the kept checkpoints encoded)",
		steps, opt, batch, spec.Params(), provider.Round(time.Millisecond), train.Round(time.Millisecond))

	for _, k := range []int{44, 66, 100} {
		var re time.Duration
		for range 3 {
			t2 := time.Now()
			reexecute(t, spec, w, ds, cfg, keep, leaves, sample(k))
			if d := time.Since(t2); re == 0 || d < re {
				re = d
			}
		}
		t.Logf("re-executing k=%d sampled steps: %s = %.1f%% of the job's training time (k/steps = %.1f%%)",
			k, re.Round(time.Millisecond), 100*float64(re)/float64(provider), 100*float64(k)/float64(steps))
	}
}

// reexecute does a validator's work on the sampled steps (ascending), as
// sidecar/daemon's checkSteps does: one batch cursor for the task, and
// each step from its fetched checkpoint on its batch alone.
func reexecute(t *testing.T, spec engine.Spec, w tensor.Set, ds engine.Dataset, cfg engine.TrainConfig, keep map[uint64][]byte, leaves [][32]byte, sampled []uint64) {
	opt := cfg.Optimizer
	cur, err := engine.NewBatchCursor(cfg, len(ds.Labels))
	require.NoError(t, err)
	for _, s := range sampled {
		{
			prev := engine.InitialCheckpoint(w, opt)
			if s > 0 {
				b := keep[s]
				require.Equal(t, leaves[s-1], sha256.Sum256(b))
				var err error
				prev, err = engine.DecodeCheckpoint(b, spec)
				require.NoError(t, err)
			}
			idx, err := cur.Batch(s)
			require.NoError(t, err)
			x, labels := engine.Gather(ds, idx)
			next, err := engine.StepOnBatch(spec, prev, x, labels, cfg)
			require.NoError(t, err)
			h, err := next.Hash()
			require.NoError(t, err)
			require.Equal(t, leaves[s], h)
		}
	}
}
