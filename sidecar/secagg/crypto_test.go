package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPRGMatchesDefinition: applyMasks adds exactly the documented stream,
// the little-endian words of one AES-256-CTR keystream from counter 0,
// however the coordinates are split between goroutines.
func TestPRGMatchesDefinition(t *testing.T) {
	for _, d := range []int{1, 5, prgSegment + 1, 5*prgSegment + 7} {
		masks := []mask{{key: [32]byte{1, 2, 3}}, {key: [32]byte{4}, neg: true}, {key: [32]byte{1, 2, 3}, neg: true}, {key: [32]byte{9}}}
		want := make([]uint64, d)
		for _, m := range masks {
			block, err := aes.NewCipher(m.key[:])
			require.NoError(t, err)
			ks := make([]byte, 8*d)
			cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(ks, ks)
			for i := range want {
				v := binary.LittleEndian.Uint64(ks[8*i:])
				if m.neg {
					want[i] -= v
				} else {
					want[i] += v
				}
			}
		}
		for _, procs := range []int{1, 2, 3} {
			old := runtime.GOMAXPROCS(procs)
			got := make([]uint64, d)
			err := applyMasks(got, masks)
			runtime.GOMAXPROCS(old)
			require.NoError(t, err)
			require.Equal(t, want, got, "d=%d GOMAXPROCS=%d", d, procs)
		}
	}
	// More masks than one batch, adding and removing the same streams,
	// leave the vector as it was.
	var masks []mask
	for i := range 2*maskBatch + 3 {
		masks = append(masks, mask{key: [32]byte{byte(i), 7}}, mask{key: [32]byte{byte(i), 7}, neg: true})
	}
	y := randomVector(1000, 3)
	orig := append([]uint64(nil), y...)
	require.NoError(t, applyMasks(y, masks))
	require.Equal(t, orig, y)
}

// TestKeyDerivationSymmetry: both ends of a pair derive the same mask key
// and share key, and keys differ by direction, pair and session.
func TestKeyDerivationSymmetry(t *testing.T) {
	a, err := newKeyPair(detRand(1))
	require.NoError(t, err)
	b, err := newKeyPair(detRand(2))
	require.NoError(t, err)
	pa, pb := [KeySize]byte(a.PublicKey().Bytes()), [KeySize]byte(b.PublicKey().Bytes())
	s1, s2 := [32]byte{1}, [32]byte{2}
	kab, err := pairKey(a, pb, s1, 3, 9)
	require.NoError(t, err)
	kba, err := pairKey(b, pa, s1, 9, 3)
	require.NoError(t, err)
	require.Equal(t, kab, kba)
	other, err := pairKey(a, pb, s2, 3, 9)
	require.NoError(t, err)
	require.NotEqual(t, kab, other)
	other, err = pairKey(a, pb, s1, 3, 10)
	require.NoError(t, err)
	require.NotEqual(t, kab, other)

	ab, err := shareAEAD(a, pb, s1, 3, 9)
	require.NoError(t, err)
	ab2, err := shareAEAD(b, pa, s1, 3, 9)
	require.NoError(t, err)
	ba, err := shareAEAD(b, pa, s1, 9, 3)
	require.NoError(t, err)
	ct := sealShares(ab, s1, 3, 9, [ShareWords]uint64{1, 2, 3, 4, 5}, [ShareWords]uint64{6, 7, 8, 9, 10})
	bs, ss, err := openShares(ab2, s1, 3, 9, ct)
	require.NoError(t, err)
	require.Equal(t, [ShareWords]uint64{1, 2, 3, 4, 5}, bs)
	require.Equal(t, [ShareWords]uint64{6, 7, 8, 9, 10}, ss)
	_, _, err = openShares(ba, s1, 3, 9, ct)
	require.ErrorIs(t, err, ErrDecrypt, "the reverse direction has its own key")
	_, _, err = openShares(ab2, s1, 3, 10, ct)
	require.ErrorIs(t, err, ErrDecrypt, "another recipient in the associated data")

	// Shares outside the field are refused even when authentic.
	ct = sealShares(ab, s1, 3, 9, [ShareWords]uint64{fieldP}, [ShareWords]uint64{})
	_, _, err = openShares(ab2, s1, 3, 9, ct)
	require.ErrorIs(t, err, ErrBadShares)
}
