package secagg

import (
	"encoding/binary"
	"fmt"
)

// Message kinds, the second byte of every encoded message.
const (
	kindAdvertiseKeys byte = 1 + iota
	kindShareKeys
	kindMaskedInput
	kindUnmaskRequest
	kindUnmaskShares
)

// headerSize is the common prefix: version, kind and session.
const headerSize = 2 + 32

// AdvertiseKeys is round 0: a client's two X25519 public keys.
//
// Wire format (integers little-endian): version (1 byte), kind 1 (1 byte),
// session (32), From (uint32), EncryptionKey (32), MaskingKey (32),
// signature length (uint32), signature.
type AdvertiseKeys struct {
	Session [32]byte
	From    ClientID
	// EncryptionKey is c_u's public key, for encrypting shares to u.
	EncryptionKey [KeySize]byte
	// MaskingKey is s_u's public key, for the pairwise masks.
	MaskingKey [KeySize]byte
	// Signature is opaque to this package (at most MaxSignatureSize
	// bytes): the caller may sign SignBytes and check it through
	// Params.VerifyKeys.
	Signature []byte
}

// SignBytes is what a signature over the advertisement should cover: a
// domain label, the version, the session, the sender and both keys.
func (m *AdvertiseKeys) SignBytes() []byte {
	b := append([]byte(labelAdvertise), Version)
	b = append(b, m.Session[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(m.From))
	b = append(b, m.EncryptionKey[:]...)
	return append(b, m.MaskingKey[:]...)
}

// Validate checks an advertisement on its own: the session, a nonzero
// sender, two distinct X25519 public keys that are not of low order, the
// signature's size, and Params.VerifyKeys when set.
func (m *AdvertiseKeys) Validate(p Params) error {
	if m.Session != p.Session {
		return fmt.Errorf("%w: AdvertiseKeys from client %d is for another session", ErrBadMessage, m.From)
	}
	if m.From == 0 {
		return fmt.Errorf("%w: AdvertiseKeys from client 0 (ids must be nonzero)", ErrBadMessage)
	}
	if m.EncryptionKey == m.MaskingKey {
		return fmt.Errorf("%w: client %d advertised the same key twice", ErrBadMessage, m.From)
	}
	for _, k := range [][KeySize]byte{m.EncryptionKey, m.MaskingKey} {
		if _, err := parsePublic(k); err != nil {
			return fmt.Errorf("%w: client %d's public key: %v", ErrBadMessage, m.From, err)
		}
	}
	if len(m.Signature) > MaxSignatureSize {
		return fmt.Errorf("%w: client %d's signature has %d bytes, at most %d", ErrBadMessage, m.From, len(m.Signature), MaxSignatureSize)
	}
	if p.VerifyKeys != nil {
		if err := p.VerifyKeys(m); err != nil {
			return fmt.Errorf("%w: client %d's keys fail verification: %w", ErrBadMessage, m.From, err)
		}
	}
	return nil
}

// Marshal encodes the message.
func (m *AdvertiseKeys) Marshal() ([]byte, error) {
	if len(m.Signature) > MaxSignatureSize {
		return nil, fmt.Errorf("%w: signature of %d bytes, at most %d", ErrBadMessage, len(m.Signature), MaxSignatureSize)
	}
	b := header(kindAdvertiseKeys, m.Session, 4+2*KeySize+4+len(m.Signature))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.From))
	b = append(b, m.EncryptionKey[:]...)
	b = append(b, m.MaskingKey[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Signature)))
	return append(b, m.Signature...), nil
}

// Unmarshal decodes a message encoded by Marshal, rejecting other
// versions and kinds, truncation and trailing bytes.
func (m *AdvertiseKeys) Unmarshal(data []byte) error {
	r, err := newReader(data, kindAdvertiseKeys, "AdvertiseKeys")
	if err != nil {
		return err
	}
	var out AdvertiseKeys
	out.Session = r.session()
	out.From = ClientID(r.u32())
	copy(out.EncryptionKey[:], r.bytes(KeySize))
	copy(out.MaskingKey[:], r.bytes(KeySize))
	n := r.count(MaxSignatureSize, 1)
	if n > 0 {
		out.Signature = append([]byte(nil), r.bytes(n)...)
	}
	if err := r.done(); err != nil {
		return err
	}
	*m = out
	return nil
}

// EncryptedShares is the pair of shares (of b_From and of s_From's private
// key) encrypted to one peer.
type EncryptedShares struct {
	To         ClientID
	Ciphertext [CiphertextSize]byte
}

// ShareKeys is round 1: a client's shares, encrypted to each peer, and its
// commitment to its self-mask seed.
//
// Wire format: version, kind 2, session, From (uint32), Commitment (32),
// count (uint32), then per entry To (uint32) and Ciphertext
// (CiphertextSize bytes).
type ShareKeys struct {
	Session [32]byte
	From    ClientID
	// Commitment is SHA-256 of a label, the session, From and b_From; the
	// server checks the seed it reconstructs against it.
	Commitment [32]byte
	// Shares holds one entry per other client of the roster, in order of
	// To.
	Shares []EncryptedShares
}

