package secagg

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ClientID names a client within a session. It must be nonzero: it is the
// client's Shamir evaluation point, and 0 is where the secret sits. Masks
// are signed by the order of ids.
type ClientID uint32

const (
	// Version is the protocol and wire-format version; messages of any
	// other version are rejected.
	Version = 1
	// MaxClients bounds the roster. It keeps the quadratic work and the
	// message sizes in check and lies well within DefaultCodec's Capacity.
	MaxClients = 1 << 14
	// MaxVectorLen bounds the length of the masked vectors (2 GiB as
	// uint64).
	MaxVectorLen = 1 << 28
	// MaxSignatureSize bounds AdvertiseKeys.Signature.
	MaxSignatureSize = 1024
)

var (
	// ErrBadParams is returned for invalid Params and for rosters the
	// threshold does not suit.
	ErrBadParams = errors.New("secagg: bad parameters")
	// ErrBadMessage is returned for malformed messages and for messages
	// that do not fit the session: wrong session, unknown or repeated
	// sender, wrong recipients or lengths.
	ErrBadMessage = errors.New("secagg: bad message")
	// ErrTooFewClients is returned when fewer clients than the threshold
	// take part in a round.
	ErrTooFewClients = errors.New("secagg: fewer clients than the threshold")
	// ErrWrongState is returned when a client's rounds are called out of
	// order or repeated.
	ErrWrongState = errors.New("secagg: client round out of order")
)

// Params are the session's public parameters, the same for every party.
type Params struct {
	// Session names this aggregation: keys, ciphertexts, masks and
	// messages are bound to it. It must be unique per aggregation (e.g. a
	// hash of the chain id, the task and the round) and nonzero.
	Session [32]byte
	// Threshold is T: the number of shares that reconstruct a secret and
	// the fewest clients any round may have. 2 ≤ T and 2T > |roster|.
	Threshold int
	// VectorLen is the length of every input vector, 1 to MaxVectorLen.
	VectorLen int
	// VerifyKeys, when set, is called on every advertisement of the
	// roster, by clients and by the server; an error rejects the roster.
	// It is the hook for the caller's signatures (see
	// AdvertiseKeys.SignBytes); this package signs nothing.
	VerifyKeys func(*AdvertiseKeys) error
}

// Validate checks the parameters.
func (p Params) Validate() error {
	if p.Session == ([32]byte{}) {
		return fmt.Errorf("%w: the session id is zero", ErrBadParams)
	}
	if p.Threshold < 2 || p.Threshold > MaxClients {
		return fmt.Errorf("%w: threshold %d outside [2, %d]", ErrBadParams, p.Threshold, MaxClients)
	}
	if p.VectorLen < 1 || p.VectorLen > MaxVectorLen {
		return fmt.Errorf("%w: vector length %d outside [1, %d]", ErrBadParams, p.VectorLen, MaxVectorLen)
	}
	return nil
}

// MaxRoster is the largest roster the threshold allows, 2T − 1 (at most
// MaxClients).
func (p Params) MaxRoster() int { return min(2*p.Threshold-1, MaxClients) }

// roster is U1: the clients whose keys were advertised, with their keys.
type roster struct {
	ids  []ClientID // sorted
	keys map[ClientID]*AdvertiseKeys
}

