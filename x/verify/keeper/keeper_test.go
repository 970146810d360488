package keeper_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/testutil"
	providerkeeper "github.com/cohortchain/cohort/x/provider/keeper"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	"github.com/cohortchain/cohort/x/verify/keeper"
	"github.com/cohortchain/cohort/x/verify/types"
)

func coin(n int64) sdk.Coin { return sdk.NewInt64Coin(app.BaseDenom, n) }

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

const (
	fee        = 40_000
	collateral = 2_000_000_000
)

type fixture struct {
	c        *testutil.Chain
	ctx      sdk.Context
	k        keeper.Keeper
	msg      types.MsgServer
	q        types.QueryServer
	client   sdk.AccAddress
	provider sdk.AccAddress
}

// setup starts a chain of four validators of equal power, a funded client
// and a registered provider with collateral.
func setup(t testing.TB) *fixture {
	vals := make([]*cmttypes.Validator, 4)
	for i := range vals {
		vals[i] = cmttypes.NewValidator(ed25519.GenPrivKeyFromSecret([]byte(fmt.Sprintf("validator %d", i))).PubKey(), 1)
	}
	c := testutil.NewChainWith(t, testutil.ChainOptions{ValSet: cmttypes.NewValidatorSet(vals)})
	ctx := c.Context(t)
	k := c.App.VerifyKeeper
	f := &fixture{c: c, ctx: ctx, k: k, msg: keeper.NewMsgServer(k), q: keeper.NewQueryServer(k),
		client: testutil.Addr("client"), provider: testutil.Addr("provider")}
	c.Fund(t, ctx, 100_000_000_000, f.client)
	c.Fund(t, ctx, 10_000_000_000, f.provider)
	_, err := providerkeeper.NewMsgServer(c.App.ProviderKeeper).RegisterProvider(ctx, &providertypes.MsgRegisterProvider{
		Operator: f.provider.String(),
		Info: providertypes.ProviderInfo{Moniker: "p", Endpoints: []string{"https://p.example"},
			Hardware: providertypes.Hardware{GpuModel: "NVIDIA H100", GpuCount: 1, GpuMemoryGib: 80, CpuCores: 16, RamGib: 64}},
		Collateral: coin(collateral),
	})
	require.NoError(t, err)
	return f
}

func (f *fixture) bal(addr sdk.AccAddress) int64 {
	return f.c.App.BankKeeper.GetBalance(f.ctx, addr, app.BaseDenom).Amount.Int64()
}

func (f *fixture) supply() sdkmath.Int {
	return f.c.App.BankKeeper.GetSupply(f.ctx, app.BaseDenom).Amount
}

func (f *fixture) params(t testing.TB, mutate func(*types.Params)) {
	p, err := f.k.Params.Get(f.ctx)
	require.NoError(t, err)
	mutate(&p)
	require.NoError(t, p.Validate())
	require.NoError(t, f.k.Params.Set(f.ctx, p))
}

// work is a 1,000-step training lease of job id, its fee paid by the client.
func (f *fixture) work(job uint64) types.Work {
	return types.Work{Kind: types.WORK_KIND_TRAINING_LEASE, JobId: job, Provider: f.provider.String(), Client: f.client.String(),
		ResultHash: hash("weights"), CheckpointRoot: hash("checkpoints"), TotalSteps: 1000, Location: "https://p.example/blobs/1",
		Fee: coin(fee), FeePayer: f.client.String()}
}

// commit reports w as the market would: its fee moves into the module first.
func (f *fixture) commit(t testing.TB, w types.Work) uint64 {
	t.Helper()
	if w.Fee.IsPositive() {
		payer, err := sdk.AccAddressFromBech32(w.FeePayer)
		require.NoError(t, err)
		require.NoError(t, f.c.App.BankKeeper.SendCoinsFromAccountToModule(f.ctx, payer, types.ModuleName, sdk.NewCoins(w.Fee)))
	}
	id, err := f.k.OnWorkCommitted(f.ctx, w)
	require.NoError(t, err)
	return id
}

func (f *fixture) task(t testing.TB, id uint64) types.Task {
	t.Helper()
	task, err := f.k.GetTask(f.ctx, id)
	require.NoError(t, err)
	return task
}

func (f *fixture) draw(t testing.TB) { f.ctx = testutil.DrawTasks(t, f.c.App, f.ctx) }

