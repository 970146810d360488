package keeper

import (
	"context"

	"github.com/cohortchain/cohort/x/registry/types"
)

// InitGenesis loads models and versions and rebuilds the indexes; gs must
// be valid.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	for _, m := range gs.Models {
		if err := k.setModel(ctx, m); err != nil {
			return err
		}
	}
	for _, v := range gs.Versions {
		if err := k.setVersion(ctx, v); err != nil {
			return err
		}
	}
	return k.NextModelID.Set(ctx, gs.NextModelId)
}

// ExportGenesis returns models, versions and the next model id.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	gs := &types.GenesisState{}
	if err := k.Models.Walk(ctx, nil, func(_ uint64, m types.Model) (bool, error) {
		gs.Models = append(gs.Models, m)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Versions.Walk(ctx, nil, func(_ VersionKey, v types.Version) (bool, error) {
		gs.Versions = append(gs.Versions, v)
		return false, nil
	}); err != nil {
		return nil, err
	}
	var err error
	gs.NextModelId, err = k.NextModelID.Peek(ctx)
	return gs, err
}
