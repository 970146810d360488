// Command cohort-sidecar is the off-chain daemon that validators and
// providers run next to cohortd. This build has its training tools:
//
//	cohort-sidecar train --epochs 3      # centralized Fashion-MNIST (--model mlp or cnn), test accuracy, weights hash
//	cohort-sidecar dp-train --epsilon 8  # the same under DP-SGD, stopping before the (ε, δ) budget is spent
//	cohort-sidecar simulate              # federated, non-IID, rule × attack table of test accuracy
//
// All use the deterministic engine and Debian's dataset-fashion-mnist.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "cohort-sidecar",
		Short:         "Cohort's off-chain daemon: training, aggregation and verification with a deterministic engine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(trainCmd(), dpTrainCmd(), simulateCmd(), runCmd(), initModelCmd(), watchCmd(), loadtestCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "cohort-sidecar:", err)
		os.Exit(1)
	}
}
