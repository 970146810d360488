package voteext

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// Member is one validator of a committee: its consensus address and the
// consensus power it had when the committee was sampled. A committee's
// quorum is counted in these powers, so stake that moves after sampling
// changes nothing about a subject already assigned.
type Member struct {
	Address sdk.ConsAddress
	Power   int64
	// Operator is the validator's operator address (bech32 valoper), when
	// the member was listed from the staking set (BondedMembers); the tally
	// does not use it.
	Operator string
}

// Committees is implemented by handlers whose subjects are decided by a
// committee of validators rather than by the whole set: the router asks for
// the committee of each subject it tallies. A nil or empty committee means
// the whole validator set decides, as for a plain Handler.
type Committees interface {
	Committee(ctx sdk.Context, subject []byte) ([]Member, error)
}

// SampleCommittee draws up to size members from candidates without
// replacement, each draw with probability proportional to power, from seed
// alone. Candidates with no power are never drawn. The result is the same
// whatever the order of candidates (they are put in address order first)
// and is returned in address order. When size is at least the number of
// candidates with power, all of them are returned.
func SampleCommittee(seed []byte, candidates []Member, size int) []Member {
	pool := make([]Member, 0, len(candidates))
	for _, c := range candidates {
		if c.Power > 0 {
			pool = append(pool, c)
		}
	}
	slices.SortFunc(pool, func(a, b Member) int { return bytes.Compare(a.Address, b.Address) })
	var out []Member
	if size >= len(pool) {
		out = pool
	} else {
		for i := 0; i < size; i++ {
			var total uint64
			for _, m := range pool {
				total += uint64(m.Power)
			}
			r := committeeDraw(seed, i, total)
			j := 0
			for ; j < len(pool)-1; j++ {
				if r < uint64(pool[j].Power) {
					break
				}
				r -= uint64(pool[j].Power)
			}
			out = append(out, pool[j])
			pool = slices.Delete(pool, j, j+1)
		}
	}
	slices.SortFunc(out, func(a, b Member) int { return bytes.Compare(a.Address, b.Address) })
	return out
}

// committeeDraw is the i-th pseudo-random number of seed in [0, n), n > 0.
// The modulo bias is below n/2^64, negligible for any real total power.
func committeeDraw(seed []byte, i int, n uint64) uint64 {
	h := sha256.New()
	h.Write([]byte("cohort/committee/v1"))
	h.Write(seed)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h.Write(b[:])
	return binary.BigEndian.Uint64(h.Sum(nil)[:8]) % n
}

// BondedValidators is the part of the staking keeper that committees are
// drawn from.
type BondedValidators interface {
	GetBondedValidatorsByPower(ctx context.Context) ([]stakingtypes.Validator, error)
	PowerReduction(ctx context.Context) sdkmath.Int
}

// BondedMembers lists the bonded validators with their consensus power,
// the power CometBFT counts their votes with, and their operators.
func BondedMembers(ctx context.Context, sk BondedValidators) ([]Member, error) {
	vals, err := sk.GetBondedValidatorsByPower(ctx)
	if err != nil {
		return nil, err
	}
	reduction := sk.PowerReduction(ctx)
	out := make([]Member, 0, len(vals))
	for _, v := range vals {
		addr, err := v.GetConsAddr()
		if err != nil {
			return nil, fmt.Errorf("validator %s: %w", v.OperatorAddress, err)
		}
		out = append(out, Member{Address: addr, Power: v.ConsensusPower(reduction), Operator: v.OperatorAddress})
	}
	return out, nil
}

// CommitteePower is the total power of members.
func CommitteePower(members []Member) int64 {
	var total int64
	for _, m := range members {
		total += m.Power
	}
	return total
}

// CommitteeHandler adapts two functions to a Handler that also names the
// committee of each subject (Committees).
type CommitteeHandler struct {
	Agree       HandlerFunc
	CommitteeOf func(ctx sdk.Context, subject []byte) ([]Member, error)
}

// OnAgreement calls h.Agree.
func (h CommitteeHandler) OnAgreement(ctx sdk.Context, a Agreement) error { return h.Agree(ctx, a) }

// Committee calls h.CommitteeOf.
func (h CommitteeHandler) Committee(ctx sdk.Context, subject []byte) ([]Member, error) {
	return h.CommitteeOf(ctx, subject)
}
