package fedsim

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"

	"github.com/cohortchain/cohort/sidecar/aggregate"
	"github.com/cohortchain/cohort/sidecar/secagg"
)

// secureFedAvg is FedAvg through secure aggregation: client i sends
// n_i·u_i (its update scaled by its sample count, a public number) masked
// with secagg's pairwise masks, the server learns only Σ n_i·u_i and
// divides by Σ n_i. Every client survives here; the protocol's dropout
// recovery is tested in package secagg. The result equals plain FedAvg up
// to the codec's resolution (2^−32 per value) and float32 rounding.
//
// In the simulation the clients' keys and seeds come from a stream seeded
// by the run's seed and the round, so the run stays reproducible; real
// clients draw them from crypto/rand.
func secureFedAvg(updates []aggregate.Update, seed uint64, round int) ([]float32, error) {
	n := len(updates)
	if n < 3 {
		return nil, fmt.Errorf("fedsim: secure aggregation needs at least 3 clients, not %d", n)
	}
	d := len(updates[0].Vector)
	var session [32]byte
	binary.LittleEndian.PutUint64(session[:], seed)
	binary.LittleEndian.PutUint64(session[8:], uint64(round))
	session = sha256.Sum256(append([]byte("cohort/fedsim/secagg"), session[:16]...))
	p := secagg.Params{Session: session, Threshold: n/2 + 1, VectorLen: d}
	codec := secagg.DefaultCodec

	var chachaSeed [32]byte
	copy(chachaSeed[:], session[:])
	rnd := rand.NewChaCha8(chachaSeed)
	clients := make([]*secagg.Client, n)
	keys := make([]*secagg.AdvertiseKeys, n)
	for i := range clients {
		c, err := secagg.NewClient(p, secagg.ClientID(i+1), rnd)
		if err != nil {
			return nil, err
		}
		if keys[i], err = c.AdvertiseKeys(); err != nil {
			return nil, err
		}
		clients[i] = c
	}
	shares := make([]*secagg.ShareKeys, n)
	for i, c := range clients {
		var err error
		if shares[i], err = c.ShareKeys(keys); err != nil {
			return nil, err
		}
	}
	masked := make([]*secagg.MaskedInput, n)
	scaled := make([]float32, d)
	total := 0
	for i, c := range clients {
		w := float32(updates[i].Samples)
		for j, v := range updates[i].Vector {
			scaled[j] = w * v
		}
		total += updates[i].Samples
		x, _, err := codec.Encode(nil, scaled)
		if err != nil {
			return nil, fmt.Errorf("fedsim: client %d: %w", i, err)
		}
		if masked[i], err = c.MaskedInput(shares, x); err != nil {
			return nil, err
		}
	}
	req, err := secagg.NewUnmaskRequest(p, keys, shares, masked)
	if err != nil {
		return nil, err
	}
	answers := make([]*secagg.UnmaskShares, n)
	for i, c := range clients {
		if answers[i], err = c.Unmask(req); err != nil {
			return nil, err
		}
	}
	res, err := secagg.Aggregate(p, keys, shares, masked, answers)
	if err != nil {
		return nil, err
	}
	sum, err := codec.Decode(nil, res.Sum, len(res.Survivors))
	if err != nil {
		return nil, err
	}
	inv := 1 / float32(total)
	for j := range sum {
		sum[j] *= inv
	}
	return sum, nil
}
