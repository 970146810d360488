package secagg

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// TestMasksCancelExactly: with no dropouts the server's output is the sum
// of the inputs bit for bit, for vector lengths around the PRG's segment
// and block boundaries, and through the wire encoding.
func TestMasksCancelExactly(t *testing.T) {
	for _, d := range []int{1, 2, 3, prgSegment - 1, prgSegment, prgSegment + 1, 3*prgSegment + 5} {
		tr := execute(t, scenario{n: 5, t: 3, d: d, seed: uint64(d), wire: d == 3})
		res, err := tr.aggregate()
		require.NoError(t, err)
		require.Equal(t, tr.plainSum(), res.Sum, "d=%d", d)
		require.Equal(t, tr.survivorIDs(), res.Survivors)
		require.Empty(t, res.Dropped)
		require.Len(t, res.Responders, 3)
	}
}

// TestDropoutsAfterMasking: up to n−t survivors may fail to answer the
// unmask request; their inputs are still in the sum.
func TestDropoutsAfterMasking(t *testing.T) {
	for drops := 0; drops <= 3; drops++ {
		var drop2 []int
		for i := range drops {
			drop2 = append(drop2, 2*i)
		}
		tr := execute(t, scenario{n: 7, t: 4, d: 300, seed: 10 + uint64(drops), drop2: drop2})
		res, err := tr.aggregate()
		require.NoError(t, err)
		require.Len(t, res.Survivors, 7)
		require.Equal(t, tr.plainSum(), res.Sum, "%d dropped after round 2", drops)
	}
}

// TestDropoutsAfterSharing: clients that shared their keys but sent no
// input have their pairwise masks reconstructed and removed; the sum is
// the survivors'.
func TestDropoutsAfterSharing(t *testing.T) {
	for drops := 1; drops <= 3; drops++ {
		drop1 := []int{6, 1, 3}[:drops]
		tr := execute(t, scenario{n: 7, t: 4, d: 500, seed: 20 + uint64(drops), drop1: drop1})
		res, err := tr.aggregate()
		require.NoError(t, err)
		require.Len(t, res.Survivors, 7-drops)
		require.Len(t, res.Dropped, drops)
		require.Equal(t, tr.plainSum(), res.Sum, "%d dropped after round 1", drops)
	}
}

// TestDropoutsInEveryRound mixes dropouts after rounds 0, 1 and 2 (wire
// encoded): 9 advertise, 8 share, 6 send input, 5 answer, threshold 5.
func TestDropoutsInEveryRound(t *testing.T) {
	tr := execute(t, scenario{n: 9, t: 5, d: 777, seed: 30, drop0: []int{4}, drop1: []int{0, 8}, drop2: []int{2}, wire: true})
	res, err := tr.aggregate()
	require.NoError(t, err)
	require.Len(t, res.Survivors, 6)
	require.Len(t, res.Dropped, 2)
	require.Equal(t, tr.plainSum(), res.Sum)
}

// TestTooFewClients: every round with fewer than T participants fails with
// ErrTooFewClients, on the server's and the clients' side.
func TestTooFewClients(t *testing.T) {
	tr := execute(t, scenario{n: 5, t: 3, d: 10, seed: 40})
	p := tr.p

	_, err := CheckRoster(p, tr.keys[:2])
	require.ErrorIs(t, err, ErrTooFewClients)
	c, err := NewClient(p, 999, detRand(1))
	require.NoError(t, err)
	ad, err := c.AdvertiseKeys()
	require.NoError(t, err)
	_, err = c.ShareKeys([]*AdvertiseKeys{ad, tr.keys[0]})
	require.ErrorIs(t, err, ErrTooFewClients)

	_, err = CheckShareKeys(p, tr.keys, tr.shares[:2])
	require.ErrorIs(t, err, ErrTooFewClients)
	_, err = NewUnmaskRequest(p, tr.keys, tr.shares, tr.masked[:2])
	require.ErrorIs(t, err, ErrTooFewClients)
	_, err = Aggregate(p, tr.keys, tr.shares, tr.masked[:2], tr.answers)
	require.ErrorIs(t, err, ErrTooFewClients)
	_, err = Aggregate(p, tr.keys, tr.shares, tr.masked, tr.answers[:2])
	require.ErrorIs(t, err, ErrTooFewClients)

	// A client given too few shares or survivors refuses too.
	fresh := newSession(t, 5, 3, 10, 42)
	_, err = fresh.clients[0].MaskedInput(fresh.shares[:2], make([]uint64, 10))
	require.ErrorIs(t, err, ErrTooFewClients)
	for _, c := range fresh.clients {
		_, err := c.MaskedInput(fresh.shares, make([]uint64, 10))
		require.NoError(t, err)
	}
	_, err = fresh.clients[0].Unmask(&UnmaskRequest{Session: fresh.p.Session, Survivors: sortedIDs(fresh.clients[:2])})
	require.ErrorIs(t, err, ErrTooFewClients)
}

