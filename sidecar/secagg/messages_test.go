package secagg

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// sampleMessages are one message of each kind from a real session, with a
// signature set and a dropout so that every list is non-empty.
func sampleMessages(t testing.TB) []wireMsg {
	tr := execute(t, scenario{n: 5, t: 3, d: 7, seed: 200, drop1: []int{1}})
	ad := *tr.keys[0]
	ad.Signature = []byte("signature")
	return []wireMsg{&ad, tr.keys[1], tr.shares[0], tr.masked[0], tr.req, tr.answers[0]}
}

// fresh returns an empty message of the same kind.
func fresh(m wireMsg) wireMsg {
	switch m.(type) {
	case *AdvertiseKeys:
		return &AdvertiseKeys{}
	case *ShareKeys:
		return &ShareKeys{}
	case *MaskedInput:
		return &MaskedInput{}
	case *UnmaskRequest:
		return &UnmaskRequest{}
	case *UnmaskShares:
		return &UnmaskShares{}
	}
	panic("unknown message")
}

// TestMessagesRoundTrip: Unmarshal(Marshal(m)) == m for every kind.
func TestMessagesRoundTrip(t *testing.T) {
	for _, m := range sampleMessages(t) {
		b, err := m.Marshal()
		require.NoError(t, err)
		out := fresh(m)
		require.NoError(t, out.Unmarshal(b))
		require.Equal(t, m, out)
		b2, err := out.Marshal()
		require.NoError(t, err)
		require.Equal(t, b, b2)
	}
	// Empty lists decode as empty, not nil-vs-empty mismatches that would
	// change the re-encoding.
	empty := &UnmaskRequest{Session: [32]byte{1}}
	b, err := empty.Marshal()
	require.NoError(t, err)
	var out UnmaskRequest
	require.NoError(t, out.Unmarshal(b))
	require.Empty(t, out.Survivors)
}

// TestMessagesRejectMalformed: every truncation, a trailing byte, another
// version or kind, and counts larger than the message are errors, never
// panics.
func TestMessagesRejectMalformed(t *testing.T) {
	for _, m := range sampleMessages(t) {
		b, err := m.Marshal()
		require.NoError(t, err)
		for n := range len(b) {
			require.ErrorIs(t, fresh(m).Unmarshal(b[:n]), ErrBadMessage, "%T cut to %d of %d bytes", m, n, len(b))
		}
		require.ErrorContains(t, fresh(m).Unmarshal(append(b[:len(b):len(b)], 0)), "trailing")
		bad := append([]byte(nil), b...)
		bad[0] = Version + 1
		require.ErrorContains(t, fresh(m).Unmarshal(bad), "version")
		bad[0], bad[1] = Version, bad[1]%5+1
		require.ErrorContains(t, fresh(m).Unmarshal(bad), "kind")
	}

	// A count claiming more elements than the bytes hold.
	req := &UnmaskRequest{Session: [32]byte{1}, Survivors: []ClientID{1, 2}}
	b, err := req.Marshal()
	require.NoError(t, err)
	binary.LittleEndian.PutUint32(b[headerSize:], 1<<30)
	require.ErrorContains(t, (&UnmaskRequest{}).Unmarshal(b), "at most")
	binary.LittleEndian.PutUint32(b[headerSize:], 3)
	require.ErrorContains(t, (&UnmaskRequest{}).Unmarshal(b), "truncated")

	mi := &MaskedInput{Session: [32]byte{1}, From: 1, Y: []uint64{1, 2}}
	b, err = mi.Marshal()
	require.NoError(t, err)
	binary.LittleEndian.PutUint32(b[headerSize+4+32:], MaxVectorLen)
	require.ErrorContains(t, (&MaskedInput{}).Unmarshal(b), "truncated")

	// Share words must be field elements.
	us := &UnmaskShares{Session: [32]byte{1}, From: 1, SelfMaskShares: []HeldShare{{Owner: 2, Y: [ShareWords]uint64{fieldP, 0, 0, 0, 0}}}}
	b, err = us.Marshal()
	require.NoError(t, err)
	require.ErrorIs(t, (&UnmaskShares{}).Unmarshal(b), ErrBadMessage)
	require.ErrorIs(t, (&UnmaskShares{}).Unmarshal(b), ErrBadShares)

	// A failed Unmarshal leaves the target untouched.
	keep := &MaskedInput{From: 7}
	require.Error(t, keep.Unmarshal(b))
	require.Equal(t, ClientID(7), keep.From)
}

// FuzzUnmarshal: arbitrary bytes never panic any decoder, and what decodes
// re-encodes to the same bytes.
func FuzzUnmarshal(f *testing.F) {
	for _, m := range sampleMessages(f) {
		b, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{Version, kindShareKeys})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []wireMsg{&AdvertiseKeys{}, &ShareKeys{}, &MaskedInput{}, &UnmaskRequest{}, &UnmaskShares{}} {
			if m.Unmarshal(b) != nil {
				continue
			}
			again, err := m.Marshal()
			if err != nil {
				t.Fatalf("%T decoded but does not encode: %v", m, err)
			}
			if string(again) != string(b) {
				t.Fatalf("%T: re-encoding differs", m)
			}
		}
	})
}
