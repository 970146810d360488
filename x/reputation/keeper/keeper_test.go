package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
	providerkeeper "github.com/cohortchain/cohort/x/provider/keeper"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	"github.com/cohortchain/cohort/x/reputation/keeper"
	"github.com/cohortchain/cohort/x/reputation/types"
)

func TestRecordAndDecay(t *testing.T) {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	k := c.App.ReputationKeeper
	op := testutil.Addr("provider")
	params := types.DefaultParams()

	score, err := k.Score(ctx, op)
	require.NoError(t, err)
	require.Equal(t, params.InitialScore, score, "no history: initial score")

	require.NoError(t, k.Record(ctx, op, types.OUTCOME_JOB_COMPLETED))
	require.NoError(t, k.Record(ctx, op, types.OUTCOME_JOB_COMPLETED))
	good, _ := k.Score(ctx, op)
	require.True(t, good.GT(params.InitialScore))
	require.NoError(t, k.Record(ctx, op, types.OUTCOME_DISPUTE_LOST))
	bad, _ := k.Score(ctx, op)
	require.True(t, bad.LT(params.InitialScore), "a lost dispute outweighs two completed jobs")
	require.ErrorIs(t, k.Record(ctx, op, types.OUTCOME_UNSPECIFIED), types.ErrInvalidOutcome)

	r, err := k.Get(ctx, op)
	require.NoError(t, err)
	require.EqualValues(t, 2, r.JobsCompleted)
	require.EqualValues(t, 1, r.DisputesLost)

	// Decay only on the module's epoch; scores drift back to the initial one.
	require.NoError(t, k.AfterEpochEnd(ctx, "week", 1))
	same, _ := k.Score(ctx, op)
	require.Equal(t, bad, same)
	for i := int64(1); i <= 500; i++ {
		require.NoError(t, k.AfterEpochEnd(ctx, params.EpochIdentifier, i))
	}
	drifted, _ := k.Score(ctx, op)
	require.True(t, drifted.Sub(params.InitialScore).Abs().LT(sdkmath.LegacyNewDecWithPrec(1, 3)), "after 500 epochs the score is back near %s: %s", params.InitialScore, drifted)

	require.NoError(t, k.RecordLatency(ctx, op, 100))
	require.NoError(t, k.RecordLatency(ctx, op, 900))
	r, _ = k.Get(ctx, op)
	require.EqualValues(t, 100-100/8+900/8, r.LatencyMs)
}

// The provider module reports slashes and silence through hooks.
func TestProviderHooksMoveTheScore(t *testing.T) {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	op := c.Fund(t, ctx, 5_000_000_000, testutil.Addr("provider"))[0]
	msg := providerkeeper.NewMsgServer(c.App.ProviderKeeper)
	_, err := msg.RegisterProvider(ctx, &providertypes.MsgRegisterProvider{
		Operator: op.String(),
		Info: providertypes.ProviderInfo{Moniker: "p", Hardware: providertypes.Hardware{CpuCores: 4},
			Endpoints: []string{"http://127.0.0.1:7000"}},
		Collateral: sdk.NewInt64Coin(app.BaseDenom, 2_000_000_000),
	})
	require.NoError(t, err)

	before, _ := c.App.ReputationKeeper.Score(ctx, op)
	_, err = c.App.ProviderKeeper.Slash(ctx, op, sdkmath.LegacyNewDecWithPrec(1, 2), nil, "test")
	require.NoError(t, err)
	after, _ := c.App.ReputationKeeper.Score(ctx, op)
	require.True(t, after.LT(before))
	r, _ := c.App.ReputationKeeper.Get(ctx, op)
	require.EqualValues(t, 1, r.Slashes)

	for e := int64(1); e <= providertypes.DefaultParams().InactiveAfterEpochs; e++ {
		require.NoError(t, c.App.EpochsKeeper.Hooks().AfterEpochEnd(ctx, providertypes.DefaultParams().EpochIdentifier, e))
	}
	r, _ = c.App.ReputationKeeper.Get(ctx, op)
	require.EqualValues(t, 1, r.LivenessMissed)
}

