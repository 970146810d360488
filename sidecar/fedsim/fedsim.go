// Package fedsim runs federated training in one process: clients train on
// their shards from the global weights, some of them attack, a rule
// aggregates, and the global model moves. It is how the engine's
// federated quality bars are measured, and it is deterministic like the
// engine: the same config gives the same global weights hash.
package fedsim

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/tensor"
)

// Attacks the simulation knows.
const (
	AttackNone      = "none"
	AttackSignFlip  = "sign-flip"
	AttackLabelFlip = "label-flip"
	AttackGaussian  = "gaussian"
	AttackALIE      = "alie"
	AttackIPM       = "ipm"
)

// Attacks lists them in a fixed order.
var Attacks = []string{AttackNone, AttackSignFlip, AttackLabelFlip, AttackGaussian, AttackALIE, AttackIPM}

// Config is one simulation.
type Config struct {
	Spec         engine.Spec
	Shards       [][]int // example indices of each client
	Attackers    int     // the last Attackers clients attack
	Attack       string
	Rule         aggregate.Rule
	Rounds       int
	LocalSteps   int
	BatchSize    int
	LearningRate float32
	Seed         uint64
}

// Round reports one round.
type Round struct {
	Number   int
	Accuracy float64
	Hash     [32]byte
}

// Run trains for cfg.Rounds rounds and reports test accuracy after each.
func Run(cfg Config, train, test engine.Dataset, classes int) ([]Round, tensor.Set, error) {
	if cfg.Attackers < 0 || cfg.Attackers >= len(cfg.Shards) {
		return nil, nil, fmt.Errorf("fedsim: %d attackers among %d clients", cfg.Attackers, len(cfg.Shards))
	}
	global, err := engine.Init(cfg.Spec, cfg.Seed)
	if err != nil {
		return nil, nil, err
	}
	clients := make([]engine.Dataset, len(cfg.Shards))
	for c, shard := range cfg.Shards {
		clients[c] = subset(train, shard, cfg.Attack == AttackLabelFlip && c >= len(cfg.Shards)-cfg.Attackers, classes)
	}
	var rounds []Round
	for r := 0; r < cfg.Rounds; r++ {
		// Clients without examples sit the round out; the others train on
		// batches of at most their size.
		var ups []aggregate.Update
		var attacking []int
		var honest [][]float32
		for c, d := range clients {
			if len(d.Labels) == 0 {
				continue
			}
			res, err := engine.Train(cfg.Spec, global, d, engine.TrainConfig{Steps: cfg.LocalSteps, BatchSize: min(cfg.BatchSize, len(d.Labels)),
				LearningRate: cfg.LearningRate, Momentum: 0.9, Seed: cfg.Seed ^ uint64(r*1000+c)})
			if err != nil {
				return nil, nil, err
			}
			ups = append(ups, aggregate.Update{Vector: aggregate.Flatten(res.Update), Samples: len(d.Labels)})
			if c >= len(clients)-cfg.Attackers {
				attacking = append(attacking, len(ups)-1)
			} else {
				honest = append(honest, ups[len(ups)-1].Vector)
			}
		}
		for _, i := range attacking {
			switch cfg.Attack {
			case AttackSignFlip:
				ups[i].Vector = aggregate.SignFlip(ups[i].Vector, 4)
			case AttackGaussian:
				ups[i].Vector = aggregate.GaussianNoise(len(ups[i].Vector), 1, cfg.Seed+uint64(r*100+i))
			case AttackALIE:
				ups[i].Vector = aggregate.ALIE(honest, 1.5)
			case AttackIPM:
				ups[i].Vector = aggregate.IPM(honest, 4)
			}
		}
		delta, err := cfg.Rule.Aggregate(nil, ups)
		if err != nil {
			return nil, nil, err
		}
		flat := aggregate.Flatten(global)
		for i := range flat {
			flat[i] += delta[i]
		}
		if global, err = aggregate.Unflatten(flat, global); err != nil {
			return nil, nil, err
		}
		acc, err := engine.Accuracy(cfg.Spec, global, test)
		if err != nil {
			return nil, nil, err
		}
		h, err := global.Hash()
		if err != nil {
			return nil, nil, err
		}
		rounds = append(rounds, Round{Number: r + 1, Accuracy: acc, Hash: h})
	}
	return rounds, global, nil
}

// subset copies the examples of a shard; flip maps label y to classes-1-y
// (the label-flip attack).
func subset(d engine.Dataset, idx []int, flip bool, classes int) engine.Dataset {
	out := engine.Dataset{Inputs: make([]float32, 0, len(idx)*d.Width), Labels: make([]int, 0, len(idx)), Width: d.Width}
	for _, i := range idx {
		out.Inputs = append(out.Inputs, d.Inputs[i*d.Width:(i+1)*d.Width]...)
		y := d.Labels[i]
		if flip {
			y = classes - 1 - y
		}
		out.Labels = append(out.Labels, y)
	}
	return out
}
