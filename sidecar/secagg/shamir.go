package secagg

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// SecretSize is the size in bytes of a secret shared by Split: a self-mask
// seed or an X25519 private key.
const SecretSize = 32

// ShareWords is the number of field elements in a share. A secret is cut
// into four 7-byte chunks and one 4-byte chunk (little-endian integers,
// each below 2^56 < 2^61 − 1) and each chunk is shared by its own random
// polynomial over GF(2^61 − 1). Every chunk is perfectly hidden by fewer
// than t shares, hence so is the secret.
const ShareWords = 5

// chunkBytes is the size of every chunk but the last.
const chunkBytes = 7

// Share is one point of the sharing polynomials.
type Share struct {
	// X is the evaluation point, nonzero; the protocol uses the holder's
	// ClientID.
	X uint32
	// Y holds the polynomials' values at X, each below 2^61 − 1.
	Y [ShareWords]uint64
}

var (
	// ErrTooFewShares is returned when fewer shares than the threshold are
	// given.
	ErrTooFewShares = errors.New("secagg: fewer shares than the threshold")
	// ErrBadShares is returned for malformed shares: a zero or repeated
	// point, or a value outside the field.
	ErrBadShares = errors.New("secagg: bad shares")
	// ErrInconsistentShares is returned when shares do not lie on one
	// polynomial of the threshold's degree, or reconstruct a value that
	// cannot be the secret (wrong length, wrong commitment or public key):
	// at least one share is wrong.
	ErrInconsistentShares = errors.New("secagg: inconsistent shares")
)

