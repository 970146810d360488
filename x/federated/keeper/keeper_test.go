package keeper_test

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
	"github.com/cohortchain/cohort/x/federated/keeper"
	"github.com/cohortchain/cohort/x/federated/types"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	providerkeeper "github.com/cohortchain/cohort/x/provider/keeper"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	registrykeeper "github.com/cohortchain/cohort/x/registry/keeper"
	registrytypes "github.com/cohortchain/cohort/x/registry/types"
)

func coin(n int64) sdk.Coin { return sdk.NewInt64Coin(app.BaseDenom, n) }

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

type fixture struct {
	c         *testutil.Chain
	ctx       sdk.Context
	k         keeper.Keeper
	msg       types.MsgServer
	q         types.QueryServer
	client    sdk.AccAddress
	providers []sdk.AccAddress
	stranger  sdk.AccAddress
	// watched are the accounts whose balances add up to a constant: the
	// client, the providers, the fee collector and the module account.
	watched []sdk.AccAddress
}

const reward = 1_000

func setup(t testing.TB) *fixture {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	f := &fixture{c: c, ctx: ctx, k: c.App.FederatedKeeper, msg: keeper.NewMsgServer(c.App.FederatedKeeper),
		q: keeper.NewQueryServer(c.App.FederatedKeeper), client: testutil.Addr("client"), stranger: testutil.Addr("stranger")}
	c.Fund(t, ctx, 100_000_000_000, f.client)
	for i := 0; i < 4; i++ {
		p := testutil.Addr(fmt.Sprintf("provider%d", i))
		c.Fund(t, ctx, 10_000_000_000, p)
		_, err := providerkeeper.NewMsgServer(c.App.ProviderKeeper).RegisterProvider(ctx, &providertypes.MsgRegisterProvider{
			Operator: p.String(),
			Info: providertypes.ProviderInfo{Moniker: "p", Endpoints: []string{"https://p.example"},
				Hardware: providertypes.Hardware{GpuModel: "NVIDIA H100", GpuCount: 1, GpuMemoryGib: 80, CpuCores: 16, RamGib: 64}},
			Collateral: coin(2_000_000_000),
		})
		require.NoError(t, err)
		f.providers = append(f.providers, p)
	}
	f.watched = append([]sdk.AccAddress{f.client, f.k.ModuleAddress(), authtypes.NewModuleAddress(authtypes.FeeCollectorName)}, f.providers...)
	return f
}

func (f *fixture) bal(addr sdk.AccAddress) int64 {
	return f.c.App.BankKeeper.GetBalance(f.ctx, addr, app.BaseDenom).Amount.Int64()
}

// total adds up the watched balances: tokens are never created or lost.
func (f *fixture) total() int64 {
	var n int64
	for _, a := range f.watched {
		n += f.bal(a)
	}
	return n
}

func (f *fixture) invariants(t *testing.T) {
	t.Helper()
	require.NoError(t, f.k.EscrowInvariant(f.ctx))
	esc, err := f.q.Escrow(f.ctx, &types.QueryEscrowRequest{})
	require.NoError(t, err)
	require.Equal(t, esc.ModuleBalance, esc.EscrowTotal)
}

func spec() types.RunSpec {
	return types.RunSpec{
		Model:              types.ModelRef{EngineSpecHash: hash("spec")},
		InitialWeightsHash: hash("w0"), InitialWeightsLocation: "https://blobs.example/w0",
		Rounds: 2, LocalSteps: 50, BatchSize: 64, LearningRate: "0.01",
		Aggregation:     types.AggregationRule{Name: types.RuleFedAvg},
		MinParticipants: 2, MaxParticipants: 3, RoundDeadlineBlocks: 10,
		RewardPerUpdate: coin(reward),
	}
}

func (f *fixture) create(t *testing.T, s types.RunSpec) uint64 {
	t.Helper()
	res, err := f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: f.client.String(), Spec: s})
	require.NoError(t, err)
	return res.RunId
}

func (f *fixture) run(t *testing.T, id uint64) types.Run {
	t.Helper()
	r, err := f.k.GetRun(f.ctx, id)
	require.NoError(t, err)
	return r
}

func (f *fixture) round(t *testing.T, id uint64, n uint32) types.Round {
	t.Helper()
	r, err := f.k.GetRound(f.ctx, id, n)
	require.NoError(t, err)
	return r
}

func (f *fixture) join(t *testing.T, id uint64, ps ...sdk.AccAddress) {
	t.Helper()
	for _, p := range ps {
		_, err := f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: p.String(), RunId: id})
		require.NoError(t, err)
	}
}

func (f *fixture) endBlock(t *testing.T, h int64) {
	t.Helper()
	f.ctx = f.ctx.WithBlockHeight(h).WithHeaderHash(hash(fmt.Sprintf("block %d", h)))
	require.NoError(t, f.k.EndBlocker(f.ctx))
	f.invariants(t)
}

// start creates a run with s, lets every provider join and opens round 1.
func (f *fixture) start(t *testing.T, s types.RunSpec) uint64 {
	t.Helper()
	id := f.create(t, s)
	f.join(t, id, f.providers...)
	f.endBlock(t, f.run(t, id).JoinDeadlineHeight)
	require.Equal(t, types.RUN_STATE_TRAINING, f.run(t, id).State)
	return id
}

func update(p sdk.AccAddress, id uint64, round uint32, tag string) *types.MsgSubmitUpdate {
	return &types.MsgSubmitUpdate{Participant: p.String(), RunId: id, Round: round, Hash: hash(tag), Size_: 4096,
		Location: "https://p.example/blobs/" + tag, SampleCount: 600, CheckpointRoot: hash("root " + tag)}
}

func addr(t *testing.T, s string) sdk.AccAddress {
	a, err := sdk.AccAddressFromBech32(s)
	require.NoError(t, err)
	return a
}

func (f *fixture) submitAll(t *testing.T, id uint64, n uint32) [][]byte {
	t.Helper()
	var hashes [][]byte
	for i, s := range f.round(t, id, n).Selected {
		m := update(addr(t, s), id, n, fmt.Sprintf("r%d-%d", n, i))
		_, err := f.msg.SubmitUpdate(f.ctx, m)
		require.NoError(t, err)
		hashes = append(hashes, m.Hash)
	}
	return hashes
}

