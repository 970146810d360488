package keeper_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
)

func secAggSpec() types.RunSpec {
	s := spec()
	s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_SECURE_AGGREGATION}
	return s
}

func secAggMsg(p sdk.AccAddress, id uint64, round uint32, stage types.SecAggStage, tag string) *types.MsgSubmitSecAggMessage {
	return &types.MsgSubmitSecAggMessage{Participant: p.String(), RunId: id, Round: round, Stage: stage,
		Hash: hash(tag), Size_: 128, Location: "https://p.example/blobs/" + tag}
}

// sendStage has each of senders send its message of stage.
func (f *fixture) sendStage(t *testing.T, id uint64, round uint32, stage types.SecAggStage, senders ...string) {
	t.Helper()
	for _, s := range senders {
		_, err := f.msg.SubmitSecAggMessage(f.ctx, secAggMsg(addr(t, s), id, round, stage, fmt.Sprintf("%s-%d-%s", stage, round, s)))
		require.NoError(t, err, "%s from %s", stage, s)
	}
}

func TestCreateRunPrivacyNeedsFedAvg(t *testing.T) {
	f := setup(t)
	for name, mut := range map[string]func(*types.RunSpec){
		"secagg with median": func(s *types.RunSpec) { s.Aggregation = types.AggregationRule{Name: types.RuleMedian} },
		"secagg with one participant": func(s *types.RunSpec) {
			s.MinParticipants = 1
		},
		"secagg with top-k": func(s *types.RunSpec) {
			s.Compression = types.Compression{Mode: types.COMPRESSION_MODE_TOPK, TopkFraction: "0.01"}
		},
		"client-dp with krum": func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "1", NoiseMultiplier: "1"}
			s.Aggregation = types.AggregationRule{Name: types.RuleKrum, Byzantine: 0}
		},
	} {
		s := secAggSpec()
		mut(&s)
		total := f.total()
		_, err := f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: f.client.String(), Spec: s})
		require.ErrorIs(t, err, types.ErrInvalidRun, name)
		require.Equal(t, total, f.total(), name)
	}
}

