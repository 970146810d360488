package keeper

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/provider/types"
)

// Register creates operator's provider, active from the current liveness
// epoch, and bonds collateral when it is positive.
func (k Keeper) Register(ctx context.Context, operator sdk.AccAddress, info types.ProviderInfo, collateral sdk.Coin) error {
	if err := info.Validate(); err != nil {
		return err
	}
	if has, err := k.Providers.Has(ctx, operator); err != nil {
		return err
	} else if has {
		return fmt.Errorf("%w: %s", types.ErrProviderExists, k.str(operator))
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if !collateral.IsNil() && !collateral.IsZero() {
		if _, err := k.checkCollateralCoin(ctx, collateral); err != nil {
			return err
		}
	}
	epoch, err := k.currentEpoch(ctx)
	if err != nil {
		return err
	}
	p := types.Provider{
		Operator:           k.str(operator),
		Collateral:         sdk.NewInt64Coin(params.MinCollateral.Denom, 0),
		Status:             types.STATUS_ACTIVE,
		LastHeartbeatEpoch: epoch,
		RegisteredHeight:   sdk.UnwrapSDKContext(ctx).BlockHeight(),
	}
	p.Apply(info)
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderRegistered{Operator: p.Operator, Collateral: p.Collateral}); err != nil {
		return err
	}
	if !collateral.IsNil() && collateral.IsPositive() {
		return k.Bond(ctx, operator, collateral)
	}
	return nil
}

// Update replaces the operator-described part of the provider.
func (k Keeper) Update(ctx context.Context, operator sdk.AccAddress, info types.ProviderInfo) error {
	if err := info.Validate(); err != nil {
		return err
	}
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	p.Apply(info)
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventProviderUpdated{Operator: p.Operator})
}
