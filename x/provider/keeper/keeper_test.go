package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
	"github.com/cohortchain/cohort/x/provider/keeper"
	"github.com/cohortchain/cohort/x/provider/types"
)

func coin(n int64) sdk.Coin { return sdk.NewInt64Coin(app.BaseDenom, n) }

func info() types.ProviderInfo {
	return types.ProviderInfo{
		Moniker:   "gpu-1",
		Hardware:  types.Hardware{GpuModel: "H100", GpuCount: 8, GpuMemoryGib: 80, CpuCores: 64, RamGib: 512},
		Region:    "eu-west",
		Endpoints: []string{"https://gpu-1.example"},
		Prices:    types.PriceList{TrainingPerStep: coin(100), InferencePerRequest: coin(5)},
		Models:    []string{"mnist-mlp"},
	}
}

type fixture struct {
	c   *testutil.Chain
	ctx sdk.Context
	k   keeper.Keeper
	msg types.MsgServer
	q   types.QueryServer
	op  sdk.AccAddress
}

func setup(t *testing.T) *fixture {
	c := testutil.NewChain(t)
	ctx := c.Context(t)
	f := &fixture{c: c, ctx: ctx, k: c.App.ProviderKeeper, msg: keeper.NewMsgServer(c.App.ProviderKeeper), q: keeper.NewQueryServer(c.App.ProviderKeeper)}
	f.op = c.Fund(t, ctx, 10_000_000_000, testutil.Addr("operator"))[0]
	return f
}

func (f *fixture) checkInvariant(t *testing.T) {
	t.Helper()
	require.NoError(t, f.k.CollateralInvariant(f.ctx, authtypes.NewModuleAddress(types.ModuleName)))
}

func (f *fixture) register(t *testing.T, collateral int64) {
	t.Helper()
	_, err := f.msg.RegisterProvider(f.ctx, &types.MsgRegisterProvider{Operator: f.op.String(), Info: info(), Collateral: coin(collateral)})
	require.NoError(t, err)
}

func (f *fixture) balance() int64 {
	return f.c.App.BankKeeper.GetBalance(f.ctx, f.op, app.BaseDenom).Amount.Int64()
}

func TestRegisterAndBond(t *testing.T) {
	f := setup(t)
	before := f.balance()
	f.register(t, 2_000_000_000)
	require.Equal(t, before-2_000_000_000, f.balance())

	res, err := f.q.Provider(f.ctx, &types.QueryProviderRequest{Operator: f.op.String()})
	require.NoError(t, err)
	require.Equal(t, types.STATUS_ACTIVE, res.Provider.Status)
	require.Equal(t, coin(2_000_000_000), res.Provider.Collateral)
	require.True(t, res.CanBid)
	require.Equal(t, "gpu-1", res.Provider.Moniker)

	_, err = f.msg.BondCollateral(f.ctx, &types.MsgBondCollateral{Operator: f.op.String(), Amount: coin(500)})
	require.NoError(t, err)
	p, err := f.k.GetProvider(f.ctx, f.op)
	require.NoError(t, err)
	require.Equal(t, coin(2_000_000_500), p.Collateral)
	f.checkInvariant(t)

	// Update replaces the description and leaves the collateral alone.
	upd := info()
	upd.Moniker = "gpu-2"
	_, err = f.msg.UpdateProvider(f.ctx, &types.MsgUpdateProvider{Operator: f.op.String(), Info: upd})
	require.NoError(t, err)
	p, _ = f.k.GetProvider(f.ctx, f.op)
	require.Equal(t, "gpu-2", p.Moniker)
	require.Equal(t, coin(2_000_000_500), p.Collateral)
}

func TestBelowMinimumCannotBid(t *testing.T) {
	f := setup(t)
	f.register(t, 0)
	require.ErrorIs(t, f.k.CanBid(f.ctx, f.op), types.ErrInsufficientBond)
	res, err := f.q.Provider(f.ctx, &types.QueryProviderRequest{Operator: f.op.String()})
	require.NoError(t, err)
	require.False(t, res.CanBid)
	require.ErrorIs(t, f.k.CanBid(f.ctx, testutil.Addr("nobody")), types.ErrProviderNotFound)
}