func TestSecureAggregationRound(t *testing.T) {
	f := setup(t)
	total := f.total()
	id := f.start(t, secAggSpec())
	round := f.round(t, id, 1)
	require.Equal(t, types.SECAGG_STAGE_ADVERTISE, round.SecaggStage)
	require.Len(t, round.Selected, 3)
	require.Equal(t, uint32(2), round.SecaggThreshold, "a strict majority of three")
	sel := round.Selected
	var outsider sdk.AccAddress
	for _, p := range f.providers {
		if p.String() != sel[0] && p.String() != sel[1] && p.String() != sel[2] {
			outsider = p
		}
	}

	// Refused: every one changes nothing.
	a0 := addr(t, sel[0])
	for name, tc := range map[string]struct {
		msg *types.MsgSubmitSecAggMessage
		err error
	}{
		"not selected":  {secAggMsg(outsider, id, 1, types.SECAGG_STAGE_ADVERTISE, "x"), types.ErrNotSelected},
		"wrong step":    {secAggMsg(a0, id, 1, types.SECAGG_STAGE_SHARE_KEYS, "x"), types.ErrInvalidState},
		"masked as msg": {secAggMsg(a0, id, 1, types.SECAGG_STAGE_MASKED_INPUT, "x"), types.ErrInvalidSecAgg},
		"no stage":      {secAggMsg(a0, id, 1, types.SECAGG_STAGE_UNSPECIFIED, "x"), types.ErrInvalidSecAgg},
		"short hash": {func() *types.MsgSubmitSecAggMessage {
			m := secAggMsg(a0, id, 1, types.SECAGG_STAGE_ADVERTISE, "x")
			m.Hash = m.Hash[:4]
			return m
		}(), types.ErrInvalidSecAgg},
		"zero size": {func() *types.MsgSubmitSecAggMessage {
			m := secAggMsg(a0, id, 1, types.SECAGG_STAGE_ADVERTISE, "x")
			m.Size_ = 0
			return m
		}(), types.ErrInvalidSecAgg},
		"bad location": {func() *types.MsgSubmitSecAggMessage {
			m := secAggMsg(a0, id, 1, types.SECAGG_STAGE_ADVERTISE, "x")
			m.Location = "x"
			return m
		}(), types.ErrInvalidSecAgg},
		"wrong round":     {secAggMsg(a0, id, 2, types.SECAGG_STAGE_ADVERTISE, "x"), types.ErrWrongRound},
		"update too soon": {nil, nil},
	} {
		if tc.msg == nil {
			_, err := f.msg.SubmitUpdate(f.ctx, update(a0, id, 1, "early"))
			require.ErrorIs(t, err, types.ErrInvalidState, name)
			continue
		}
		_, err := f.msg.SubmitSecAggMessage(f.ctx, tc.msg)
		require.ErrorIs(t, err, tc.err, name)
	}
	require.Equal(t, uint32(0), f.round(t, id, 1).SecaggCount)

	// Everyone advertises: the round moves on at once.
	f.sendStage(t, id, 1, types.SECAGG_STAGE_ADVERTISE, sel[0], sel[1])
	_, err := f.msg.SubmitSecAggMessage(f.ctx, secAggMsg(a0, id, 1, types.SECAGG_STAGE_ADVERTISE, "again"))
	require.ErrorIs(t, err, types.ErrInvalidSecAgg, "one message per step")
	require.Equal(t, types.SECAGG_STAGE_ADVERTISE, f.round(t, id, 1).SecaggStage)
	f.sendStage(t, id, 1, types.SECAGG_STAGE_ADVERTISE, sel[2])
	round = f.round(t, id, 1)
	require.Equal(t, types.SECAGG_STAGE_SHARE_KEYS, round.SecaggStage)

	// Two of three share keys; the third drops out and the step ends at
	// its deadline with T = 2.
	f.sendStage(t, id, 1, types.SECAGG_STAGE_SHARE_KEYS, sel[0], sel[1])
	f.endBlock(t, round.DeadlineHeight)
	round = f.round(t, id, 1)
	require.Equal(t, types.SECAGG_STAGE_MASKED_INPUT, round.SecaggStage)
	_, err = f.msg.SubmitSecAggMessage(f.ctx, secAggMsg(addr(t, sel[2]), id, 1, types.SECAGG_STAGE_SHARE_KEYS, "late"))
	require.ErrorIs(t, err, types.ErrInvalidState)
	_, err = f.msg.SubmitUpdate(f.ctx, update(addr(t, sel[2]), id, 1, "dropped"))
	require.ErrorIs(t, err, types.ErrInvalidSecAgg, "only those who shared their keys submit")

	// The two sharers submit masked updates: the round goes to unmasking,
	// and the dropped participant is recorded as having missed.
	missedBefore := f.rep(t, sel[2]).FederatedUpdatesMissed
	for i := 0; i < 2; i++ {
		_, err := f.msg.SubmitUpdate(f.ctx, update(addr(t, sel[i]), id, 1, fmt.Sprintf("masked-%d", i)))
		require.NoError(t, err)
	}
	round = f.round(t, id, 1)
	require.Equal(t, types.SECAGG_STAGE_UNMASK, round.SecaggStage)
	require.Equal(t, missedBefore+1, f.rep(t, sel[2]).FederatedUpdatesMissed)

	f.sendStage(t, id, 1, types.SECAGG_STAGE_UNMASK, sel[0])
	_, err = f.msg.SubmitSecAggMessage(f.ctx, secAggMsg(addr(t, sel[2]), id, 1, types.SECAGG_STAGE_UNMASK, "x"))
	require.ErrorIs(t, err, types.ErrInvalidSecAgg, "only those who sent a masked update unmask")
	f.sendStage(t, id, 1, types.SECAGG_STAGE_UNMASK, sel[1])
	round = f.round(t, id, 1)
	require.Equal(t, types.ROUND_STATE_AGGREGATING, round.State)

	for stage, n := range map[types.SecAggStage]int{types.SECAGG_STAGE_ADVERTISE: 3, types.SECAGG_STAGE_SHARE_KEYS: 2, types.SECAGG_STAGE_UNMASK: 2} {
		res, err := f.q.SecAggMessages(f.ctx, &types.QuerySecAggMessagesRequest{RunId: id, Round: 1, Stage: stage})
		require.NoError(t, err)
		require.Len(t, res.Messages, n, stage.String())
		require.Equal(t, sel[0], res.Messages[0].Participant, "selection order")
	}

	// The sum of the two masked updates is the round's aggregate: both are
	// accepted and paid.
	ups, err := f.q.Updates(f.ctx, &types.QueryUpdatesRequest{RunId: id, Round: 1})
	require.NoError(t, err)
	res := types.RoundResult{RunId: id, Round: 1, NewWeightsHash: hash("w1"), NewWeightsLocation: "https://agg.example/w1",
		AcceptedUpdates: [][]byte{ups.Updates[0].Hash, ups.Updates[1].Hash}}
	require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, 1), res.ResultHash()))
	_, err = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
	require.NoError(t, err)
	require.Equal(t, types.ROUND_STATE_FINALISED, f.round(t, id, 1).State)
	round2 := f.round(t, id, 2)
	require.Equal(t, types.SECAGG_STAGE_ADVERTISE, round2.SecaggStage, "the next round starts over")
	f.invariants(t)
	require.Equal(t, total, f.total())

	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.Len(t, gs.SecaggMessages, 7)
	require.NoError(t, gs.Validate(f.k.AddressCodec()))
}

func TestSecureAggregationStepBelowThresholdRetries(t *testing.T) {
	f := setup(t)
	total := f.total()
	id := f.start(t, secAggSpec())
	round := f.round(t, id, 1)
	f.sendStage(t, id, 1, types.SECAGG_STAGE_ADVERTISE, round.Selected[0])
	f.endBlock(t, round.DeadlineHeight)
	retry := f.round(t, id, 1)
	require.Equal(t, uint32(1), retry.Attempt, "one advertisement of the two needed: retried")
	require.Equal(t, types.SECAGG_STAGE_ADVERTISE, retry.SecaggStage)
	require.Zero(t, retry.SecaggCount)
	res, err := f.q.SecAggMessages(f.ctx, &types.QuerySecAggMessagesRequest{RunId: id, Round: 1, Stage: types.SECAGG_STAGE_ADVERTISE})
	require.NoError(t, err)
	require.Empty(t, res.Messages, "the failed attempt's messages are gone")

	f.endBlock(t, retry.DeadlineHeight)
	require.Equal(t, types.RUN_STATE_FAILED, f.run(t, id).State, "nobody advertised on the retry: the run fails")
	require.Equal(t, total, f.total(), "and its escrow went back")
	f.invariants(t)
}
