package app

import (
	"encoding/json"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	slashingtypes "github.com/cosmos/cosmos-sdk/x/slashing/types"
	"github.com/cosmos/cosmos-sdk/x/staking"
	stakingtypes "github.com/cosmos/cosmos-sdk/x/staking/types"
)

// ExportAppStateAndValidators exports the state of every module, the
// validator set and the consensus params, for a genesis file. With
// forZeroHeight the state is first prepared for a new chain that starts at
// height zero (rewards withdrawn, heights reset); validators not listed in
// jailAllowedAddrs are then jailed, when the list is not empty.
func (app *App) ExportAppStateAndValidators(forZeroHeight bool, jailAllowedAddrs, modulesToExport []string) (servertypes.ExportedApp, error) {
	ctx := app.NewContextLegacy(true, cmtproto.Header{Height: app.LastBlockHeight()})

	// The new chain starts at the next height, or at zero.
	height := app.LastBlockHeight() + 1
	if forZeroHeight {
		height = 0
		if err := app.prepForZeroHeightGenesis(ctx, jailAllowedAddrs); err != nil {
			return servertypes.ExportedApp{}, err
		}
	}

	genState, err := app.ModuleManager.ExportGenesisForModules(ctx, app.appCodec, modulesToExport)
	if err != nil {
		return servertypes.ExportedApp{}, err
	}
	appState, err := json.MarshalIndent(genState, "", "  ")
	if err != nil {
		return servertypes.ExportedApp{}, err
	}
	validators, err := staking.WriteValidators(ctx, app.StakingKeeper)
	return servertypes.ExportedApp{
		AppState:        appState,
		Validators:      validators,
		Height:          height,
		ConsensusParams: app.GetConsensusParams(ctx),
	}, err
}

// prepForZeroHeightGenesis settles what depends on block heights so that
// the exported state is valid at height zero: all rewards and commissions
// are withdrawn and distribution records restarted, staking entries'
// creation heights reset, and slashing signing windows restarted.
func (app *App) prepForZeroHeightGenesis(ctx sdk.Context, jailAllowedAddrs []string) error {
	allowed := make(map[string]bool, len(jailAllowedAddrs))
	for _, addr := range jailAllowedAddrs {
		if _, err := sdk.ValAddressFromBech32(addr); err != nil {
			return fmt.Errorf("jail-allowed address %q: %w", addr, err)
		}
		allowed[addr] = true
	}

	validators, err := app.StakingKeeper.GetAllValidators(ctx)
	if err != nil {
		return err
	}
	delegations, err := app.StakingKeeper.GetAllDelegations(ctx)
	if err != nil {
		return err
	}
	valAddr := func(v stakingtypes.Validator) (sdk.ValAddress, error) {
		bz, err := app.StakingKeeper.ValidatorAddressCodec().StringToBytes(v.GetOperator())
		return sdk.ValAddress(bz), err
	}
	delAddrs := func(d stakingtypes.Delegation) (sdk.AccAddress, sdk.ValAddress, error) {
		del, err := app.AccountKeeper.AddressCodec().StringToBytes(d.DelegatorAddress)
		if err != nil {
			return nil, nil, err
		}
		val, err := app.StakingKeeper.ValidatorAddressCodec().StringToBytes(d.ValidatorAddress)
		return del, val, err
	}

	// Distribution: pay out every commission and reward.
	for _, v := range validators {
		addr, err := valAddr(v)
		if err != nil {
			return err
		}
		// A validator without commission returns an error; nothing to pay.
		_, _ = app.DistrKeeper.WithdrawValidatorCommission(ctx, addr)
	}
	for _, d := range delegations {
		del, val, err := delAddrs(d)
		if err != nil {
			return err
		}
		if _, err := app.DistrKeeper.WithdrawDelegationRewards(ctx, del, val); err != nil {
			return fmt.Errorf("withdrawing rewards of %s from %s: %w", d.DelegatorAddress, d.ValidatorAddress, err)
		}
	}
	app.DistrKeeper.DeleteAllValidatorSlashEvents(ctx)
	app.DistrKeeper.DeleteAllValidatorHistoricalRewards(ctx)

	// Restart distribution records at height zero; reward scraps that cannot
	// be paid out go to the community pool, so no token is lost.
	height := ctx.BlockHeight()
	ctx = ctx.WithBlockHeight(0)
	for _, v := range validators {
		addr, err := valAddr(v)
		if err != nil {
			return err
		}
		scraps, err := app.DistrKeeper.GetValidatorOutstandingRewardsCoins(ctx, addr)
		if err != nil {
			return err
		}
		feePool, err := app.DistrKeeper.FeePool.Get(ctx)
		if err != nil {
			return err
		}
		feePool.CommunityPool = feePool.CommunityPool.Add(scraps...)
		if err := app.DistrKeeper.FeePool.Set(ctx, feePool); err != nil {
			return err
		}
		if err := app.DistrKeeper.Hooks().AfterValidatorCreated(ctx, addr); err != nil {
			return err
		}
	}
	for _, d := range delegations {
		del, val, err := delAddrs(d)
		if err != nil {
			return err
		}
		if err := app.DistrKeeper.Hooks().BeforeDelegationCreated(ctx, del, val); err != nil {
			return err
		}
		if err := app.DistrKeeper.Hooks().AfterDelegationModified(ctx, del, val); err != nil {
			return err
		}
	}
	ctx = ctx.WithBlockHeight(height)

	// Staking: entries restart at height zero.
	if err := app.StakingKeeper.IterateRedelegations(ctx, func(_ int64, red stakingtypes.Redelegation) bool {
		for i := range red.Entries {
			red.Entries[i].CreationHeight = 0
		}
		return app.StakingKeeper.SetRedelegation(ctx, red) != nil
	}); err != nil {
		return err
	}
	if err := app.StakingKeeper.IterateUnbondingDelegations(ctx, func(_ int64, ubd stakingtypes.UnbondingDelegation) bool {
		for i := range ubd.Entries {
			ubd.Entries[i].CreationHeight = 0
		}
		return app.StakingKeeper.SetUnbondingDelegation(ctx, ubd) != nil
	}); err != nil {
		return err
	}
	for _, v := range validators {
		v.UnbondingHeight = 0
		if len(allowed) > 0 && !allowed[v.GetOperator()] {
			v.Jailed = true
		}
		if err := app.StakingKeeper.SetValidator(ctx, v); err != nil {
			return err
		}
	}
	if _, err := app.StakingKeeper.ApplyAndReturnValidatorSetUpdates(ctx); err != nil {
		return err
	}

	// Slashing: signing windows restart at height zero.
	return app.SlashingKeeper.IterateValidatorSigningInfos(ctx, func(addr sdk.ConsAddress, info slashingtypes.ValidatorSigningInfo) bool {
		info.StartHeight = 0
		return app.SlashingKeeper.SetValidatorSigningInfo(ctx, addr, info) != nil
	})
}