// agreement is what the PreBlocker hands over when voters attest v and
// dissenters attest something else; the other members are absent.
func (f *fixture) agreement(t testing.TB, v types.Verdict, voters, dissenters []int) voteext.Agreement {
	t.Helper()
	members, err := f.k.Committee(f.ctx, types.TaskSubject(v.TaskId))
	require.NoError(t, err)
	a := voteext.Agreement{Kind: types.AttestationKind, Subject: types.TaskSubject(v.TaskId), ResultHash: types.VerdictHash(v),
		TotalPower: voteext.CommitteePower(members)}
	attested := map[int]bool{}
	for _, i := range voters {
		a.Voters = append(a.Voters, members[i].Address)
		a.Power += members[i].Power
		attested[i] = true
	}
	for _, i := range dissenters {
		a.Dissenters = append(a.Dissenters, members[i].Address)
		attested[i] = true
	}
	for i, m := range members {
		if !attested[i] {
			a.Absent = append(a.Absent, m.Address)
		}
	}
	return a
}

func (f *fixture) invariants(t testing.TB) {
	t.Helper()
	require.NoError(t, f.k.FeeInvariant(f.ctx))
	require.NoError(t, f.c.App.MarketKeeper.EscrowInvariant(f.ctx))
	require.NoError(t, f.c.App.ProviderKeeper.CollateralInvariant(f.ctx, authtypes.NewModuleAddress(providertypes.ModuleName)))
}

func operators(t testing.TB, task types.Task) []sdk.AccAddress {
	var out []sdk.AccAddress
	for _, m := range task.Committee {
		a, err := sdk.AccAddressFromBech32(m.Operator)
		require.NoError(t, err)
		out = append(out, a)
	}
	return out
}

func TestTaskIsDrawnFromALaterBlock(t *testing.T) {
	f := setup(t)
	id := f.commit(t, f.work(7))
	task := f.task(t, id)
	require.Equal(t, types.TASK_STATE_PENDING, task.State)
	require.Empty(t, task.SampledSteps, "nothing is drawn in the block of the commitment")
	require.Empty(t, task.Committee)

	// The BeginBlocker of the same height draws nothing.
	require.NoError(t, f.k.BeginBlocker(f.ctx))
	require.Equal(t, types.TASK_STATE_PENDING, f.task(t, id).State)

	f.draw(t)
	task = f.task(t, id)
	require.Equal(t, types.TASK_STATE_OPEN, task.State)
	require.Equal(t, types.TaskSeed(f.ctx.HeaderHash(), id), task.Seed, "the seed is the next block's hash")
	score, err := f.c.App.ReputationKeeper.Score(f.ctx, f.provider)
	require.NoError(t, err)
	p := types.DefaultParams()
	k := types.SampleSize(p, p.Levels[0], score, 1000, false)
	require.Equal(t, uint64(66), k, "a new provider (score 0.5) gets 1.5 times the standard 44 steps")
	require.Equal(t, types.SampleSteps(task.Seed, 1000, k), task.SampledSteps)
	require.Equal(t, "standard", task.Level)
	require.Len(t, task.Committee, 4, "committee_size 5 of 4 validators: all of them")
	require.Equal(t, f.ctx.BlockHeight()+p.TaskDeadlineBlocks, task.DeadlineHeight)

	// Each member's sidecar finds the task in CommitteeTasks.
	for _, m := range task.Committee {
		res, err := f.q.CommitteeTasks(f.ctx, &types.QueryCommitteeTasksRequest{ConsAddress: m.ConsAddress})
		require.NoError(t, err)
		require.Len(t, res.Tasks, 1)
		require.Equal(t, id, res.Tasks[0].Id)
	}
	stats, err := f.q.Stats(f.ctx, &types.QueryStatsRequest{})
	require.NoError(t, err)
	require.EqualValues(t, 1, stats.Stats.TasksOpened)
	require.Equal(t, "0.066000000000000000", stats.CostFraction)
	f.invariants(t)
}

func TestCommitteeIsSampledByStake(t *testing.T) {
	f := setup(t)
	f.params(t, func(p *types.Params) { p.CommitteeSize = 2 })
	seen := map[string]int{}
	for i := 0; i < 20; i++ {
		f.commit(t, f.work(uint64(i+1)))
	}
	f.draw(t)
	for i := 0; i < 20; i++ {
		task := f.task(t, uint64(i+1))
		require.Len(t, task.Committee, 2)
		for _, m := range task.Committee {
			seen[m.ConsAddress]++
		}
	}
	require.Len(t, seen, 4, "every validator sits on some committee")
}