// Split shares secret among the points xs (distinct, nonzero) so that any
// t of the returned shares reconstruct it and fewer reveal nothing about
// it. Share i is for xs[i]. 1 ≤ t ≤ len(xs) ≤ MaxClients. rnd must be a
// cryptographically secure source; nil means crypto/rand.
func Split(secret [SecretSize]byte, xs []uint32, t int, rnd io.Reader) ([]Share, error) {
	if t < 1 || t > len(xs) || len(xs) > MaxClients {
		return nil, fmt.Errorf("%w: threshold %d of %d shares (1 ≤ t ≤ n ≤ %d)", ErrBadShares, t, len(xs), MaxClients)
	}
	if err := checkPoints(xs); err != nil {
		return nil, err
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	// coeffs[w*t+k] is coefficient k of chunk w's polynomial.
	coeffs := make([]uint64, ShareWords*t)
	defer clear(coeffs)
	words := secretWords(secret)
	for w := range ShareWords {
		coeffs[w*t] = words[w]
		if err := randomElements(rnd, coeffs[w*t+1:(w+1)*t]); err != nil {
			return nil, err
		}
	}
	shares := make([]Share, len(xs))
	for i, x := range xs {
		shares[i].X = x
		for w := range ShareWords {
			poly := coeffs[w*t : (w+1)*t]
			y := uint64(0)
			for k := t - 1; k >= 0; k-- {
				y = fAdd(fMul(y, uint64(x)), poly[k])
			}
			shares[i].Y[w] = y
		}
	}
	return shares, nil
}

// Combine reconstructs a secret from at least t shares, in any order. The
// t shares with the smallest points determine the polynomials; any further
// shares are checked against them (ErrInconsistentShares on a mismatch).
// Fewer than t shares give ErrTooFewShares: with t−1 or fewer, every secret
// is equally likely, so no answer is returned.
func Combine(shares []Share, t int) ([SecretSize]byte, error) {
	if t < 1 {
		return [SecretSize]byte{}, fmt.Errorf("%w: threshold %d", ErrBadShares, t)
	}
	if len(shares) < t {
		return [SecretSize]byte{}, fmt.Errorf("%w: %d shares, threshold %d", ErrTooFewShares, len(shares), t)
	}
	sorted := slices.Clone(shares)
	slices.SortFunc(sorted, func(a, b Share) int { return cmp.Compare(a.X, b.X) })
	xs := make([]uint32, len(sorted))
	for i, s := range sorted {
		xs[i] = s.X
		if err := checkWords(s.Y); err != nil {
			return [SecretSize]byte{}, fmt.Errorf("share at %d: %w", s.X, err)
		}
	}
	if err := checkPoints(xs); err != nil {
		return [SecretSize]byte{}, err
	}
	basis := make([]uint64, t)
	for i := range basis {
		basis[i] = uint64(xs[i])
	}
	l := newLagrange(basis)
	ys := make([][ShareWords]uint64, t)
	for i := range ys {
		ys[i] = sorted[i].Y
	}
	for _, extra := range sorted[t:] {
		if combineAt(l.at(uint64(extra.X)), ys) != extra.Y {
			return [SecretSize]byte{}, fmt.Errorf("%w: share at %d is off the polynomial of the first %d", ErrInconsistentShares, extra.X, t)
		}
	}
	words := combineAt(l.at(0), ys)
	secret, ok := wordsSecret(words)
	clear(words[:])
	if !ok {
		return [SecretSize]byte{}, fmt.Errorf("%w: the reconstructed value is not a %d-byte secret", ErrInconsistentShares, SecretSize)
	}
	return secret, nil
}

// combineAt is Σ_j coeffs[j]·ys[j], word by word.
func combineAt(coeffs []uint64, ys [][ShareWords]uint64) [ShareWords]uint64 {
	var out [ShareWords]uint64
	for j, c := range coeffs {
		for w := range ShareWords {
			out[w] = fAdd(out[w], fMul(c, ys[j][w]))
		}
	}
	return out
}

// checkPoints rejects zero and repeated points.
func checkPoints(xs []uint32) error {
	seen := make(map[uint32]struct{}, len(xs))
	for _, x := range xs {
		if x == 0 {
			return fmt.Errorf("%w: point 0 would hold the secret itself", ErrBadShares)
		}
		if _, dup := seen[x]; dup {
			return fmt.Errorf("%w: point %d repeated", ErrBadShares, x)
		}
		seen[x] = struct{}{}
	}
	return nil
}

// checkWords rejects share values outside the field.
func checkWords(y [ShareWords]uint64) error {
	for w, v := range y {
		if v >= fieldP {
			return fmt.Errorf("%w: word %d is %d, not below 2^61−1", ErrBadShares, w, v)
		}
	}
	return nil
}

// secretWords cuts a secret into little-endian chunks.
func secretWords(s [SecretSize]byte) [ShareWords]uint64 {
	var out [ShareWords]uint64
	var buf [8]byte
	for w := range ShareWords {
		lo := w * chunkBytes
		hi := min(lo+chunkBytes, SecretSize)
		clear(buf[:])
		copy(buf[:], s[lo:hi])
		out[w] = binary.LittleEndian.Uint64(buf[:])
	}
	clear(buf[:])
	return out
}

// wordsSecret is the inverse of secretWords; ok is false when a word is
// too large for its chunk.
func wordsSecret(words [ShareWords]uint64) (s [SecretSize]byte, ok bool) {
	var buf [8]byte
	for w, v := range words {
		lo := w * chunkBytes
		hi := min(lo+chunkBytes, SecretSize)
		if v>>(8*(hi-lo)) != 0 {
			return [SecretSize]byte{}, false
		}
		binary.LittleEndian.PutUint64(buf[:], v)
		copy(s[lo:hi], buf[:])
	}
	clear(buf[:])
	return s, true
}

// randomElements fills dst with uniform field elements: 61 random bits,
// redrawn in the rare case (2^−61) they spell fieldP itself.
func randomElements(rnd io.Reader, dst []uint64) error {
	if len(dst) == 0 {
		return nil
	}
	buf := make([]byte, 8*len(dst))
	defer clear(buf)
	if _, err := io.ReadFull(rnd, buf); err != nil {
		return fmt.Errorf("secagg: reading randomness: %w", err)
	}
	var one [8]byte
	for i := range dst {
		v := binary.LittleEndian.Uint64(buf[8*i:]) & fieldP
		for v == fieldP {
			if _, err := io.ReadFull(rnd, one[:]); err != nil {
				return fmt.Errorf("secagg: reading randomness: %w", err)
			}
			v = binary.LittleEndian.Uint64(one[:]) & fieldP
		}
		dst[i] = v
	}
	return nil
}
