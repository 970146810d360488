package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/cohortchain/cohort/sidecar/par"
)

// Domain-separation labels: every key, commitment and digest of this
// package names its purpose, the session and the clients involved.
const (
	labelShareKey  = "cohort/secagg/v1/share-encryption"
	labelShareAD   = "cohort/secagg/v1/encrypted-shares"
	labelPairMask  = "cohort/secagg/v1/pairwise-mask"
	labelSelfMask  = "cohort/secagg/v1/self-mask"
	labelCommit    = "cohort/secagg/v1/self-mask-commitment"
	labelPeers     = "cohort/secagg/v1/peer-set"
	labelAdvertise = "cohort/secagg/v1/advertise-keys"
)

// KeySize is the size of an X25519 public key.
const KeySize = 32

// plaintextSize is a peer's pair of shares: b_u's then s_u's, each word
// as a little-endian uint64.
const plaintextSize = 2 * ShareWords * 8

// CiphertextSize is the size of one peer's encrypted pair of shares
// (AES-256-GCM with its 16-byte tag).
const CiphertextSize = plaintextSize + 16

// ErrDecrypt is returned when a peer's encrypted shares fail
// authentication: tampered, misaddressed or from another session.
var ErrDecrypt = errors.New("secagg: encrypted shares fail authentication")

// withIDs appends the ids, little-endian, to a label.
func withIDs(label string, ids ...ClientID) string {
	b := []byte(label)
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	return string(b)
}

// deriveKey is HKDF-SHA256 with the session as salt.
func deriveKey(ikm []byte, session [32]byte, info string) ([32]byte, error) {
	k, err := hkdf.Key(sha256.New, ikm, session[:], info, 32)
	if err != nil {
		return [32]byte{}, fmt.Errorf("secagg: deriving a key: %w", err)
	}
	var out [32]byte
	copy(out[:], k)
	clear(k)
	return out, nil
}

// newKeyPair draws an X25519 private key as 32 bytes from rnd (any 32
// bytes are a valid X25519 private key).
func newKeyPair(rnd io.Reader) (*ecdh.PrivateKey, error) {
	var b [32]byte
	defer clear(b[:])
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, fmt.Errorf("secagg: reading randomness: %w", err)
	}
	k, err := ecdh.X25519().NewPrivateKey(b[:])
	if err != nil {
		return nil, fmt.Errorf("secagg: X25519 key: %w", err)
	}
	return k, nil
}

// probeKey is a fixed private key for rejecting low-order public keys: a
// clamped scalar is a multiple of the cofactor, so ECDH with a low-order
// point gives the all-zero output crypto/ecdh refuses, whatever the key.
var probeKey = sync.OnceValues(func() (*ecdh.PrivateKey, error) {
	var b [32]byte
	for i := range b {
		b[i] = byte(i + 1)
	}
	return ecdh.X25519().NewPrivateKey(b[:])
})

// parsePublic parses an X25519 public key and rejects low-order points,
// whose shared secrets would be predictable.
func parsePublic(b [KeySize]byte) (*ecdh.PublicKey, error) {
	pub, err := ecdh.X25519().NewPublicKey(b[:])
	if err != nil {
		return nil, err
	}
	probe, err := probeKey()
	if err != nil {
		return nil, err
	}
	if _, err := probe.ECDH(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// agree is ECDH(priv, pub) followed by HKDF with the given info.
func agree(priv *ecdh.PrivateKey, pub [KeySize]byte, session [32]byte, info string) ([32]byte, error) {
	p, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return [32]byte{}, fmt.Errorf("secagg: X25519 public key: %w", err)
	}
	shared, err := priv.ECDH(p)
	if err != nil {
		return [32]byte{}, fmt.Errorf("secagg: X25519: %w", err)
	}
	defer clear(shared)
	return deriveKey(shared, session, info)
}

// shareAEAD is the AES-256-GCM cipher for the shares sent from → to, keyed
// by HKDF(ECDH(c_from, c_to)) with both ids, in order, in the info. Each
// direction has its own key and each key seals exactly one message, so the
// fixed zero nonce is never reused.
func shareAEAD(priv *ecdh.PrivateKey, peer [KeySize]byte, session [32]byte, from, to ClientID) (cipher.AEAD, error) {
	key, err := agree(priv, peer, session, withIDs(labelShareKey, from, to))
	if err != nil {
		return nil, err
	}
	defer clear(key[:])
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("secagg: AES: %w", err)
	}
	return cipher.NewGCM(block)
}

