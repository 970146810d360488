package keeper_test

import (
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
	"github.com/cohortchain/cohort/x/market/keeper"
	"github.com/cohortchain/cohort/x/market/types"
	providerkeeper "github.com/cohortchain/cohort/x/provider/keeper"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

func coin(n int64) sdk.Coin { return sdk.NewInt64Coin(app.BaseDenom, n) }

type fixture struct {
	c        *testutil.Chain
	ctx      sdk.Context
	k        keeper.Keeper
	msg      types.MsgServer
	q        types.QueryServer
	client   sdk.AccAddress
	provider sdk.AccAddress
	other    sdk.AccAddress
	// cum is the cumulative units the client's vouchers cover, per job.
	cum map[uint64]uint64
}

// registerProvider funds addr and registers it with twice the minimum collateral.
func registerProvider(t testing.TB, c *testutil.Chain, ctx sdk.Context, addr sdk.AccAddress, hw providertypes.Hardware) {
	t.Helper()
	c.Fund(t, ctx, 10_000_000_000, addr)
	_, err := providerkeeper.NewMsgServer(c.App.ProviderKeeper).RegisterProvider(ctx, &providertypes.MsgRegisterProvider{
		Operator:   addr.String(),
		Info:       providertypes.ProviderInfo{Moniker: "p", Hardware: hw, Endpoints: []string{"https://p.example"}},
		Collateral: coin(2_000_000_000),
	})
	require.NoError(t, err)
}

var h100 = providertypes.Hardware{GpuModel: "NVIDIA H100", GpuCount: 8, GpuMemoryGib: 80, CpuCores: 64, RamGib: 512}

func setup(t testing.TB) *fixture {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	f := &fixture{c: c, ctx: ctx, k: c.App.MarketKeeper, msg: keeper.NewMsgServer(c.App.MarketKeeper), q: keeper.NewQueryServer(c.App.MarketKeeper),
		client: testutil.Addr("client"), provider: testutil.Addr("provider"), other: testutil.Addr("provider2")}
	c.Fund(t, ctx, 100_000_000_000, f.client)
	registerProvider(t, c, ctx, f.provider, h100)
	registerProvider(t, c, ctx, f.other, providertypes.Hardware{GpuModel: "RTX 4090", GpuCount: 1, GpuMemoryGib: 24, CpuCores: 16, RamGib: 64})
	return f
}

func (f *fixture) bal(addr sdk.AccAddress) int64 {
	return f.c.App.BankKeeper.GetBalance(f.ctx, addr, app.BaseDenom).Amount.Int64()
}

// invariants checks the market's escrow invariant, the provider module's
// collateral invariant, and that total supply only fell by what was burned.
func (f *fixture) invariants(t *testing.T) {
	t.Helper()
	require.NoError(t, f.k.EscrowInvariant(f.ctx))
	require.NoError(t, f.c.App.ProviderKeeper.CollateralInvariant(f.ctx, authtypes.NewModuleAddress(providertypes.ModuleName)))
}

func spec() types.JobSpec {
	return types.JobSpec{ModelId: "mnist-mlp", DataRequirement: "fashion-mnist",
		Hyperparameters: types.Hyperparameters{LearningRate: "0.01", BatchSize: 64, Epochs: 1},
		Hardware:        types.HardwareRequirement{GpuModel: "h100", MinGpuCount: 1}}
}

func (f *fixture) createJob(t *testing.T) uint64 {
	t.Helper()
	res, err := f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_TRAINING, Spec: spec(),
		Units: 100, MaxPrice: coin(1_000), Budget: coin(150_000), DeadlineBlocks: 100, VerificationLevel: 10})
	require.NoError(t, err)
	return res.JobId
}

func (f *fixture) bid(t *testing.T, id uint64, provider sdk.AccAddress, price int64) {
	t.Helper()
	_, err := f.msg.PlaceBid(f.ctx, &types.MsgPlaceBid{Provider: provider.String(), JobId: id, Price: coin(price), Deposit: coin(1_000_000)})
	require.NoError(t, err)
}

