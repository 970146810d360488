package serve

import (
	"crypto/sha256"
	"encoding/hex"
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
	if len(rs) == 0 {
		return [32]byte{}
	}
	level := make([][32]byte, len(rs))
	for i := range rs {
		level[i] = ReceiptLeaf(&rs[i])
	}
	for len(level) > 1 {
		next := level[:0:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			h := sha256.New()
			h.Write([]byte{1})
			h.Write(level[i][:])
			h.Write(level[i+1][:])
			var n [32]byte
			h.Sum(n[:0])
			next = append(next, n)
		}
		level = next
	}
	return level[0]
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
