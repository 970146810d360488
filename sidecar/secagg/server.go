package secagg

import (
	"cmp"
	"crypto/ecdh"
	"fmt"
	"slices"
	"sync"

	"github.com/cohortchain/cohort/sidecar/par"
)

// The server side is a set of pure functions of the messages received so
// far. Each validates everything before it (the same checks clients make),
// accepts messages in any order and fails with ErrTooFewClients when a
// round has fewer than T participants. A caller that admits messages one
// at a time (the chain) can call the function of the current round with
// the new message appended and admit it only if no error results.

// CheckRoster validates the round-0 advertisements: each valid (see
// AdvertiseKeys.Validate), one per client, all public keys distinct, at
// least T and at most 2T−1 of them. It returns U1, sorted. The server
// forwards the advertisements to every client on the roster.
func CheckRoster(p Params, keys []*AdvertiseKeys) ([]ClientID, error) {
	r, err := newRoster(p, keys)
	if err != nil {
		return nil, err
	}
	return slices.Clone(r.ids), nil
}

// CheckShareKeys validates the round-1 messages against the roster: from
// clients on it, one each, each with exactly one ciphertext per peer in
// order, at least T of them. It returns U2, sorted. The server forwards
// the messages to every client of U2.
func CheckShareKeys(p Params, keys []*AdvertiseKeys, shares []*ShareKeys) ([]ClientID, error) {
	r, err := newRoster(p, keys)
	if err != nil {
		return nil, err
	}
	s, err := collectShares(p, r, shares)
	if err != nil {
		return nil, err
	}
	return slices.Clone(s.ids), nil
}

// NewUnmaskRequest validates the round-2 messages (from clients of U2, one
// each, VectorLen values, masked against U2, at least T) and returns the
// request announcing their senders as the survivors U3.
func NewUnmaskRequest(p Params, keys []*AdvertiseKeys, shares []*ShareKeys, masked []*MaskedInput) (*UnmaskRequest, error) {
	r, err := newRoster(p, keys)
	if err != nil {
		return nil, err
	}
	s, err := collectShares(p, r, shares)
	if err != nil {
		return nil, err
	}
	in, err := collectMasked(p, s, masked)
	if err != nil {
		return nil, err
	}
	req := &UnmaskRequest{Session: p.Session, Survivors: make([]ClientID, len(in))}
	for i, m := range in {
		req.Survivors[i] = m.From
	}
	return req, nil
}

// Result is the output of Aggregate.
type Result struct {
	// Sum is Σ_{u∈Survivors} x_u mod 2^64, exactly; Codec.Decode with
	// len(Survivors) clients turns it into floats.
	Sum []uint64
	// Survivors is U3, the clients whose inputs are in Sum, sorted.
	Survivors []ClientID
	// Dropped is U2\U3, the clients that shared their keys but sent no
	// input; their pairwise masks were reconstructed and removed. Sorted.
	Dropped []ClientID
	// Responders are the T round-3 responders, those with the smallest
	// ids, whose shares were used. Sorted.
	Responders []ClientID
}

