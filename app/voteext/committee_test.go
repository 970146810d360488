package voteext

import (
	"crypto/sha256"
	"math"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext/types"
)

func members(powers ...int64) []Member {
	out := make([]Member, len(powers))
	for i, p := range powers {
		out[i] = Member{Address: sdk.ConsAddress{byte(i + 1)}, Power: p}
	}
	return out
}

func TestSampleCommitteeIsDeterministicAndOrderFree(t *testing.T) {
	pool := members(10, 20, 30, 40, 50, 60)
	seed := []byte("seed")
	a := SampleCommittee(seed, pool, 3)
	reversed := append([]Member{}, pool...)
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	require.Equal(t, a, SampleCommittee(seed, reversed, 3))
	require.Len(t, a, 3)
	seen := map[string]bool{}
	for i, m := range a {
		require.False(t, seen[string(m.Address)], "drawn twice")
		seen[string(m.Address)] = true
		if i > 0 {
			require.Less(t, string(a[i-1].Address), string(m.Address), "address order")
		}
	}
	distinct := map[string]bool{}
	for i := 0; i < 10; i++ {
		c := SampleCommittee([]byte{byte(i)}, pool, 3)
		distinct[string(c[0].Address)+string(c[1].Address)+string(c[2].Address)] = true
	}
	require.Greater(t, len(distinct), 1, "the seed decides the committee")
	require.Equal(t, members(10, 20, 30, 40, 50, 60), SampleCommittee(seed, pool, 10), "size above the pool takes everyone")
	require.Len(t, SampleCommittee(seed, append(members(5, 5), Member{Address: sdk.ConsAddress{9}}), 10), 2, "no power, never drawn")
	require.Empty(t, SampleCommittee(seed, nil, 3))
}

// TestSampleCommitteeFollowsStake draws one-member committees from many
// seeds: each validator sits on them in proportion to its power.
func TestSampleCommitteeFollowsStake(t *testing.T) {
	pool := members(10, 30, 60)
	const n = 20000
	count := map[byte]int{}
	for i := 0; i < n; i++ {
		s := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)})
		c := SampleCommittee(s[:], pool, 1)
		require.Len(t, c, 1)
		count[c[0].Address[0]]++
	}
	for i, p := range []float64{0.1, 0.3, 0.6} {
		got := float64(count[byte(i+1)]) / n
		sd := math.Sqrt(p * (1 - p) / n)
		require.InDelta(t, p, got, 5*sd, "validator %d: share %.4f, power share %.2f", i+1, got, p)
	}
}

func TestDecideWithCommittee(t *testing.T) {
	const h = 10
	pass, fail := types.Attestation{Kind: "verify/task", Subject: []byte("t"), ResultHash: make([]byte, 32)}, types.Attestation{Kind: "verify/task", Subject: []byte("t"), ResultHash: append(make([]byte, 31), 1)}
	other := types.Attestation{Kind: "verify/task", Subject: []byte("t"), ResultHash: append(make([]byte, 31), 2)}
	enc := func(a types.Attestation) []byte {
		bz, err := (&types.VoteExtension{Height: h, Attestations: []types.Attestation{a}}).Marshal()
		require.NoError(t, err)
		return bz
	}
	v := func(addr byte, power int64, a types.Attestation) abci.ExtendedVoteInfo {
		return abci.ExtendedVoteInfo{Validator: abci.Validator{Address: []byte{addr}, Power: power}, BlockIdFlag: cmtproto.BlockIDFlagCommit, VoteExtension: enc(a)}
	}
	// Five validators; the committee is 1, 2 and 3 with their sampled powers.
	info := abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{
		v(1, 10, pass), v(2, 10, pass), v(3, 10, fail), v(4, 100, fail), v(5, 100, other),
	}}
	ballots, _, total := collect(info, h)
	require.Len(t, ballots, 1)
	_, whole := ballots[0].decide(nil, total)
	require.False(t, whole, "the whole set has no 2/3")

	committee := []Member{{Address: sdk.ConsAddress{1}, Power: 10}, {Address: sdk.ConsAddress{2}, Power: 10}, {Address: sdk.ConsAddress{3}, Power: 5}}
	a, ok := ballots[0].decide(committee, total)
	require.True(t, ok, "20 of the committee's 25")
	require.Equal(t, pass.ResultHash, a.ResultHash)
	require.EqualValues(t, 20, a.Power)
	require.EqualValues(t, 25, a.TotalPower)
	require.Equal(t, []sdk.ConsAddress{{1}, {2}}, a.Voters)
	require.Equal(t, []sdk.ConsAddress{{3}}, a.Dissenters, "members that attested another result dissent; non-members count for nothing")
	require.Empty(t, a.Absent)

	// A silent member counts against quorum and is reported absent.
	committee = append(committee, Member{Address: sdk.ConsAddress{7}, Power: 6})
	a, ok = ballots[0].decide(committee, total)
	require.False(t, ok, "20 of 31 is not 2/3")
	committee = []Member{{Address: sdk.ConsAddress{1}, Power: 10}, {Address: sdk.ConsAddress{2}, Power: 10}, {Address: sdk.ConsAddress{7}, Power: 1}}
	a, ok = ballots[0].decide(committee, total)
	require.True(t, ok)
	require.Equal(t, []sdk.ConsAddress{{7}}, a.Absent)
}
