package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// Every leaf of trees of 1 to 40 leaves proves against the root; another
// leaf, index, size, a flipped bit or a proof one element short or long
// does not (except another size of the same path shape, which the root
// does not bind).
func TestProofs(t *testing.T) {
	for n := 1; n <= 40; n++ {
		leaves := make([][32]byte, n)
		for i := range leaves {
			leaves[i] = Leaf(binary.BigEndian.AppendUint64(nil, uint64(i)))
		}
		root := Root(leaves)
		for i := range leaves {
			p, err := Proof(leaves, i)
			if err != nil {
				t.Fatal(err)
			}
			if !Verify(root, leaves[i], uint64(i), uint64(n), p) {
				t.Fatalf("n=%d i=%d: the proof does not verify", n, i)
			}
			if n > 1 && Verify(root, leaves[(i+1)%n], uint64(i), uint64(n), p) {
				t.Fatalf("n=%d i=%d: another leaf verifies", n, i)
			}
			if n > 1 && Verify(root, leaves[i], uint64((i+1)%n), uint64(n), p) {
				t.Fatalf("n=%d i=%d: another index verifies", n, i)
			}
			if Verify(root, leaves[i], uint64(i), 0, p) || Verify(root, leaves[i], uint64(n), uint64(n), p) {
				t.Fatalf("n=%d i=%d: an empty tree or an index past the end verifies", n, i)
			}
			if len(p) > 0 {
				bad := append([][32]byte(nil), p...)
				bad[0][3] ^= 1
				if Verify(root, leaves[i], uint64(i), uint64(n), bad) || Verify(root, leaves[i], uint64(i), uint64(n), p[:len(p)-1]) {
					t.Fatalf("n=%d i=%d: a changed or short proof verifies", n, i)
				}
			}
			if Verify(root, leaves[i], uint64(i), uint64(n), append(append([][32]byte(nil), p...), root)) {
				t.Fatalf("n=%d i=%d: a long proof verifies", n, i)
			}
		}
	}
	if _, err := Proof(nil, 0); err == nil {
		t.Fatal("a proof in an empty tree")
	}
	if Root(nil) != ([32]byte{}) {
		t.Fatal("the root of nothing is 32 zero bytes")
	}
	one := Leaf([]byte("x"))
	if Root([][32]byte{one}) != one || one != sha256.Sum256([]byte("\x00x")) {
		t.Fatal("a one-leaf tree is its leaf, sha256(0x00 ‖ data)")
	}
}