func TestParamsUpdateByGovernanceOnly(t *testing.T) {
	f := setup(t)
	gov := authtypes.NewModuleAddress(govtypes.ModuleName).String()
	p := types.DefaultParams()
	p.MaxRounds = 7
	_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.client.String(), Params: p})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	bad := p
	bad.QuorumFraction = sdkmath.LegacyNewDec(2)
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: gov, Params: bad})
	require.ErrorIs(t, err, types.ErrInvalidParams)
	got, err := f.q.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, types.DefaultParams().MaxRounds, got.Params.MaxRounds, "refused updates change nothing")
	_, err = f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: gov, Params: p})
	require.NoError(t, err)
	got, err = f.q.Params(f.ctx, &types.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, uint32(7), got.Params.MaxRounds)
}

func TestParamsValidate(t *testing.T) {
	require.NoError(t, types.DefaultParams().Validate())
	for name, mut := range map[string]func(*types.Params){
		"zero rounds":          func(p *types.Params) { p.MaxRounds = 0 },
		"zero participants":    func(p *types.Params) { p.MaxParticipants = 0 },
		"joined below max":     func(p *types.Params) { p.MaxJoined = p.MaxParticipants - 1 },
		"deadline bounds":      func(p *types.Params) { p.MaxRoundDeadlineBlocks = p.MinRoundDeadlineBlocks - 1 },
		"zero min deadline":    func(p *types.Params) { p.MinRoundDeadlineBlocks = 0 },
		"zero join window":     func(p *types.Params) { p.JoinWindowBlocks = 0 },
		"zero aggregation":     func(p *types.Params) { p.AggregationTimeoutBlocks = 0 },
		"many retries":         func(p *types.Params) { p.MaxRoundRetries = 11 },
		"zero quorum":          func(p *types.Params) { p.QuorumFraction = sdkmath.LegacyZeroDec() },
		"nil quorum":           func(p *types.Params) { p.QuorumFraction = sdkmath.LegacyDec{} },
		"fee over one":         func(p *types.Params) { p.ProtocolFeeRate = sdkmath.LegacyNewDec(2) },
		"negative fee":         func(p *types.Params) { p.ProtocolFeeRate = sdkmath.LegacyNewDec(-1) },
		"zero update size":     func(p *types.Params) { p.MaxUpdateSize = 0 },
		"tiny location length": func(p *types.Params) { p.MaxLocationLength = 4 },
		"huge location length": func(p *types.Params) { p.MaxLocationLength = 1 << 20 },
	} {
		p := types.DefaultParams()
		mut(&p)
		require.ErrorIs(t, p.Validate(), types.ErrInvalidParams, name)
	}
}

func TestCreateRunEscrowsBudget(t *testing.T) {
	f := setup(t)
	before, total := f.bal(f.client), f.total()
	id := f.create(t, spec())
	r := f.run(t, id)
	require.Equal(t, uint64(1), id)
	require.Equal(t, types.RUN_STATE_OPEN, r.State)
	require.Equal(t, coin(2*3*reward), r.Escrow, "rounds x max participants x reward")
	require.Equal(t, before-2*3*reward, f.bal(f.client))
	require.Equal(t, total, f.total())
	require.Equal(t, hash("w0"), r.GlobalWeightsHash)
	f.invariants(t)
	require.Equal(t, uint64(2), f.create(t, spec()))
}