// Every bad message is refused with a typed error and changes nothing.
func TestBadMessages(t *testing.T) {
	f := setup(t)
	f.register(t, 1_000_000_000)
	snapshot := func() (types.Provider, int64) {
		p, err := f.k.GetProvider(f.ctx, f.op)
		require.NoError(t, err)
		return p, f.balance()
	}
	p0, b0 := snapshot()

	bad := func(mutate func(*types.ProviderInfo)) types.ProviderInfo {
		i := info()
		mutate(&i)
		return i
	}
	cases := []struct {
		name string
		run  func() error
		want error
	}{
		{"register twice", func() error {
			_, err := f.msg.RegisterProvider(f.ctx, &types.MsgRegisterProvider{Operator: f.op.String(), Info: info(), Collateral: coin(0)})
			return err
		}, types.ErrProviderExists},
		{"bad operator", func() error {
			_, err := f.msg.BondCollateral(f.ctx, &types.MsgBondCollateral{Operator: "cosmos1xyz", Amount: coin(1)})
			return err
		}, types.ErrInvalidInfo},
		{"unknown provider", func() error {
			_, err := f.msg.BondCollateral(f.ctx, &types.MsgBondCollateral{Operator: testutil.Addr("x").String(), Amount: coin(1)})
			return err
		}, types.ErrProviderNotFound},
		{"zero bond", func() error {
			_, err := f.msg.BondCollateral(f.ctx, &types.MsgBondCollateral{Operator: f.op.String(), Amount: coin(0)})
			return err
		}, types.ErrInvalidAmount},
		{"negative bond", func() error {
			_, err := f.msg.BondCollateral(f.ctx, &types.MsgBondCollateral{Operator: f.op.String(), Amount: sdk.Coin{Denom: app.BaseDenom, Amount: sdkmath.NewInt(-5)}})
			return err
		}, types.ErrInvalidAmount},
		{"wrong denom", func() error {
			_, err := f.msg.BondCollateral(f.ctx, &types.MsgBondCollateral{Operator: f.op.String(), Amount: sdk.NewInt64Coin("stake", 5)})
			return err
		}, types.ErrInvalidAmount},
		{"unbond more than bonded", func() error {
			_, err := f.msg.UnbondCollateral(f.ctx, &types.MsgUnbondCollateral{Operator: f.op.String(), Amount: coin(1_000_000_001)})
			return err
		}, types.ErrInsufficientBond},
		{"unjail when not jailed", func() error {
			_, err := f.msg.Unjail(f.ctx, &types.MsgUnjail{Operator: f.op.String()})
			return err
		}, types.ErrNotJailed},
		{"empty moniker", func() error {
			_, err := f.msg.UpdateProvider(f.ctx, &types.MsgUpdateProvider{Operator: f.op.String(), Info: bad(func(i *types.ProviderInfo) { i.Moniker = "" })})
			return err
		}, types.ErrInvalidInfo},
		{"endpoint not a URL", func() error {
			_, err := f.msg.UpdateProvider(f.ctx, &types.MsgUpdateProvider{Operator: f.op.String(), Info: bad(func(i *types.ProviderInfo) { i.Endpoints = []string{"gpu-1:80"} })})
			return err
		}, types.ErrInvalidInfo},
		{"negative price", func() error {
			_, err := f.msg.UpdateProvider(f.ctx, &types.MsgUpdateProvider{Operator: f.op.String(), Info: bad(func(i *types.ProviderInfo) {
				i.Prices.TrainingPerStep = sdk.Coin{Denom: app.BaseDenom, Amount: sdkmath.NewInt(-1)}
			})})
			return err
		}, types.ErrInvalidInfo},
		{"gpu count without model", func() error {
			_, err := f.msg.UpdateProvider(f.ctx, &types.MsgUpdateProvider{Operator: f.op.String(), Info: bad(func(i *types.ProviderInfo) { i.Hardware.GpuModel = "" })})
			return err
		}, types.ErrInvalidInfo},
		{"duplicate model", func() error {
			_, err := f.msg.UpdateProvider(f.ctx, &types.MsgUpdateProvider{Operator: f.op.String(), Info: bad(func(i *types.ProviderInfo) { i.Models = []string{"m", "m"} })})
			return err
		}, types.ErrInvalidInfo},
		{"more than the balance", func() error {
			_, err := f.msg.BondCollateral(f.ctx, &types.MsgBondCollateral{Operator: f.op.String(), Amount: coin(1 << 60)})
			return err
		}, nil},
		{"params by a stranger", func() error {
			_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.op.String(), Params: types.DefaultParams()})
			return err
		}, types.ErrUnauthorized},
		{"invalid params", func() error {
			p := types.DefaultParams()
			p.UnbondingEpochs = 0
			_, err := f.msg.UpdateParams(f.ctx, &types.MsgUpdateParams{Authority: f.k.Authority(), Params: p})
			return err
		}, types.ErrInvalidParams},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			require.Error(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
			}
			p, b := snapshot()
			require.Equal(t, p0, p)
			require.Equal(t, b0, b)
		})
	}
	f.checkInvariant(t)
}

