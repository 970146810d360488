// Command cohort-sidecar is the off-chain daemon that validators and
// providers run next to cohortd. This build has its training tool:
//
//	cohort-sidecar train --epochs 3
//
// trains a model on Fashion-MNIST (Debian's dataset-fashion-mnist) with the
// deterministic engine, and prints test accuracy and the weights hash.
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
	root.AddCommand(trainCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "cohort-sidecar:", err)
		os.Exit(1)
	}
}