func TestCreateRunRejectsBadInput(t *testing.T) {
	f := setup(t)
	with := func(mut func(*types.RunSpec)) types.RunSpec { s := spec(); mut(&s); return s }
	cases := map[string]struct {
		client string
		spec   types.RunSpec
		err    error
	}{
		"bad client":               {"nope", spec(), types.ErrUnauthorized},
		"no model":                 {"", with(func(s *types.RunSpec) { s.Model = types.ModelRef{} }), types.ErrInvalidRun},
		"both model forms":         {"", with(func(s *types.RunSpec) { s.Model.RegistryModelId, s.Model.RegistryVersion = 1, 1 }), types.ErrInvalidRun},
		"registry without version": {"", with(func(s *types.RunSpec) { s.Model = types.ModelRef{RegistryModelId: 1} }), types.ErrInvalidRun},
		"unknown registry version": {"", with(func(s *types.RunSpec) { s.Model = types.ModelRef{RegistryModelId: 9, RegistryVersion: 1} }), types.ErrInvalidRun},
		"short spec hash":          {"", with(func(s *types.RunSpec) { s.Model.EngineSpecHash = []byte{1, 2} }), types.ErrInvalidRun},
		"short weights hash":       {"", with(func(s *types.RunSpec) { s.InitialWeightsHash = hash("x")[:31] }), types.ErrInvalidRun},
		"no weights location":      {"", with(func(s *types.RunSpec) { s.InitialWeightsLocation = "" }), types.ErrInvalidRun},
		"not a URL":                {"", with(func(s *types.RunSpec) { s.InitialWeightsLocation = "ftp://x/y" }), types.ErrInvalidRun},
		"zero rounds":              {"", with(func(s *types.RunSpec) { s.Rounds = 0 }), types.ErrInvalidRun},
		"too many rounds":          {"", with(func(s *types.RunSpec) { s.Rounds = 1_001 }), types.ErrInvalidRun},
		"zero local steps":         {"", with(func(s *types.RunSpec) { s.LocalSteps = 0 }), types.ErrInvalidRun},
		"zero batch":               {"", with(func(s *types.RunSpec) { s.BatchSize = 0 }), types.ErrInvalidRun},
		"bad learning rate":        {"", with(func(s *types.RunSpec) { s.LearningRate = "fast" }), types.ErrInvalidRun},
		"zero learning rate":       {"", with(func(s *types.RunSpec) { s.LearningRate = "0" }), types.ErrInvalidRun},
		"min over max":             {"", with(func(s *types.RunSpec) { s.MinParticipants = 4 }), types.ErrInvalidRun},
		"zero min":                 {"", with(func(s *types.RunSpec) { s.MinParticipants = 0 }), types.ErrInvalidRun},
		"max over param":           {"", with(func(s *types.RunSpec) { s.MaxParticipants = 101 }), types.ErrInvalidRun},
		"deadline too short":       {"", with(func(s *types.RunSpec) { s.RoundDeadlineBlocks = 9 }), types.ErrInvalidRun},
		"deadline too long":        {"", with(func(s *types.RunSpec) { s.RoundDeadlineBlocks = 100_001 }), types.ErrInvalidRun},
		"unknown rule":             {"", with(func(s *types.RunSpec) { s.Aggregation.Name = "mean" }), types.ErrInvalidRun},
		"fedavg with params":       {"", with(func(s *types.RunSpec) { s.Aggregation.Byzantine = 1 }), types.ErrInvalidRun},
		"krum too few":             {"", with(func(s *types.RunSpec) { s.Aggregation = types.AggregationRule{Name: types.RuleKrum, Byzantine: 1} }), types.ErrInvalidRun},
		"trim at half": {"", with(func(s *types.RunSpec) {
			s.Aggregation = types.AggregationRule{Name: types.RuleTrimmedMean, TrimFraction: "0.5"}
		}), types.ErrInvalidRun},
		"clipping without radius": {"", with(func(s *types.RunSpec) {
			s.Aggregation = types.AggregationRule{Name: types.RuleCenteredClipping, MaxIterations: 3}
		}), types.ErrInvalidRun},
		"geomedian no iterations": {"", with(func(s *types.RunSpec) { s.Aggregation = types.AggregationRule{Name: types.RuleGeometricMedian} }), types.ErrInvalidRun},
		"bulyan too few":          {"", with(func(s *types.RunSpec) { s.Aggregation = types.AggregationRule{Name: types.RuleBulyan, Byzantine: 1} }), types.ErrInvalidRun},
		"dp without epsilon": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Delta: "0.00001"}
		}), types.ErrInvalidRun},
		"dp delta one": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "1"}
		}), types.ErrInvalidRun},
		"dp without clip norm": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", NoiseMultiplier: "1"}
		}), types.ErrInvalidRun},
		"dp zero clip norm": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "0", NoiseMultiplier: "1"}
		}), types.ErrInvalidRun},
		"dp without noise": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "1"}
		}), types.ErrInvalidRun},
		"dp negative noise": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "1", NoiseMultiplier: "-1"}
		}), types.ErrInvalidRun},
		// One round at σ=0.5, δ=1e-5 spends ε≈11.6 > 8.
		"dp budget pays no round": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "1", NoiseMultiplier: "0.5"}
		}), types.ErrInvalidRun},
		"epsilon without dp": {"", with(func(s *types.RunSpec) { s.Privacy = types.Privacy{Epsilon: "8"} }), types.ErrInvalidRun},
		"clip norm without dp": {"", with(func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_SECURE_AGGREGATION, ClipNorm: "1"}
		}), types.ErrInvalidRun},
		"noise without dp": {"", with(func(s *types.RunSpec) { s.Privacy = types.Privacy{NoiseMultiplier: "1"} }), types.ErrInvalidRun},
		"unknown privacy":  {"", with(func(s *types.RunSpec) { s.Privacy = types.Privacy{Mode: 9} }), types.ErrInvalidRun},
		"topk zero": {"", with(func(s *types.RunSpec) {
			s.Compression = types.Compression{Mode: types.COMPRESSION_MODE_TOPK, TopkFraction: "0"}
		}), types.ErrInvalidRun},
		"topk over one": {"", with(func(s *types.RunSpec) {
			s.Compression = types.Compression{Mode: types.COMPRESSION_MODE_TOPK, TopkFraction: "1.5"}
		}), types.ErrInvalidRun},
		"fraction without topk": {"", with(func(s *types.RunSpec) { s.Compression = types.Compression{TopkFraction: "0.1"} }), types.ErrInvalidRun},
		"zero reward":           {"", with(func(s *types.RunSpec) { s.RewardPerUpdate = coin(0) }), types.ErrInvalidRun},
		"bad reward denom":      {"", with(func(s *types.RunSpec) { s.RewardPerUpdate = sdk.Coin{Denom: "B!", Amount: sdkmath.NewInt(1)} }), types.ErrInvalidRun},
		"budget over balance":   {"", with(func(s *types.RunSpec) { s.RewardPerUpdate = coin(1_000_000_000_000) }), nil},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			client, total, bal := tc.client, f.total(), f.bal(f.client)
			if client == "" {
				client = f.client.String()
			}
			_, err := f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: client, Spec: tc.spec})
			require.Error(t, err)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			}
			require.Equal(t, bal, f.bal(f.client), "nothing escrowed")
			require.Equal(t, total, f.total())
			next, err := f.k.NextRunID.Peek(f.ctx)
			require.NoError(t, err)
			require.Equal(t, uint64(1), next, "no run created")
			f.invariants(t)
		})
	}
	// Every rule with valid parameters is accepted.
	for _, a := range []types.AggregationRule{
		{Name: types.RuleFedAvg}, {Name: types.RuleMedian}, {Name: types.RuleTrimmedMean, TrimFraction: "0.1"},
		{Name: types.RuleKrum, Byzantine: 1}, {Name: types.RuleMultiKrum, Byzantine: 1, SelectCount: 2},
		{Name: types.RuleGeometricMedian, MaxIterations: 10}, {Name: types.RuleCenteredClipping, ClipRadius: "1.5", MaxIterations: 3},
		{Name: types.RuleBulyan, Byzantine: 1},
	} {
		s := spec()
		s.MinParticipants, s.MaxParticipants, s.Aggregation = 7, 8, a
		s.Compression = types.Compression{Mode: types.COMPRESSION_MODE_TOPK, TopkFraction: "0.1"}
		require.NoError(t, s.Validate(types.DefaultParams()), a.Name)
	}
	// Privacy modes aggregate with fedavg (TestCreateRunPrivacyNeedsFedAvg
	// has the refusals).
	s := spec()
	s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "1", NoiseMultiplier: "1.1"}
	s.Compression = types.Compression{Mode: types.COMPRESSION_MODE_TOPK, TopkFraction: "0.1"}
	require.NoError(t, s.Validate(types.DefaultParams()), "client-dp")
	s = spec()
	s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_SECURE_AGGREGATION}
	require.NoError(t, s.Validate(types.DefaultParams()), "secure aggregation")
}

