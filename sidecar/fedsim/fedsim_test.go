package fedsim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
)

// clusters is a separable synthetic dataset (data.Clusters).
func clusters(n, width, classes int, seed uint64) engine.Dataset {
	return data.Clusters(n, width, classes, 1.5, seed)
}

func TestFederatedLearnsResistsAndIsDeterministic(t *testing.T) {
	const classes = 4
	train, test := clusters(2000, 20, classes, 1), clusters(400, 20, classes, 1)
	shards, err := data.PartitionDirichlet(train.Labels, classes, 10, 0.5, 3)
	require.NoError(t, err)
	spec := engine.Spec{Layers: []engine.LayerSpec{{Kind: "dense", Inputs: 20, Outputs: 16}, {Kind: "relu"}, {Kind: "dense", Inputs: 16, Outputs: classes}}}
	run := func(rule aggregate.Rule, attack string, attackers int) []Round {
		rounds, _, err := Run(Config{Spec: spec, Shards: shards, Attackers: attackers, Attack: attack, Rule: rule,
			Rounds: 8, LocalSteps: 5, BatchSize: 16, LearningRate: 0.05, Seed: 7}, train, test, classes)
		require.NoError(t, err)
		return rounds
	}
	clean := run(aggregate.FedAvg{}, AttackNone, 0)
	require.Greater(t, clean[len(clean)-1].Accuracy, 0.9, "FedAvg learns on non-IID shards")
	again := run(aggregate.FedAvg{}, AttackNone, 0)
	require.Equal(t, clean, again, "deterministic: the same hashes round by round")

	attacked := run(aggregate.FedAvg{}, AttackSignFlip, 2)
	robust := run(aggregate.Median{}, AttackSignFlip, 2)
	t.Logf("sign flip, 2 of 10: mean %.3f, median %.3f (clean %.3f)", attacked[7].Accuracy, robust[7].Accuracy, clean[7].Accuracy)
	require.Greater(t, robust[7].Accuracy, attacked[7].Accuracy)
	require.Greater(t, robust[7].Accuracy, 0.8)

	_, _, err = Run(Config{Spec: spec, Shards: shards, Attackers: 10, Rule: aggregate.FedAvg{}}, train, test, classes)
	require.Error(t, err)
	_, _, err = Run(Config{Spec: spec, Shards: shards, Rule: aggregate.FedAvg{}, TopK: 1.5}, train, test, classes)
	require.Error(t, err)
}

// TestTopKWithErrorFeedback: clients sending a tenth of their update (with
// error feedback) still learn, and send the bytes the encoding promises.
func TestTopKWithErrorFeedback(t *testing.T) {
	const classes = 4
	train, test := clusters(2000, 20, classes, 1), clusters(400, 20, classes, 1)
	shards, err := data.PartitionDirichlet(train.Labels, classes, 10, 0.5, 3)
	require.NoError(t, err)
	spec := engine.Spec{Layers: []engine.LayerSpec{{Kind: "dense", Inputs: 20, Outputs: 16}, {Kind: "relu"}, {Kind: "dense", Inputs: 16, Outputs: classes}}}
	cfg := Config{Spec: spec, Shards: shards, Rule: aggregate.FedAvg{}, Rounds: 12, LocalSteps: 5, BatchSize: 16, LearningRate: 0.05, Seed: 7, TopK: 0.1}
	sparse, _, err := Run(cfg, train, test, classes)
	require.NoError(t, err)
	last := sparse[len(sparse)-1]
	require.Greater(t, last.Accuracy, 0.85)
	// 404 parameters, 40 kept: 8 header bytes and ≤ 2+4 bytes per entry.
	require.Less(t, last.BytesSent*10, last.DenseBytes*2, "under a fifth of the dense bytes")
	again, _, err := Run(cfg, train, test, classes)
	require.NoError(t, err)
	require.Equal(t, sparse, again, "deterministic")
}

// TestSecureAggregationMatchesFedAvg: FedAvg through secure aggregation
// (the server sees only masked updates) follows plain FedAvg round by
// round, up to fixed-point rounding, and is itself deterministic.
func TestSecureAggregationMatchesFedAvg(t *testing.T) {
	const classes = 4
	train, test := clusters(2000, 20, classes, 1), clusters(400, 20, classes, 1)
	shards, err := data.PartitionDirichlet(train.Labels, classes, 10, 0.5, 3)
	require.NoError(t, err)
	spec := engine.Spec{Layers: []engine.LayerSpec{{Kind: "dense", Inputs: 20, Outputs: 16}, {Kind: "relu"}, {Kind: "dense", Inputs: 16, Outputs: classes}}}
	cfg := Config{Spec: spec, Shards: shards, Rule: aggregate.FedAvg{}, Rounds: 6, LocalSteps: 5, BatchSize: 16, LearningRate: 0.05, Seed: 7}
	plain, plainW, err := Run(cfg, train, test, classes)
	require.NoError(t, err)
	cfg.SecureAggregation = true
	secure, secureW, err := Run(cfg, train, test, classes)
	require.NoError(t, err)
	for r := range plain {
		require.InDelta(t, plain[r].Accuracy, secure[r].Accuracy, 0.01, "round %d", r+1)
	}
	a, b := aggregate.Flatten(plainW), aggregate.Flatten(secureW)
	for i := range a {
		require.InDelta(t, a[i], b[i], 1e-4, "weight %d", i)
	}
	again, _, err := Run(cfg, train, test, classes)
	require.NoError(t, err)
	require.Equal(t, secure, again, "deterministic")

	cfg.Rule = aggregate.Median{}
	_, _, err = Run(cfg, train, test, classes)
	require.ErrorContains(t, err, "needs FedAvg")
}