// newRoster validates a set of advertisements, in any order: each valid,
// one per client, all public keys distinct, at least T and at most 2T−1.
func newRoster(p Params, ads []*AdvertiseKeys) (*roster, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(ads) < p.Threshold {
		return nil, fmt.Errorf("%w: round 0 (advertise keys): %d clients, threshold %d", ErrTooFewClients, len(ads), p.Threshold)
	}
	if len(ads) > p.MaxRoster() {
		return nil, fmt.Errorf("%w: %d clients advertised keys, threshold %d allows at most %d (2T−1)", ErrBadParams, len(ads), p.Threshold, p.MaxRoster())
	}
	r := &roster{ids: make([]ClientID, 0, len(ads)), keys: make(map[ClientID]*AdvertiseKeys, len(ads))}
	seenKey := make(map[[KeySize]byte]ClientID, 2*len(ads))
	for _, ad := range ads {
		if ad == nil {
			return nil, fmt.Errorf("%w: nil advertisement", ErrBadMessage)
		}
		if _, dup := r.keys[ad.From]; dup {
			return nil, fmt.Errorf("%w: client %d advertised keys twice", ErrBadMessage, ad.From)
		}
		if err := ad.Validate(p); err != nil {
			return nil, err
		}
		for _, k := range [][KeySize]byte{ad.EncryptionKey, ad.MaskingKey} {
			if other, dup := seenKey[k]; dup {
				return nil, fmt.Errorf("%w: client %d reuses a public key of client %d", ErrBadMessage, ad.From, other)
			}
			seenKey[k] = ad.From
		}
		r.keys[ad.From] = ad
		r.ids = append(r.ids, ad.From)
	}
	slices.Sort(r.ids)
	return r, nil
}

// checkShareKeys validates one ShareKeys message against the roster: the
// sender is on it and encrypted exactly one pair of shares to every other
// client on it, in order of ClientID.
func (r *roster) checkShareKeys(p Params, m *ShareKeys) error {
	if m == nil {
		return fmt.Errorf("%w: nil ShareKeys", ErrBadMessage)
	}
	if m.Session != p.Session {
		return fmt.Errorf("%w: ShareKeys from client %d is for another session", ErrBadMessage, m.From)
	}
	if _, ok := r.keys[m.From]; !ok {
		return fmt.Errorf("%w: ShareKeys from client %d, who is not on the roster", ErrBadMessage, m.From)
	}
	if len(m.Shares) != len(r.ids)-1 {
		return fmt.Errorf("%w: client %d sent %d encrypted shares for %d peers", ErrBadMessage, m.From, len(m.Shares), len(r.ids)-1)
	}
	i := 0
	for _, id := range r.ids {
		if id == m.From {
			continue
		}
		if m.Shares[i].To != id {
			return fmt.Errorf("%w: client %d's encrypted shares are not one per peer in order of id (entry %d is for %d, expected %d)", ErrBadMessage, m.From, i, m.Shares[i].To, id)
		}
		i++
	}
	return nil
}

// shared is U2: the clients of the roster that sent their shares.
type shared struct {
	*roster
	ids    []ClientID // sorted
	msgs   map[ClientID]*ShareKeys
	digest [32]byte // PeerDigest of ids
}

// collectShares validates the round-1 messages, in any order.
func collectShares(p Params, r *roster, msgs []*ShareKeys) (*shared, error) {
	s := &shared{roster: r, msgs: make(map[ClientID]*ShareKeys, len(msgs))}
	for _, m := range msgs {
		if err := r.checkShareKeys(p, m); err != nil {
			return nil, err
		}
		if _, dup := s.msgs[m.From]; dup {
			return nil, fmt.Errorf("%w: client %d sent ShareKeys twice", ErrBadMessage, m.From)
		}
		s.msgs[m.From] = m
		s.ids = append(s.ids, m.From)
	}
	if len(s.ids) < p.Threshold {
		return nil, fmt.Errorf("%w: round 1 (share keys): %d clients, threshold %d", ErrTooFewClients, len(s.ids), p.Threshold)
	}
	slices.Sort(s.ids)
	s.digest = PeerDigest(p.Session, s.ids)
	return s, nil
}