func TestCancelRunRefundsUnspent(t *testing.T) {
	f := setup(t)
	total, before := f.total(), f.bal(f.client)
	id := f.create(t, spec())
	_, err := f.msg.CancelRun(f.ctx, &types.MsgCancelRun{Client: f.providers[0].String(), RunId: id})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	_, err = f.msg.CancelRun(f.ctx, &types.MsgCancelRun{Client: f.client.String(), RunId: 99})
	require.ErrorIs(t, err, types.ErrRunNotFound)
	require.Equal(t, types.RUN_STATE_OPEN, f.run(t, id).State)

	res, err := f.msg.CancelRun(f.ctx, &types.MsgCancelRun{Client: f.client.String(), RunId: id})
	require.NoError(t, err)
	require.Equal(t, coin(6*reward), res.Refunded)
	require.Equal(t, before, f.bal(f.client))
	require.Equal(t, types.RUN_STATE_CANCELLED, f.run(t, id).State)
	require.Equal(t, total, f.total())
	f.invariants(t)
	_, err = f.msg.CancelRun(f.ctx, &types.MsgCancelRun{Client: f.client.String(), RunId: id})
	require.ErrorIs(t, err, types.ErrInvalidState)
	_, err = f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.providers[0].String(), RunId: id})
	require.ErrorIs(t, err, types.ErrInvalidState)
	// Its join window passing does nothing more.
	f.endBlock(t, f.run(t, id).JoinDeadlineHeight)
	require.Equal(t, types.RUN_STATE_CANCELLED, f.run(t, id).State)
}

func TestCancelRunMidTraining(t *testing.T) {
	f := setup(t)
	total := f.total()
	id := f.start(t, spec())
	f.submitAll(t, id, 1)
	res, err := f.msg.CancelRun(f.ctx, &types.MsgCancelRun{Client: f.client.String(), RunId: id})
	require.NoError(t, err)
	require.Equal(t, coin(6*reward), res.Refunded)
	require.Equal(t, types.ROUND_STATE_FAILED, f.round(t, id, 1).State)
	require.Equal(t, total, f.total())
	f.invariants(t)
	// The round's deadlines no longer fire.
	f.endBlock(t, f.round(t, id, 1).DeadlineHeight)
	require.Equal(t, types.RUN_STATE_CANCELLED, f.run(t, id).State)
}

func TestJoinRun(t *testing.T) {
	f := setup(t)
	id := f.create(t, spec())
	_, err := f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.stranger.String(), RunId: id})
	require.ErrorIs(t, err, types.ErrNotProvider)
	_, err = f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: "bad", RunId: id})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	_, err = f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.providers[0].String(), RunId: 42})
	require.ErrorIs(t, err, types.ErrRunNotFound)
	f.join(t, id, f.providers[0])
	_, err = f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.providers[0].String(), RunId: id})
	require.ErrorIs(t, err, types.ErrAlreadyJoined)
	require.Equal(t, uint32(1), f.run(t, id).Joined)

	// max_joined caps a run.
	p := types.DefaultParams()
	p.MaxParticipants, p.MaxJoined = 2, 2
	require.NoError(t, f.k.Params.Set(f.ctx, p))
	f.join(t, id, f.providers[1])
	_, err = f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.providers[2].String(), RunId: id})
	require.ErrorIs(t, err, types.ErrRunFull)
	parts, err := f.q.Participants(f.ctx, &types.QueryParticipantsRequest{RunId: id})
	require.NoError(t, err)
	require.Len(t, parts.Participants, 2)

	// Once training, the run takes no joins.
	f.endBlock(t, f.run(t, id).JoinDeadlineHeight)
	require.Equal(t, types.RUN_STATE_TRAINING, f.run(t, id).State)
	_, err = f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.providers[3].String(), RunId: id})
	require.ErrorIs(t, err, types.ErrInvalidState)
}

// JoinRun holds providers to the run's hardware and collateral needs (the
// fixture's providers have one 80 GiB H100 and 2,000 COHORT bonded).
func TestJoinRunChecksRequirements(t *testing.T) {
	f := setup(t)
	for name, tc := range map[string]struct {
		mut func(*types.RunSpec)
		err error
	}{
		"two GPUs":        {func(s *types.RunSpec) { s.Hardware = markettypes.HardwareRequirement{MinGpuCount: 2} }, types.ErrRequirements},
		"an A100":         {func(s *types.RunSpec) { s.Hardware = markettypes.HardwareRequirement{GpuModel: "a100"} }, types.ErrRequirements},
		"more memory":     {func(s *types.RunSpec) { s.Hardware = markettypes.HardwareRequirement{MinGpuMemoryGib: 141} }, types.ErrRequirements},
		"more collateral": {func(s *types.RunSpec) { s.MinCollateral = coin(2_000_000_001) }, types.ErrRequirements},
		"an H100, 2,000": {func(s *types.RunSpec) {
			s.Hardware = markettypes.HardwareRequirement{GpuModel: "h100", MinGpuMemoryGib: 80}
			s.MinCollateral = coin(2_000_000_000)
		}, nil},
		"no requirements": {func(*types.RunSpec) {}, nil},
	} {
		s := spec()
		tc.mut(&s)
		id := f.create(t, s)
		_, err := f.msg.JoinRun(f.ctx, &types.MsgJoinRun{Provider: f.providers[0].String(), RunId: id})
		if tc.err == nil {
			require.NoError(t, err, name)
			continue
		}
		require.ErrorIs(t, err, tc.err, name)
		require.Zero(t, f.run(t, id).Joined, name)
	}
	// As an absent min_collateral arrives from a transaction: no denom, zero.
	absent := spec()
	absent.MinCollateral = sdk.Coin{Amount: sdkmath.ZeroInt()}
	require.NoError(t, absent.Validate(types.DefaultParams()))
	bad := spec()
	bad.MinCollateral = sdk.Coin{Denom: "Bad Denom!", Amount: sdkmath.NewInt(1)}
	_, err := f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: f.client.String(), Spec: bad})
	require.ErrorIs(t, err, types.ErrInvalidRun)
}

