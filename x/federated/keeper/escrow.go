package keeper

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/x/federated/types"
)

// EscrowTotal adds up the escrow of every run.
func (k Keeper) EscrowTotal(ctx context.Context) (sdk.Coins, error) {
	total := sdk.NewCoins()
	err := k.Runs.Walk(ctx, nil, func(_ uint64, r types.Run) (bool, error) {
		total = total.Add(r.Escrow)
		return false, nil
	})
	return total, err
}

// EscrowInvariant checks that the module account holds exactly the escrow
// of all runs, and that finished runs hold none.
func (k Keeper) EscrowInvariant(ctx context.Context) error {
	total, err := k.EscrowTotal(ctx)
	if err != nil {
		return err
	}
	have := k.bank.GetAllBalances(ctx, k.moduleAddr)
	if !have.Equal(total) {
		return fmt.Errorf("federated module account holds %s; runs' escrow is %s", have, total)
	}
	return k.Runs.Walk(ctx, nil, func(_ uint64, r types.Run) (bool, error) {
		if r.State.Terminal() && !r.Escrow.IsZero() {
			return true, fmt.Errorf("run %d is %s but holds %s", r.Id, r.State, r.Escrow)
		}
		return false, nil
	})
}

// refund returns the run's unspent escrow to its client.
func (k Keeper) refund(ctx context.Context, run *types.Run) (sdk.Coin, error) {
	amt := run.Escrow
	if amt.IsNil() || !amt.IsPositive() {
		return sdk.NewCoin(run.Spec.RewardPerUpdate.Denom, amt.Amount.MulRaw(0)), nil
	}
	client, err := k.addr("client", run.Client)
	if err != nil {
		return amt, err
	}
	if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, client, sdk.NewCoins(amt)); err != nil {
		return amt, err
	}
	run.Escrow = sdk.NewCoin(amt.Denom, amt.Amount.MulRaw(0))
	return amt, nil
}

// payReward pays one accepted update's reward from the run's escrow: the
// protocol fee share to the fee collector, the rest to the participant.
func (k Keeper) payReward(ctx context.Context, run *types.Run, participant sdk.AccAddress, params types.Params) error {
	reward := run.Spec.RewardPerUpdate
	if run.Escrow.IsLT(reward) {
		return fmt.Errorf("run %d escrow %s cannot pay %s", run.Id, run.Escrow, reward)
	}
	fee := params.ProtocolFeeRate.MulInt(reward.Amount).TruncateInt()
	net := reward.Amount.Sub(fee)
	if fee.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToModule(ctx, types.ModuleName, authtypes.FeeCollectorName, sdk.NewCoins(sdk.NewCoin(reward.Denom, fee))); err != nil {
			return err
		}
	}
	if net.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, participant, sdk.NewCoins(sdk.NewCoin(reward.Denom, net))); err != nil {
			return err
		}
	}
	run.Escrow = run.Escrow.Sub(reward)
	run.Paid = run.Paid.Add(reward)
	return nil
}