// session is rounds 0 and 1 run for n clients.
type session struct {
	p       Params
	clients []*Client
	keys    []*AdvertiseKeys
	shares  []*ShareKeys
}

// newSession runs rounds 0 and 1 for n clients, none dropping.
func newSession(t testing.TB, n, thr, d int, seed uint64) *session {
	return newSessionWith(t, testParams(thr, d, seed), n, seed)
}

// newSessionWith runs rounds 0 and 1 under p, the clients' randomness
// derived from seed.
func newSessionWith(t testing.TB, p Params, n int, seed uint64) *session {
	s := &session{p: p}
	for i := range n {
		c, err := NewClient(s.p, clientID(i), detRand(seed*1000+uint64(i)))
		require.NoError(t, err)
		ad, err := c.AdvertiseKeys()
		require.NoError(t, err)
		s.clients = append(s.clients, c)
		s.keys = append(s.keys, ad)
	}
	for _, c := range s.clients {
		m, err := c.ShareKeys(s.keys)
		require.NoError(t, err)
		s.shares = append(s.shares, m)
	}
	return s
}

func sortedIDs(cs []*Client) []ClientID {
	var ids []ClientID
	for _, c := range cs {
		ids = append(ids, c.ID())
	}
	slices.Sort(ids)
	return ids
}

// TestMaskedInputLooksRandom: a masked input alone differs from its
// plain encoding in essentially every coordinate, and its bytes pass a
// chi-square test for uniformity, although the input is tiny and smooth.
func TestMaskedInputLooksRandom(t *testing.T) {
	const d = 100_000
	g := engine.NewRNG(7, 1)
	floats := make([]float32, d)
	for i := range floats {
		floats[i] = 0.01 * g.Normal()
	}
	x, _, err := DefaultCodec.Encode(nil, floats)
	require.NoError(t, err)
	s := newSession(t, 4, 3, d, 50)
	m, err := s.clients[0].MaskedInput(s.shares, x)
	require.NoError(t, err)
	same := 0
	for i := range x {
		if m.Y[i] == x[i] {
			same++
		}
	}
	require.Zero(t, same, "coordinates left unmasked")

	// Chi-square over 256 bins for the top byte and the bottom byte of
	// each coordinate: 255 degrees of freedom, so a uniform source exceeds
	// 340 with probability about 3e-4 (the streams are fixed, so the test
	// is deterministic).
	for _, shift := range []uint{56, 0, 32} {
		var bins [256]float64
		for _, y := range m.Y {
			bins[(y>>shift)&0xff]++
		}
		chi := 0.0
		expect := float64(d) / 256
		for _, b := range bins {
			chi += (b - expect) * (b - expect) / expect
		}
		t.Logf("chi-square of byte at bit %d: %.1f (255 dof)", shift, chi)
		require.Less(t, chi, 340.0, "byte at bit %d", shift)
		require.Greater(t, chi, 180.0, "suspiciously uniform byte at bit %d", shift)
	}
	// The plain encoding, by contrast, is far from uniform.
	var bins [256]float64
	for _, v := range x {
		bins[v>>56]++
	}
	require.Greater(t, slices.Max(bins[:]), float64(d)/4)
}

