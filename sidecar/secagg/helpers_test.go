package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"io"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// detRand is a deterministic byte stream (AES-CTR keystream of the seed),
// so that tests are reproducible; production code uses crypto/rand.
func detRand(seed uint64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	key[31] = 0xa5
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic(err)
	}
	return cipher.StreamReader{S: cipher.NewCTR(block, make([]byte, aes.BlockSize)), R: zeros{}}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// testParams is a session for tests.
func testParams(t, d int, seed uint64) Params {
	var s [32]byte
	copy(s[:], "cohort-secagg-test")
	binary.LittleEndian.PutUint64(s[24:], seed)
	return Params{Session: s, Threshold: t, VectorLen: d}
}

// clientID gives client index i an id that is neither 1-based nor in
// index order, so that the tests exercise the sign of the masks by id.
func clientID(i int) ClientID { return ClientID(1 + (i*7919+13)%10007) }

// randomVector is d uniform ring elements.
func randomVector(d int, seed uint64) []uint64 {
	buf := make([]byte, 8*d)
	_, _ = io.ReadFull(detRand(seed^0x5eed), buf)
	out := make([]uint64, d)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(buf[8*i:])
	}
	return out
}

type wireMsg interface {
	Marshal() ([]byte, error)
	Unmarshal([]byte) error
}

// viaWire sends a message through Marshal and Unmarshal.
func viaWire[M any, P interface {
	*M
	wireMsg
}](t testing.TB, m P) P {
	b, err := m.Marshal()
	require.NoError(t, err)
	var out M
	require.NoError(t, P(&out).Unmarshal(b))
	return &out
}

// scenario describes one session: n clients, threshold t, vectors of d,
// and the indices of clients that drop out after round 0 (advertise keys,
// share nothing), after round 1 (share keys, send no input) and after
// round 2 (send input, do not answer the unmask request).
type scenario struct {
	n, t, d             int
	seed                uint64
	drop0, drop1, drop2 []int
	wire                bool
	inputs              func(i int) []uint64 // default: randomVector
}

// transcript is everything a session produced.
type transcript struct {
	p       Params
	clients []*Client
	keys    []*AdvertiseKeys
	shares  []*ShareKeys
	masked  []*MaskedInput
	req     *UnmaskRequest
	answers []*UnmaskShares
	inputs  map[ClientID][]uint64
}

// execute runs every round of sc, requiring each to succeed.
func execute(t testing.TB, sc scenario) *transcript {
	t.Helper()
	p := testParams(sc.t, sc.d, sc.seed)
	tr := &transcript{p: p, inputs: map[ClientID][]uint64{}}
	for i := range sc.n {
		c, err := NewClient(p, clientID(i), detRand(sc.seed*1000+uint64(i)))
		require.NoError(t, err)
		tr.clients = append(tr.clients, c)
		ad, err := c.AdvertiseKeys()
		require.NoError(t, err)
		if sc.wire {
			ad = viaWire(t, ad)
		}
		tr.keys = append(tr.keys, ad)
	}
	for i, c := range tr.clients {
		if slices.Contains(sc.drop0, i) {
			continue
		}
		m, err := c.ShareKeys(tr.keys)
		require.NoError(t, err)
		if sc.wire {
			m = viaWire(t, m)
		}
		tr.shares = append(tr.shares, m)
	}
	for i, c := range tr.clients {
		if slices.Contains(sc.drop0, i) || slices.Contains(sc.drop1, i) {
			continue
		}
		x := randomVector(sc.d, sc.seed*1000+uint64(i))
		if sc.inputs != nil {
			x = sc.inputs(i)
		}
		tr.inputs[c.ID()] = x
		m, err := c.MaskedInput(tr.shares, x)
		require.NoError(t, err)
		if sc.wire {
			m = viaWire(t, m)
		}
		tr.masked = append(tr.masked, m)
	}
	req, err := NewUnmaskRequest(p, tr.keys, tr.shares, tr.masked)
	require.NoError(t, err)
	if sc.wire {
		req = viaWire(t, req)
	}
	tr.req = req
	for i, c := range tr.clients {
		if slices.Contains(sc.drop0, i) || slices.Contains(sc.drop1, i) || slices.Contains(sc.drop2, i) {
			continue
		}
		a, err := c.Unmask(req)
		require.NoError(t, err)
		if sc.wire {
			a = viaWire(t, a)
		}
		tr.answers = append(tr.answers, a)
	}
	return tr
}

// aggregate runs the server's last step on the transcript.
func (tr *transcript) aggregate() (*Result, error) {
	return Aggregate(tr.p, tr.keys, tr.shares, tr.masked, tr.answers)
}

// plainSum is the sum mod 2^64 of the survivors' inputs.
func (tr *transcript) plainSum() []uint64 {
	sum := make([]uint64, tr.p.VectorLen)
	for _, x := range tr.inputs {
		for j, v := range x {
			sum[j] += v
		}
	}
	return sum
}

// survivorIDs are the ids of the clients whose inputs were sent, sorted.
func (tr *transcript) survivorIDs() []ClientID {
	var ids []ClientID
	for id := range tr.inputs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
