package federation

import (
	"crypto/sha256"

	"github.com/cohortchain/cohort/sidecar/merkle"
)

// CheckpointRoot is the Merkle root (package merkle) of a training run's
// per-step checkpoint hashes, the evidence a participant or a provider
// commits to with its result (a verifier asks for a few steps and
// re-executes them). Leaf i is sha256(0x00 ‖ hash of the checkpoint after
// step i). The root of no checkpoints is sha256 of nothing.
func CheckpointRoot(checkpoints [][32]byte) [32]byte {
	if len(checkpoints) == 0 {
		return sha256.Sum256(nil)
	}
	leaves := make([][32]byte, len(checkpoints))
	for i, c := range checkpoints {
		leaves[i] = merkle.Leaf(c[:])
	}
	return merkle.Root(leaves)
}