// TestTamperedCiphertext: a flipped bit, a ciphertext moved to another
// recipient, or one from another session fails authentication.
func TestTamperedCiphertext(t *testing.T) {
	s := newSession(t, 5, 3, 8, 60)
	victim := s.clients[1]
	// Index of the sender's entry for the victim.
	entry := func(m *ShareKeys, to ClientID) int {
		for i, e := range m.Shares {
			if e.To == to {
				return i
			}
		}
		t.Fatalf("no entry for %d", to)
		return -1
	}
	clone := func(m *ShareKeys) *ShareKeys {
		c := *m
		c.Shares = slices.Clone(m.Shares)
		return &c
	}

	flipped := slices.Clone(s.shares)
	flipped[3] = clone(s.shares[3])
	flipped[3].Shares[entry(flipped[3], victim.ID())].Ciphertext[17] ^= 1
	_, err := victim.MaskedInput(flipped, make([]uint64, 8))
	require.ErrorIs(t, err, ErrDecrypt)
	require.ErrorContains(t, err, "from client")

	// Swap the victim's ciphertext with another recipient's (the list stays
	// in order, only the payloads move).
	swapped := slices.Clone(s.shares)
	swapped[3] = clone(s.shares[3])
	a, b := entry(swapped[3], victim.ID()), entry(swapped[3], s.clients[0].ID())
	swapped[3].Shares[a].Ciphertext, swapped[3].Shares[b].Ciphertext = swapped[3].Shares[b].Ciphertext, swapped[3].Shares[a].Ciphertext
	_, err = victim.MaskedInput(swapped, make([]uint64, 8))
	require.ErrorIs(t, err, ErrDecrypt)

	// A failed call changes nothing: the untampered messages still work.
	m, err := victim.MaskedInput(s.shares, make([]uint64, 8))
	require.NoError(t, err)
	require.Len(t, m.Y, 8)

	// The same clients with the same keys under another session: the
	// ciphertexts of one session do not open in the other.
	p2 := s.p
	p2.Session[0] ^= 1
	other := newSessionWith(t, p2, 5, 60)
	require.Equal(t, s.keys[2].EncryptionKey, other.keys[2].EncryptionKey)
	mixed := slices.Clone(other.shares)
	mixed[2] = clone(other.shares[2])
	copy(mixed[2].Shares, s.shares[2].Shares)
	_, err = other.clients[1].MaskedInput(mixed, make([]uint64, 8))
	require.ErrorIs(t, err, ErrDecrypt)
}

// TestTamperedUnmaskShares: a wrong share, or a wrong commitment, makes
// the reconstruction fail its check instead of producing a wrong sum.
func TestTamperedUnmaskShares(t *testing.T) {
	tr := execute(t, scenario{n: 7, t: 4, d: 50, seed: 70, drop1: []int{5}})
	// The responders used are the T with the smallest ids.
	byID := slices.Clone(tr.answers)
	slices.SortFunc(byID, func(a, b *UnmaskShares) int { return int(a.From) - int(b.From) })
	first := byID[0]

	for _, which := range []string{"self", "key"} {
		bad := *first
		bad.SelfMaskShares = slices.Clone(first.SelfMaskShares)
		bad.MaskKeyShares = slices.Clone(first.MaskKeyShares)
		if which == "self" {
			bad.SelfMaskShares[2].Y[1] = fAdd(bad.SelfMaskShares[2].Y[1], 1)
		} else {
			bad.MaskKeyShares[0].Y[4] = fAdd(bad.MaskKeyShares[0].Y[4], 1)
		}
		answers := slices.Clone(tr.answers)
		answers[slices.Index(answers, first)] = &bad
		_, err := Aggregate(tr.p, tr.keys, tr.shares, tr.masked, answers)
		require.ErrorIs(t, err, ErrInconsistentShares, which)
	}

	// A share from a responder beyond the first T is not used.
	last := byID[len(byID)-1]
	bad := *last
	bad.SelfMaskShares = slices.Clone(last.SelfMaskShares)
	bad.SelfMaskShares[0].Y[0] = fAdd(bad.SelfMaskShares[0].Y[0], 1)
	answers := slices.Clone(tr.answers)
	answers[slices.Index(answers, last)] = &bad
	res, err := Aggregate(tr.p, tr.keys, tr.shares, tr.masked, answers)
	require.NoError(t, err)
	require.Equal(t, tr.plainSum(), res.Sum)

	shares := slices.Clone(tr.shares)
	forged := *shares[0]
	forged.Commitment[0] ^= 1
	shares[0] = &forged
	_, err = Aggregate(tr.p, tr.keys, shares, tr.masked, tr.answers)
	require.Error(t, err) // the peer-set digest still matches; the commitment does not
	require.ErrorIs(t, err, ErrInconsistentShares)
}

