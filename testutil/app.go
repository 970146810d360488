// Package testutil holds fixtures shared by Cohort's tests: single apps
// driven block by block, and in-process multi-validator networks.
package testutil

import (
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	dbm "github.com/cosmos/cosmos-db"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/flags"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"

	"github.com/cohortchain/cohort/app"
)

// ChainID is the chain id of test apps.
const ChainID = "cohort-test-1"

// GenesisTime is the time of block 1 of a test app; block h is h seconds later.
var GenesisTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Chain is one app driven block by block, with the validator set it was
// started with (one validator unless the test says otherwise).
type Chain struct {
	App     *app.App
	DB      dbm.DB
	ValSet  *cmttypes.ValidatorSet
	Funded  sdk.AccAddress
	FundKey *secp256k1.PrivKey
}

// NewApp returns an app over db with a fresh home directory.
func NewApp(t testing.TB, db dbm.DB, opts app.Options) *app.App {
	return newApp(t, db, opts, nil)
}

func newApp(t testing.TB, db dbm.DB, opts app.Options, appConfig map[string]any) *app.App {
	t.Helper()
	appOpts := simtestutil.AppOptionsMap{flags.FlagHome: t.TempDir()}
	for k, v := range appConfig {
		appOpts[k] = v
	}
	return app.New(log.NewNopLogger(), db, true, appOpts, opts, baseapp.SetChainID(ChainID))
}

// ChainOptions change what NewChainWith starts.
type ChainOptions struct {
	// App are the app's options (attestation source and handlers).
	App app.Options
	// VoteExtensionsFrom is the genesis vote_extensions_enable_height (0: off).
	VoteExtensionsFrom int64
	// AppConfig are app.toml settings, e.g. {"block-executor": "block-stm"}.
	AppConfig map[string]any
	// ValSet and FundKey fix the genesis validators and funded account, so
	// that two chains can start from the same genesis; random when nil.
	ValSet  *cmttypes.ValidatorSet
	FundKey *secp256k1.PrivKey
}

// NewChain starts an app from a genesis with one validator and one funded
// account, runs InitChain, and returns it before block 1.
func NewChain(t testing.TB) *Chain { return NewChainWith(t, ChainOptions{}) }

// NewChainWith is NewChain with options.
func NewChainWith(t testing.TB, opts ChainOptions) *Chain {
	t.Helper()
	db := dbm.NewMemDB()
	a := newApp(t, db, opts.App, opts.AppConfig)
	valSet, key := opts.ValSet, opts.FundKey
	if valSet == nil {
		var err error
		valSet, err = simtestutil.CreateRandomValidatorSet()
		require.NoError(t, err)
	}
	if key == nil {
		key = secp256k1.GenPrivKey()
	}
	addr := sdk.AccAddress(key.PubKey().Address())
	acc := authtypes.NewBaseAccount(addr, key.PubKey(), 0, 0)
	balance := banktypes.Balance{Address: addr.String(), Coins: sdk.NewCoins(sdk.NewCoin(app.BaseDenom, sdkmath.NewInt(1_000_000_000_000)))}
	state, err := simtestutil.GenesisStateWithValSet(a.AppCodec(), a.DefaultGenesis(), valSet, []authtypes.GenesisAccount{acc}, balance)
	require.NoError(t, err)
	// The SDK helper puts one validator's bond in the bonded pool whatever
	// the set's size: the pool holds every validator's tokens, and the
	// supply is what the balances add up to.
	var stakingGen stakingtypes.GenesisState
	a.AppCodec().MustUnmarshalJSON(state[stakingtypes.ModuleName], &stakingGen)
	bonded := sdkmath.ZeroInt()
	for _, v := range stakingGen.Validators {
		bonded = bonded.Add(v.Tokens)
	}
	var bankGen banktypes.GenesisState
	a.AppCodec().MustUnmarshalJSON(state[banktypes.ModuleName], &bankGen)
	pool := authtypes.NewModuleAddress(stakingtypes.BondedPoolName).String()
	for i, b := range bankGen.Balances {
		if b.Address == pool {
			bankGen.Balances[i].Coins = sdk.NewCoins(sdk.NewCoin(stakingGen.Params.BondDenom, bonded))
		}
	}
	bankGen.Supply = sdk.NewCoins()
	for _, b := range bankGen.Balances {
		bankGen.Supply = bankGen.Supply.Add(b.Coins...)
	}
	state[banktypes.ModuleName] = a.AppCodec().MustMarshalJSON(&bankGen)
	// Validators created in genesis state (not by gentx) need signing infos
	// for the slashing module to track their liveness.
	var slashingGen slashingtypes.GenesisState
	a.AppCodec().MustUnmarshalJSON(state[slashingtypes.ModuleName], &slashingGen)
	for _, v := range valSet.Validators {
		consAddr := sdk.ConsAddress(v.Address)
		slashingGen.SigningInfos = append(slashingGen.SigningInfos, slashingtypes.SigningInfo{
			Address:              consAddr.String(),
			ValidatorSigningInfo: slashingtypes.NewValidatorSigningInfo(consAddr, 0, 0, time.Unix(0, 0).UTC(), false, 0),
		})
	}
	state[slashingtypes.ModuleName] = a.AppCodec().MustMarshalJSON(&slashingGen)
	stateBytes, err := json.Marshal(state)
	require.NoError(t, err)

	params := *simtestutil.DefaultConsensusParams
	params.Abci = &cmtproto.ABCIParams{VoteExtensionsEnableHeight: opts.VoteExtensionsFrom}
	_, err = a.InitChain(&abci.RequestInitChain{
		ChainId:         ChainID,
		Time:            GenesisTime,
		InitialHeight:   1,
		ConsensusParams: &params,
		Validators:      validatorUpdates(valSet),
		AppStateBytes:   stateBytes,
	})
	require.NoError(t, err)
	return &Chain{App: a, DB: db, ValSet: valSet, Funded: addr, FundKey: key}
}

