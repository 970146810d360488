package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortchain/cohort/sidecar/engine"
)

func trainCmd() *cobra.Command {
	var (
		dir, optimizer, out string
		model               string
		epochs, batch       int
		hidden              int
		lr                  float32
		seed                uint64
		limit               int
	)
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train an MLP or a CNN on Fashion-MNIST, centralized, and print test accuracy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			train, test, err := loadFashionMNIST(dir, limit)
			if err != nil {
				return err
			}
			spec, err := modelSpec(model, train.Width, hidden)
			if err != nil {
				return err
			}
			weights, err := engine.Init(spec, seed)
			if err != nil {
				return err
			}
			stepsPerEpoch := len(train.Labels) / batch
			fmt.Fprintf(w, "training %s (%d weights) on %d images, %d epochs of %d steps (batch %d, %s, lr %g)\n",
				model, spec.Params(), len(train.Labels), epochs, stepsPerEpoch, batch, optimizer, lr)
			// One optimizer across epochs, so that momentum and Adam's moments carry over.
			var opt engine.Optimizer = &engine.SGD{LearningRate: lr, Momentum: 0.9}
			if optimizer == "adam" {
				opt = engine.NewAdam(lr)
			}
			start := time.Now()
			for e := 0; e < epochs; e++ {
				bar := newProgressBar(cmd.ErrOrStderr(), fmt.Sprintf("epoch %d/%d", e+1, epochs), stepsPerEpoch, batch)
				res, err := engine.Train(spec, weights, train, engine.TrainConfig{Steps: stepsPerEpoch, BatchSize: batch,
					Resume: opt, Seed: seed + uint64(e), Progress: bar.step})
				bar.finish()
				if err != nil {
					return err
				}
				weights = res.Weights
				acc, err := engine.Accuracy(spec, weights, test)
				if err != nil {
					return err
				}
				elapsed := time.Since(start)
				fmt.Fprintf(w, "epoch %d/%d  loss %.4f  test accuracy %.2f%%  %.0f images/s\n", e+1, epochs,
					res.Losses[len(res.Losses)-1], 100*acc, float64((e+1)*stepsPerEpoch*batch)/elapsed.Seconds())
			}
			h, err := weights.Hash()
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "weights hash %x\n", h)
			return writeWeights(w, out, weights, nil)
		},
	}
	cmd.Flags().StringVar(&dir, "data-dir", DefaultDataDir, "directory with the Fashion-MNIST IDX files")
	cmd.Flags().IntVar(&epochs, "epochs", 3, "passes over the training set")
	cmd.Flags().IntVar(&batch, "batch", 64, "minibatch size")
	cmd.Flags().StringVar(&model, "model", "mlp", "mlp (784→hidden→10) or cnn (two conv layers, hidden dense units)")
	cmd.Flags().IntVar(&hidden, "hidden", 128, "hidden units")
	cmd.Flags().Float32Var(&lr, "lr", 0.001, "learning rate")
	cmd.Flags().StringVar(&optimizer, "optimizer", "adam", "adam or sgd (momentum 0.9)")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of initialisation and batch order")
	cmd.Flags().IntVar(&limit, "limit", 0, "train on the first N images only (0: all)")
	cmd.Flags().StringVar(&out, "out", "", "write the trained weights as safetensors")
	return cmd
}