// shareAD is the associated data of the shares from → to.
func shareAD(session [32]byte, from, to ClientID) []byte {
	ad := append([]byte(labelShareAD), session[:]...)
	ad = binary.LittleEndian.AppendUint32(ad, uint32(from))
	return binary.LittleEndian.AppendUint32(ad, uint32(to))
}

// sealShares encrypts the pair of shares b, s.
func sealShares(aead cipher.AEAD, session [32]byte, from, to ClientID, b, s [ShareWords]uint64) [CiphertextSize]byte {
	pt := make([]byte, 0, plaintextSize)
	for _, w := range b {
		pt = binary.LittleEndian.AppendUint64(pt, w)
	}
	for _, w := range s {
		pt = binary.LittleEndian.AppendUint64(pt, w)
	}
	var ct [CiphertextSize]byte
	aead.Seal(ct[:0], make([]byte, aead.NonceSize()), pt, shareAD(session, from, to))
	clear(pt)
	return ct
}

// openShares decrypts a pair of shares and checks its words are field
// elements.
func openShares(aead cipher.AEAD, session [32]byte, from, to ClientID, ct [CiphertextSize]byte) (b, s [ShareWords]uint64, err error) {
	pt, err := aead.Open(nil, make([]byte, aead.NonceSize()), ct[:], shareAD(session, from, to))
	if err != nil {
		return b, s, fmt.Errorf("%w: from client %d to %d", ErrDecrypt, from, to)
	}
	defer clear(pt)
	for w := range ShareWords {
		b[w] = binary.LittleEndian.Uint64(pt[8*w:])
		s[w] = binary.LittleEndian.Uint64(pt[8*(ShareWords+w):])
	}
	if checkWords(b) != nil || checkWords(s) != nil {
		return [ShareWords]uint64{}, [ShareWords]uint64{}, fmt.Errorf("%w: client %d sent client %d shares outside the field", ErrBadShares, from, to)
	}
	return b, s, nil
}

// pairKey is the PRG key of the pairwise mask between u and v,
// HKDF(ECDH(s_u, s_v)) with the smaller id first in the info, so both ends
// (and the server, from a reconstructed key) derive the same key.
func pairKey(priv *ecdh.PrivateKey, peer [KeySize]byte, session [32]byte, u, v ClientID) ([32]byte, error) {
	return agree(priv, peer, session, withIDs(labelPairMask, min(u, v), max(u, v)))
}

// selfKey is the PRG key of u's self mask, HKDF(b_u).
func selfKey(seed [SecretSize]byte, session [32]byte, u ClientID) ([32]byte, error) {
	return deriveKey(seed[:], session, withIDs(labelSelfMask, u))
}

