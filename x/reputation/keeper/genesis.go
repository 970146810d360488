package keeper

import (
	"context"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/reputation/types"
)

// InitGenesis loads the module state; gs must be valid.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, r := range gs.Reputations {
		op, err := k.addressCodec.StringToBytes(r.Operator)
		if err != nil {
			return err
		}
		if err := k.Reputations.Set(ctx, op, r); err != nil {
			return err
		}
	}
	return nil
}

// ExportGenesis returns the module state.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	err = k.Reputations.Walk(ctx, nil, func(_ sdk.AccAddress, r types.Reputation) (bool, error) {
		gs.Reputations = append(gs.Reputations, r)
		return false, nil
	})
	return gs, err
}