// Marshal encodes the message.
func (m *ShareKeys) Marshal() ([]byte, error) {
	if len(m.Shares) > MaxClients {
		return nil, fmt.Errorf("%w: %d encrypted shares, at most %d", ErrBadMessage, len(m.Shares), MaxClients)
	}
	b := header(kindShareKeys, m.Session, 4+32+4+len(m.Shares)*(4+CiphertextSize))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.From))
	b = append(b, m.Commitment[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Shares)))
	for _, e := range m.Shares {
		b = binary.LittleEndian.AppendUint32(b, uint32(e.To))
		b = append(b, e.Ciphertext[:]...)
	}
	return b, nil
}

// Unmarshal decodes a message encoded by Marshal, rejecting other
// versions and kinds, truncation and trailing bytes.
func (m *ShareKeys) Unmarshal(data []byte) error {
	r, err := newReader(data, kindShareKeys, "ShareKeys")
	if err != nil {
		return err
	}
	var out ShareKeys
	out.Session = r.session()
	out.From = ClientID(r.u32())
	copy(out.Commitment[:], r.bytes(32))
	n := r.count(MaxClients, 4+CiphertextSize)
	out.Shares = make([]EncryptedShares, n)
	for i := range out.Shares {
		out.Shares[i].To = ClientID(r.u32())
		copy(out.Shares[i].Ciphertext[:], r.bytes(CiphertextSize))
	}
	if err := r.done(); err != nil {
		return err
	}
	*m = out
	return nil
}

// MaskedInput is round 2: a client's masked vector.
//
// Wire format: version, kind 3, session, From (uint32), Peers (32), length
// (uint32), then each value as a uint64.
type MaskedInput struct {
	Session [32]byte
	From    ClientID
	// Peers is the PeerDigest of the clients the input was masked against
	// (U2); the server checks it matches its own U2.
	Peers [32]byte
	// Y is the masked input, VectorLen values mod 2^64.
	Y []uint64
}

// Marshal encodes the message.
func (m *MaskedInput) Marshal() ([]byte, error) {
	if len(m.Y) > MaxVectorLen {
		return nil, fmt.Errorf("%w: %d values, at most %d", ErrBadMessage, len(m.Y), MaxVectorLen)
	}
	b := header(kindMaskedInput, m.Session, 4+32+4+8*len(m.Y))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.From))
	b = append(b, m.Peers[:]...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Y)))
	for _, v := range m.Y {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b, nil
}

// Unmarshal decodes a message encoded by Marshal, rejecting other
// versions and kinds, truncation and trailing bytes.
func (m *MaskedInput) Unmarshal(data []byte) error {
	r, err := newReader(data, kindMaskedInput, "MaskedInput")
	if err != nil {
		return err
	}
	var out MaskedInput
	out.Session = r.session()
	out.From = ClientID(r.u32())
	copy(out.Peers[:], r.bytes(32))
	n := r.count(MaxVectorLen, 8)
	if r.err == nil {
		raw := r.bytes(8 * n)
		out.Y = make([]uint64, n)
		for i := range out.Y {
			out.Y[i] = binary.LittleEndian.Uint64(raw[8*i:])
		}
	}
	if err := r.done(); err != nil {
		return err
	}
	*m = out
	return nil
}

// UnmaskRequest is the server's round-3 announcement: the survivors U3,
// the clients whose masked inputs it received, sorted by id.
//
// Wire format: version, kind 4, session, count (uint32), then each id as a
// uint32.
type UnmaskRequest struct {
	Session   [32]byte
	Survivors []ClientID
}

// Marshal encodes the message.
func (m *UnmaskRequest) Marshal() ([]byte, error) {
	if len(m.Survivors) > MaxClients {
		return nil, fmt.Errorf("%w: %d survivors, at most %d", ErrBadMessage, len(m.Survivors), MaxClients)
	}
	b := header(kindUnmaskRequest, m.Session, 4+4*len(m.Survivors))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.Survivors)))
	for _, id := range m.Survivors {
		b = binary.LittleEndian.AppendUint32(b, uint32(id))
	}
	return b, nil
}

// Unmarshal decodes a message encoded by Marshal, rejecting other
// versions and kinds, truncation and trailing bytes.
func (m *UnmaskRequest) Unmarshal(data []byte) error {
	r, err := newReader(data, kindUnmaskRequest, "UnmaskRequest")
	if err != nil {
		return err
	}
	var out UnmaskRequest
	out.Session = r.session()
	n := r.count(MaxClients, 4)
	out.Survivors = make([]ClientID, n)
	for i := range out.Survivors {
		out.Survivors[i] = ClientID(r.u32())
	}
	if err := r.done(); err != nil {
		return err
	}
	*m = out
	return nil
}

// HeldShare is a share that its holder reveals: the point is the holder's
// id, Owner is the client whose secret it shares.
type HeldShare struct {
	Owner ClientID
	Y     [ShareWords]uint64
}