// commitment is SHA-256(label ‖ session ‖ u ‖ b_u): binding, and hiding
// because b_u is 32 uniformly random bytes.
func commitment(seed [SecretSize]byte, session [32]byte, u ClientID) [32]byte {
	h := sha256.New()
	h.Write([]byte(labelCommit))
	h.Write(session[:])
	h.Write(binary.LittleEndian.AppendUint32(nil, uint32(u)))
	h.Write(seed[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// PeerDigest is the digest of a set of clients (sorted ids) that a masked
// input was masked against: SHA-256(label ‖ session ‖ count ‖ ids).
func PeerDigest(session [32]byte, ids []ClientID) [32]byte {
	b := append([]byte(labelPeers), session[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	return sha256.Sum256(b)
}

// mask is one PRG stream to add (or, with neg, subtract) coordinate-wise.
type mask struct {
	key [32]byte
	neg bool
}

// prgSegment is the number of coordinates expanded at a time: even, so
// that every segment starts on an AES block (two coordinates), and small
// enough (64 KiB of keystream) to stay in cache while all masks are
// applied to it.
const prgSegment = 1 << 13

// applyMasks adds each mask's stream to y mod 2^64. The stream of a key is
// PRG(key)[i] = the little-endian uint64 in bytes 8i..8i+7 of the
// AES-256-CTR keystream of key with the initial counter block zero (a
// 128-bit big-endian counter). Coordinates are split between goroutines by
// segment; each coordinate's value is independent of the split, and
// addition mod 2^64 is exact, so the result does not depend on GOMAXPROCS.
//
// Masks are applied in batches of maskBatch, so that the per-goroutine
// cipher state stays small however many masks there are.
func applyMasks(y []uint64, masks []mask) error {
	for len(masks) > maskBatch {
		if err := applyBatch(y, masks[:maskBatch]); err != nil {
			return err
		}
		masks = masks[maskBatch:]
	}
	return applyBatch(y, masks)
}

// maskBatch is the number of masks applied in one pass over y.
const maskBatch = 64

// applyBatch is applyMasks for one batch.
func applyBatch(y []uint64, masks []mask) error {
	if len(masks) == 0 || len(y) == 0 {
		return nil
	}
	blocks := make([]cipher.Block, len(masks))
	for i, m := range masks {
		b, err := aes.NewCipher(m.key[:])
		if err != nil {
			return fmt.Errorf("secagg: AES: %w", err)
		}
		blocks[i] = b
	}
	segments := (len(y) + prgSegment - 1) / prgSegment
	par.Range(segments, 1, func(lo, hi int) {
		var iv [aes.BlockSize]byte
		binary.BigEndian.PutUint64(iv[8:], uint64(lo*prgSegment/2))
		streams := make([]cipher.Stream, len(blocks))
		for i, b := range blocks {
			streams[i] = cipher.NewCTR(b, iv[:])
		}
		buf := make([]byte, 8*prgSegment)
		for s := lo; s < hi; s++ {
			seg := y[s*prgSegment : min((s+1)*prgSegment, len(y))]
			ks := buf[:8*len(seg)]
			for i, st := range streams {
				clear(ks)
				st.XORKeyStream(ks, ks)
				if masks[i].neg {
					subStream(seg, ks)
				} else {
					addStream(seg, ks)
				}
			}
		}
		clear(buf)
	})
	return nil
}

// addStream adds the little-endian words of ks (8·len(dst) bytes) to dst,
// four at a time so that the compiler drops the bounds checks.
func addStream(dst []uint64, ks []byte) {
	ks = ks[:8*len(dst)]
	for len(dst) >= 4 && len(ks) >= 32 {
		dst[0] += binary.LittleEndian.Uint64(ks[0:8])
		dst[1] += binary.LittleEndian.Uint64(ks[8:16])
		dst[2] += binary.LittleEndian.Uint64(ks[16:24])
		dst[3] += binary.LittleEndian.Uint64(ks[24:32])
		dst, ks = dst[4:], ks[32:]
	}
	for j := range dst {
		dst[j] += binary.LittleEndian.Uint64(ks[8*j:])
	}
}

// subStream subtracts the little-endian words of ks from dst.
func subStream(dst []uint64, ks []byte) {
	ks = ks[:8*len(dst)]
	for len(dst) >= 4 && len(ks) >= 32 {
		dst[0] -= binary.LittleEndian.Uint64(ks[0:8])
		dst[1] -= binary.LittleEndian.Uint64(ks[8:16])
		dst[2] -= binary.LittleEndian.Uint64(ks[16:24])
		dst[3] -= binary.LittleEndian.Uint64(ks[24:32])
		dst, ks = dst[4:], ks[32:]
	}
	for j := range dst {
		dst[j] -= binary.LittleEndian.Uint64(ks[8*j:])
	}
}