func TestJoinWindowWithoutEnoughParticipantsFails(t *testing.T) {
	f := setup(t)
	total, before := f.total(), f.bal(f.client)
	id := f.create(t, spec())
	f.join(t, id, f.providers[0])
	f.endBlock(t, f.run(t, id).JoinDeadlineHeight-1)
	require.Equal(t, types.RUN_STATE_OPEN, f.run(t, id).State)
	f.endBlock(t, f.run(t, id).JoinDeadlineHeight)
	r := f.run(t, id)
	require.Equal(t, types.RUN_STATE_FAILED, r.State)
	require.Contains(t, r.EndReason, "1 providers joined")
	require.Equal(t, before, f.bal(f.client))
	require.Equal(t, total, f.total())
}

func TestRoundSelectionAndSubmit(t *testing.T) {
	f := setup(t)
	id := f.start(t, spec())
	r := f.run(t, id)
	require.Equal(t, uint32(1), r.CurrentRound)
	round := f.round(t, id, 1)
	require.Equal(t, types.ROUND_STATE_COLLECTING, round.State)
	require.Len(t, round.Selected, 3, "max participants of four joined")
	require.Len(t, round.Seed, 32)
	require.Equal(t, uint32(2), round.Required, "ceil(0.66 * 3)")
	seen := map[string]bool{}
	for _, s := range round.Selected {
		require.False(t, seen[s])
		seen[s] = true
	}
	var outsider sdk.AccAddress
	for _, p := range f.providers {
		if !seen[p.String()] {
			outsider = p
		}
	}
	require.NotNil(t, outsider)
	sel := addr(t, round.Selected[0])

	for name, tc := range map[string]struct {
		msg *types.MsgSubmitUpdate
		err error
	}{
		"not selected": {update(outsider, id, 1, "x"), types.ErrNotSelected},
		"wrong round":  {update(sel, id, 2, "x"), types.ErrWrongRound},
		"unknown run":  {update(sel, 9, 1, "x"), types.ErrRunNotFound},
		"bad sender":   {func() *types.MsgSubmitUpdate { m := update(sel, id, 1, "x"); m.Participant = "x"; return m }(), types.ErrUnauthorized},
		"short hash":   {func() *types.MsgSubmitUpdate { m := update(sel, id, 1, "x"); m.Hash = m.Hash[:8]; return m }(), types.ErrInvalidUpdate},
		"short root":   {func() *types.MsgSubmitUpdate { m := update(sel, id, 1, "x"); m.CheckpointRoot = nil; return m }(), types.ErrInvalidUpdate},
		"zero size":    {func() *types.MsgSubmitUpdate { m := update(sel, id, 1, "x"); m.Size_ = 0; return m }(), types.ErrInvalidUpdate},
		"huge size":    {func() *types.MsgSubmitUpdate { m := update(sel, id, 1, "x"); m.Size_ = 5 << 30; return m }(), types.ErrInvalidUpdate},
		"zero samples": {func() *types.MsgSubmitUpdate { m := update(sel, id, 1, "x"); m.SampleCount = 0; return m }(), types.ErrInvalidUpdate},
		"bad location": {func() *types.MsgSubmitUpdate { m := update(sel, id, 1, "x"); m.Location = "blob"; return m }(), types.ErrInvalidUpdate},
		"long location": {func() *types.MsgSubmitUpdate {
			m := update(sel, id, 1, "x")
			m.Location = "https://a.example/" + string(make([]byte, 600))
			return m
		}(), types.ErrInvalidUpdate},
	} {
		_, err := f.msg.SubmitUpdate(f.ctx, tc.msg)
		require.ErrorIs(t, err, tc.err, name)
	}
	require.Equal(t, uint32(0), f.round(t, id, 1).Submitted, "refused updates change nothing")

	_, err := f.msg.SubmitUpdate(f.ctx, update(sel, id, 1, "a"))
	require.NoError(t, err)
	_, err = f.msg.SubmitUpdate(f.ctx, update(sel, id, 1, "b"))
	require.ErrorIs(t, err, types.ErrDuplicateUpdate, "one update per participant per round")
	_, err = f.msg.SubmitUpdate(f.ctx, update(addr(t, round.Selected[1]), id, 1, "a"))
	require.ErrorIs(t, err, types.ErrDuplicateUpdate, "a copied update hash counts once")
	ups, err := f.q.Updates(f.ctx, &types.QueryUpdatesRequest{RunId: id, Round: 1})
	require.NoError(t, err)
	require.Len(t, ups.Updates, 1)
	require.Equal(t, uint32(1), f.round(t, id, 1).Submitted)

	// After the deadline (before its EndBlocker runs) nothing is accepted.
	late := f.ctx.WithBlockHeight(round.DeadlineHeight + 1)
	_, err = f.msg.SubmitUpdate(late, update(addr(t, round.Selected[1]), id, 1, "late"))
	require.ErrorIs(t, err, types.ErrDeadlinePassed)
	// At the deadline height it still is; all three in moves to aggregation.
	at := f.ctx.WithBlockHeight(round.DeadlineHeight)
	_, err = f.msg.SubmitUpdate(at, update(addr(t, round.Selected[1]), id, 1, "b"))
	require.NoError(t, err)
	require.Equal(t, types.ROUND_STATE_COLLECTING, f.round(t, id, 1).State)
	_, err = f.msg.SubmitUpdate(at, update(addr(t, round.Selected[2]), id, 1, "c"))
	require.NoError(t, err)
	require.Equal(t, types.ROUND_STATE_AGGREGATING, f.round(t, id, 1).State)
	_, err = f.msg.SubmitUpdate(at, update(outsider, id, 1, "d"))
	require.ErrorIs(t, err, types.ErrInvalidState)
}