func TestPassPaysTheCommitteeAndRaisesReputation(t *testing.T) {
	f := setup(t)
	id := f.commit(t, f.work(7))
	f.draw(t)
	task := f.task(t, id)
	ops := operators(t, task)
	collector := authtypes.NewModuleAddress(authtypes.FeeCollectorName)
	watched := append([]sdk.AccAddress{f.client, f.k.ModuleAddress(), collector}, ops...)
	total := func() (n int64) {
		for _, a := range watched {
			n += f.bal(a)
		}
		return n
	}
	before, op0, col0 := total(), f.bal(ops[0]), f.bal(collector)
	score0, _ := f.c.App.ReputationKeeper.Score(f.ctx, f.provider)

	require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, types.Verdict{TaskId: id, Outcome: types.OUTCOME_PASS}, []int{0, 1, 2, 3}, nil)))
	task = f.task(t, id)
	require.Equal(t, types.TASK_STATE_PASSED, task.State)
	require.Equal(t, types.OUTCOME_PASS, task.Verdict.Outcome)
	require.Equal(t, op0+fee/4, f.bal(ops[0]), "an equal share to each member's operator")
	require.Equal(t, col0, f.bal(collector), "no dust, no forfeits")
	require.Equal(t, before, total(), "tokens only moved")
	require.Zero(t, f.bal(f.k.ModuleAddress()))
	score1, _ := f.c.App.ReputationKeeper.Score(f.ctx, f.provider)
	require.True(t, score1.GT(score0))

	hist, err := f.q.ProviderHistory(f.ctx, &types.QueryProviderHistoryRequest{Provider: f.provider.String()})
	require.NoError(t, err)
	require.EqualValues(t, 1, hist.Record.Passed)
	rec, err := f.q.ValidatorRecord(f.ctx, &types.QueryValidatorRecordRequest{ConsAddress: task.Committee[0].ConsAddress})
	require.NoError(t, err)
	require.EqualValues(t, 1, rec.Record.Agreed)
	require.Equal(t, coin(fee/4), rec.Record.Earned)
	res, err := f.q.CommitteeTasks(f.ctx, &types.QueryCommitteeTasksRequest{ConsAddress: task.Committee[0].ConsAddress})
	require.NoError(t, err)
	require.Empty(t, res.Tasks, "a decided task leaves the members' lists")

	// A second agreement on a decided task changes nothing.
	require.ErrorIs(t, f.k.OnAgreement(f.ctx, voteext.Agreement{Subject: types.TaskSubject(id),
		ResultHash: types.VerdictHash(types.Verdict{TaskId: id, Outcome: types.OUTCOME_PASS})}), types.ErrInvalidState)
	_, err = f.k.Committee(f.ctx, types.TaskSubject(id))
	require.ErrorIs(t, err, types.ErrInvalidState, "decided tasks have no committee: late attestations decide nothing")
	f.invariants(t)
}

func TestFailSlashesRefundsAndHoldsDissentersToAccount(t *testing.T) {
	f := setup(t)
	id := f.commit(t, f.work(7))
	f.draw(t)
	task := f.task(t, id)
	ops := operators(t, task)
	collector := authtypes.NewModuleAddress(authtypes.FeeCollectorName)
	client0, col0, dissenter0, absent0, supply0 := f.bal(f.client), f.bal(collector), f.bal(ops[2]), f.bal(ops[3]), f.supply()

	v := types.Verdict{TaskId: id, Outcome: types.OUTCOME_FAIL, FirstDivergentStep: task.SampledSteps[3]}
	// Members 0 and 1 and 3 agree (3/4 of the power); 2 dissents.
	require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, v, []int{0, 1, 3}, []int{2})))
	task = f.task(t, id)
	require.Equal(t, types.TASK_STATE_FAILED, task.State)
	require.Equal(t, task.SampledSteps[3], task.Verdict.FirstDivergentStep)
	require.Equal(t, coin(collateral/10), task.Slashed, "slash_fraction of the collateral")
	p, err := f.c.App.ProviderKeeper.GetProvider(f.ctx, f.provider)
	require.NoError(t, err)
	require.Equal(t, coin(collateral-collateral/10), p.Collateral)
	require.Equal(t, client0+collateral/20, f.bal(f.client), "half the slash to the client, half burned")
	require.Equal(t, supply0.SubRaw(collateral/20), f.supply(), "only the burned half left the supply")
	require.Equal(t, dissenter0, f.bal(ops[2]), "the dissenter forfeits its whole share")
	require.Equal(t, absent0+fee/4, f.bal(ops[3]))
	require.Equal(t, col0+fee/4, f.bal(collector), "the forfeited share goes to the fee collector")
	rec, err := f.q.ValidatorRecord(f.ctx, &types.QueryValidatorRecordRequest{ConsAddress: task.Committee[2].ConsAddress})
	require.NoError(t, err)
	require.EqualValues(t, 1, rec.Record.Dissented)
	require.EqualValues(t, 1, rec.Record.Strikes)
	require.Equal(t, coin(fee/4), rec.Record.Forfeited)
	r, _ := f.c.App.ReputationKeeper.Get(f.ctx, f.provider)
	require.True(t, r.Score.LT(sdkmath.LegacyNewDecWithPrec(5, 1)))
	hist, _ := f.q.ProviderHistory(f.ctx, &types.QueryProviderHistoryRequest{Provider: f.provider.String()})
	require.EqualValues(t, 1, hist.Record.Failed)
	require.Equal(t, coin(collateral/10), hist.Record.Slashed)
	f.invariants(t)
}

