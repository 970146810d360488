package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmttypes "github.com/cometbft/cometbft/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/stretchr/testify/require"

	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/module"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	govtypes "github.com/cosmos/cosmos-sdk/x/gov/types"
	minttypes "github.com/cosmos/cosmos-sdk/x/mint/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
	upgradetypes "github.com/cosmos/cosmos-sdk/x/upgrade/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
)

// sendTx is a signed bank send of amount ucohort from the chain's funded
// account, at sequence seq.
func sendTx(t *testing.T, c *testutil.Chain, to sdk.AccAddress, amount int64, seq uint64) []byte {
	t.Helper()
	txCfg := c.App.TxConfig()
	msg := banktypes.NewMsgSend(c.Funded, to, sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, amount)))
	tx, err := simtestutil.GenSignedMockTx(rand.New(rand.NewSource(1)), txCfg, []sdk.Msg{msg},
		sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 1000)), 200_000, testutil.ChainID, []uint64{0}, []uint64{seq}, c.FundKey)
	require.NoError(t, err)
	bz, err := txCfg.TxEncoder()(tx)
	require.NoError(t, err)
	return bz
}

// runBlocks runs blocks from..to, with one bank send in each.
func runBlocks(t *testing.T, c *testutil.Chain, from, to int64) []byte {
	var hash []byte
	for h := from; h <= to; h++ {
		hash = testutil.FinalizeAndCommit(t, c.App, c.ValSet, h, sendTx(t, c, sdk.AccAddress([]byte("recipient-address-20")), 1000+h, uint64(h-from)))
	}
	return hash
}

func TestAppStartsAndMints(t *testing.T) {
	c := testutil.NewChain(t)
	ctx := c.App.NewContext(true)
	supply0 := c.App.BankKeeper.GetSupply(ctx, app.BaseDenom)
	runBlocks(t, c, 1, 3)
	require.EqualValues(t, 3, c.App.LastBlockHeight())
	ctx = c.App.NewContext(true)
	require.True(t, c.App.BankKeeper.GetSupply(ctx, app.BaseDenom).Amount.GT(supply0.Amount), "mint adds the block reward")
	got := c.App.BankKeeper.GetBalance(ctx, sdk.AccAddress([]byte("recipient-address-20")), app.BaseDenom)
	require.EqualValues(t, 1001+1002+1003, got.Amount.Int64())
}

// TestSupplyEqualsBalances is the token-conservation invariant: the bank's
// recorded supply equals the sum of all balances, after blocks with
// minting, fees and transfers.
func TestSupplyEqualsBalances(t *testing.T) {
	c := testutil.NewChain(t)
	runBlocks(t, c, 1, 5)
	ctx := c.App.NewContext(true)
	sum := sdk.NewCoins()
	c.App.BankKeeper.IterateAllBalances(ctx, func(_ sdk.AccAddress, coin sdk.Coin) bool {
		sum = sum.Add(coin)
		return false
	})
	supply, _, err := c.App.BankKeeper.GetPaginatedTotalSupply(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, supply.String(), sum.String())
}

// importChain starts a new app from an export, as a node does from an
// exported genesis file, and returns it before its first block.
func importChain(t *testing.T, exp servertypes.ExportedApp) *app.App {
	t.Helper()
	a := testutil.NewApp(t, dbm.NewMemDB(), app.Options{})
	updates := make([]abci.ValidatorUpdate, len(exp.Validators))
	for i, v := range exp.Validators {
		updates[i] = abci.UpdateValidator(v.PubKey.Bytes(), v.Power, v.PubKey.Type())
	}
	initial := exp.Height
	if initial == 0 {
		initial = 1
	}
	cp := exp.ConsensusParams
	_, err := a.InitChain(&abci.RequestInitChain{
		ChainId:         testutil.ChainID,
		Time:            testutil.GenesisTime,
		InitialHeight:   initial,
		ConsensusParams: &cp,
		Validators:      updates,
		AppStateBytes:   exp.AppState,
	})
	require.NoError(t, err)
	return a
}

func valSetOf(t *testing.T, exp servertypes.ExportedApp) *cmttypes.ValidatorSet {
	vals := make([]*cmttypes.Validator, len(exp.Validators))
	for i, v := range exp.Validators {
		vals[i] = cmttypes.NewValidator(v.PubKey, v.Power)
	}
	return cmttypes.NewValidatorSet(vals)
}

// storeContents lists every key and value of every module store, except
// staking's historical info: per-height records that a genesis export
// leaves out by design (an imported chain has no past heights).
func storeContents(a *app.App, storeNames []string) map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, name := range storeNames {
		kv := a.CommitMultiStore().GetKVStore(a.GetKey(name))
		m := map[string]string{}
		it := kv.Iterator(nil, nil)
		for ; it.Valid(); it.Next() {
			if name == stakingtypes.StoreKey && bytes.HasPrefix(it.Key(), stakingtypes.HistoricalInfoKey) {
				continue
			}
			m[string(it.Key())] = string(it.Value())
		}
		it.Close()
		out[name] = m
	}
	return out
}

