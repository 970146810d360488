package federation

import "crypto/sha256"

// CheckpointRoot is the Merkle root of a training run's per-step weights
// hashes, the evidence a participant commits to with its update (a
// verifier asks for a few steps and their inclusion proofs, and re-executes
// them). Leaves are sha256(0x00 ‖ hash), inner nodes sha256(0x01 ‖ left ‖
// right); a level with an odd count carries its last node up unchanged.
// The root of no checkpoints is sha256 of nothing.
func CheckpointRoot(checkpoints [][32]byte) [32]byte {
	if len(checkpoints) == 0 {
		return sha256.Sum256(nil)
	}
	level := make([][32]byte, len(checkpoints))
	for i, c := range checkpoints {
		level[i] = sha256.Sum256(append([]byte{0}, c[:]...))
	}
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i+1 < len(level); i += 2 {
			buf := make([]byte, 0, 65)
			buf = append(buf, 1)
			buf = append(buf, level[i][:]...)
			buf = append(buf, level[i+1][:]...)
			next = append(next, sha256.Sum256(buf))
		}
		if len(level)%2 == 1 {
			next = append(next, level[len(level)-1])
		}
		level = next
	}
	return level[0]
}