func TestUnavailableCountsAgainstTheProvider(t *testing.T) {
	f := setup(t)
	id := f.commit(t, f.work(7))
	f.draw(t)
	require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, types.Verdict{TaskId: id, Outcome: types.OUTCOME_UNAVAILABLE}, []int{0, 1, 2, 3}, nil)))
	require.Equal(t, types.TASK_STATE_UNAVAILABLE, f.task(t, id).State)
	p, _ := f.c.App.ProviderKeeper.GetProvider(f.ctx, f.provider)
	require.Equal(t, coin(collateral-collateral/10), p.Collateral)
	hist, _ := f.q.ProviderHistory(f.ctx, &types.QueryProviderHistoryRequest{Provider: f.provider.String()})
	require.EqualValues(t, 1, hist.Record.Unavailable)
	f.invariants(t)
}

func TestRepeatedMissesJailTheValidator(t *testing.T) {
	f := setup(t)
	f.params(t, func(p *types.Params) {
		p.MissThreshold = 2
		p.ValidatorPenaltyShare = sdkmath.LegacyNewDecWithPrec(5, 1)
	})
	ids := []uint64{f.commit(t, f.work(1)), f.commit(t, f.work(2)), f.commit(t, f.work(3))}
	f.draw(t)
	pass := func(id uint64, voters []int) {
		require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, types.Verdict{TaskId: id, Outcome: types.OUTCOME_PASS}, voters, nil)))
	}
	absentee := f.task(t, ids[0]).Committee[3]
	cons, err := sdk.ConsAddressFromBech32(absentee.ConsAddress)
	require.NoError(t, err)
	op, _ := sdk.AccAddressFromBech32(absentee.Operator)
	op0 := f.bal(op)

	pass(ids[0], []int{0, 1, 2}) // a miss: 1 strike
	require.Equal(t, op0+fee/8, f.bal(op), "half its share forfeited (validator_penalty_share 0.5)")
	pass(ids[1], []int{0, 1, 2, 3}) // an agreement takes it away
	rec, _ := f.q.ValidatorRecord(f.ctx, &types.QueryValidatorRecordRequest{ConsAddress: absentee.ConsAddress})
	require.EqualValues(t, 0, rec.Record.Strikes)
	pass(ids[2], []int{0, 1, 2})
	v, err := f.c.App.StakingKeeper.GetValidatorByConsAddr(f.ctx, cons)
	require.NoError(t, err)
	require.False(t, v.IsJailed(), "one strike is below the threshold")

	ids = []uint64{f.commit(t, f.work(4))}
	f.draw(t)
	pass(ids[0], []int{0, 1, 2})
	v, err = f.c.App.StakingKeeper.GetValidatorByConsAddr(f.ctx, cons)
	require.NoError(t, err)
	require.True(t, v.IsJailed(), "two net misses jail it through the slashing keeper")
	info, err := f.c.App.SlashingKeeper.GetValidatorSigningInfo(f.ctx, cons)
	require.NoError(t, err)
	require.Equal(t, f.ctx.BlockTime().Add(600e9), info.JailedUntil)
	rec, _ = f.q.ValidatorRecord(f.ctx, &types.QueryValidatorRecordRequest{ConsAddress: absentee.ConsAddress})
	require.EqualValues(t, 1, rec.Record.Jailed)
	require.EqualValues(t, 0, rec.Record.Strikes, "strikes reset when jailed")
	require.EqualValues(t, 3, rec.Record.Absent)
	f.invariants(t)
}

