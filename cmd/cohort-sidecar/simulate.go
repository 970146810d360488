package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/fedsim"
)

// rulesByName are the aggregation rules the simulation can use.
func rulesByName(f int) map[string]aggregate.Rule {
	return map[string]aggregate.Rule{
		"fedavg":            aggregate.FedAvg{},
		"median":            aggregate.Median{},
		"trimmed-mean":      aggregate.TrimmedMean{Beta: 0.2},
		"krum":              aggregate.Krum{F: f},
		"multi-krum":        aggregate.Krum{F: f, Multi: 4},
		"geometric-median":  aggregate.GeometricMedian{Iterations: 10},
		"centered-clipping": aggregate.CenteredClipping{Tau: 1, Iterations: 3},
		"bulyan":            aggregate.Bulyan{F: f},
	}
}

func simulateCmd() *cobra.Command {
	var (
		dir, rules, attacks, server       string
		clients, attackers, rounds, local int
		batch, hidden, limit              int
		alpha, topk, decay                float64
		lr                                float32
		secure                            bool
		seed                              uint64
	)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Federated training on Fashion-MNIST in one process: a table of test accuracy by rule and attack",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			train, test, err := loadFashionMNIST(dir, limit)
			if err != nil {
				return err
			}
			shards, err := data.PartitionDirichlet(train.Labels, 10, clients, alpha, seed)
			if err != nil {
				return err
			}
			spec := mlpSpec(train.Width, hidden)
			all := rulesByName(attackers)
			ruleNames, attackNames := strings.Split(rules, ","), strings.Split(attacks, ",")
			fmt.Fprintf(w, "%d clients (Dirichlet %.2f), %d attacking; %d rounds of %d local steps; test accuracy after the last round\n",
				clients, alpha, attackers, rounds, local)
			table := fmt.Sprintf("%-18s", "rule \\ attack")
			for _, an := range attackNames {
				table += fmt.Sprintf("%12s", an)
			}
			table += "\n"
			for _, rn := range ruleNames {
				rule, ok := all[rn]
				if !ok {
					return fmt.Errorf("unknown rule %q", rn)
				}
				table += fmt.Sprintf("%-18s", rn)
				for _, an := range attackNames {
					n := attackers
					if an == fedsim.AttackNone {
						n = 0
					}
					opt, err := serverOptimizer(server)
					if err != nil {
						return err
					}
					res, _, err := fedsim.Run(fedsim.Config{Spec: spec, Shards: shards, Attackers: n, Attack: an, Rule: rule, Server: opt, SecureAggregation: secure,
						Rounds: rounds, LocalSteps: local, BatchSize: batch, LearningRate: lr, LRDecay: decay, Seed: seed, TopK: topk}, train, test, 10)
					if errors.Is(err, aggregate.ErrTooFewUpdates) {
						// The rule cannot run with this many clients (Bulyan
						// needs 4f+3): say so in its cell and go on.
						fmt.Fprintf(cmd.ErrOrStderr(), "%s / %s: not applicable: %v\n", rn, an, err)
						table += fmt.Sprintf("%12s", "n/a")
						continue
					}
					if err != nil {
						return fmt.Errorf("%s / %s: %w", rn, an, err)
					}
					cell := fmt.Sprintf("%.2f%%", 100*res[len(res)-1].Accuracy)
					table += fmt.Sprintf("%12s", cell)
					sent, dense := 0, 0
					for _, r := range res {
						sent, dense = sent+r.BytesSent, dense+r.DenseBytes
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "%s / %s: %s (best %.2f%%), %d bytes sent, %.1fx fewer than dense\n",
						rn, an, cell, 100*bestAccuracy(res), sent, float64(dense)/float64(sent))
				}
				table += "\n"
			}
			_, err = fmt.Fprint(w, table)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "data-dir", DefaultDataDir, "directory with the Fashion-MNIST IDX files")
	cmd.Flags().StringVar(&rules, "rules", "fedavg,median,trimmed-mean,krum,multi-krum,geometric-median,centered-clipping,bulyan", "rules, comma-separated")
	cmd.Flags().StringVar(&attacks, "attacks", strings.Join(fedsim.Attacks, ","), "attacks, comma-separated")
	cmd.Flags().IntVar(&clients, "clients", 10, "clients")
	cmd.Flags().IntVar(&attackers, "attackers", 2, "attacking clients")
	cmd.Flags().Float64Var(&alpha, "alpha", 0.5, "Dirichlet concentration of the non-IID split")
	cmd.Flags().IntVar(&rounds, "rounds", 20, "rounds")
	cmd.Flags().IntVar(&local, "local-steps", 20, "local steps per round")
	cmd.Flags().IntVar(&batch, "batch", 32, "local minibatch size")
	cmd.Flags().IntVar(&hidden, "hidden", 128, "hidden units")
	cmd.Flags().Float32Var(&lr, "lr", 0.02, "local learning rate (SGD, momentum 0.9)")
	cmd.Flags().Float64Var(&decay, "lr-decay", 0, "multiply the local learning rate by this after every round (0: constant)")
	cmd.Flags().StringVar(&server, "server", "none", "server optimizer applied to each round's aggregate: none, fedavgm (β 0.9, η 0.5) or fedadam (η 0.01)")
	cmd.Flags().BoolVar(&secure, "secure", false, "FedAvg through pairwise-masking secure aggregation (fedavg rule only)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed")
	cmd.Flags().Float64Var(&topk, "topk", 0, "fraction of each honest update sent (top-k with error feedback); 0 sends dense updates")
	cmd.Flags().IntVar(&limit, "limit", 0, "use the first N training images only (0: all)")
	return cmd
}

// bestAccuracy is the highest test accuracy of any round.
func bestAccuracy(rounds []fedsim.Round) float64 {
	best := 0.0
	for _, r := range rounds {
		best = max(best, r.Accuracy)
	}
	return best
}

// serverOptimizer returns a fresh server optimizer by name (nil for none).
func serverOptimizer(name string) (aggregate.ServerOptimizer, error) {
	switch name {
	case "none", "":
		return nil, nil
	case "fedavgm":
		return &aggregate.FedAvgM{LearningRate: 0.5, Beta: 0.9}, nil
	case "fedadam":
		return &aggregate.FedAdam{LearningRate: 0.01, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3}, nil
	}
	return nil, fmt.Errorf("unknown server optimizer %q (none, fedavgm, fedadam)", name)
}
