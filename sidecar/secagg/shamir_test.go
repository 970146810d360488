package secagg

import (
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFieldArithmetic checks the field operations against math/big,
// including the edges 0, 1 and p−1.
func TestFieldArithmetic(t *testing.T) {
	p := new(big.Int).SetUint64(fieldP)
	rng := rand.New(rand.NewPCG(3, 4))
	vals := []uint64{0, 1, 2, fieldP - 1, fieldP - 2, 1 << 60, 1<<61 - 3}
	for range 2000 {
		vals = append(vals, rng.Uint64N(fieldP))
	}
	bi := func(v uint64) *big.Int { return new(big.Int).SetUint64(v) }
	for i, a := range vals {
		b := vals[(i*7+3)%len(vals)]
		want := new(big.Int).Mul(bi(a), bi(b))
		require.Equal(t, want.Mod(want, p).Uint64(), fMul(a, b), "%d·%d", a, b)
		want.Add(bi(a), bi(b))
		require.Equal(t, want.Mod(want, p).Uint64(), fAdd(a, b))
		want.Sub(bi(a), bi(b))
		require.Equal(t, want.Mod(want, p).Uint64(), fSub(a, b))
		if a != 0 {
			require.Equal(t, uint64(1), fMul(a, fInv(a)))
		}
	}
	require.Equal(t, uint64(0), fReduce(fieldP))
	require.Equal(t, uint64(fieldP-1), fReduce(2*fieldP-1))
}

func testSecret(seed uint64) [SecretSize]byte {
	var s [SecretSize]byte
	_, _ = detRand(seed).Read(s[:])
	return s
}

func points(n int) []uint32 {
	xs := make([]uint32, n)
	for i := range xs {
		xs[i] = uint32(clientID(i))
	}
	return xs
}

// TestShamirRoundTrip: any t of n shares, in any order, give the secret
// back, for all-zero, all-ones and random secrets.
func TestShamirRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	secrets := [][SecretSize]byte{{}, testSecret(1), testSecret(2)}
	var ones [SecretSize]byte
	for i := range ones {
		ones[i] = 0xff
	}
	secrets = append(secrets, ones)
	for _, nt := range [][2]int{{1, 1}, {2, 1}, {2, 2}, {5, 3}, {10, 6}, {31, 16}} {
		n, thr := nt[0], nt[1]
		for si, secret := range secrets {
			shares, err := Split(secret, points(n), thr, detRand(uint64(100*n+si)))
			require.NoError(t, err)
			require.Len(t, shares, n)
			for trial := range 5 {
				perm := rng.Perm(n)
				subset := make([]Share, 0, n)
				for _, i := range perm[:thr+trial%(n-thr+1)] {
					subset = append(subset, shares[i])
				}
				got, err := Combine(subset, thr)
				require.NoError(t, err, "n=%d t=%d", n, thr)
				require.Equal(t, secret, got, "n=%d t=%d", n, thr)
			}
		}
	}
}

// TestShamirTooFewShares: fewer than t shares are refused, and
// interpolating t−1 shares as if they were enough gives something other
// than the secret (in fact each of t−1 shares is uniform and independent
// of the secret).
func TestShamirTooFewShares(t *testing.T) {
	secret := testSecret(7)
	shares, err := Split(secret, points(10), 6, detRand(8))
	require.NoError(t, err)
	_, err = Combine(shares[:5], 6)
	require.ErrorIs(t, err, ErrTooFewShares)
	_, err = Combine(nil, 1)
	require.ErrorIs(t, err, ErrTooFewShares)
	if got, err := Combine(shares[:5], 5); err == nil {
		require.NotEqual(t, secret, got)
	} else {
		require.ErrorIs(t, err, ErrInconsistentShares)
	}

	// The same points and randomness for two secrets give shares that
	// differ everywhere; t−1 of them must then be compatible with both,
	// which Lagrange interpolation through (0, s') shows: the t−1 shares of
	// secret A plus the point (0, B) define a valid sharing of B.
	b := testSecret(9)
	words := secretWords(b)
	xs := []uint64{0}
	ys := [][ShareWords]uint64{words}
	for _, s := range shares[:5] {
		xs = append(xs, uint64(s.X))
		ys = append(ys, s.Y)
	}
	l := newLagrange(xs)
	got, ok := wordsSecret(combineAt(l.at(0), ys))
	require.True(t, ok)
	require.Equal(t, b, got)
}