// Aggregate is the server's last step. From the messages of all four
// rounds, in any order, it sums the survivors' masked inputs,
// reconstructs each survivor's self-mask seed and each dropped client's
// masking key from the shares of the T responders with the smallest ids,
// checks each against its commitment or public key, and removes the masks.
// The result depends only on the sets of messages, not their order or
// GOMAXPROCS.
//
// A reconstruction that fails its check means some responder sent a wrong
// share; Aggregate then fails with ErrInconsistentShares naming the
// client whose secret failed (it does not try to identify the liar).
func Aggregate(p Params, keys []*AdvertiseKeys, shares []*ShareKeys, masked []*MaskedInput, answers []*UnmaskShares) (*Result, error) {
	r, err := newRoster(p, keys)
	if err != nil {
		return nil, err
	}
	s, err := collectShares(p, r, shares)
	if err != nil {
		return nil, err
	}
	inputs, err := collectMasked(p, s, masked)
	if err != nil {
		return nil, err
	}
	survivors := make([]ClientID, len(inputs))
	for i, m := range inputs {
		survivors[i] = m.From
	}
	dropped, err := s.checkSurvivors(p, survivors)
	if err != nil {
		return nil, err
	}
	ans := slices.Clone(answers)
	for _, a := range ans {
		if err := checkUnmaskShares(p, survivors, dropped, a); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(ans, func(a, b *UnmaskShares) int { return cmp.Compare(a.From, b.From) })
	for i := 1; i < len(ans); i++ {
		if ans[i].From == ans[i-1].From {
			return nil, fmt.Errorf("%w: client %d sent UnmaskShares twice", ErrBadMessage, ans[i].From)
		}
	}
	if len(ans) < p.Threshold {
		return nil, fmt.Errorf("%w: round 3 (unmasking): %d clients answered, threshold %d", ErrTooFewClients, len(ans), p.Threshold)
	}
	ans = ans[:p.Threshold]
	res := &Result{Survivors: survivors, Dropped: dropped, Responders: make([]ClientID, len(ans))}
	xs := make([]uint64, len(ans))
	for i, a := range ans {
		res.Responders[i] = a.From
		xs[i] = uint64(a.From)
	}
	coeffs := newLagrange(xs).at(0)
	ys := make([][ShareWords]uint64, len(ans))
	reconstruct := func(pick func(a *UnmaskShares) HeldShare) ([SecretSize]byte, bool) {
		for j, a := range ans {
			ys[j] = pick(a).Y
		}
		words := combineAt(coeffs, ys)
		defer clear(words[:])
		return wordsSecret(words)
	}

	masks := make([]mask, 0, len(survivors)*(1+len(dropped)))
	defer func() {
		for i := range masks {
			clear(masks[i].key[:])
		}
	}()
	for i, u := range survivors {
		seed, ok := reconstruct(func(a *UnmaskShares) HeldShare { return a.SelfMaskShares[i] })
		if !ok || commitment(seed, p.Session, u) != s.msgs[u].Commitment {
			return nil, fmt.Errorf("%w: the self-mask seed reconstructed for client %d does not match its commitment", ErrInconsistentShares, u)
		}
		k, err := selfKey(seed, p.Session, u)
		clear(seed[:])
		if err != nil {
			return nil, err
		}
		masks = append(masks, mask{key: k, neg: true})
	}
	dropKeys := make([]*ecdh.PrivateKey, len(dropped))
	for i, v := range dropped {
		sk, ok := reconstruct(func(a *UnmaskShares) HeldShare { return a.MaskKeyShares[i] })
		var priv *ecdh.PrivateKey
		if ok {
			priv, err = ecdh.X25519().NewPrivateKey(sk[:])
			clear(sk[:])
			if err != nil {
				return nil, fmt.Errorf("secagg: X25519 key: %w", err)
			}
		}
		if priv == nil || [KeySize]byte(priv.PublicKey().Bytes()) != r.keys[v].MaskingKey {
			return nil, fmt.Errorf("%w: the masking key reconstructed for dropped client %d does not match its public key", ErrInconsistentShares, v)
		}
		dropKeys[i] = priv
	}
	// y_u holds +PRG(s_uv) for v > u and −PRG(s_uv) for v < u; pairs of
	// survivors cancel, pairs with a dropped v are removed here. The ECDHs
	// run in parallel, each into its own slot.
	pairs := make([]mask, len(survivors)*len(dropped))
	var once sync.Once
	var pairErr error
	par.Range(len(pairs), 8, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			v, u := dropped[k/len(survivors)], survivors[k%len(survivors)]
			key, err := pairKey(dropKeys[k/len(survivors)], r.keys[u].MaskingKey, p.Session, u, v)
			if err != nil {
				once.Do(func() { pairErr = fmt.Errorf("clients %d and %d: %w", u, v, err) })
				return
			}
			pairs[k] = mask{key: key, neg: v > u}
		}
	})
	masks = append(masks, pairs...)
	clear(pairs)
	if pairErr != nil {
		return nil, pairErr
	}

	sum := make([]uint64, p.VectorLen)
	par.Range(len(sum), 4096, func(lo, hi int) {
		dst := sum[lo:hi]
		for _, m := range inputs {
			for j, v := range m.Y[lo:hi] {
				dst[j] += v
			}
		}
	})
	if err := applyMasks(sum, masks); err != nil {
		return nil, err
	}
	res.Sum = sum
	return res, nil
}