// TestOrderIndependence: the server's output is identical whatever order
// the messages arrive in, and at any GOMAXPROCS.
func TestOrderIndependence(t *testing.T) {
	tr := execute(t, scenario{n: 9, t: 5, d: 3*prgSegment + 3, seed: 80, drop1: []int{3, 7}})
	want, err := tr.aggregate()
	require.NoError(t, err)
	require.Equal(t, tr.plainSum(), want.Sum)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 5 {
		keys, shares, masked, answers := slices.Clone(tr.keys), slices.Clone(tr.shares), slices.Clone(tr.masked), slices.Clone(tr.answers)
		rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
		rng.Shuffle(len(shares), func(i, j int) { shares[i], shares[j] = shares[j], shares[i] })
		rng.Shuffle(len(masked), func(i, j int) { masked[i], masked[j] = masked[j], masked[i] })
		rng.Shuffle(len(answers), func(i, j int) { answers[i], answers[j] = answers[j], answers[i] })
		procs := runtime.GOMAXPROCS(1 + trial%2)
		got, err := Aggregate(tr.p, keys, shares, masked, answers)
		runtime.GOMAXPROCS(procs)
		require.NoError(t, err)
		require.Equal(t, want, got, "trial %d", trial)
	}
	// Answers from a different (but sufficient) subset of responders give
	// the same sum.
	got, err := Aggregate(tr.p, tr.keys, tr.shares, tr.masked, tr.answers[2:])
	require.NoError(t, err)
	require.Equal(t, want.Sum, got.Sum)
	require.NotEqual(t, want.Responders, got.Responders)
}

// TestUnmaskNeverRevealsBoth: a client answers one survivor set only, and
// only sets that include it and come from U2.
func TestUnmaskNeverRevealsBoth(t *testing.T) {
	s := newSession(t, 5, 3, 4, 90)
	for _, c := range s.clients {
		_, err := c.MaskedInput(s.shares, make([]uint64, 4))
		require.NoError(t, err)
	}
	all := sortedIDs(s.clients)
	c := s.clients[0]
	without := func(id ClientID) []ClientID {
		return slices.DeleteFunc(slices.Clone(all), func(x ClientID) bool { return x == id })
	}
	_, err := c.Unmask(&UnmaskRequest{Session: s.p.Session, Survivors: without(c.ID())})
	require.ErrorIs(t, err, ErrBadMessage, "a client that did not survive does not answer")
	_, err = c.Unmask(&UnmaskRequest{Session: s.p.Session, Survivors: []ClientID{all[2], all[1], all[0]}})
	require.ErrorIs(t, err, ErrBadMessage, "unsorted")
	_, err = c.Unmask(&UnmaskRequest{Session: s.p.Session, Survivors: append(slices.Clone(all), 65535)})
	require.ErrorIs(t, err, ErrBadMessage, "a stranger")
	_, err = c.Unmask(&UnmaskRequest{Session: [32]byte{9}, Survivors: all})
	require.ErrorIs(t, err, ErrBadMessage, "another session")

	other := s.clients[1].ID()
	first, err := c.Unmask(&UnmaskRequest{Session: s.p.Session, Survivors: all})
	require.NoError(t, err)
	require.Len(t, first.SelfMaskShares, 5)
	require.Empty(t, first.MaskKeyShares)
	again, err := c.Unmask(&UnmaskRequest{Session: s.p.Session, Survivors: all})
	require.NoError(t, err)
	require.Equal(t, first, again)
	// Now claiming `other` dropped would ask for its masking-key share on
	// top of its self-mask share: refused.
	_, err = c.Unmask(&UnmaskRequest{Session: s.p.Session, Survivors: without(other)})
	require.ErrorIs(t, err, ErrWrongState)

	// A fresh client asked about a dropped peer returns that peer's key
	// share and no self-mask share for it.
	d := s.clients[2]
	ans, err := d.Unmask(&UnmaskRequest{Session: s.p.Session, Survivors: without(other)})
	require.NoError(t, err)
	require.Len(t, ans.MaskKeyShares, 1)
	require.Equal(t, other, ans.MaskKeyShares[0].Owner)
	for _, sh := range ans.SelfMaskShares {
		require.NotEqual(t, other, sh.Owner)
	}
}