func TestExpiryRefundsTheFeeAndPunishesNobody(t *testing.T) {
	f := setup(t)
	client0 := f.bal(f.client)
	id := f.commit(t, f.work(7))
	f.draw(t)
	task := f.task(t, id)
	f.ctx = f.ctx.WithBlockHeight(task.DeadlineHeight - 1)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, types.TASK_STATE_OPEN, f.task(t, id).State)
	f.ctx = f.ctx.WithBlockHeight(task.DeadlineHeight)
	require.NoError(t, f.k.EndBlocker(f.ctx))
	require.Equal(t, types.TASK_STATE_EXPIRED, f.task(t, id).State)
	require.Equal(t, client0, f.bal(f.client), "the fee is back")
	p, _ := f.c.App.ProviderKeeper.GetProvider(f.ctx, f.provider)
	require.Equal(t, coin(collateral), p.Collateral)
	rec, _ := f.q.ValidatorRecord(f.ctx, &types.QueryValidatorRecordRequest{ConsAddress: task.Committee[0].ConsAddress})
	require.Zero(t, rec.Record.Strikes)
	hist, _ := f.q.ProviderHistory(f.ctx, &types.QueryProviderHistoryRequest{Provider: f.provider.String()})
	require.EqualValues(t, 1, hist.Record.Expired)
	_, err := f.k.Committee(f.ctx, types.TaskSubject(id))
	require.ErrorIs(t, err, types.ErrInvalidState)
	f.invariants(t)
}

func TestBadAgreementsChangeNothing(t *testing.T) {
	f := setup(t)
	pending := f.commit(t, f.work(8))
	id := f.commit(t, f.work(7))
	f.draw(t)
	later := f.commit(t, f.work(9)) // pending: committed after the draw
	task := f.task(t, id)
	notSampled := uint64(0)
	for contains(task.SampledSteps, notSampled) {
		notSampled++
	}
	_ = pending
	cases := map[string]struct {
		a   voteext.Agreement
		err error
	}{
		"short subject":      {voteext.Agreement{Subject: []byte{1}}, types.ErrInvalidSubject},
		"unknown task":       {voteext.Agreement{Subject: types.TaskSubject(99)}, types.ErrTaskNotFound},
		"pending task":       {voteext.Agreement{Subject: types.TaskSubject(later), ResultHash: types.VerdictHash(types.Verdict{TaskId: later, Outcome: types.OUTCOME_PASS})}, types.ErrInvalidState},
		"hash of no verdict": {voteext.Agreement{Subject: types.TaskSubject(id), ResultHash: hash("x")}, types.ErrUnknownVerdict},
		"step not sampled": {voteext.Agreement{Subject: types.TaskSubject(id),
			ResultHash: types.VerdictHash(types.Verdict{TaskId: id, Outcome: types.OUTCOME_FAIL, FirstDivergentStep: notSampled})}, types.ErrUnknownVerdict},
		"another task's verdict": {voteext.Agreement{Subject: types.TaskSubject(id),
			ResultHash: types.VerdictHash(types.Verdict{TaskId: id + 1, Outcome: types.OUTCOME_PASS})}, types.ErrUnknownVerdict},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			before := f.task(t, id)
			require.ErrorIs(t, f.k.OnAgreement(f.ctx, c.a), c.err)
			require.Equal(t, before, f.task(t, id))
		})
	}
	_, err := f.k.Committee(f.ctx, []byte{1, 2, 3})
	require.ErrorIs(t, err, types.ErrInvalidSubject)
	_, err = f.k.Committee(f.ctx, types.TaskSubject(later))
	require.ErrorIs(t, err, types.ErrInvalidState)
	f.invariants(t)
}

func contains(s []uint64, x uint64) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}