func TestFullRunPaysAcceptedUpdatesAndCompletes(t *testing.T) {
	f := setup(t)
	total := f.total()
	feeCollector := authtypes.NewModuleAddress(authtypes.FeeCollectorName)
	fee0, client0 := f.bal(feeCollector), f.bal(f.client)
	id := f.start(t, spec())

	var paid int64
	for n := uint32(1); n <= 2; n++ {
		round := f.round(t, id, n)
		require.Equal(t, types.ROUND_STATE_COLLECTING, round.State, "round %d", n)
		hashes := f.submitAll(t, id, n)
		require.Equal(t, types.ROUND_STATE_AGGREGATING, f.round(t, id, n).State)
		before := map[string]int64{}
		for _, s := range round.Selected {
			before[s] = f.bal(addr(t, s))
		}
		// The validators keep the first two updates (the third is an outlier).
		res := types.RoundResult{RunId: id, Round: n, NewWeightsHash: hash(fmt.Sprintf("w%d", n)),
			NewWeightsLocation: fmt.Sprintf("https://agg.example/w%d", n), AcceptedUpdates: hashes[:2]}

		// Nothing to finalise before the validators agree.
		_, err := f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
		require.ErrorIs(t, err, types.ErrInvalidState)
		require.ErrorIs(t, f.k.OnAgreement(f.ctx, []byte{1, 2}, res.ResultHash()), types.ErrInvalidSubject)
		require.ErrorIs(t, f.k.OnAgreement(f.ctx, types.Subject(id, n+1), res.ResultHash()), types.ErrInvalidState)
		require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, n), res.ResultHash()))
		require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, n), res.ResultHash()), "the same agreement again is harmless")
		require.ErrorIs(t, f.k.OnAgreement(f.ctx, types.Subject(id, n), hash("another")), types.ErrInvalidState, "agreed once")

		// A result other than the agreed one is refused.
		other := res
		other.AcceptedUpdates = hashes
		_, err = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: other})
		require.ErrorIs(t, err, types.ErrResultMismatch)
		bad := res
		bad.NewWeightsHash = nil
		_, err = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: bad})
		require.ErrorIs(t, err, types.ErrInvalidResult)

		_, err = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
		require.NoError(t, err)
		paid += 2 * reward
		got := f.round(t, id, n)
		require.Equal(t, types.ROUND_STATE_FINALISED, got.State)
		require.Equal(t, hashes[:2], got.AcceptedUpdates)
		require.Len(t, got.RejectedUpdates, 1)
		require.Equal(t, hashes[2], got.RejectedUpdates[0])
		for i, s := range round.Selected {
			want := before[s]
			if i < 2 {
				want += reward - reward*2/100
			}
			require.Equal(t, want, f.bal(addr(t, s)), "participant %d of round %d", i, n)
		}
		require.Equal(t, hash(fmt.Sprintf("w%d", n)), f.run(t, id).GlobalWeightsHash)
		require.Equal(t, total, f.total())
		f.invariants(t)
		_, err = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
		require.ErrorIs(t, err, types.ErrInvalidState, "finalised once")
	}
	r := f.run(t, id)
	require.Equal(t, types.RUN_STATE_COMPLETED, r.State)
	require.Equal(t, coin(paid), r.Paid)
	require.True(t, r.Escrow.IsZero())
	require.Equal(t, client0-paid, f.bal(f.client), "unspent escrow refunded")
	require.Equal(t, fee0+2*2*reward*2/100, f.bal(feeCollector), "2% of each reward")
	require.Equal(t, total, f.total())
	f.invariants(t)
	var accepted uint32
	parts, err := f.q.Participants(f.ctx, &types.QueryParticipantsRequest{RunId: id})
	require.NoError(t, err)
	for _, p := range parts.Participants {
		accepted += p.AcceptedUpdates
	}
	require.Equal(t, uint32(4), accepted)
}

func TestFinalizeRejectsUnknownAcceptedUpdate(t *testing.T) {
	f := setup(t)
	id := f.start(t, spec())
	hashes := f.submitAll(t, id, 1)
	res := types.RoundResult{RunId: id, Round: 1, NewWeightsHash: hash("w1"), NewWeightsLocation: "https://agg.example/w1",
		AcceptedUpdates: [][]byte{hashes[0], hash("never submitted")}}
	require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, 1), res.ResultHash()))
	total := f.total()
	_, err := f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
	require.ErrorIs(t, err, types.ErrUnknownUpdate)
	require.Equal(t, total, f.total())
	require.Equal(t, types.ROUND_STATE_AGGREGATING, f.round(t, id, 1).State)
}

func TestDeadlineRetriesOnceThenFailsWithRefund(t *testing.T) {
	f := setup(t)
	total, client0 := f.total(), f.bal(f.client)
	id := f.start(t, spec())
	first := f.round(t, id, 1)
	// One update of the two required.
	_, err := f.msg.SubmitUpdate(f.ctx, update(addr(t, first.Selected[0]), id, 1, "a"))
	require.NoError(t, err)
	first = f.round(t, id, 1)
	f.endBlock(t, first.DeadlineHeight-1)
	require.Equal(t, first, f.round(t, id, 1), "nothing happens before the deadline")

	f.endBlock(t, first.DeadlineHeight)
	retry := f.round(t, id, 1)
	require.Equal(t, uint32(1), retry.Attempt)
	require.Equal(t, types.ROUND_STATE_COLLECTING, retry.State)
	require.Equal(t, uint32(0), retry.Submitted, "the failed attempt's updates are dropped")
	require.NotEqual(t, first.Seed, retry.Seed, "a new selection")
	require.Equal(t, first.DeadlineHeight+10, retry.DeadlineHeight)
	require.Equal(t, types.RUN_STATE_TRAINING, f.run(t, id).State)
	ups, err := f.q.Updates(f.ctx, &types.QueryUpdatesRequest{RunId: id, Round: 1})
	require.NoError(t, err)
	require.Empty(t, ups.Updates)

	_, err = f.msg.SubmitUpdate(f.ctx, update(addr(t, retry.Selected[0]), id, 1, "a2"))
	require.NoError(t, err)
	f.endBlock(t, retry.DeadlineHeight)
	r := f.run(t, id)
	require.Equal(t, types.RUN_STATE_FAILED, r.State)
	require.Contains(t, r.EndReason, "after 2 attempts")
	require.Equal(t, types.ROUND_STATE_FAILED, f.round(t, id, 1).State)
	require.Equal(t, client0, f.bal(f.client), "everything refunded: nothing was paid")
	require.Equal(t, total, f.total())
	_, err = f.msg.SubmitUpdate(f.ctx, update(addr(t, retry.Selected[1]), id, 1, "b2"))
	require.ErrorIs(t, err, types.ErrInvalidState)
	f.endBlock(t, retry.DeadlineHeight+100)
}