func result() types.Result {
	h := sha256.Sum256([]byte("weights"))
	root := sha256.Sum256([]byte("checkpoints"))
	return types.Result{Hash: h[:], Size_: 1024, Location: "https://p.example/blobs/1",
		Metrics: []types.Metric{{Name: "accuracy", Value: "0.91"}}, CheckpointRoot: root[:], TotalSteps: 1000}
}

func (f *fixture) job(t *testing.T, id uint64) types.Job {
	j, err := f.k.GetJob(f.ctx, id)
	require.NoError(t, err)
	return j
}

func (f *fixture) endBlock(t *testing.T, height int64) {
	t.Helper()
	f.ctx = f.ctx.WithBlockHeight(height)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	f.invariants(t)
}

func TestHappyPathPaysProviderFeeAndRefund(t *testing.T) {
	f := setup(t)
	client0, prov0 := f.bal(f.client), f.bal(f.provider)
	feeCollector := authtypes.NewModuleAddress(authtypes.FeeCollectorName)
	fee0 := f.bal(feeCollector)

	id := f.createJob(t)
	require.Equal(t, client0-150_000, f.bal(f.client), "budget escrowed at once")
	esc, err := f.q.Escrow(f.ctx, &types.QueryEscrowRequest{JobId: id})
	require.NoError(t, err)
	require.Equal(t, coin(150_000), esc.Job)
	require.Equal(t, esc.ModuleBalance, esc.EscrowTotal.Add(esc.DepositsTotal...).Add(esc.BondsTotal...))

	f.bid(t, id, f.provider, 800)
	f.invariants(t)
	_, err = f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	require.Equal(t, types.JOB_STATE_LEASED, f.job(t, id).State)

	sub, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.NoError(t, err)
	require.Equal(t, types.JOB_STATE_SUBMITTED, f.job(t, id).State)

	// Nothing settles before the window ends; then the EndBlocker pays
	// (the result's check passed meanwhile).
	f.endBlock(t, sub.ChallengeEndsHeight-1)
	require.Equal(t, types.JOB_STATE_SUBMITTED, f.job(t, id).State)
	f.ctx = testutil.DrawTasks(t, f.c.App, f.ctx)
	require.NoError(t, testutil.AgreeOnTask(t, f.c.App, f.ctx, f.job(t, id).Lease.VerifyTaskId, verifytypes.OUTCOME_PASS))
	require.Equal(t, types.JOB_STATE_SUBMITTED, f.job(t, id).State, "a pass inside the window does not settle early")
	f.endBlock(t, sub.ChallengeEndsHeight)
	j := f.job(t, id)
	require.Equal(t, types.JOB_STATE_COMPLETED, j.State)

	cost := int64(800 * 100)
	fee := cost * 2 / 100
	require.Equal(t, prov0+cost-fee, f.bal(f.provider), "paid price*units less the fee, deposit back")
	require.Equal(t, client0-cost-verifierFee, f.bal(f.client), "the unspent budget comes back, less the verification fee")
	require.Equal(t, fee0+fee, f.bal(feeCollector))
	require.Equal(t, coin(cost-fee), j.Paid)
	require.Equal(t, coin(150_000-cost-verifierFee), j.Refunded)
	// The verification fee paid the committee that passed the result.
	require.Zero(t, f.bal(f.c.App.VerifyKeeper.ModuleAddress()))
	require.True(t, j.Escrow.IsZero())
	rep, _ := f.c.App.ReputationKeeper.Get(f.ctx, f.provider)
	require.EqualValues(t, 1, rep.JobsCompleted)

	// Queries by client, provider and state find it.
	for _, req := range []*types.QueryJobsRequest{{Client: f.client.String()}, {Provider: f.provider.String()}, {State: types.JOB_STATE_COMPLETED}, {}} {
		res, err := f.q.Jobs(f.ctx, req)
		require.NoError(t, err)
		require.Len(t, res.Jobs, 1, "%+v", req)
	}
	res, err := f.q.Jobs(f.ctx, &types.QueryJobsRequest{Client: f.client.String(), State: types.JOB_STATE_OPEN})
	require.NoError(t, err)
	require.Empty(t, res.Jobs)
}