func TestBadWorkIsRefused(t *testing.T) {
	f := setup(t)
	next0, err := f.k.NextTaskID.Peek(f.ctx)
	require.NoError(t, err)
	cases := map[string]func(*types.Work){
		"no kind":               func(w *types.Work) { w.Kind = types.WORK_KIND_UNSPECIFIED },
		"unknown kind":          func(w *types.Work) { w.Kind = 9 },
		"training without job":  func(w *types.Work) { w.JobId = 0 },
		"federated without run": func(w *types.Work) { w.Kind = types.WORK_KIND_FEDERATED_UPDATE },
		"bad provider":          func(w *types.Work) { w.Provider = "nobody" },
		"bad client":            func(w *types.Work) { w.Client = "nobody" },
		"short result hash":     func(w *types.Work) { w.ResultHash = []byte{1} },
		"no checkpoint root":    func(w *types.Work) { w.CheckpointRoot = nil },
		"no steps":              func(w *types.Work) { w.TotalSteps = 0 },
		"too many steps":        func(w *types.Work) { w.TotalSteps = types.MaxTotalSteps + 1 },
		"level above 100":       func(w *types.Work) { w.VerificationLevel = 101 },
		"long location":         func(w *types.Work) { w.Location = string(make([]byte, types.MaxLocationLen+1)) },
		"invalid fee":           func(w *types.Work) { w.Fee = sdk.Coin{Denom: "", Amount: sdkmath.NewInt(1)} },
		"fee without payer":     func(w *types.Work) { w.FeePayer = "" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			w := f.work(1)
			mutate(&w)
			_, err := f.k.OnWorkCommitted(f.ctx, w)
			require.ErrorIs(t, err, types.ErrInvalidWork)
			next, _ := f.k.NextTaskID.Peek(f.ctx)
			require.Equal(t, next0, next, "no task recorded")
		})
	}
	_, err = f.k.OpenDispute(f.ctx, "nobody", f.work(1))
	require.ErrorIs(t, err, types.ErrInvalidWork)
}

func TestOpenChallenge(t *testing.T) {
	f := setup(t)
	id := f.commit(t, f.work(7))
	challenger := testutil.Addr("challenger")
	poor := testutil.Addr("poor")
	f.c.Fund(t, f.ctx, 10_000_000, challenger)
	challengeFee := types.DefaultParams().ChallengeFee.Amount.Int64()

	// Refused: nothing changes.
	for name, c := range map[string]struct {
		msg *types.MsgOpenChallenge
		err error
	}{
		"undecided task": {&types.MsgOpenChallenge{Challenger: challenger.String(), TaskId: id}, types.ErrInvalidState},
		"unknown task":   {&types.MsgOpenChallenge{Challenger: challenger.String(), TaskId: 99}, types.ErrTaskNotFound},
		"bad address":    {&types.MsgOpenChallenge{Challenger: "x", TaskId: id}, types.ErrInvalidWork},
	} {
		_, err := f.msg.OpenChallenge(f.ctx, c.msg)
		require.ErrorIs(t, err, c.err, name)
	}
	require.Equal(t, int64(10_000_000), f.bal(challenger))

	f.draw(t)
	require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, types.Verdict{TaskId: id, Outcome: types.OUTCOME_PASS}, []int{0, 1, 2, 3}, nil)))
	_, err := f.msg.OpenChallenge(f.ctx, &types.MsgOpenChallenge{Challenger: poor.String(), TaskId: id})
	require.Error(t, err, "the challenge fee must be paid")
	res, err := f.msg.OpenChallenge(f.ctx, &types.MsgOpenChallenge{Challenger: challenger.String(), TaskId: id})
	require.NoError(t, err)
	require.Equal(t, int64(10_000_000)-challengeFee, f.bal(challenger))
	f.invariants(t)

	f.draw(t)
	ch := f.task(t, res.TaskId)
	require.True(t, ch.Challenge)
	require.Equal(t, challenger.String(), ch.Challenger)
	require.Len(t, ch.SampledSteps, 1000, "the dispute sample covers the whole 1,000-step job")
	require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, types.Verdict{TaskId: res.TaskId, Outcome: types.OUTCOME_FAIL, FirstDivergentStep: 0}, []int{0, 1, 2, 3}, nil)))
	require.Equal(t, types.TASK_STATE_FAILED, f.task(t, res.TaskId).State)
	stats, _ := f.q.Stats(f.ctx, &types.QueryStatsRequest{})
	require.EqualValues(t, 1, stats.Stats.Challenges)

	// Once the challenge window has closed the decided task stands: the
	// provider need not keep its evidence any longer.
	decided := f.task(t, id).DecidedHeight
	window := types.DefaultParams().ChallengeWindowBlocks
	f.ctx = f.ctx.WithBlockHeight(decided + window + 1)
	before := f.bal(challenger)
	_, err = f.msg.OpenChallenge(f.ctx, &types.MsgOpenChallenge{Challenger: challenger.String(), TaskId: id})
	require.ErrorIs(t, err, types.ErrInvalidState, "the challenge window closed")
	require.Equal(t, before, f.bal(challenger), "a refused challenge costs nothing")
	require.EqualValues(t, 1, stats.Stats.Passed)
	require.EqualValues(t, 1, stats.Stats.Failed)
	f.invariants(t)
}

