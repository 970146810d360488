package secagg

import (
	"cmp"
	"crypto/ecdh"
	"crypto/rand"
	"fmt"
	"io"
	"slices"
)

// clientState is how far a client has gone; each round runs once, in
// order.
type clientState int

const (
	stateNew clientState = iota
	stateAdvertised
	stateShared
	stateMasked
	stateUnmasked
)

// heldPair is a pair of shares a client holds for one owner: of the
// owner's self-mask seed b and of its masking private key s.
type heldPair struct{ b, s [ShareWords]uint64 }

// Client is one client's side of a session. It holds the client's secrets
// between rounds and enforces the order of the rounds: each method runs
// once, after the previous one succeeded (a failed call changes nothing
// and may be retried with corrected input). A Client is not safe for
// concurrent use.
type Client struct {
	p     Params
	id    ClientID
	rnd   io.Reader
	state clientState

	encKey, maskKey *ecdh.PrivateKey // c_u and s_u
	ad              *AdvertiseKeys   // as advertised, without signature
	roster          *roster          // U1, from round 1
	seed            [SecretSize]byte // b_u
	commit          [32]byte         // commitment to b_u
	shared          *shared          // U2, from round 2
	held            map[ClientID]heldPair

	survivors []ClientID    // the U3 this client answered
	answer    *UnmaskShares // its answer
}