func validatorUpdates(valSet *cmttypes.ValidatorSet) []abci.ValidatorUpdate {
	updates := make([]abci.ValidatorUpdate, len(valSet.Validators))
	for i, v := range valSet.Validators {
		updates[i] = abci.UpdateValidator(v.PubKey.Bytes(), v.VotingPower, v.PubKey.Type())
	}
	return updates
}

// LastCommit is the commit info of a block that every validator signed.
func LastCommit(valSet *cmttypes.ValidatorSet) abci.CommitInfo {
	votes := make([]abci.VoteInfo, len(valSet.Validators))
	for i, v := range valSet.Validators {
		votes[i] = abci.VoteInfo{Validator: abci.Validator{Address: v.Address, Power: v.VotingPower}, BlockIdFlag: cmtproto.BlockIDFlagCommit}
	}
	return abci.CommitInfo{Votes: votes}
}

// FinalizeAndCommit runs block height with txs and commits it; it returns
// the app hash. Every tx must succeed.
func FinalizeAndCommit(t testing.TB, a *app.App, valSet *cmttypes.ValidatorSet, height int64, txs ...[]byte) []byte {
	t.Helper()
	res := Finalize(t, a, valSet, height, txs...)
	for i, r := range res.TxResults {
		require.Zerof(t, r.Code, "tx %d of block %d: %s", i, height, r.Log)
	}
	_, err := a.Commit()
	require.NoError(t, err)
	return res.AppHash
}

// Finalize runs block height with txs, without committing it.
func Finalize(t testing.TB, a *app.App, valSet *cmttypes.ValidatorSet, height int64, txs ...[]byte) *abci.ResponseFinalizeBlock {
	t.Helper()
	res, err := a.FinalizeBlock(&abci.RequestFinalizeBlock{
		Height:             height,
		Time:               GenesisTime.Add(time.Duration(height) * time.Second),
		Txs:                txs,
		DecidedLastCommit:  LastCommit(valSet),
		ProposerAddress:    valSet.Validators[0].Address,
		NextValidatorsHash: valSet.Hash(),
	})
	require.NoError(t, err)
	return res
}

// Context returns a context that writes straight to the chain's committed
// store, for keeper tests that call messages and keepers directly. The
// genesis state is committed with block 1 first, if no block ran yet.
func (c *Chain) Context(t testing.TB) sdk.Context {
	if c.App.LastBlockHeight() == 0 {
		FinalizeAndCommit(t, c.App, c.ValSet, 1)
	}
	return c.App.NewUncachedContext(false, cmtproto.Header{ChainID: ChainID, Height: c.App.LastBlockHeight() + 1, Time: GenesisTime})
}

// Fund gives each address amount ucohort from the chain's funded account
// and returns the addresses.
func (c *Chain) Fund(t testing.TB, ctx sdk.Context, amount int64, addrs ...sdk.AccAddress) []sdk.AccAddress {
	t.Helper()
	for _, a := range addrs {
		require.NoError(t, c.App.BankKeeper.SendCoins(ctx, c.Funded, a, sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, amount))))
	}
	return addrs
}

// Addr returns a deterministic test address named name.
func Addr(name string) sdk.AccAddress {
	return sdk.AccAddress(secp256k1.GenPrivKeyFromSecret([]byte(name)).PubKey().Address())
}
