package serve

import (
	"encoding/hex"
	"fmt"

	"github.com/cohortchain/cohort/sidecar/merkle"
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
func ReceiptLeaf(r *Receipt) [32]byte { return merkle.Leaf(r.SignBytes(), r.Signature) }

// ReceiptsRoot is the Merkle root (package merkle) of the receipts' leaves
// in order; the root of no receipts is 32 zero bytes.
func ReceiptsRoot(rs []Receipt) [32]byte {
	return merkle.Root(receiptLeaves(rs))
}

// receiptLeaves is ReceiptLeaf of each receipt, in order.
func receiptLeaves(rs []Receipt) [][32]byte {
	leaves := make([][32]byte, len(rs))
	for i := range rs {
		leaves[i] = ReceiptLeaf(&rs[i])
	}
	return leaves
}

// ReceiptsProof is the Merkle proof of receipt i in ReceiptsRoot(rs)
// (VerifyReceiptsProof checks it).
func ReceiptsProof(rs []Receipt, i int) ([][32]byte, error) {
	if i < 0 || i >= len(rs) {
		return nil, fmt.Errorf("serve: no receipt %d of %d to prove", i, len(rs))
	}
	return merkle.Proof(receiptLeaves(rs), i)
}

// VerifyReceiptsProof reports whether proof takes leaf, at index i of a
// commitment of n receipts, to root (merkle.Verify: n must come from the
// commitment, since the root does not bind it).
func VerifyReceiptsProof(root, leaf [32]byte, i, n uint64, proof [][32]byte) bool {
	return merkle.Verify(root, leaf, i, n, proof)
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