func TestClientAcceptsEarly(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.NoError(t, err)
	_, err = f.msg.AcceptResult(f.ctx, &types.MsgAcceptResult{Client: f.client.String(), JobId: id})
	require.NoError(t, err)
	require.Equal(t, types.JOB_STATE_COMPLETED, f.job(t, id).State)
	f.invariants(t)
}

func TestAutomaticMatchingPrefersCheapAndReputable(t *testing.T) {
	f := setup(t)
	// Both providers qualify for a job with no hardware requirement.
	res, err := f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_INFERENCE,
		Spec: registerModel(t, f.c, f.ctx, testutil.Addr("owner"), "m", 0, true), Units: 10, MaxPrice: coin(100), Budget: coin(1_000), DeadlineBlocks: 50})
	require.NoError(t, err)
	f.bid(t, res.JobId, f.provider, 90)
	f.bid(t, res.JobId, f.other, 50)
	other0 := f.bal(f.provider)
	j := f.job(t, res.JobId)
	f.endBlock(t, j.BiddingEndsHeight)
	j = f.job(t, res.JobId)
	require.Equal(t, types.JOB_STATE_LEASED, j.State)
	require.Equal(t, f.other.String(), j.Lease.Provider, "equal reputation: the cheaper bid wins")
	require.Equal(t, other0+1_000_000, f.bal(f.provider), "the losing bid's deposit comes back")

	// A job nobody bid on expires and refunds.
	client0 := f.bal(f.client)
	res, err = f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_INFERENCE,
		Spec: j.Spec, Units: 10, MaxPrice: coin(100), Budget: coin(1_000), DeadlineBlocks: 50})
	require.NoError(t, err)
	f.endBlock(t, f.job(t, res.JobId).BiddingEndsHeight)
	require.Equal(t, types.JOB_STATE_EXPIRED, f.job(t, res.JobId).State)
	require.Equal(t, client0, f.bal(f.client))
}

func TestBidScoreRule(t *testing.T) {
	p := types.DefaultParams()
	half := sdkmath.LegacyNewDecWithPrec(5, 1)
	cheap := types.BidScore(p, sdkmath.NewInt(50), sdkmath.NewInt(100), half)
	dear := types.BidScore(p, sdkmath.NewInt(90), sdkmath.NewInt(100), half)
	require.True(t, cheap.GT(dear))
	trusted := types.BidScore(p, sdkmath.NewInt(90), sdkmath.NewInt(100), sdkmath.LegacyOneDec())
	require.True(t, trusted.GT(dear))
	a := types.RankedBid{Bid: types.Bid{Price: coin(5), CreatedHeight: 3, Provider: "b"}, Score: half}
	b := types.RankedBid{Bid: types.Bid{Price: coin(5), CreatedHeight: 2, Provider: "a"}, Score: half}
	require.True(t, types.Better(b, a), "ties go to the earlier bid")
}

func TestDeadlinePassesWithoutResult(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	client0 := f.bal(f.client)
	f.endBlock(t, f.job(t, id).DeadlineHeight)
	j := f.job(t, id)
	require.Equal(t, types.JOB_STATE_FAILED, j.State)
	require.Equal(t, client0+150_000+1_000_000, f.bal(f.client), "escrow back, and the provider's deposit")
	rep, _ := f.c.App.ReputationKeeper.Get(f.ctx, f.provider)
	require.EqualValues(t, 1, rep.JobsFailed)
}

