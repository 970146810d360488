package keeper

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/provider/types"
)

// InitGenesis loads the module state; gs must be valid.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, p := range gs.Providers {
		op, err := k.addressCodec.StringToBytes(p.Operator)
		if err != nil {
			return err
		}
		if err := k.Providers.Set(ctx, op, p); err != nil {
			return err
		}
	}
	for _, u := range gs.Unbondings {
		op, err := k.addressCodec.StringToBytes(u.Operator)
		if err != nil {
			return err
		}
		if err := k.setUnbonding(ctx, op, u); err != nil {
			return err
		}
	}
	if err := k.NextUnbonding.Set(ctx, gs.NextUnbondingId); err != nil {
		return err
	}
	return k.Epoch.Set(ctx, gs.Epoch)
}

// ExportGenesis returns the module state.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.Provider) (bool, error) {
		gs.Providers = append(gs.Providers, p)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Unbondings.Walk(ctx, nil, func(_ uint64, u types.Unbonding) (bool, error) {
		gs.Unbondings = append(gs.Unbondings, u)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.NextUnbondingId, err = k.NextUnbonding.Peek(ctx); err != nil {
		return nil, err
	}
	if gs.Epoch, err = k.currentEpoch(ctx); err != nil {
		return nil, fmt.Errorf("epoch: %w", err)
	}
	return gs, nil
}
