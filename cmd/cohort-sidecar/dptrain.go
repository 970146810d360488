package main

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/spf13/cobra"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/privacy"
)

// dpTrainCmd is `cohort-sidecar dp-train`: DP-SGD on Fashion-MNIST with
// the MLP of `train`, accounted with the RDP accountant.
func dpTrainCmd() *cobra.Command {
	var (
		dir, optimizer, out                 string
		epochs, batch, hidden, limit        int
		lr                                  float32
		clip, noise, epsilon, delta, sample float64
		seed                                uint64
	)
	cmd := &cobra.Command{
		Use:   "dp-train",
		Short: "Train an MLP on Fashion-MNIST with DP-SGD and print test accuracy and the (ε, δ) spent",
		Long: `Train an MLP on Fashion-MNIST with DP-SGD: Poisson sampling at rate q,
per-example gradients clipped to --clip, Gaussian noise of σ·clip on their
sum, divided by the expected batch q·N. Give --noise (σ), or --epsilon and
σ is the smallest that keeps the planned --epochs within ε at --delta.
With --epsilon the run stops before a step would spend more. An epoch is
round(1/q) steps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if epochs <= 0 {
				return fmt.Errorf("--epochs %d is not positive", epochs)
			}
			if !(delta > 0 && delta < 1) {
				return fmt.Errorf("--delta %v outside (0, 1)", delta)
			}
			if noise <= 0 && epsilon <= 0 {
				return errors.New("give --noise (σ) or --epsilon (a budget to choose σ for)")
			}
			if noise < 0 || epsilon < 0 || math.IsNaN(noise) || math.IsNaN(epsilon) {
				return fmt.Errorf("--noise %v and --epsilon %v must not be negative", noise, epsilon)
			}
			if optimizer != "adam" && optimizer != "sgd" {
				return fmt.Errorf("--optimizer %q is neither adam nor sgd", optimizer)
			}
			train, test, err := loadFashionMNIST(dir, limit)
			if err != nil {
				return err
			}
			n := len(train.Labels)
			q := sample
			switch {
			case cmd.Flags().Changed("sample-rate") && cmd.Flags().Changed("batch"):
				return errors.New("give --sample-rate or --batch, not both")
			case !cmd.Flags().Changed("sample-rate"):
				if batch <= 0 || batch > n {
					return fmt.Errorf("--batch %d outside [1, %d training images]", batch, n)
				}
				q = float64(batch) / float64(n)
			}
			if !(q > 0 && q <= 1) {
				return fmt.Errorf("--sample-rate %v outside (0, 1]", q)
			}
			stepsPerEpoch := max(1, int(math.Round(1/q)))
			planned := epochs * stepsPerEpoch
			spec := mlpSpec(train.Width, hidden)
			weights, err := engine.Init(spec, seed)
			if err != nil {
				return err
			}
			var opt engine.Optimizer = &engine.SGD{LearningRate: lr, Momentum: 0.9}
			if optimizer == "adam" {
				opt = engine.NewAdam(lr)
			}
			// Account with the rate the sampling really has.
			rate := privacy.EffectiveSampleRate(q)
			sigma := noise
			if sigma <= 0 {
				if sigma, err = privacy.NoiseMultiplier(epsilon, delta, rate, planned); err != nil {
					return err
				}
			}
			trainer, err := privacy.NewTrainer(spec, train, opt, privacy.SGDConfig{Clip: clip, NoiseMultiplier: sigma, SampleRate: q, Seed: seed})
			if err != nil {
				return err
			}
			acct, err := privacy.NewAccountant()
			if err != nil {
				return err
			}
			var budget *privacy.Budget
			if epsilon > 0 {
				if budget, err = privacy.NewBudget(epsilon, delta); err != nil {
					return err
				}
			}
			plannedEps, _, err := privacy.Epsilon(rate, sigma, planned, delta)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "DP-SGD %d→%d→10 on %d images: q %.6g (expected batch %.1f), σ %.6g, clip %g, %s lr %g\n",
				train.Width, hidden, n, rate, q*float64(n), sigma, clip, optimizer, lr)
			fmt.Fprintf(w, "plan: %d epochs of %d steps, ε %.8g at δ %g", epochs, stepsPerEpoch, plannedEps, delta)
			if budget != nil {
				fmt.Fprintf(w, " (budget ε %g)", epsilon)
			}
			fmt.Fprintln(w)
			start, images := time.Now(), 0
			stopped := false
			for e := 0; e < epochs && !stopped; e++ {
				clipped, batches, lossSum := 0, 0, 0.0
				for s := 0; s < stepsPerEpoch; s++ {
					if budget != nil {
						exceed, next, err := budget.WouldExceed(rate, sigma, 1)
						if err != nil {
							return err
						}
						if exceed {
							fmt.Fprintf(w, "stopping after %d steps: the next would spend ε %.4f, over the budget %g\n", trainer.Steps(), next, epsilon)
							stopped = true
							break
						}
					}
					st, err := trainer.Step(weights)
					if err != nil {
						return err
					}
					if budget != nil {
						if _, err := budget.Spend(rate, sigma, 1); err != nil {
							return err
						}
					}
					if err := acct.Compose(rate, sigma, 1); err != nil {
						return err
					}
					images += st.Batch
					clipped += st.Clipped
					batches += st.Batch
					lossSum += st.Loss * float64(st.Batch)
				}
				acc, err := engine.Accuracy(spec, weights, test)
				if err != nil {
					return err
				}
				spent, _, err := acct.Epsilon(delta)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "epoch %d/%d  loss %.4f  clipped %.1f%%  test accuracy %.2f%%  ε %.4f  %.0f images/s\n",
					e+1, epochs, lossSum/float64(max(batches, 1)), 100*float64(clipped)/float64(max(batches, 1)),
					100*acc, spent, float64(images)/time.Since(start).Seconds())
			}
			spent, order, err := acct.Epsilon(delta)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "spent ε %.8g at δ %g (RDP order %d) over %d steps\n", spent, delta, order, trainer.Steps())
			h, err := weights.Hash()
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "weights hash %x\n", h)
			return writeWeights(w, out, weights, map[string]string{"dp-epsilon": fmt.Sprintf("%.6g", spent), "dp-delta": fmt.Sprintf("%g", delta)})
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "data-dir", DefaultDataDir, "directory with the Fashion-MNIST IDX files")
	f.IntVar(&epochs, "epochs", 10, "planned passes over the training set (round(1/q) steps each)")
	f.IntVar(&hidden, "hidden", 128, "hidden units")
	f.Float32Var(&lr, "lr", 0.001, "learning rate")
	f.StringVar(&optimizer, "optimizer", "adam", "adam or sgd (momentum 0.9)")
	f.Float64Var(&clip, "clip", 1, "per-example L2 clipping bound C")
	f.Float64Var(&noise, "noise", 0, "noise multiplier σ (noise std σ·C on the gradient sum); 0: choose it from --epsilon")
	f.Float64Var(&epsilon, "epsilon", 0, "ε budget at --delta: chooses σ when --noise is 0, and stops the run before it is exceeded")
	f.Float64Var(&delta, "delta", 1e-5, "δ of the (ε, δ) guarantee")
	f.Float64Var(&sample, "sample-rate", 0, "Poisson sampling rate q (instead of --batch)")
	f.IntVar(&batch, "batch", 256, "expected batch size q·N (instead of --sample-rate)")
	f.Uint64Var(&seed, "seed", 1, "seed of initialisation, sampling and noise")
	f.IntVar(&limit, "limit", 0, "train on the first N images only (0: all)")
	f.StringVar(&out, "out", "", "write the trained weights as safetensors")
	return cmd
}