// NewClient starts client id's side of a session. rnd is the source of
// its keys, seed and sharing polynomials and must be cryptographically
// secure; nil means crypto/rand.
func NewClient(p Params, id ClientID, rnd io.Reader) (*Client, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if id == 0 {
		return nil, fmt.Errorf("%w: client id 0 (ids must be nonzero)", ErrBadParams)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Client{p: p, id: id, rnd: rnd}, nil
}

// ID is the client's id.
func (c *Client) ID() ClientID { return c.id }

// wrongState reports a round called out of order.
func (c *Client) wrongState(round string, want clientState) error {
	return fmt.Errorf("%w: client %d: %s needs state %d, client is in state %d", ErrWrongState, c.id, round, want, c.state)
}

// AdvertiseKeys is round 0: it draws the key pairs c_u and s_u and returns
// their public keys. The caller may set the returned message's Signature
// (over SignBytes) before sending it.
func (c *Client) AdvertiseKeys() (*AdvertiseKeys, error) {
	if c.state != stateNew {
		return nil, c.wrongState("AdvertiseKeys", stateNew)
	}
	enc, err := newKeyPair(c.rnd)
	if err != nil {
		return nil, err
	}
	mask, err := newKeyPair(c.rnd)
	if err != nil {
		return nil, err
	}
	ad := &AdvertiseKeys{Session: c.p.Session, From: c.id}
	copy(ad.EncryptionKey[:], enc.PublicKey().Bytes())
	copy(ad.MaskingKey[:], mask.PublicKey().Bytes())
	c.encKey, c.maskKey, c.ad = enc, mask, ad
	c.state = stateAdvertised
	out := *ad
	return &out, nil
}

// ShareKeys is round 1. keys is the roster U1 as the server forwarded it,
// in any order: it must pass the server's checks (at least T and at most
// 2T−1 valid advertisements with distinct keys, Params.VerifyKeys) and
// hold this client's own keys unchanged. The client draws its self-mask
// seed b_u, shares b_u and its masking private key among U1 with threshold
// T, and encrypts each peer's pair of shares to it.
func (c *Client) ShareKeys(keys []*AdvertiseKeys) (*ShareKeys, error) {
	if c.state != stateAdvertised {
		return nil, c.wrongState("ShareKeys", stateAdvertised)
	}
	r, err := newRoster(c.p, keys)
	if err != nil {
		return nil, err
	}
	own, ok := r.keys[c.id]
	if !ok || own.EncryptionKey != c.ad.EncryptionKey || own.MaskingKey != c.ad.MaskingKey {
		return nil, fmt.Errorf("%w: the roster does not hold client %d's own keys", ErrBadMessage, c.id)
	}
	var seed [SecretSize]byte
	if _, err := io.ReadFull(c.rnd, seed[:]); err != nil {
		return nil, fmt.Errorf("secagg: reading randomness: %w", err)
	}
	xs := make([]uint32, len(r.ids))
	for i, id := range r.ids {
		xs[i] = uint32(id)
	}
	bShares, err := Split(seed, xs, c.p.Threshold, c.rnd)
	if err != nil {
		return nil, err
	}
	var sk [SecretSize]byte
	copy(sk[:], c.maskKey.Bytes())
	sShares, err := Split(sk, xs, c.p.Threshold, c.rnd)
	clear(sk[:])
	if err != nil {
		return nil, err
	}
	msg := &ShareKeys{Session: c.p.Session, From: c.id, Commitment: commitment(seed, c.p.Session, c.id)}
	held := make(map[ClientID]heldPair, len(r.ids))
	for i, v := range r.ids {
		if v == c.id {
			held[v] = heldPair{b: bShares[i].Y, s: sShares[i].Y}
			continue
		}
		aead, err := shareAEAD(c.encKey, r.keys[v].EncryptionKey, c.p.Session, c.id, v)
		if err != nil {
			return nil, fmt.Errorf("client %d to %d: %w", c.id, v, err)
		}
		msg.Shares = append(msg.Shares, EncryptedShares{To: v, Ciphertext: sealShares(aead, c.p.Session, c.id, v, bShares[i].Y, sShares[i].Y)})
	}
	clear(bShares)
	clear(sShares)
	c.roster, c.seed, c.commit, c.held = r, seed, msg.Commitment, held
	c.state = stateShared
	return msg, nil
}

// MaskedInput is round 2. shares are the round-1 messages the server
// forwarded, in any order (their senders are U2; this client's own must be
// among them, and each must be complete); x is the client's encoded input
// (see Codec), VectorLen values. The client decrypts and keeps the shares
// its peers sent it, then returns
//
//	y = x + PRG(b_u) + Σ_{v∈U2, v>u} PRG(s_uv) − Σ_{v∈U2, v<u} PRG(s_uv)  (mod 2^64).
//
// A peer's ciphertext that fails authentication gives ErrDecrypt naming
// the peer.
func (c *Client) MaskedInput(shares []*ShareKeys, x []uint64) (*MaskedInput, error) {
	if c.state != stateShared {
		return nil, c.wrongState("MaskedInput", stateShared)
	}
	if len(x) != c.p.VectorLen {
		return nil, fmt.Errorf("%w: input of %d values, the session has %d", ErrBadParams, len(x), c.p.VectorLen)
	}
	s, err := collectShares(c.p, c.roster, shares)
	if err != nil {
		return nil, err
	}
	if own, ok := s.msgs[c.id]; !ok || own.Commitment != c.commit {
		return nil, fmt.Errorf("%w: client %d's own ShareKeys is missing or altered", ErrBadMessage, c.id)
	}
	held := map[ClientID]heldPair{c.id: c.held[c.id]}
	masks := make([]mask, 0, len(s.ids))
	defer func() {
		for i := range masks {
			clear(masks[i].key[:])
		}
	}()
	self, err := selfKey(c.seed, c.p.Session, c.id)
	if err != nil {
		return nil, err
	}
	masks = append(masks, mask{key: self})
	for _, v := range s.ids {
		if v == c.id {
			continue
		}
		m := s.msgs[v]
		i, found := slices.BinarySearchFunc(m.Shares, c.id, func(e EncryptedShares, id ClientID) int { return cmp.Compare(e.To, id) })
		if !found { // unreachable after checkShareKeys, kept as a guard
			return nil, fmt.Errorf("%w: client %d sent no shares to client %d", ErrBadMessage, v, c.id)
		}
		aead, err := shareAEAD(c.encKey, c.roster.keys[v].EncryptionKey, c.p.Session, v, c.id)
		if err != nil {
			return nil, fmt.Errorf("client %d from %d: %w", c.id, v, err)
		}
		b, sk, err := openShares(aead, c.p.Session, v, c.id, m.Shares[i].Ciphertext)
		if err != nil {
			return nil, err
		}
		held[v] = heldPair{b: b, s: sk}
		k, err := pairKey(c.maskKey, c.roster.keys[v].MaskingKey, c.p.Session, c.id, v)
		if err != nil {
			return nil, fmt.Errorf("client %d with %d: %w", c.id, v, err)
		}
		masks = append(masks, mask{key: k, neg: v < c.id})
	}
	y := slices.Clone(x)
	if err := applyMasks(y, masks); err != nil {
		return nil, err
	}
	c.shared, c.held = s, held
	c.state = stateMasked
	return &MaskedInput{Session: c.p.Session, From: c.id, Peers: s.digest, Y: y}, nil
}

// Unmask is round 3: given the survivors U3 (sorted, a subset of U2 of at
// least T clients that includes this client), it returns this client's
// shares of b_v for every v in U3 and of s_v's private key for every v in
// U2\U3. A client answers one survivor set per session: asking again with
// the same set returns the same answer, with another set ErrWrongState,
// since the two answers together could reveal both secrets of a client.
func (c *Client) Unmask(req *UnmaskRequest) (*UnmaskShares, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: nil UnmaskRequest", ErrBadMessage)
	}
	if req.Session != c.p.Session {
		return nil, fmt.Errorf("%w: UnmaskRequest is for another session", ErrBadMessage)
	}
	if c.state == stateUnmasked {
		if slices.Equal(req.Survivors, c.survivors) {
			return c.answer, nil
		}
		return nil, fmt.Errorf("%w: client %d already answered for another survivor set; answering this one could reveal both secrets of a client", ErrWrongState, c.id)
	}
	if c.state != stateMasked {
		return nil, c.wrongState("Unmask", stateMasked)
	}
	dropped, err := c.shared.checkSurvivors(c.p, req.Survivors)
	if err != nil {
		return nil, err
	}
	if _, found := slices.BinarySearch(req.Survivors, c.id); !found {
		return nil, fmt.Errorf("%w: client %d is not among the survivors, so it does not answer", ErrBadMessage, c.id)
	}
	ans := &UnmaskShares{Session: c.p.Session, From: c.id,
		SelfMaskShares: make([]HeldShare, len(req.Survivors)), MaskKeyShares: make([]HeldShare, len(dropped))}
	for i, v := range req.Survivors {
		ans.SelfMaskShares[i] = HeldShare{Owner: v, Y: c.held[v].b}
	}
	for i, v := range dropped {
		ans.MaskKeyShares[i] = HeldShare{Owner: v, Y: c.held[v].s}
	}
	c.survivors, c.answer = slices.Clone(req.Survivors), ans
	c.state = stateUnmasked
	// The secrets are no longer needed; drop them.
	clear(c.seed[:])
	c.encKey, c.maskKey = nil, nil
	return ans, nil
}