func TestQuorumReachedAtDeadlineWaitsForAggregateThenTimesOut(t *testing.T) {
	f := setup(t)
	id := f.start(t, spec())
	round := f.round(t, id, 1)
	for i := 0; i < 2; i++ {
		_, err := f.msg.SubmitUpdate(f.ctx, update(addr(t, round.Selected[i]), id, 1, fmt.Sprint(i)))
		require.NoError(t, err)
	}
	f.endBlock(t, round.DeadlineHeight)
	agg := f.round(t, id, 1)
	require.Equal(t, types.ROUND_STATE_AGGREGATING, agg.State, "two of the required two are in")
	require.Equal(t, round.DeadlineHeight+types.DefaultParams().AggregationTimeoutBlocks, agg.DeadlineHeight)
	// No validator aggregate arrives: the round is retried.
	f.endBlock(t, agg.DeadlineHeight)
	retry := f.round(t, id, 1)
	require.Equal(t, uint32(1), retry.Attempt)
	require.Equal(t, types.ROUND_STATE_COLLECTING, retry.State)
}

func TestSelectionSkipsInactiveProviders(t *testing.T) {
	f := setup(t)
	s := spec()
	s.MinParticipants, s.MaxParticipants = 4, 4
	id := f.create(t, s)
	f.join(t, id, f.providers...)
	// One provider unbonds below the minimum collateral: it is not eligible,
	// and three eligible are fewer than the run's minimum of four.
	_, err := providerkeeper.NewMsgServer(f.c.App.ProviderKeeper).UnbondCollateral(f.ctx,
		&providertypes.MsgUnbondCollateral{Operator: f.providers[0].String(), Amount: coin(1_500_000_000)})
	require.NoError(t, err)
	total := f.total()
	f.endBlock(t, f.run(t, id).JoinDeadlineHeight)
	r := f.run(t, id)
	require.Equal(t, types.RUN_STATE_FAILED, r.State)
	require.Contains(t, r.EndReason, "3 eligible participants")
	require.Equal(t, total+0, f.total())
}

func TestSelectIsDeterministicAndWeighted(t *testing.T) {
	cands := []sdk.AccAddress{testutil.Addr("a"), testutil.Addr("b"), testutil.Addr("c"), testutil.Addr("d")}
	w := []uint64{1, 1, 1, 1_000_000}
	require.Equal(t, keeper.Select(hash("s"), cands, w, 2), keeper.Select(hash("s"), cands, w, 2))
	require.Len(t, keeper.Select(hash("s"), cands, w, 9), 4, "never more than the candidates")
	heavyFirst := 0
	for i := 0; i < 200; i++ {
		got := keeper.Select(hash(fmt.Sprint(i)), cands, w, 2)
		require.Len(t, got, 2)
		require.NotEqual(t, got[0], got[1])
		if got[0].Equals(cands[3]) {
			heavyFirst++
		}
	}
	require.Greater(t, heavyFirst, 190, "the highest reputation is drawn first almost always")
}

func TestAttestationHandlerIsRegistered(t *testing.T) {
	f := setup(t)
	require.Contains(t, f.c.App.VoteExtensions.Kinds(), types.AttestationKind)
}

func TestSubjectRoundTrip(t *testing.T) {
	id, n, err := types.ParseSubject(types.Subject(1<<40+7, 65_539))
	require.NoError(t, err)
	require.Equal(t, uint64(1<<40+7), id)
	require.Equal(t, uint32(65_539), n)
	_, _, err = types.ParseSubject(make([]byte, 11))
	require.ErrorIs(t, err, types.ErrInvalidSubject)
}

func TestGenesisExportImport(t *testing.T) {
	f := setup(t)
	training := f.start(t, spec())
	f.submitAll(t, training, 1)
	open := f.create(t, spec())
	f.join(t, open, f.providers[0])
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate(f.k.AddressCodec()))
	require.Len(t, gs.Runs, 2)
	require.Len(t, gs.Updates, 3)

	g := setup(t)
	require.NoError(t, g.k.InitGenesis(g.ctx, *gs))
	again, err := g.k.ExportGenesis(g.ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)
	// The queues were rebuilt: the open run's window and the round's deadline fire.
	has, err := g.k.JoinQueue.Has(g.ctx, joinKey(f.run(t, open)))
	require.NoError(t, err)
	require.True(t, has)

	bad := *gs
	bad.NextRunId = 1
	require.ErrorIs(t, bad.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis)
	bad = *gs
	bad.Runs = append([]types.Run{}, gs.Runs...)
	bad.Runs[0].State = types.RUN_STATE_COMPLETED
	require.ErrorIs(t, bad.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis)
	bad = *gs
	bad.Rounds = nil
	bad.Updates = nil
	require.ErrorIs(t, bad.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis, "a training run needs its round")
	require.NoError(t, types.DefaultGenesis().Validate(f.k.AddressCodec()))
}

func TestCreateRunFromRegistryModel(t *testing.T) {
	f := setup(t)
	owner := testutil.Addr("owner")
	reg := registrykeeper.NewMsgServer(f.c.App.RegistryKeeper)
	model := func(name string, public bool) uint64 {
		res, err := reg.RegisterModel(f.ctx, &registrytypes.MsgRegisterModel{Owner: owner.String(), Name: name, Task: "classification",
			Architecture: registrytypes.Architecture{Layers: []registrytypes.Layer{{Kind: "dense", Inputs: 784, Outputs: 10}}},
			License:      registrytypes.License{SpdxId: "Apache-2.0"}, Public: public})
		require.NoError(t, err)
		_, err = reg.PublishVersion(f.ctx, &registrytypes.MsgPublishVersion{Owner: owner.String(), ModelId: res.ModelId, WeightsHash: hash(name),
			Size_: 4096, Format: "safetensors", Locations: []string{"https://blobs.example/" + name}})
		require.NoError(t, err)
		return res.ModelId
	}
	public, restricted := model("open", true), model("closed", false)
	s := spec()
	s.Model = types.ModelRef{RegistryModelId: public, RegistryVersion: 1}
	f.create(t, s)
	s.Model = types.ModelRef{RegistryModelId: restricted, RegistryVersion: 1}
	before := f.bal(f.client)
	_, err := f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: f.client.String(), Spec: s})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	require.Equal(t, before, f.bal(f.client))
	s.Model = types.ModelRef{RegistryModelId: public, RegistryVersion: 2}
	_, err = f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: f.client.String(), Spec: s})
	require.ErrorIs(t, err, types.ErrInvalidRun)
}

