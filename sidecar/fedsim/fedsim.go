// Package fedsim runs federated training in one process: clients train on
// their shards from the global weights, some of them attack, a rule
// aggregates, and the global model moves. It is how the engine's
// federated quality bars are measured, and it is deterministic like the
// engine: the same config gives the same global weights hash.
package fedsim

import (
	"fmt"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/compress"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/par"
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
	Spec      engine.Spec
	Shards    [][]int // example indices of each client
	Attackers int     // the last Attackers clients attack
	Attack    string
	Rule      aggregate.Rule
	// SecureAggregation runs each round's FedAvg through pairwise-masking
	// secure aggregation (package secagg): the server sees only the sum.
	// It needs the FedAvg rule, since robust rules must see each update.
	SecureAggregation bool
	// Server, when set, applies each round's aggregate to the global
	// model (FedAvgM, FedAdam); nil adds it as it is. It keeps state
	// across rounds, so a run needs its own.
	Server       aggregate.ServerOptimizer
	Rounds       int
	LocalSteps   int
	BatchSize    int
	LearningRate float32
	// LRDecay, when in (0, 1), multiplies the clients' learning rate by
	// LRDecay after every round (round r trains at LearningRate·LRDecay^r),
	// which damps the drift between non-IID clients late in training;
	// 0 keeps it constant.
	LRDecay float64
	Seed    uint64
	// TopK, when positive, is the fraction of each honest client's update
	// it sends (top-k with error feedback kept across rounds); 0 sends
	// dense updates.
	TopK float64
}

// Round reports one round.
type Round struct {
	Number   int
	Accuracy float64
	Hash     [32]byte
	// BytesSent is what the clients sent this round, as encoded on the
	// wire (4 bytes per value when dense); DenseBytes what dense updates
	// would have taken.
	BytesSent, DenseBytes int
}

// Run trains for cfg.Rounds rounds and reports test accuracy after each.
func Run(cfg Config, train, test engine.Dataset, classes int) ([]Round, tensor.Set, error) {
	if cfg.Attackers < 0 || cfg.Attackers >= len(cfg.Shards) {
		return nil, nil, fmt.Errorf("fedsim: %d attackers among %d clients", cfg.Attackers, len(cfg.Shards))
	}
	if cfg.SecureAggregation && cfg.Rule.Name() != (aggregate.FedAvg{}).Name() {
		return nil, nil, fmt.Errorf("fedsim: secure aggregation yields only a sum, so it needs FedAvg, not %s", cfg.Rule.Name())
	}
	if !(cfg.LRDecay >= 0 && cfg.LRDecay <= 1) {
		return nil, nil, fmt.Errorf("fedsim: learning-rate decay %v outside [0, 1]", cfg.LRDecay)
	}
	if cfg.TopK < 0 || cfg.TopK > 1 {
		return nil, nil, fmt.Errorf("fedsim: top-k fraction %v outside [0, 1]", cfg.TopK)
	}
	global, err := engine.Init(cfg.Spec, cfg.Seed)
	if err != nil {
		return nil, nil, err
	}
	clients := make([]engine.Dataset, len(cfg.Shards))
	for c, shard := range cfg.Shards {
		clients[c] = subset(train, shard, cfg.Attack == AttackLabelFlip && c >= len(cfg.Shards)-cfg.Attackers, classes)
	}
	feedback := make([]*compress.ErrorFeedback, len(clients))
	var rounds []Round
	lr := cfg.LearningRate
	for r := 0; r < cfg.Rounds; r++ {
		if r > 0 && cfg.LRDecay > 0 {
			lr = float32(float64(lr) * cfg.LRDecay)
		}
		// Clients without examples sit the round out; the others train on
		// batches of at most their size, several clients at once (each
		// run is deterministic on its own, so the results do not depend
		// on how they overlap).
		results := make([]engine.TrainResult, len(clients))
		errs := make([]error, len(clients))
		par.Range(len(clients), 1, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				if d := clients[c]; len(d.Labels) > 0 {
					results[c], errs[c] = engine.Train(cfg.Spec, global, d, engine.TrainConfig{Steps: cfg.LocalSteps, BatchSize: min(cfg.BatchSize, len(d.Labels)),
						LearningRate: lr, Momentum: 0.9, Seed: cfg.Seed ^ uint64(r*1000+c)})
				}
			}
		})
		var ups []aggregate.Update
		var attacking []int
		var honest [][]float32
		sent, dense := 0, 0
		for c, d := range clients {
			if len(d.Labels) == 0 {
				continue
			}
			if errs[c] != nil {
				return nil, nil, errs[c]
			}
			vec := aggregate.Flatten(results[c].Update)
			dense += 4 * len(vec)
			isAttacker := c >= len(clients)-cfg.Attackers
			if cfg.TopK > 0 && !isAttacker {
				if feedback[c] == nil {
					feedback[c] = &compress.ErrorFeedback{K: max(1, int(cfg.TopK*float64(len(vec))))}
				}
				wire := feedback[c].Compress(vec).Encode()
				sparse, err := compress.DecodeSparse(wire, len(vec))
				if err != nil {
					return nil, nil, err
				}
				vec = sparse.Dense()
				sent += len(wire)
			} else {
				sent += 4 * len(vec)
			}
			ups = append(ups, aggregate.Update{Vector: vec, Samples: len(d.Labels)})
			if isAttacker {
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
		var delta []float32
		if cfg.SecureAggregation {
			delta, err = secureFedAvg(ups, cfg.Seed, r)
		} else {
			delta, err = cfg.Rule.Aggregate(nil, ups)
		}
		if err != nil {
			return nil, nil, err
		}
		flat := aggregate.Flatten(global)
		if cfg.Server != nil {
			if err := cfg.Server.Apply(flat, delta); err != nil {
				return nil, nil, err
			}
		} else {
			for i := range flat {
				flat[i] += delta[i]
			}
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
		rounds = append(rounds, Round{Number: r + 1, Accuracy: acc, Hash: h, BytesSent: sent, DenseBytes: dense})
	}
	return rounds, global, nil
}

// subset copies the examples of a shard; flip maps label y to classes-1-y
// (the label-flip attack).
func subset(d engine.Dataset, idx []int, flip bool, classes int) engine.Dataset {
	out := data.Subset(d, idx)
	if flip {
		return data.FlipLabels(out, classes)
	}
	return out
}