// verifierFee is x/verify's default fee; the budget's headroom (150,000 -
// 100 x 1,000) pays it in full.
const verifierFee = 50_000

func TestDisputeLostSlashesProvider(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.NoError(t, err)
	require.Equal(t, coin(150_000-verifierFee), f.job(t, id).Escrow, "the result's verification is paid from the budget's headroom")
	checkTask := f.job(t, id).Lease.VerifyTaskId
	require.NotZero(t, checkTask)
	client0 := f.bal(f.client)
	res, err := f.msg.Dispute(f.ctx, &types.MsgDispute{Disputer: f.client.String(), JobId: id, Reason: "wrong weights"})
	require.NoError(t, err)
	require.Equal(t, client0-10_000_000, f.bal(f.client), "dispute bond taken")
	j := f.job(t, id)
	require.Equal(t, res.VerifyTaskId, j.Dispute.VerifyTaskId)
	require.Equal(t, coin(10_000_000-verifierFee), j.Dispute.Bond, "the challenge is paid from the bond")
	f.invariants(t)

	// The window passing does not settle a disputed job.
	f.endBlock(t, f.job(t, id).Lease.ChallengeEndsHeight)
	require.Equal(t, types.JOB_STATE_DISPUTED, f.job(t, id).State)

	// x/verify draws the challenge with the whole job as its sample; the
	// committee finds a divergent step.
	f.ctx = testutil.DrawTasks(t, f.c.App, f.ctx)
	task, err := f.c.App.VerifyKeeper.GetTask(f.ctx, res.VerifyTaskId)
	require.NoError(t, err)
	require.True(t, task.Challenge)
	require.Len(t, task.SampledSteps, 1000)
	// The routine check passing does not settle a disputed job either.
	require.NoError(t, testutil.AgreeOnTask(t, f.c.App, f.ctx, checkTask, verifytypes.OUTCOME_PASS))
	require.Equal(t, types.JOB_STATE_DISPUTED, f.job(t, id).State)
	require.NoError(t, testutil.AgreeOnTask(t, f.c.App, f.ctx, res.VerifyTaskId, verifytypes.OUTCOME_FAIL))

	j = f.job(t, id)
	require.Equal(t, types.JOB_STATE_FAILED, j.State)
	p, _ := f.c.App.ProviderKeeper.GetProvider(f.ctx, f.provider)
	require.Equal(t, coin(1_800_000_000), p.Collateral, "10% slashed by x/verify")
	// Client: what is left of the bond, the escrow less the check's fee,
	// the provider's deposit, half the slash.
	require.Equal(t, client0+150_000-verifierFee+1_000_000+100_000_000-verifierFee, f.bal(f.client))
	rep, _ := f.c.App.ReputationKeeper.Get(f.ctx, f.provider)
	require.EqualValues(t, 1, rep.DisputesLost)
	f.invariants(t)
	require.NoError(t, f.c.App.VerifyKeeper.FeeInvariant(f.ctx))
}

func TestDisputeWonPaysProviderAndBond(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.NoError(t, err)
	res, err := f.msg.Dispute(f.ctx, &types.MsgDispute{Disputer: f.client.String(), JobId: id, Reason: "?"})
	require.NoError(t, err)
	prov0 := f.bal(f.provider)
	f.ctx = testutil.DrawTasks(t, f.c.App, f.ctx)
	require.NoError(t, testutil.AgreeOnTask(t, f.c.App, f.ctx, res.VerifyTaskId, verifytypes.OUTCOME_PASS))
	require.Equal(t, types.JOB_STATE_COMPLETED, f.job(t, id).State)
	require.Equal(t, prov0+100_000-2_000+1_000_000+10_000_000-verifierFee, f.bal(f.provider), "pay less fee, deposit, and the disputer's bond less the challenge fee")
	f.invariants(t)
}