// endEpoch runs the epoch hook as x/epochs would at the end of epoch n.
func (f *fixture) endEpoch(t *testing.T, n int64) {
	t.Helper()
	require.NoError(t, f.k.AfterEpochEnd(f.ctx, types.DefaultParams().EpochIdentifier, n))
}

func TestUnbondingCompletesAfterItsEpochsAndStaysSlashable(t *testing.T) {
	f := setup(t)
	f.register(t, 2_000_000_000)
	f.endEpoch(t, 1)
	res, err := f.msg.UnbondCollateral(f.ctx, &types.MsgUnbondCollateral{Operator: f.op.String(), Amount: coin(1_000_000_000)})
	require.NoError(t, err)
	require.EqualValues(t, 1+types.DefaultParams().UnbondingEpochs, res.CompletionEpoch)
	f.checkInvariant(t)

	// Slashing half takes half of the bonded and half of the unbonding part.
	victim := testutil.Addr("client")
	taken, err := f.k.Slash(f.ctx, f.op, sdkmath.LegacyNewDecWithPrec(5, 1), victim, "test")
	require.NoError(t, err)
	require.Equal(t, coin(1_000_000_000), taken)
	require.Equal(t, int64(500_000_000), f.c.App.BankKeeper.GetBalance(f.ctx, victim, app.BaseDenom).Amount.Int64(), "half of the slash goes to the harmed party")
	f.checkInvariant(t)
	p, _ := f.k.GetProvider(f.ctx, f.op)
	require.Equal(t, types.STATUS_JAILED, p.Status, "a 50% slash is severe")

	ub, err := f.q.Unbondings(f.ctx, &types.QueryUnbondingsRequest{Operator: f.op.String()})
	require.NoError(t, err)
	require.Len(t, ub.Unbondings, 1)
	require.Equal(t, coin(500_000_000), ub.Unbondings[0].Amount)

	before := f.balance()
	for e := int64(2); e < res.CompletionEpoch; e++ {
		f.endEpoch(t, e)
	}
	require.Equal(t, before, f.balance(), "not paid before the completion epoch ends")
	f.endEpoch(t, res.CompletionEpoch)
	require.Equal(t, before+500_000_000, f.balance())
	ub, err = f.q.Unbondings(f.ctx, &types.QueryUnbondingsRequest{Operator: f.op.String()})
	require.NoError(t, err)
	require.Empty(t, ub.Unbondings)
	f.checkInvariant(t)
}

func TestSlashWithoutBeneficiaryBurnsAll(t *testing.T) {
	f := setup(t)
	f.register(t, 1_000_000_000)
	supply := f.c.App.BankKeeper.GetSupply(f.ctx, app.BaseDenom).Amount
	taken, err := f.k.Slash(f.ctx, f.op, sdkmath.LegacyNewDecWithPrec(1, 2), nil, "test")
	require.NoError(t, err)
	require.Equal(t, coin(10_000_000), taken)
	require.Equal(t, supply.SubRaw(10_000_000), f.c.App.BankKeeper.GetSupply(f.ctx, app.BaseDenom).Amount)
	p, _ := f.k.GetProvider(f.ctx, f.op)
	require.Equal(t, types.STATUS_ACTIVE, p.Status, "a 1% slash is not severe")
	f.checkInvariant(t)

	for _, bad := range []sdkmath.LegacyDec{sdkmath.LegacyZeroDec(), sdkmath.LegacyNewDec(2), sdkmath.LegacyNewDec(-1)} {
		_, err := f.k.Slash(f.ctx, f.op, bad, nil, "test")
		require.ErrorIs(t, err, types.ErrInvalidSlash)
	}
}