// TestClientRoundOrder: rounds run once each, in order.
func TestClientRoundOrder(t *testing.T) {
	p := testParams(2, 4, 100)
	c, err := NewClient(p, 5, detRand(1))
	require.NoError(t, err)
	_, err = c.ShareKeys(nil)
	require.ErrorIs(t, err, ErrWrongState)
	_, err = c.MaskedInput(nil, make([]uint64, 4))
	require.ErrorIs(t, err, ErrWrongState)
	_, err = c.Unmask(&UnmaskRequest{Session: p.Session})
	require.ErrorIs(t, err, ErrWrongState)
	_, err = c.AdvertiseKeys()
	require.NoError(t, err)
	_, err = c.AdvertiseKeys()
	require.ErrorIs(t, err, ErrWrongState)

	_, err = NewClient(p, 0, nil)
	require.ErrorIs(t, err, ErrBadParams)
	_, err = NewClient(Params{Threshold: 2, VectorLen: 1}, 1, nil)
	require.ErrorIs(t, err, ErrBadParams, "zero session")
	_, err = NewClient(testParams(1, 4, 1), 1, nil)
	require.ErrorIs(t, err, ErrBadParams, "threshold 1")
	_, err = NewClient(testParams(2, 0, 1), 1, nil)
	require.ErrorIs(t, err, ErrBadParams, "empty vectors")
	_, err = NewClient(testParams(2, MaxVectorLen+1, 1), 1, nil)
	require.ErrorIs(t, err, ErrBadParams)

	s := newSession(t, 3, 2, 4, 101)
	_, err = s.clients[0].MaskedInput(s.shares, make([]uint64, 3))
	require.ErrorIs(t, err, ErrBadParams, "wrong input length")
}

// TestRosterChecks: the roster's size against the threshold, repeated
// and bad keys, foreign sessions, the signature hook, and the client's
// own keys.
func TestRosterChecks(t *testing.T) {
	s := newSession(t, 5, 3, 4, 110)
	p := s.p
	_, err := CheckRoster(p, s.keys)
	require.NoError(t, err)

	p4 := p
	p4.Threshold = 2 // 2T = 4 ≤ 5 clients
	_, err = CheckRoster(p4, s.keys)
	require.ErrorIs(t, err, ErrBadParams)
	require.ErrorContains(t, err, "2T−1")

	dup := slices.Clone(s.keys)
	dup[4] = dup[0]
	_, err = CheckRoster(p, dup)
	require.ErrorIs(t, err, ErrBadMessage)

	reuse := slices.Clone(s.keys)
	r := *reuse[1]
	r.MaskingKey = reuse[0].EncryptionKey
	reuse[1] = &r
	_, err = CheckRoster(p, reuse)
	require.ErrorContains(t, err, "reuses a public key")

	same := *s.keys[2]
	same.MaskingKey = same.EncryptionKey
	require.ErrorIs(t, same.Validate(p), ErrBadMessage)

	// The all-zero key and another point of small order.
	for _, low := range [][KeySize]byte{{}, {1}, {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00}} {
		bad := *s.keys[2]
		bad.EncryptionKey = low
		require.ErrorIs(t, bad.Validate(p), ErrBadMessage, "%x", low)
	}

	foreign := *s.keys[1]
	foreign.Session[0] ^= 1
	require.ErrorIs(t, foreign.Validate(p), ErrBadMessage)
	zero := *s.keys[1]
	zero.From = 0
	require.ErrorIs(t, zero.Validate(p), ErrBadMessage)
	long := *s.keys[1]
	long.Signature = make([]byte, MaxSignatureSize+1)
	require.ErrorIs(t, long.Validate(p), ErrBadMessage)
	_, err = long.Marshal()
	require.ErrorIs(t, err, ErrBadMessage)

	// The signature hook sees every advertisement and can veto one.
	signed := p
	var seen []ClientID
	signed.VerifyKeys = func(ad *AdvertiseKeys) error {
		seen = append(seen, ad.From)
		if ad.From == s.keys[3].From {
			return errors.New("bad signature")
		}
		require.Equal(t, ad.SignBytes(), (&AdvertiseKeys{Session: ad.Session, From: ad.From, EncryptionKey: ad.EncryptionKey, MaskingKey: ad.MaskingKey}).SignBytes())
		return nil
	}
	_, err = CheckRoster(signed, s.keys)
	require.ErrorIs(t, err, ErrBadMessage)
	require.ErrorContains(t, err, "bad signature")
	require.Contains(t, seen, s.keys[3].From)

	// A client whose own keys are missing from, or replaced in, the roster
	// refuses it.
	c, err := NewClient(p, 4242, detRand(3))
	require.NoError(t, err)
	ad, err := c.AdvertiseKeys()
	require.NoError(t, err)
	_, err = c.ShareKeys(s.keys)
	require.ErrorContains(t, err, "own keys")
	swapped := *ad
	swapped.EncryptionKey, swapped.MaskingKey = ad.MaskingKey, ad.EncryptionKey
	_, err = c.ShareKeys(append(slices.Clone(s.keys[:4]), &swapped))
	require.ErrorContains(t, err, "own keys")
}