// checkMasked validates one MaskedInput against U2.
func (s *shared) checkMasked(p Params, m *MaskedInput) error {
	if m == nil {
		return fmt.Errorf("%w: nil MaskedInput", ErrBadMessage)
	}
	if m.Session != p.Session {
		return fmt.Errorf("%w: MaskedInput from client %d is for another session", ErrBadMessage, m.From)
	}
	if _, ok := s.msgs[m.From]; !ok {
		return fmt.Errorf("%w: MaskedInput from client %d, who sent no shares", ErrBadMessage, m.From)
	}
	if len(m.Y) != p.VectorLen {
		return fmt.Errorf("%w: client %d's masked input has %d values, the session %d", ErrBadMessage, m.From, len(m.Y), p.VectorLen)
	}
	if m.Peers != s.digest {
		return fmt.Errorf("%w: client %d masked against a different set of peers than the clients that shared keys", ErrBadMessage, m.From)
	}
	return nil
}

// collectMasked validates the round-2 messages, in any order, and returns
// them sorted by sender.
func collectMasked(p Params, s *shared, msgs []*MaskedInput) ([]*MaskedInput, error) {
	out := slices.Clone(msgs)
	for _, m := range out {
		if err := s.checkMasked(p, m); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *MaskedInput) int { return cmp.Compare(a.From, b.From) })
	for i := 1; i < len(out); i++ {
		if out[i].From == out[i-1].From {
			return nil, fmt.Errorf("%w: client %d sent MaskedInput twice", ErrBadMessage, out[i].From)
		}
	}
	if len(out) < p.Threshold {
		return nil, fmt.Errorf("%w: round 2 (masked input): %d clients, threshold %d", ErrTooFewClients, len(out), p.Threshold)
	}
	return out, nil
}

// checkSurvivors validates an announced U3: sorted, without repeats, a
// subset of U2 of at least T clients. It returns U2 \ U3.
func (s *shared) checkSurvivors(p Params, survivors []ClientID) ([]ClientID, error) {
	if len(survivors) < p.Threshold {
		return nil, fmt.Errorf("%w: round 3 (unmasking): %d survivors, threshold %d", ErrTooFewClients, len(survivors), p.Threshold)
	}
	for i, id := range survivors {
		if i > 0 && id <= survivors[i-1] {
			return nil, fmt.Errorf("%w: survivors are not sorted without repeats", ErrBadMessage)
		}
		if _, ok := s.msgs[id]; !ok {
			return nil, fmt.Errorf("%w: survivor %d sent no shares", ErrBadMessage, id)
		}
	}
	var dropped []ClientID
	for _, id := range s.ids {
		if _, found := slices.BinarySearch(survivors, id); !found {
			dropped = append(dropped, id)
		}
	}
	return dropped, nil
}

// checkUnmaskShares validates one round-3 response: from a survivor, with
// one self-mask share per survivor and one masking-key share per dropped
// client, each list in order of owner, every value in the field.
func checkUnmaskShares(p Params, survivors, dropped []ClientID, m *UnmaskShares) error {
	if m == nil {
		return fmt.Errorf("%w: nil UnmaskShares", ErrBadMessage)
	}
	if m.Session != p.Session {
		return fmt.Errorf("%w: UnmaskShares from client %d is for another session", ErrBadMessage, m.From)
	}
	if _, found := slices.BinarySearch(survivors, m.From); !found {
		return fmt.Errorf("%w: UnmaskShares from client %d, who is not a survivor", ErrBadMessage, m.From)
	}
	for _, l := range []struct {
		what   string
		owners []ClientID
		shares []HeldShare
	}{{"self-mask", survivors, m.SelfMaskShares}, {"masking-key", dropped, m.MaskKeyShares}} {
		if len(l.shares) != len(l.owners) {
			return fmt.Errorf("%w: client %d returned %d %s shares, expected %d", ErrBadMessage, m.From, len(l.shares), l.what, len(l.owners))
		}
		for i, sh := range l.shares {
			if sh.Owner != l.owners[i] {
				return fmt.Errorf("%w: client %d's %s share %d belongs to %d, expected %d", ErrBadMessage, m.From, l.what, i, sh.Owner, l.owners[i])
			}
			if err := checkWords(sh.Y); err != nil {
				return fmt.Errorf("client %d's %s share of %d: %w", m.From, l.what, sh.Owner, err)
			}
		}
	}
	return nil
}