// A usage claim's receipts are checked at the level's inference_rate; a
// checked claim re-executes the level's sample of its requests (receipt
// indices), and the statistics count the requests committed and sampled.
func TestInferenceClaimsAreSampled(t *testing.T) {
	f := setup(t)
	client0 := f.bal(f.client)
	claim := func(job, receipts uint64) types.Work {
		w := f.work(job)
		w.Kind, w.CheckpointRoot, w.TotalSteps = types.WORK_KIND_INFERENCE_CLAIM, hash("receipts"), receipts
		return w
	}
	f.params(t, func(p *types.Params) { p.Levels[0].InferenceRate = sdkmath.LegacyNewDecWithPrec(1, 6) })
	skipped := f.commit(t, claim(1, 500))
	f.draw(t)
	_, err := f.k.GetTask(f.ctx, skipped)
	require.ErrorIs(t, err, types.ErrTaskNotFound, "an unsampled claim leaves nothing behind")
	require.Equal(t, client0, f.bal(f.client), "and its fee goes back")
	res, err := f.q.TasksByJob(f.ctx, &types.QueryTasksByJobRequest{JobId: 1})
	require.NoError(t, err)
	require.Empty(t, res.Tasks)

	f.params(t, func(p *types.Params) { p.Levels[0].InferenceRate = sdkmath.LegacyOneDec() })
	checked := f.commit(t, claim(2, 500))
	small := f.commit(t, claim(3, 7))
	f.draw(t)
	task := f.task(t, checked)
	require.Equal(t, types.TASK_STATE_OPEN, task.State)
	require.Len(t, task.SampledSteps, 66, "a checked claim re-executes the level's sample of its requests (44, x1.5 for this provider's reputation of 0.5)")
	require.Less(t, task.SampledSteps[len(task.SampledSteps)-1], uint64(500))
	require.Len(t, f.task(t, small).SampledSteps, 7, "all of a claim smaller than the sample")
	stats, _ := f.q.Stats(f.ctx, &types.QueryStatsRequest{})
	require.EqualValues(t, 1, stats.Stats.InferenceSkipped)
	require.EqualValues(t, 2, stats.Stats.InferenceSampled)
	require.EqualValues(t, 1007, stats.Stats.RequestsCommitted)
	require.EqualValues(t, 73, stats.Stats.RequestsSampled)
	require.Zero(t, stats.Stats.StepsCommitted, "requests are not training steps")

	noLocation := claim(4, 10)
	noLocation.Location = ""
	_, err = f.k.OnWorkCommitted(f.ctx, noLocation)
	require.ErrorIs(t, err, types.ErrInvalidWork, "a claim must say where its evidence is")
	f.invariants(t)
}

func TestUpdateParams(t *testing.T) {
	f := setup(t)
	p := types.DefaultParams()
	p.CommitteeSize = 7
	_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.client.String(), Params: p})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	bad := p
	bad.CommitteeSize = 0
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.k.Authority(), Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	got, _ := f.q.Params(f.ctx, &types.QueryParamsRequest{})
	require.EqualValues(t, 5, got.Params.CommitteeSize, "refusals change nothing")
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.k.Authority(), Params: p})
	require.NoError(t, err)
	got, _ = f.q.Params(f.ctx, &types.QueryParamsRequest{})
	require.EqualValues(t, 7, got.Params.CommitteeSize)
}

