package serve

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Claim is a batch of one client's receipts as settlement claims it: the
// receipts with seq in [FromSeq, ToSeq], contiguous, their units summed and
// committed to by Root. The chain side (settlement, another module) is
// expected to keep, per (provider, client), the last seq paid, and to pay
// a claim only if FromSeq is the one after it; the receipts themselves
// are the evidence a client or a dispute checks the claim against
// (VerifyReceipt on each, ReceiptsRoot over all).
type Claim struct {
	Provider string `json:"provider"`
	Client   string `json:"client"`
	FromSeq  uint64 `json:"from_seq"`
	ToSeq    uint64 `json:"to_seq"`
	Count    int    `json:"count"`
	Units    uint64 `json:"units"`
	// Root is ReceiptsRoot of the receipts, hex.
	Root string `json:"root"`
}

// ReceiptLeaf is a receipt's leaf in ReceiptsRoot: sha256(0x00 ‖ sign
// bytes ‖ signature), so the root commits to signed receipts.
func ReceiptLeaf(r *Receipt) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(r.SignBytes())
	h.Write(r.Signature)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// ReceiptsRoot is the binary Merkle root of the receipts' leaves in order:
// an inner node is sha256(0x01 ‖ left ‖ right), a node without a partner
// moves up unchanged; the root of no receipts is 32 zero bytes.
func ReceiptsRoot(rs []Receipt) [32]byte {
	return LeavesRoot(receiptLeaves(rs))
}

// receiptLeaves is ReceiptLeaf of each receipt, in order.
func receiptLeaves(rs []Receipt) [][32]byte {
	leaves := make([][32]byte, len(rs))
	for i := range rs {
		leaves[i] = ReceiptLeaf(&rs[i])
	}
	return leaves
}

// merkleNode is an inner node of the receipts tree: sha256(0x01 ‖ left ‖ right).
func merkleNode(left, right [32]byte) [32]byte {
	var b [65]byte
	b[0] = 1
	copy(b[1:], left[:])
	copy(b[33:], right[:])
	return sha256.Sum256(b[:])
}

// nextLevel is the level of the tree above level: pairs hashed, a last
// node without a partner moved up unchanged.
func nextLevel(level [][32]byte) [][32]byte {
	next := make([][32]byte, (len(level)+1)/2)
	for i := 0; i < len(level); i += 2 {
		if i+1 == len(level) {
			next[i/2] = level[i]
		} else {
			next[i/2] = merkleNode(level[i], level[i+1])
		}
	}
	return next
}

// LeavesRoot is the root of the tree ReceiptsRoot builds over leaves
// already hashed (ReceiptLeaf of each receipt); leaves is not changed.
func LeavesRoot(leaves [][32]byte) [32]byte {
	if len(leaves) == 0 {
		return [32]byte{}
	}
	level := leaves
	for len(level) > 1 {
		level = nextLevel(level)
	}
	return level[0]
}

// ReceiptsProof is the Merkle proof of receipt i in ReceiptsRoot(rs): the
// siblings on its path, from the leaf up (VerifyReceiptsProof checks it).
func ReceiptsProof(rs []Receipt, i int) ([][32]byte, error) {
	if i < 0 || i >= len(rs) {
		return nil, fmt.Errorf("serve: no receipt %d of %d to prove", i, len(rs))
	}
	return LeavesProof(receiptLeaves(rs), i)
}

// LeavesProof is the Merkle proof of leaf i in LeavesRoot(leaves): the
// sibling of its node at each level, from the leaf up; a level where the
// node has no partner (it moves up unchanged) contributes none.
func LeavesProof(leaves [][32]byte, i int) ([][32]byte, error) {
	if i < 0 || i >= len(leaves) {
		return nil, fmt.Errorf("serve: no leaf %d of %d to prove", i, len(leaves))
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

// VerifyReceiptsProof reports whether proof takes leaf, at index i of a
// tree of n leaves (ReceiptsRoot's), to root: the proof must have exactly
// one sibling per level where the node has a partner, no more, no fewer.
//
// The root does not commit to n: a proof also verifies under another n
// whose path from i has the same shape (the same levels with a partner,
// on the same sides), so n must come from where the root does (the claim
// states both).
func VerifyReceiptsProof(root, leaf [32]byte, i, n uint64, proof [][32]byte) bool {
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
			h, k = merkleNode(proof[k], h), k+1
		case i+1 < n:
			if k == len(proof) {
				return false
			}
			h, k = merkleNode(h, proof[k]), k+1
		}
	}
	return k == len(proof) && h == root
}

// Claim returns the next batch of client's receipts after seq after: at
// most limit of them (0: all), stopping before any gap in the seqs, with
// their claim. A claim of no receipts has Count 0.
func (s *ReceiptStore) Claim(client string, after uint64, limit int) (Claim, []Receipt) {
	list := s.List(client, after, limit)
	for i := range list {
		if list[i].Seq != after+1+uint64(i) {
			list = list[:i]
			break
		}
	}
	c := Claim{Client: client, Count: len(list)}
	if len(list) == 0 {
		return c, nil
	}
	c.Provider, c.FromSeq, c.ToSeq = list[0].Provider, list[0].Seq, list[len(list)-1].Seq
	for _, r := range list {
		c.Units += r.Units
	}
	root := ReceiptsRoot(list)
	c.Root = hex.EncodeToString(root[:])
	return c, list
}
