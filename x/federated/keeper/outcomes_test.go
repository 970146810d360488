package keeper_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	"github.com/cohortchain/cohort/x/federated/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

func (f *fixture) rep(t *testing.T, s string) reputationtypes.Reputation {
	t.Helper()
	r, err := f.c.App.ReputationKeeper.Get(f.ctx, addr(t, s))
	require.NoError(t, err)
	return r
}

// counts is (accepted, rejected, missed) federated outcomes of s.
func (f *fixture) counts(t *testing.T, s string) [3]uint64 {
	t.Helper()
	r := f.rep(t, s)
	return [3]uint64{r.FederatedUpdatesAccepted, r.FederatedUpdatesRejected, r.FederatedUpdatesMissed}
}

func (f *fixture) agreeAndFinalize(t *testing.T, id uint64, n uint32, accepted [][]byte) error {
	t.Helper()
	res := types.RoundResult{RunId: id, Round: n, NewWeightsHash: hash(fmt.Sprintf("run%d w%d", id, n)),
		NewWeightsLocation: fmt.Sprintf("https://agg.example/run%d/w%d", id, n), AcceptedUpdates: accepted}
	require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, n), res.ResultHash()))
	_, err := f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
	return err
}

// FinalizeRound reports accepted updates and outliers to x/reputation; the
// collection deadline reports selected participants that sent nothing.
func TestRoundOutcomesReachReputation(t *testing.T) {
	f := setup(t)
	id := f.start(t, spec())

	// Round 1: all three submit; the rule keeps two, the third is an outlier.
	r1 := f.round(t, id, 1)
	scores := map[string]sdkmath.LegacyDec{}
	for _, s := range r1.Selected {
		scores[s] = f.rep(t, s).Score
	}
	hashes := f.submitAll(t, id, 1)
	require.NoError(t, f.agreeAndFinalize(t, id, 1, hashes[:2]))
	for i, s := range r1.Selected {
		r := f.rep(t, s)
		if i < 2 {
			require.Equal(t, [3]uint64{1, 0, 0}, f.counts(t, s), "accepted %d", i)
			require.True(t, r.Score.GT(scores[s]), "accepted %d: %s -> %s", i, scores[s], r.Score)
		} else {
			require.Equal(t, [3]uint64{0, 1, 0}, f.counts(t, s), "the outlier")
			require.True(t, r.Score.LT(scores[s]))
			require.Equal(t, "0.400000000000000000", r.Score.String(), "0.5 moved 2×10%% of the way to 0")
		}
	}

	// Round 2: two of three submit by the deadline (quorum 2): the third
	// is recorded as missed, and the round goes on to aggregation.
	r2 := f.round(t, id, 2)
	before := map[string][3]uint64{}
	for _, s := range r2.Selected {
		before[s] = f.counts(t, s)
	}
	var got [][]byte
	for i := 0; i < 2; i++ {
		m := update(addr(t, r2.Selected[i]), id, 2, fmt.Sprint("r2-", i))
		_, err := f.msg.SubmitUpdate(f.ctx, m)
		require.NoError(t, err)
		got = append(got, m.Hash)
	}
	f.endBlock(t, r2.DeadlineHeight)
	require.Equal(t, types.ROUND_STATE_AGGREGATING, f.round(t, id, 2).State)
	missed := r2.Selected[2]
	require.Equal(t, before[missed][2]+1, f.counts(t, missed)[2], "missed the deadline")
	for _, s := range r2.Selected[:2] {
		require.Equal(t, before[s], f.counts(t, s), "no outcome yet for those that submitted")
	}
	require.NoError(t, f.agreeAndFinalize(t, id, 2, got))
	for _, s := range r2.Selected[:2] {
		want := before[s]
		want[0]++
		require.Equal(t, want, f.counts(t, s))
	}
	require.Equal(t, before[missed][2]+1, f.counts(t, missed)[2], "finalising records no more for the one that missed")
	require.Equal(t, types.RUN_STATE_COMPLETED, f.run(t, id).State)
	f.invariants(t)
}

// A round without quorum at its deadline records the misses before it is
// retried; an aggregation timeout records none (the validators missed it).
func TestMissesRecordedOnRetryNotOnAggregationTimeout(t *testing.T) {
	f := setup(t)
	id := f.start(t, spec())
	first := f.round(t, id, 1)
	_, err := f.msg.SubmitUpdate(f.ctx, update(addr(t, first.Selected[0]), id, 1, "a"))
	require.NoError(t, err)
	f.endBlock(t, first.DeadlineHeight)
	require.Equal(t, uint32(1), f.round(t, id, 1).Attempt, "retried")
	require.Equal(t, [3]uint64{0, 0, 0}, f.counts(t, first.Selected[0]))
	for _, s := range first.Selected[1:] {
		require.Equal(t, [3]uint64{0, 0, 1}, f.counts(t, s))
	}

	retry := f.round(t, id, 1)
	all := map[string][3]uint64{}
	for _, p := range f.providers {
		all[p.String()] = f.counts(t, p.String())
	}
	f.submitAll(t, id, 1)
	agg := f.round(t, id, 1)
	require.Equal(t, types.ROUND_STATE_AGGREGATING, agg.State)
	f.endBlock(t, agg.DeadlineHeight)
	require.Equal(t, types.RUN_STATE_FAILED, f.run(t, id).State, "max_round_retries is 1")
	for _, s := range retry.Selected {
		require.Equal(t, all[s], f.counts(t, s), "an aggregation timeout is not the participants' miss")
	}
}

// A reputation failure fails FinalizeRound as a whole: the error comes
// back, and in the transaction's cache nothing of the round was written.
func TestReputationFailureFailsFinalizeAtomically(t *testing.T) {
	f := setup(t)
	id := f.start(t, spec())
	hashes := f.submitAll(t, id, 1)
	res := types.RoundResult{RunId: id, Round: 1, NewWeightsHash: hash("w1"), NewWeightsLocation: "https://agg.example/w1", AcceptedUpdates: hashes[:2]}
	require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, 1), res.ResultHash()))

	rk := f.c.App.ReputationKeeper
	params, err := rk.Params.Get(f.ctx)
	require.NoError(t, err)
	require.NoError(t, rk.Params.Remove(f.ctx)) // Record now fails
	total, client := f.total(), f.bal(f.client)
	cache, _ := f.ctx.CacheContext() // a failed tx's writes are dropped
	_, err = f.msg.FinalizeRound(cache, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
	require.ErrorIs(t, err, collections.ErrNotFound)
	require.Contains(t, err.Error(), "OUTCOME_FEDERATED_UPDATE_ACCEPTED")
	require.Equal(t, types.ROUND_STATE_AGGREGATING, f.round(t, id, 1).State)
	require.Equal(t, total, f.total())
	require.Equal(t, client, f.bal(f.client))

	require.NoError(t, rk.Params.Set(f.ctx, params))
	_, err = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
	require.NoError(t, err)
	require.Equal(t, types.ROUND_STATE_FINALISED, f.round(t, id, 1).State)
	f.invariants(t)
}