func TestQueriesParamsAndGenesis(t *testing.T) {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	k := c.App.ReputationKeeper
	q := keeper.NewQueryServer(k)
	for _, name := range []string{"a", "b", "c"} {
		require.NoError(t, k.Record(ctx, testutil.Addr(name), types.OUTCOME_JOB_COMPLETED))
	}
	res, err := q.Reputations(ctx, &types.QueryReputationsRequest{})
	require.NoError(t, err)
	require.Len(t, res.Reputations, 3)
	one, err := q.Reputation(ctx, &types.QueryReputationRequest{Operator: testutil.Addr("nobody").String()})
	require.NoError(t, err)
	require.Equal(t, types.DefaultParams().InitialScore, one.Reputation.Score)
	_, err = q.Reputation(ctx, &types.QueryReputationRequest{Operator: "bad"})
	require.Error(t, err)

	msg := keeper.NewMsgServer(k)
	_, err = msg.UpdateParams(ctx, &types.MsgUpdateParams{Authority: testutil.Addr("x").String(), Params: types.DefaultParams()})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	p := types.DefaultParams()
	p.DecayRate = sdkmath.LegacyNewDecWithPrec(5, 2)
	_, err = msg.UpdateParams(ctx, &types.MsgUpdateParams{Authority: k.Authority(), Params: p})
	require.NoError(t, err)

	gs, err := k.ExportGenesis(ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate(k.AddressCodec()))
	require.Equal(t, p, gs.Params)
	g := testutil.NewChain(t)
	gctx := g.Context(t)
	require.NoError(t, g.App.ReputationKeeper.InitGenesis(gctx, *gs))
	again, err := g.App.ReputationKeeper.ExportGenesis(gctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
}

// Federated-round outcomes move the score like their market counterparts,
// an outlier between a failed job and a lost dispute, and have counters.
func TestFederatedOutcomesMoveTheScore(t *testing.T) {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	k := c.App.ReputationKeeper
	params := types.DefaultParams()
	score := func(name string, outcomes ...types.Outcome) sdkmath.LegacyDec {
		op := testutil.Addr(name)
		for _, o := range outcomes {
			require.NoError(t, k.Record(ctx, op, o))
		}
		s, err := k.Score(ctx, op)
		require.NoError(t, err)
		return s
	}
	require.Equal(t, score("job", types.OUTCOME_JOB_COMPLETED), score("accepted", types.OUTCOME_FEDERATED_UPDATE_ACCEPTED))
	require.Equal(t, score("failed", types.OUTCOME_JOB_FAILED), score("missed", types.OUTCOME_FEDERATED_UPDATE_MISSED))
	outlier := score("outlier", types.OUTCOME_FEDERATED_UPDATE_REJECTED)
	require.True(t, outlier.LT(score("failed2", types.OUTCOME_JOB_FAILED)), "an outlier costs more than a failed job")
	require.True(t, outlier.GT(score("lost", types.OUTCOME_DISPUTE_LOST)), "and less than a lost dispute")
	// 0.5 - 0.1*2*0.5 with the default params.
	require.Equal(t, params.InitialScore.Sub(params.LearningRate.Mul(sdkmath.LegacyNewDec(2)).Mul(params.InitialScore)), outlier)

	score("mixed", types.OUTCOME_FEDERATED_UPDATE_ACCEPTED, types.OUTCOME_FEDERATED_UPDATE_ACCEPTED,
		types.OUTCOME_FEDERATED_UPDATE_REJECTED, types.OUTCOME_FEDERATED_UPDATE_MISSED,
		types.OUTCOME_FEDERATED_UPDATE_MISSED, types.OUTCOME_FEDERATED_UPDATE_MISSED)
	r, err := k.Get(ctx, testutil.Addr("mixed"))
	require.NoError(t, err)
	require.EqualValues(t, 2, r.FederatedUpdatesAccepted)
	require.EqualValues(t, 1, r.FederatedUpdatesRejected)
	require.EqualValues(t, 3, r.FederatedUpdatesMissed)
	require.Zero(t, r.JobsCompleted+r.JobsFailed+r.LivenessMissed)
}