func TestDisputeUndecidedSettlesAndReturnsBond(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.NoError(t, err)
	client0 := f.bal(f.client)
	res, err := f.msg.Dispute(f.ctx, &types.MsgDispute{Disputer: f.client.String(), JobId: id})
	require.NoError(t, err)
	f.ctx = testutil.DrawTasks(t, f.c.App, f.ctx)
	task, err := f.c.App.VerifyKeeper.GetTask(f.ctx, res.VerifyTaskId)
	require.NoError(t, err)
	f.ctx = f.ctx.WithBlockHeight(task.DeadlineHeight)
	require.NoError(t, f.c.App.VerifyKeeper.EndBlocker(f.ctx))
	require.Equal(t, types.JOB_STATE_COMPLETED, f.job(t, id).State, "no verdict: nobody was at fault")
	require.Equal(t, client0+verifierFee, f.bal(f.client), "the whole bond back, and both expired tasks' fees (the check's came from the escrow)")
	f.invariants(t)
	require.NoError(t, f.c.App.VerifyKeeper.FeeInvariant(f.ctx))
}

// TestSettlementWaitsForTheVerdict: a challenge window that ends while the
// result's verification task is undecided does not settle the lease; the
// verdict does: a pass pays, a failure refunds, and a task that expires
// without a verdict lets the lease settle.
func TestSettlementWaitsForTheVerdict(t *testing.T) {
	for _, end := range []string{"pass", "fail", "expire"} {
		f := setup(t)
		id := f.createJob(t)
		f.bid(t, id, f.provider, 1_000)
		_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
		require.NoError(t, err)
		sub, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
		require.NoError(t, err)
		taskID := f.job(t, id).Lease.VerifyTaskId
		f.ctx = testutil.DrawTasks(t, f.c.App, f.ctx.WithBlockHeight(sub.ChallengeEndsHeight-2))
		task, err := f.c.App.VerifyKeeper.GetTask(f.ctx, taskID)
		require.NoError(t, err)
		require.Equal(t, verifytypes.TASK_STATE_OPEN, task.State)
		require.Greater(t, task.DeadlineHeight, sub.ChallengeEndsHeight, "the task outlives the window here")

		f.endBlock(t, sub.ChallengeEndsHeight)
		require.Equal(t, types.JOB_STATE_SUBMITTED, f.job(t, id).State, "%s: held for the verdict", end)
		f.endBlock(t, sub.ChallengeEndsHeight+1)
		require.Equal(t, types.JOB_STATE_SUBMITTED, f.job(t, id).State)

		f.ctx = f.ctx.WithBlockHeight(sub.ChallengeEndsHeight + 2)
		switch end {
		case "pass":
			require.NoError(t, testutil.AgreeOnTask(t, f.c.App, f.ctx, taskID, verifytypes.OUTCOME_PASS))
			j := f.job(t, id)
			require.Equal(t, types.JOB_STATE_COMPLETED, j.State)
			require.Equal(t, coin(100_000-2_000), j.Paid)
		case "fail":
			require.NoError(t, testutil.AgreeOnTask(t, f.c.App, f.ctx, taskID, verifytypes.OUTCOME_FAIL))
			j := f.job(t, id)
			require.Equal(t, types.JOB_STATE_FAILED, j.State)
			require.True(t, j.Paid.IsZero())
		case "expire":
			f.ctx = f.ctx.WithBlockHeight(task.DeadlineHeight)
			require.NoError(t, f.c.App.VerifyKeeper.EndBlocker(f.ctx))
			task, err = f.c.App.VerifyKeeper.GetTask(f.ctx, taskID)
			require.NoError(t, err)
			require.Equal(t, verifytypes.TASK_STATE_EXPIRED, task.State)
			require.Equal(t, types.JOB_STATE_COMPLETED, f.job(t, id).State, "no verdict: it settles")
		}
		f.invariants(t)
	}
}