// TestServerRejectsMismatchedMessages: incomplete share lists, inputs of
// the wrong length or masked against another peer set, answers for
// another survivor set, and repeated senders.
func TestServerRejectsMismatchedMessages(t *testing.T) {
	tr := execute(t, scenario{n: 5, t: 3, d: 6, seed: 120, drop1: []int{4}})
	p := tr.p

	short := *tr.shares[0]
	short.Shares = short.Shares[1:]
	_, err := CheckShareKeys(p, tr.keys, append([]*ShareKeys{&short}, tr.shares[1:]...))
	require.ErrorIs(t, err, ErrBadMessage)
	_, err = CheckShareKeys(p, tr.keys, append(slices.Clone(tr.shares), tr.shares[1]))
	require.ErrorContains(t, err, "twice")

	long := *tr.masked[0]
	long.Y = append(slices.Clone(long.Y), 0)
	_, err = NewUnmaskRequest(p, tr.keys, tr.shares, append([]*MaskedInput{&long}, tr.masked[1:]...))
	require.ErrorIs(t, err, ErrBadMessage)
	peers := *tr.masked[0]
	peers.Peers[0] ^= 1
	_, err = Aggregate(p, tr.keys, tr.shares, append([]*MaskedInput{&peers}, tr.masked[1:]...), tr.answers)
	require.ErrorContains(t, err, "different set of peers")
	_, err = Aggregate(p, tr.keys, tr.shares, append(slices.Clone(tr.masked), tr.masked[0]), tr.answers)
	require.ErrorContains(t, err, "twice")
	_, err = Aggregate(p, tr.keys, tr.shares, tr.masked, append(slices.Clone(tr.answers), tr.answers[0]))
	require.ErrorContains(t, err, "twice")

	// An input from the client that dropped after round 1 arrives late:
	// the answers were for a survivor set without it.
	late := tr.clients[4]
	m, err := late.MaskedInput(tr.shares, make([]uint64, 6))
	require.NoError(t, err)
	_, err = Aggregate(p, tr.keys, tr.shares, append(slices.Clone(tr.masked), m), tr.answers)
	require.ErrorIs(t, err, ErrBadMessage)

	_, err = Aggregate(p, tr.keys, tr.shares, tr.masked, []*UnmaskShares{nil, tr.answers[0], tr.answers[1]})
	require.ErrorIs(t, err, ErrBadMessage)
}

// TestLargeSession is the size: 10 clients, threshold 6, 100k
// parameters encoded with DefaultCodec, two clients dropping after round 1
// and two after round 2. The decoded sum is the exact rounding of the sum
// of the encoded survivors and close to the float64 sum of the inputs.
func TestLargeSession(t *testing.T) {
	const n, thr, d = 10, 6, 100_000
	floats := make([][]float32, n)
	for i := range floats {
		g := engine.NewRNG(11, uint64(i))
		floats[i] = make([]float32, d)
		for j := range floats[i] {
			floats[i][j] = g.Normal() * 0.05
		}
	}
	start := time.Now()
	tr := execute(t, scenario{n: n, t: thr, d: d, seed: 130, drop1: []int{2, 5}, drop2: []int{0, 9}, inputs: func(i int) []uint64 {
		x, clipped, err := DefaultCodec.Encode(nil, floats[i])
		require.NoError(t, err)
		require.Zero(t, clipped)
		return x
	}})
	clientTime := time.Since(start)
	start = time.Now()
	res, err := tr.aggregate()
	require.NoError(t, err)
	t.Logf("n=%d t=%d d=%d: all clients %v, server %v", n, thr, d, clientTime, time.Since(start))
	require.Equal(t, tr.plainSum(), res.Sum)
	require.Len(t, res.Survivors, 8)
	got, err := DefaultCodec.Decode(nil, res.Sum, len(res.Survivors))
	require.NoError(t, err)
	for j := 0; j < d; j += 997 {
		want := 0.0
		for i := range n {
			if i != 2 && i != 5 {
				want += float64(floats[i][j])
			}
		}
		require.InDelta(t, want, float64(got[j]), 8*math.Ldexp(1, -32)+math.Abs(want)*1e-7, "coordinate %d", j)
	}
}
