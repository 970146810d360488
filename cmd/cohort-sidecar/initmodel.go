package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
)

// initModelCmd writes a model's canonical spec and seeded initial weights,
// the two blobs a federated run starts from, and prints their hashes in
// the forms the chain's CLI takes.
func initModelCmd() *cobra.Command {
	var (
		model, out    string
		width, hidden int
		seed          uint64
	)
	cmd := &cobra.Command{
		Use:   "init-model",
		Short: "Write a model spec and its initial weights as blobs, and print their hashes",
		Long: `Writes <out>/spec.json (the canonical encoding, whose sha256 is the spec hash the chain
names) and <out>/weights.safetensors (engine.Init with --seed, in the canonical blob encoding),
then prints JSON with both hashes in hex and base64 and the weights' size.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := modelSpec(model, width, hidden)
			if err != nil {
				return err
			}
			specBlob, err := spec.Encode()
			if err != nil {
				return err
			}
			w, err := engine.Init(spec, seed)
			if err != nil {
				return err
			}
			weights, err := federation.EncodeWeights(w)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "spec.json"), specBlob, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "weights.safetensors"), weights, 0o644); err != nil {
				return err
			}
			params := 0
			for _, t := range w {
				params += len(t.Data)
			}
			sh, wh := sha256.Sum256(specBlob), sha256.Sum256(weights)
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{
				"spec_hash": hex.EncodeToString(sh[:]), "spec_hash_base64": base64.StdEncoding.EncodeToString(sh[:]),
				"weights_hash": hex.EncodeToString(wh[:]), "weights_hash_base64": base64.StdEncoding.EncodeToString(wh[:]),
				"weights_size": len(weights), "parameters": params,
			})
		},
	}
	cmd.Flags().StringVar(&model, "model", "mlp", "mlp or cnn")
	cmd.Flags().IntVar(&width, "width", 784, "input width (784 for Fashion-MNIST, 32 for --data synthetic)")
	cmd.Flags().IntVar(&hidden, "hidden", 128, "hidden units")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the initial weights")
	cmd.Flags().StringVar(&out, "out", "model", "output directory")
	return cmd
}