func TestResultFailingVerificationIsRefunded(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	client0 := f.bal(f.client)
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.NoError(t, err)
	task := f.job(t, id).Lease.VerifyTaskId
	f.ctx = testutil.DrawTasks(t, f.c.App, f.ctx)
	require.NoError(t, testutil.AgreeOnTask(t, f.c.App, f.ctx, task, verifytypes.OUTCOME_FAIL))
	j := f.job(t, id)
	require.Equal(t, types.JOB_STATE_FAILED, j.State)
	require.True(t, j.Escrow.IsZero())
	require.Equal(t, client0+150_000-verifierFee+1_000_000+100_000_000, f.bal(f.client), "escrow less the check's fee, the deposit, half the slash")
	f.invariants(t)
	// The window passing changes nothing more.
	f.endBlock(t, j.Lease.ChallengeEndsHeight)
	require.Equal(t, types.JOB_STATE_FAILED, f.job(t, id).State)
}

func TestTrainingResultNeedsCheckpoints(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	for name, mutate := range map[string]func(*types.Result){
		"no checkpoint root":    func(r *types.Result) { r.CheckpointRoot = nil },
		"short checkpoint root": func(r *types.Result) { r.CheckpointRoot = r.CheckpointRoot[:5] },
		"no steps":              func(r *types.Result) { r.TotalSteps = 0 },
		"too many steps":        func(r *types.Result) { r.TotalSteps = types.MaxTotalSteps + 1 },
	} {
		r := result()
		mutate(&r)
		_, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: r})
		require.ErrorIs(t, err, types.ErrInvalidResult, name)
	}
	require.Equal(t, types.JOB_STATE_LEASED, f.job(t, id).State)
}

func TestCancel(t *testing.T) {
	f := setup(t)
	client0 := f.bal(f.client)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	prov0 := f.bal(f.provider)
	res, err := f.msg.CancelJob(f.ctx, &types.MsgCancelJob{Client: f.client.String(), JobId: id})
	require.NoError(t, err)
	require.Equal(t, coin(150_000), res.Refunded)
	require.Equal(t, client0, f.bal(f.client))
	require.Equal(t, prov0+1_000_000, f.bal(f.provider), "open bids' deposits return")
	require.Equal(t, types.JOB_STATE_CANCELLED, f.job(t, id).State)

	// A leased job can be cancelled before a result; not after.
	id = f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err = f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	_, err = f.msg.CancelJob(f.ctx, &types.MsgCancelJob{Client: f.client.String(), JobId: id})
	require.NoError(t, err)
	id = f.createJob(t)
	f.bid(t, id, f.provider, 1_000)
	_, err = f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: id, Provider: f.provider.String()})
	require.NoError(t, err)
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.NoError(t, err)
	_, err = f.msg.CancelJob(f.ctx, &types.MsgCancelJob{Client: f.client.String(), JobId: id})
	require.ErrorIs(t, err, types.ErrInvalidState)
	f.invariants(t)
}