// TestShamirBadShares: zero and repeated points, out-of-field values,
// bad thresholds and inconsistent extra shares are rejected.
func TestShamirBadShares(t *testing.T) {
	secret := testSecret(10)
	_, err := Split(secret, []uint32{1, 2, 0}, 2, nil)
	require.ErrorIs(t, err, ErrBadShares)
	_, err = Split(secret, []uint32{1, 2, 2}, 2, nil)
	require.ErrorIs(t, err, ErrBadShares)
	_, err = Split(secret, []uint32{1, 2}, 3, nil)
	require.ErrorIs(t, err, ErrBadShares)
	_, err = Split(secret, []uint32{1, 2}, 0, nil)
	require.ErrorIs(t, err, ErrBadShares)
	_, err = Split(secret, make([]uint32, MaxClients+1), 2, nil)
	require.ErrorIs(t, err, ErrBadShares)

	shares, err := Split(secret, points(6), 3, nil) // crypto/rand
	require.NoError(t, err)
	got, err := Combine(shares, 3)
	require.NoError(t, err)
	require.Equal(t, secret, got)

	dup := []Share{shares[0], shares[1], shares[1]}
	_, err = Combine(dup, 3)
	require.ErrorIs(t, err, ErrBadShares)
	zero := slices.Clone(shares[:3])
	zero[1].X = 0
	_, err = Combine(zero, 3)
	require.ErrorIs(t, err, ErrBadShares)
	outside := slices.Clone(shares[:3])
	outside[2].Y[3] = fieldP
	_, err = Combine(outside, 3)
	require.ErrorIs(t, err, ErrBadShares)
	_, err = Combine(shares, 0)
	require.ErrorIs(t, err, ErrBadShares)

	// A wrong share among the extras is caught.
	bad := slices.Clone(shares)
	bad[5].Y[0] = fAdd(bad[5].Y[0], 1)
	_, err = Combine(bad, 3)
	require.ErrorIs(t, err, ErrInconsistentShares)
	// A wrong share among exactly t cannot be detected by consistency, but
	// it changes the result (here: detected because the last chunk no
	// longer fits in 4 bytes, with overwhelming probability).
	_, err = Combine(bad[3:], 3)
	require.ErrorIs(t, err, ErrInconsistentShares)
}

// TestShamirRandomnessUse: the same reader gives the same shares, another
// reader other shares.
func TestShamirRandomnessUse(t *testing.T) {
	secret := testSecret(11)
	a, err := Split(secret, points(5), 3, detRand(1))
	require.NoError(t, err)
	b, err := Split(secret, points(5), 3, detRand(1))
	require.NoError(t, err)
	c, err := Split(secret, points(5), 3, detRand(2))
	require.NoError(t, err)
	require.Equal(t, a, b)
	for i := range a {
		require.NotEqual(t, a[i].Y, c[i].Y)
	}
	_, err = Split(secret, points(5), 3, zeros{}) // a broken source: every coefficient 0
	require.NoError(t, err)
	_, err = Split(secret, points(5), 3, &limited{n: 10})
	require.ErrorContains(t, err, "randomness")
}

// limited is a reader that fails after n bytes.
type limited struct{ n int }

func (l *limited) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errShort
	}
	k := min(len(p), l.n)
	clear(p[:k])
	l.n -= k
	return k, nil
}

var errShort = errorString("short read")

type errorString string

func (e errorString) Error() string { return string(e) }
