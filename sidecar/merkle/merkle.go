// Package merkle is the one binary Merkle tree of the sidecar's
// commitments: a usage claim's receipts (serve.ReceiptsRoot), a training
// run's per-step checkpoints (federation.CheckpointRoot) and a federated
// participant's examples (federation.DataRoot). Leaves are hashed by the
// caller, each with its own domain byte 0x00; an inner node is
// sha256(0x01 ‖ left ‖ right); a node without a partner moves up
// unchanged. Proofs are the siblings on a leaf's path, from the leaf up.
package merkle

import (
	"crypto/sha256"
	"fmt"
)

// Node is the inner node over left and right: sha256(0x01 ‖ left ‖ right).
func Node(left, right [32]byte) [32]byte {
	var b [65]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// Leaf is sha256(0x00 ‖ parts...): a leaf over data that is not a hash yet.
func Leaf(parts ...[]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	for _, p := range parts {
		h.Write(p)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// nextLevel is the level above level: pairs hashed, a last node without a
// partner moved up unchanged.
func nextLevel(level [][32]byte) [][32]byte {
	next := make([][32]byte, (len(level)+1)/2)
	for i := 0; i < len(level); i += 2 {
		if i+1 == len(level) {
			next[i/2] = level[i]
		} else {
			next[i/2] = Node(level[i], level[i+1])
		}
	}
	return next
}

// Root is the root of the tree over leaves (not changed); the root of no
// leaves is 32 zero bytes.
func Root(leaves [][32]byte) [32]byte {
	if len(leaves) == 0 {
		return [32]byte{}
	}
	level := leaves
	for len(level) > 1 {
		level = nextLevel(level)
	}
	return level[0]
}

// Proof is the proof of leaf i in Root(leaves): the sibling of its node at
// each level, from the leaf up; a level where the node has no partner (it
// moves up unchanged) contributes none.
func Proof(leaves [][32]byte, i int) ([][32]byte, error) {
	if i < 0 || i >= len(leaves) {
		return nil, fmt.Errorf("merkle: no leaf %d of %d to prove", i, len(leaves))
	}
	var proof [][32]byte
	level := leaves
	for len(level) > 1 {
		if sib := i ^ 1; sib < len(level) {
			proof = append(proof, level[sib])
		}
		level, i = nextLevel(level), i/2
	}
	return proof, nil
}

// Verify reports whether proof takes leaf, at index i of a tree of n
// leaves, to root: exactly one sibling per level where the node has a
// partner, no more, no fewer.
//
// The root does not commit to n: a proof also verifies under another n
// whose path from i has the same shape, so n must come from where the
// root does (the commitment states both).
func Verify(root, leaf [32]byte, i, n uint64, proof [][32]byte) bool {
	if n == 0 || i >= n {
		return false
	}
	h, k := leaf, 0
	for ; n > 1; i, n = i/2, (n+1)/2 {
		switch {
		case i%2 == 1:
			if k == len(proof) {
				return false
			}
			h, k = Node(proof[k], h), k+1
		case i+1 < n:
			if k == len(proof) {
				return false
			}
			h, k = Node(h, proof[k]), k+1
		}
	}
	return k == len(proof) && h == root
}