func TestQueries(t *testing.T) {
	f := setup(t)
	for i := 0; i < 5; i++ {
		f.commit(t, f.work(uint64(1+i%2)))
	}
	f.draw(t)
	byJob, err := f.q.TasksByJob(f.ctx, &types.QueryTasksByJobRequest{JobId: 1})
	require.NoError(t, err)
	require.Len(t, byJob.Tasks, 3)
	byProv, err := f.q.TasksByProvider(f.ctx, &types.QueryTasksByProviderRequest{Provider: f.provider.String()})
	require.NoError(t, err)
	require.Len(t, byProv.Tasks, 5)
	open, err := f.q.TasksByState(f.ctx, &types.QueryTasksByStateRequest{State: types.TASK_STATE_OPEN})
	require.NoError(t, err)
	require.Len(t, open.Tasks, 5)
	for _, bad := range []error{
		func() error { _, err := f.q.TasksByState(f.ctx, &types.QueryTasksByStateRequest{}); return err }(),
		func() error {
			_, err := f.q.TasksByProvider(f.ctx, &types.QueryTasksByProviderRequest{Provider: "x"})
			return err
		}(),
		func() error {
			_, err := f.q.CommitteeTasks(f.ctx, &types.QueryCommitteeTasksRequest{ConsAddress: "x"})
			return err
		}(),
		func() error {
			_, err := f.q.ProviderHistory(f.ctx, &types.QueryProviderHistoryRequest{Provider: "x"})
			return err
		}(),
		func() error { _, err := f.q.Task(f.ctx, &types.QueryTaskRequest{Id: 99}); return err }(),
		func() error { _, err := f.q.Task(f.ctx, nil); return err }(),
	} {
		require.Error(t, bad)
	}
	stats, err := f.q.Stats(f.ctx, &types.QueryStatsRequest{})
	require.NoError(t, err)
	require.Len(t, stats.Levels, 3)
	require.Equal(t, "standard", stats.Levels[0].Name)
	require.EqualValues(t, 44, stats.Levels[0].SampleSteps)
	require.Equal(t, "0.044000000000000000", stats.Levels[0].CostFraction)
	d, err := sdkmath.LegacyNewDecFromStr(stats.Levels[0].DetectionAtTenPercent)
	require.NoError(t, err)
	require.True(t, d.GTE(sdkmath.LegacyNewDecWithPrec(99, 2)))
}

func TestGenesisRoundTrip(t *testing.T) {
	f := setup(t)
	decided := f.commit(t, f.work(1))
	f.draw(t)
	require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, types.Verdict{TaskId: decided, Outcome: types.OUTCOME_PASS}, []int{0, 1, 2}, nil)))
	open := f.commit(t, f.work(2))
	f.draw(t)
	pending := f.commit(t, f.work(3))

	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate(f.k.AddressCodec()))
	require.Len(t, gs.Tasks, 3)
	require.EqualValues(t, 4, gs.NextTaskId)

	g := setup(t)
	g.ctx = g.ctx.WithBlockHeight(f.ctx.BlockHeight())
	// Bank's genesis would carry the module account's balance: the held fees.
	held, err := f.k.HeldFees(f.ctx)
	require.NoError(t, err)
	require.NoError(t, g.c.App.BankKeeper.SendCoinsFromAccountToModule(g.ctx, g.c.Funded, types.ModuleName, held))
	require.NoError(t, g.k.InitGenesis(g.ctx, *gs))
	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	member := f.task(t, open).Committee[0].ConsAddress
	res, err := g.q.CommitteeTasks(g.ctx, &types.QueryCommitteeTasksRequest{ConsAddress: member})
	require.NoError(t, err)
	require.Len(t, res.Tasks, 1, "indexes are rebuilt")
	require.Equal(t, open, res.Tasks[0].Id)
	g.draw(t)
	require.Equal(t, types.TASK_STATE_OPEN, g.task(t, pending).State, "the pending queue is rebuilt")
	g.ctx = g.ctx.WithBlockHeight(f.task(t, open).DeadlineHeight)
	require.NoError(t, g.k.EndBlocker(g.ctx))
	require.Equal(t, types.TASK_STATE_EXPIRED, g.task(t, open).State, "the deadline queue is rebuilt")

	bad := *gs
	bad.Tasks = append([]types.Task{}, gs.Tasks...)
	bad.Tasks[1].Id = gs.NextTaskId
	require.ErrorIs(t, bad.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis)
	bad = *gs
	bad.NextTaskId = 0
	require.ErrorIs(t, bad.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis)
}

func TestVerdictOnAnUnregisteredProviderStillApplies(t *testing.T) {
	f := setup(t)
	w := f.work(7)
	w.Provider = testutil.Addr("gone").String()
	id := f.commit(t, w)
	f.draw(t)
	require.NoError(t, f.k.OnAgreement(f.ctx, f.agreement(t, types.Verdict{TaskId: id, Outcome: types.OUTCOME_UNAVAILABLE}, []int{0, 1, 2, 3}, nil)))
	task := f.task(t, id)
	require.Equal(t, types.TASK_STATE_UNAVAILABLE, task.State, "nothing to slash, the verdict stands")
	require.True(t, task.Slashed.IsZero())
	f.invariants(t)
}