// Every bad message is refused with a typed error and leaves balances and
// the job unchanged.
func TestBadInput(t *testing.T) {
	f := setup(t)
	id := f.createJob(t)
	f.bid(t, id, f.provider, 900)
	leased := f.createJob(t)
	f.bid(t, leased, f.provider, 900)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: leased, Provider: f.provider.String()})
	require.NoError(t, err)

	create := func(mut func(*types.MsgCreateJob)) func() error {
		return func() error {
			m := &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_TRAINING, Spec: spec(), Units: 100,
				MaxPrice: coin(1_000), Budget: coin(150_000), DeadlineBlocks: 100}
			mut(m)
			_, err := f.msg.CreateJob(f.ctx, m)
			return err
		}
	}
	bid := func(provider sdk.AccAddress, job uint64, price, deposit sdk.Coin) func() error {
		return func() error {
			_, err := f.msg.PlaceBid(f.ctx, &types.MsgPlaceBid{Provider: provider.String(), JobId: job, Price: price, Deposit: deposit})
			return err
		}
	}
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"zero budget", create(func(m *types.MsgCreateJob) { m.Budget = coin(0) }), types.ErrInvalidAmount},
		{"negative price", create(func(m *types.MsgCreateJob) { m.MaxPrice = sdk.Coin{Denom: app.BaseDenom, Amount: sdkmath.NewInt(-1)} }), types.ErrInvalidAmount},
		{"wrong denom", create(func(m *types.MsgCreateJob) { m.Budget = sdk.NewInt64Coin("stake", 150_000) }), types.ErrInvalidAmount},
		{"budget below max price times units", create(func(m *types.MsgCreateJob) { m.Budget = coin(99_999) }), types.ErrInsufficientFee},
		{"overflowing cost", create(func(m *types.MsgCreateJob) {
			m.MaxPrice = sdk.NewCoin(app.BaseDenom, sdkmath.NewIntFromBigInt(new(big.Int).Exp(big.NewInt(2), big.NewInt(250), nil)))
			m.Units = 1 << 39
		}), types.ErrOverflow},
		{"no units", create(func(m *types.MsgCreateJob) { m.Units = 0 }), types.ErrInvalidJob},
		{"no kind", create(func(m *types.MsgCreateJob) { m.Kind = types.JOB_KIND_UNSPECIFIED }), types.ErrInvalidJob},
		{"no model", create(func(m *types.MsgCreateJob) { m.Spec.ModelId = "" }), types.ErrInvalidJob},
		{"bad architecture hash", create(func(m *types.MsgCreateJob) { m.Spec.ArchitectureHash = []byte{1, 2} }), types.ErrInvalidJob},
		{"negative learning rate", create(func(m *types.MsgCreateJob) { m.Spec.Hyperparameters.LearningRate = "-0.1" }), types.ErrInvalidJob},
		{"learning rate not a number", create(func(m *types.MsgCreateJob) { m.Spec.Hyperparameters.LearningRate = "fast" }), types.ErrInvalidJob},
		{"deadline inside bidding window", create(func(m *types.MsgCreateJob) { m.DeadlineBlocks = 5 }), types.ErrInvalidJob},
		{"verification level over 100", create(func(m *types.MsgCreateJob) { m.VerificationLevel = 101 }), types.ErrInvalidJob},
		{"more than the balance", create(func(m *types.MsgCreateJob) { m.Budget = coin(1 << 60) }), nil},
		{"price over max", bid(f.other, id, coin(1_001), coin(1_000_000)), types.ErrPriceTooHigh},
		{"deposit too small", bid(f.other, id, coin(10), coin(1)), types.ErrInvalidAmount},
		{"bid twice", bid(f.provider, id, coin(10), coin(1_000_000)), types.ErrBidExists},
		{"bid on leased job", bid(f.other, leased, coin(10), coin(1_000_000)), types.ErrInvalidState},
		{"bid on unknown job", bid(f.other, 999, coin(10), coin(1_000_000)), types.ErrJobNotFound},
		{"hardware too small", bid(f.other, id, coin(10), coin(1_000_000)), nil},
		{"unregistered provider", bid(testutil.Addr("stranger"), id, coin(10), coin(1_000_000)), providertypes.ErrProviderNotFound},
		{"client bids on own job", bid(f.client, id, coin(10), coin(1_000_000)), types.ErrUnauthorized},
		{"accept by stranger", func() error {
			_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.provider.String(), JobId: id, Provider: f.provider.String()})
			return err
		}, types.ErrUnauthorized},
		{"result from someone else", func() error {
			_, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.other.String(), JobId: leased, Result: result()})
			return err
		}, types.ErrUnauthorized},
		{"result with a short hash", func() error {
			r := result()
			r.Hash = r.Hash[:5]
			_, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: leased, Result: r})
			return err
		}, types.ErrInvalidResult},
		{"result without a size", func() error {
			r := result()
			r.Size_ = 0
			_, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: leased, Result: r})
			return err
		}, types.ErrInvalidResult},
		{"metric that is not a number", func() error {
			r := result()
			r.Metrics[0].Value = "high"
			_, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: leased, Result: r})
			return err
		}, types.ErrInvalidResult},
		{"result at a bad location", func() error {
			r := result()
			r.Location = "file:///etc/passwd"
			_, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: leased, Result: r})
			return err
		}, types.ErrInvalidResult},
		{"dispute before a result", func() error {
			_, err := f.msg.Dispute(f.ctx, &types.MsgDispute{Disputer: f.client.String(), JobId: leased})
			return err
		}, types.ErrInvalidState},
		{"accept result before submission", func() error {
			_, err := f.msg.AcceptResult(f.ctx, &types.MsgAcceptResult{Client: f.client.String(), JobId: leased})
			return err
		}, types.ErrInvalidState},
		{"cancel by stranger", func() error {
			_, err := f.msg.CancelJob(f.ctx, &types.MsgCancelJob{Client: f.provider.String(), JobId: id})
			return err
		}, types.ErrUnauthorized},
		{"close a bid that is not there", func() error {
			_, err := f.msg.CloseBid(f.ctx, &types.MsgCloseBid{Provider: f.other.String(), JobId: id})
			return err
		}, types.ErrBidNotFound},
		{"params by a stranger", func() error {
			_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.client.String(), Params: types.DefaultParams()})
			return err
		}, types.ErrUnauthorized},
	}
	jobsBefore := []types.Job{f.job(t, id), f.job(t, leased)}
	balances := func() []int64 { return []int64{f.bal(f.client), f.bal(f.provider), f.bal(f.other)} }
	before := balances()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cacheCtx, _ := f.ctx.CacheContext() // as in a transaction: a failed message is discarded
			saved := f.ctx
			f.ctx = cacheCtx
			f.msg = keeper.NewMsgServer(f.k)
			err := tc.run()
			f.ctx = saved
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
	require.Equal(t, before, balances())
	require.Equal(t, jobsBefore, []types.Job{f.job(t, id), f.job(t, leased)})
	f.invariants(t)

	// Double submit.
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: leased, Result: result()})
	require.NoError(t, err)
	_, err = f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: leased, Result: result()})
	require.ErrorIs(t, err, types.ErrInvalidState)
	// Dispute after the window.
	f.ctx = f.ctx.WithBlockHeight(f.job(t, leased).Lease.ChallengeEndsHeight + 1)
	_, err = f.msg.Dispute(f.ctx, &types.MsgDispute{Disputer: f.client.String(), JobId: leased})
	require.ErrorIs(t, err, types.ErrWindowClosed)
}

func TestGenesisRoundTrip(t *testing.T) {
	f := setup(t)
	open := f.createJob(t)
	f.bid(t, open, f.provider, 900)
	leased := f.createJob(t)
	f.bid(t, leased, f.provider, 900)
	_, err := f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: leased, Provider: f.provider.String()})
	require.NoError(t, err)
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate(f.k.AddressCodec()))
	require.Len(t, gs.Jobs, 2)
	require.Len(t, gs.Bids, 2)

	g := testutil.NewChain(t)
	ctx := g.Context(t)
	require.NoError(t, g.App.MarketKeeper.InitGenesis(ctx, *gs))
	again, err := g.App.MarketKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	// Indexes and queues were rebuilt.
	has, err := g.App.MarketKeeper.BiddingQueue.Has(ctx, collections.Join(f.job(t, open).BiddingEndsHeight, open))
	require.NoError(t, err)
	require.True(t, has)
	has, err = g.App.MarketKeeper.DeadlineQueue.Has(ctx, collections.Join(f.job(t, leased).DeadlineHeight, leased))
	require.NoError(t, err)
	require.True(t, has)
}