// finish runs every round of run id to its end, the validators keeping all updates.
func (f *fixture) finish(t *testing.T, id uint64) {
	t.Helper()
	r := f.run(t, id)
	for n := r.CurrentRound; n <= r.Spec.Rounds; n++ {
		hashes := f.submitAll(t, id, n)
		res := types.RoundResult{RunId: id, Round: n, NewWeightsHash: hash(fmt.Sprintf("run%d w%d", id, n)),
			NewWeightsLocation: fmt.Sprintf("https://agg.example/run%d/w%d", id, n), AcceptedUpdates: hashes}
		require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, n), res.ResultHash()))
		_, err := f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
		require.NoError(t, err)
	}
	require.Equal(t, types.RUN_STATE_COMPLETED, f.run(t, id).State)
}

func TestCompletedRunPublishesToRegistry(t *testing.T) {
	f := setup(t)
	rk := f.c.App.RegistryKeeper
	reg := registrykeeper.NewMsgServer(rk)
	regQ := registrykeeper.NewQueryServer(rk)
	model := func(owner sdk.AccAddress, name string) uint64 {
		res, err := reg.RegisterModel(f.ctx, &registrytypes.MsgRegisterModel{Owner: owner.String(), Name: name, Task: "classification",
			Architecture: registrytypes.Architecture{Layers: []registrytypes.Layer{{Kind: "dense", Inputs: 784, Outputs: 10}}},
			License:      registrytypes.License{SpdxId: "Apache-2.0"}, Public: true})
		require.NoError(t, err)
		_, err = reg.PublishVersion(f.ctx, &registrytypes.MsgPublishVersion{Owner: owner.String(), ModelId: res.ModelId, WeightsHash: hash(name),
			Size_: 4096, Format: "safetensors", Locations: []string{"https://blobs.example/" + name}})
		require.NoError(t, err)
		return res.ModelId
	}
	mine := model(f.client, "mine")
	s := spec()
	s.Model = types.ModelRef{RegistryModelId: mine, RegistryVersion: 1}

	// The client owns the model: the final weights become version 2.
	id := f.start(t, s)
	f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())
	f.finish(t, id)
	r := f.run(t, id)
	require.Equal(t, uint64(2), r.PublishedVersion)
	require.Contains(t, r.EndReason, fmt.Sprintf("published as registry model %d version 2", mine))
	v, err := regQ.Version(f.ctx, &registrytypes.QueryVersionRequest{ModelId: mine, Number: 2})
	require.NoError(t, err)
	require.Equal(t, id, v.Version.Provenance.FederatedRunId)
	require.Equal(t, registrytypes.Provenance{ParentModelId: mine, ParentVersion: 1, FederatedRunId: id}, v.Version.Provenance)
	require.Equal(t, r.GlobalWeightsHash, v.Version.WeightsHash)
	require.Equal(t, hash(fmt.Sprintf("run%d w2", id)), v.Version.WeightsHash, "the last round's weights")
	require.Equal(t, []string{r.GlobalWeightsLocation}, v.Version.Locations)
	byRun, err := regQ.VersionByFederatedRun(f.ctx, &registrytypes.QueryVersionByFederatedRunRequest{RunId: id})
	require.NoError(t, err)
	require.Equal(t, v.Version, byRun.Version)
	// Each round's weights hash and participants are in x/federated under the run id.
	for n := uint32(1); n <= 2; n++ {
		rd, err := f.q.Round(f.ctx, &types.QueryRoundRequest{RunId: id, Number: n})
		require.NoError(t, err)
		require.Equal(t, hash(fmt.Sprintf("run%d w%d", id, n)), rd.Round.NewWeightsHash)
	}
	var published, versionEvent bool
	for _, e := range f.ctx.EventManager().Events() {
		switch e.Type {
		case "cohort.federated.v1.EventRunPublished":
			published = true
			for _, a := range e.Attributes {
				if a.Key == "error" {
					require.Equal(t, `""`, a.Value)
				}
			}
		case "cohort.registry.v1.EventVersionPublished":
			versionEvent = true
		}
	}
	require.True(t, published)
	require.True(t, versionEvent)
	f.invariants(t)

	// The model is frozen while a second run trains: the run still
	// completes and pays, and no version is written.
	id2 := f.start(t, s)
	_, err = reg.FreezeModel(f.ctx, &registrytypes.MsgFreezeModel{Authority: rk.Authority(), ModelId: mine, Frozen: true, Reason: "takedown"})
	require.NoError(t, err)
	f.ctx = f.ctx.WithEventManager(sdk.NewEventManager())
	f.finish(t, id2)
	r2 := f.run(t, id2)
	require.Zero(t, r2.PublishedVersion)
	require.True(t, r2.Escrow.IsZero())
	require.Contains(t, r2.EndReason, "not published")
	require.Contains(t, r2.EndReason, "frozen")
	m, err := rk.GetModel(f.ctx, mine)
	require.NoError(t, err)
	require.Equal(t, uint64(2), m.LatestVersion)
	_, err = regQ.VersionByFederatedRun(f.ctx, &registrytypes.QueryVersionByFederatedRunRequest{RunId: id2})
	require.Error(t, err)
	var failed bool
	for _, e := range f.ctx.EventManager().Events() {
		require.NotEqual(t, "cohort.registry.v1.EventVersionPublished", e.Type, "nothing half-written")
		if e.Type == "cohort.federated.v1.EventRunPublished" {
			for _, a := range e.Attributes {
				if a.Key == "error" {
					failed = true
					require.Contains(t, a.Value, "frozen")
				}
			}
		}
	}
	require.True(t, failed)
	f.invariants(t)

	// A client training someone else's public model may not publish into it.
	theirs := model(testutil.Addr("owner"), "theirs")
	s.Model = types.ModelRef{RegistryModelId: theirs, RegistryVersion: 1}
	id3 := f.start(t, s)
	f.finish(t, id3)
	r3 := f.run(t, id3)
	require.Zero(t, r3.PublishedVersion)
	require.Contains(t, r3.EndReason, "unauthorized")
	m, err = rk.GetModel(f.ctx, theirs)
	require.NoError(t, err)
	require.Equal(t, uint64(1), m.LatestVersion)
}