// heldShareSize is the encoded size of a HeldShare.
const heldShareSize = 4 + 8*ShareWords

// UnmaskShares is a survivor's round-3 answer.
//
// Wire format: version, kind 5, session, From (uint32), then two lists,
// self-mask shares and masking-key shares, each a count (uint32) and per
// entry Owner (uint32) and the ShareWords words (uint64 each, below
// 2^61 − 1).
type UnmaskShares struct {
	Session [32]byte
	From    ClientID
	// SelfMaskShares are From's shares of b_v for every survivor v, in
	// order of v.
	SelfMaskShares []HeldShare
	// MaskKeyShares are From's shares of s_v's private key for every
	// client v that shared keys but did not survive, in order of v.
	MaskKeyShares []HeldShare
}

// Marshal encodes the message.
func (m *UnmaskShares) Marshal() ([]byte, error) {
	if len(m.SelfMaskShares) > MaxClients || len(m.MaskKeyShares) > MaxClients {
		return nil, fmt.Errorf("%w: %d and %d shares, at most %d each", ErrBadMessage, len(m.SelfMaskShares), len(m.MaskKeyShares), MaxClients)
	}
	b := header(kindUnmaskShares, m.Session, 4+8+heldShareSize*(len(m.SelfMaskShares)+len(m.MaskKeyShares)))
	b = binary.LittleEndian.AppendUint32(b, uint32(m.From))
	for _, list := range [][]HeldShare{m.SelfMaskShares, m.MaskKeyShares} {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(list)))
		for _, s := range list {
			b = binary.LittleEndian.AppendUint32(b, uint32(s.Owner))
			for _, w := range s.Y {
				b = binary.LittleEndian.AppendUint64(b, w)
			}
		}
	}
	return b, nil
}

// Unmarshal decodes a message encoded by Marshal, rejecting other
// versions and kinds, truncation, trailing bytes and share words outside
// the field.
func (m *UnmaskShares) Unmarshal(data []byte) error {
	r, err := newReader(data, kindUnmaskShares, "UnmaskShares")
	if err != nil {
		return err
	}
	var out UnmaskShares
	out.Session = r.session()
	out.From = ClientID(r.u32())
	for _, list := range []*[]HeldShare{&out.SelfMaskShares, &out.MaskKeyShares} {
		n := r.count(MaxClients, heldShareSize)
		*list = make([]HeldShare, n)
		for i := range *list {
			s := &(*list)[i]
			s.Owner = ClientID(r.u32())
			for w := range s.Y {
				s.Y[w] = r.u64()
			}
			if r.err == nil {
				if err := checkWords(s.Y); err != nil {
					r.err = fmt.Errorf("%w: UnmaskShares: share of %d: %w", ErrBadMessage, s.Owner, err)
				}
			}
		}
	}
	if err := r.done(); err != nil {
		return err
	}
	*m = out
	return nil
}

// header starts an encoding with room for body more bytes.
func header(kind byte, session [32]byte, body int) []byte {
	b := make([]byte, 0, headerSize+body)
	b = append(b, Version, kind)
	return append(b, session[:]...)
}

// reader decodes a message; the first error sticks and later reads return
// zeros.
type reader struct {
	b    []byte
	what string
	err  error
}

// newReader checks the version and kind.
func newReader(data []byte, kind byte, what string) (*reader, error) {
	if len(data) < headerSize {
		return nil, fmt.Errorf("%w: %s of %d bytes is truncated", ErrBadMessage, what, len(data))
	}
	if data[0] != Version {
		return nil, fmt.Errorf("%w: %s has version %d, expected %d", ErrBadMessage, what, data[0], Version)
	}
	if data[1] != kind {
		return nil, fmt.Errorf("%w: expected %s (kind %d), got kind %d", ErrBadMessage, what, kind, data[1])
	}
	return &reader{b: data[2:], what: what}, nil
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return make([]byte, n)
	}
	if n > len(r.b) {
		r.err = fmt.Errorf("%w: %s is truncated", ErrBadMessage, r.what)
		return make([]byte, n)
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) session() (s [32]byte) {
	copy(s[:], r.bytes(32))
	return s
}

func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.bytes(4)) }

func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.bytes(8)) }

// count reads a uint32 element count and checks it against max and
// against the bytes left (size bytes per element), so that a forged count
// cannot make the decoder allocate more than the message holds.
func (r *reader) count(max, size int) int {
	n := int(r.u32())
	if r.err != nil {
		return 0
	}
	if n > max {
		r.err = fmt.Errorf("%w: %s holds a count of %d, at most %d", ErrBadMessage, r.what, n, max)
		return 0
	}
	if int64(n)*int64(size) > int64(len(r.b)) {
		r.err = fmt.Errorf("%w: %s is truncated", ErrBadMessage, r.what)
		return 0
	}
	return n
}

func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %s has %d trailing bytes", ErrBadMessage, r.what, len(r.b))
	}
	return nil
}