// TestExportImportRoundTrip exports a chain after some blocks, imports the
// export into fresh apps and checks that (1) two imports of the same export
// reach the same app hash, block for block; (2) exporting the imported
// chain gives back the same genesis; (3) the imported chain keeps every
// balance and validator.
func TestExportImportRoundTrip(t *testing.T) {
	c := testutil.NewChain(t)
	runBlocks(t, c, 1, 4)
	exp, err := c.App.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 5, exp.Height)

	a2, a3 := importChain(t, exp), importChain(t, exp)
	valSet := valSetOf(t, exp)

	h2 := testutil.FinalizeAndCommit(t, a2, valSet, exp.Height)
	h3 := testutil.FinalizeAndCommit(t, a3, valSet, exp.Height)
	require.Equal(t, h2, h3, "two imports of one export must agree on the app hash")
	for h := exp.Height + 1; h < exp.Height+3; h++ {
		require.Equal(t, testutil.FinalizeAndCommit(t, a2, valSet, h), testutil.FinalizeAndCommit(t, a3, valSet, h))
	}

	// Run the same block on the original chain: its state must equal the
	// imported chain's state, key for key, in every module store.
	testutil.FinalizeAndCommit(t, c.App, c.ValSet, 5)
	b2 := importChain(t, exp)
	testutil.FinalizeAndCommit(t, b2, valSet, exp.Height)
	stores := c.App.StoreKeyNames()
	require.Contains(t, stores, "provider")
	want, got := storeContents(c.App, stores), storeContents(b2, stores)
	for _, s := range stores {
		require.Equalf(t, len(want[s]), len(got[s]), "store %s: number of keys", s)
		for k, v := range want[s] {
			require.Equalf(t, v, got[s][k], "store %s key %X", s, k)
		}
	}

	// The imported chain exports the same genesis as the original at the
	// same height.
	e1, err := c.App.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	e2, err := b2.ExportAppStateAndValidators(false, nil, nil)
	require.NoError(t, err)
	require.JSONEq(t, string(e1.AppState), string(e2.AppState))
	require.Equal(t, e1.Height, e2.Height)
}

// TestZeroHeightExport exports for a restart at height zero and starts a
// new chain from it.
func TestZeroHeightExport(t *testing.T) {
	c := testutil.NewChain(t)
	runBlocks(t, c, 1, 4)
	exp, err := c.App.ExportAppStateAndValidators(true, nil, nil)
	require.NoError(t, err)
	require.EqualValues(t, 0, exp.Height)
	require.Len(t, exp.Validators, 1)

	var state map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(exp.AppState, &state))
	var dist struct {
		OutstandingRewards []json.RawMessage `json:"outstanding_rewards"`
	}
	require.NoError(t, json.Unmarshal(state["distribution"], &dist))

	a := importChain(t, exp)
	valSet := valSetOf(t, exp)
	for h := int64(1); h <= 3; h++ {
		testutil.FinalizeAndCommit(t, a, valSet, h)
	}
	ctx := a.NewContext(true)
	vals, err := a.StakingKeeper.GetBondedValidatorsByPower(ctx)
	require.NoError(t, err)
	require.Len(t, vals, 1)
	got := a.BankKeeper.GetBalance(ctx, sdk.AccAddress([]byte("recipient-address-20")), app.BaseDenom)
	require.EqualValues(t, 1001+1002+1003+1004, got.Amount.Int64())
}

func TestUpgradeRegistry(t *testing.T) {
	c := testutil.NewChain(t)
	require.Empty(t, app.Upgrades, "no upgrade is shipped yet")

	ran := false
	err := c.App.RegisterUpgrades([]app.Upgrade{{
		Name: "v2",
		Migrate: func(ctx context.Context, a *app.App, _ upgradetypes.Plan, vm module.VersionMap) (module.VersionMap, error) {
			ran = true
			return a.ModuleManager.RunMigrations(ctx, a.Configurator(), vm)
		},
	}})
	require.NoError(t, err)
	require.True(t, c.App.UpgradeKeeper.HasHandler("v2"))
	require.False(t, ran)

	require.Error(t, c.App.RegisterUpgrades([]app.Upgrade{{Name: "x"}, {Name: "x"}}), "repeated names")
	require.Error(t, c.App.RegisterUpgrades([]app.Upgrade{{Name: ""}}), "empty name")
}

func TestBlockedAddresses(t *testing.T) {
	blocked := app.BlockedAddresses()
	require.True(t, blocked[authtypes.NewModuleAddress(authtypes.FeeCollectorName).String()])
	require.True(t, blocked[authtypes.NewModuleAddress(minttypes.ModuleName).String()])
	require.False(t, blocked[authtypes.NewModuleAddress(govtypes.ModuleName).String()], "gov refunds deposits")
	require.Len(t, blocked, len(app.GetMaccPerms())-1)
}