func TestLivenessInactiveJailUnjail(t *testing.T) {
	f := setup(t)
	f.register(t, 1_000_000_000)
	params := types.DefaultParams()
	status := func() types.Status {
		p, err := f.k.GetProvider(f.ctx, f.op)
		require.NoError(t, err)
		return p.Status
	}
	// Another epoch identifier changes nothing.
	require.NoError(t, f.k.AfterEpochEnd(f.ctx, "week", 100))
	require.Equal(t, types.STATUS_ACTIVE, status())

	e := int64(0)
	for ; e < params.InactiveAfterEpochs; e++ {
		f.endEpoch(t, e+1)
	}
	require.Equal(t, types.STATUS_INACTIVE, status())
	require.Error(t, f.k.CanBid(f.ctx, f.op))

	// A heartbeat makes it active again.
	_, err := f.msg.Heartbeat(f.ctx, &types.MsgHeartbeat{Operator: f.op.String()})
	require.NoError(t, err)
	require.Equal(t, types.STATUS_ACTIVE, status())

	// Silence long enough jails it.
	start := e
	for ; e < start+params.JailAfterEpochs; e++ {
		f.endEpoch(t, e+1)
	}
	require.Equal(t, types.STATUS_JAILED, status())
	_, err = f.msg.Unjail(f.ctx, &types.MsgUnjail{Operator: f.op.String()})
	require.ErrorIs(t, err, types.ErrStillJailed)
	_, err = f.msg.Heartbeat(f.ctx, &types.MsgHeartbeat{Operator: f.op.String()})
	require.NoError(t, err)
	require.Equal(t, types.STATUS_JAILED, status(), "a heartbeat does not unjail")

	for end := e + params.JailEpochs; e < end; e++ {
		f.endEpoch(t, e+1)
	}
	_, err = f.msg.Unjail(f.ctx, &types.MsgUnjail{Operator: f.op.String()})
	require.NoError(t, err)
	require.Equal(t, types.STATUS_ACTIVE, status())
	require.NoError(t, f.k.CanBid(f.ctx, f.op))
}

func TestProvidersQueryFiltersAndPages(t *testing.T) {
	f := setup(t)
	for i := 0; i < 5; i++ {
		op := f.c.Fund(t, f.ctx, 1_000, testutil.Addr(string(rune('a'+i))))[0]
		_, err := f.msg.RegisterProvider(f.ctx, &types.MsgRegisterProvider{Operator: op.String(), Info: info(), Collateral: coin(0)})
		require.NoError(t, err)
	}
	res, err := f.q.Providers(f.ctx, &types.QueryProvidersRequest{})
	require.NoError(t, err)
	require.Len(t, res.Providers, 5)
	res, err = f.q.Providers(f.ctx, &types.QueryProvidersRequest{Status: types.STATUS_JAILED})
	require.NoError(t, err)
	require.Empty(t, res.Providers)
}

func TestGenesisRoundTrip(t *testing.T) {
	f := setup(t)
	f.register(t, 2_000_000_000)
	f.endEpoch(t, 3)
	_, err := f.msg.UnbondCollateral(f.ctx, &types.MsgUnbondCollateral{Operator: f.op.String(), Amount: coin(7)})
	require.NoError(t, err)
	gs, err := f.k.ExportGenesis(f.ctx)
	require.NoError(t, err)
	require.NoError(t, gs.Validate(f.k.AddressCodec()))
	require.Len(t, gs.Providers, 1)
	require.Len(t, gs.Unbondings, 1)
	require.EqualValues(t, 3, gs.Epoch)
	require.EqualValues(t, 2, gs.NextUnbondingId)

	g := testutil.NewChain(t)
	ctx := g.Context(t)
	require.NoError(t, g.App.ProviderKeeper.InitGenesis(ctx, *gs))
	again, err := g.App.ProviderKeeper.ExportGenesis(ctx)
	require.NoError(t, err)
	require.Equal(t, gs, again)

	broken := *gs
	broken.Unbondings = append(broken.Unbondings, gs.Unbondings[0])
	require.ErrorIs(t, broken.Validate(f.k.AddressCodec()), types.ErrInvalidGenesis)
}
