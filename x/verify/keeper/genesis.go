package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/verify/types"
)

// InitGenesis loads tasks and records and rebuilds the indexes and queues
// from the tasks; gs must be valid.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, t := range gs.Tasks {
		provider, err := k.addr("provider", t.Work.Provider)
		if err != nil {
			return err
		}
		state := t.State
		t.State = types.TASK_STATE_UNSPECIFIED
		if err := k.setState(ctx, &t, state); err != nil {
			return err
		}
		if t.Work.JobId != 0 {
			if err := k.TasksByJob.Set(ctx, collections.Join(t.Work.JobId, t.Id)); err != nil {
				return err
			}
		}
		if err := k.TasksByProvider.Set(ctx, collections.Join(provider, t.Id)); err != nil {
			return err
		}
		switch state {
		case types.TASK_STATE_PENDING:
			err = k.PendingQueue.Set(ctx, collections.Join(t.CommittedHeight, t.Id))
		case types.TASK_STATE_OPEN:
			err = k.DeadlineQueue.Set(ctx, collections.Join(t.DeadlineHeight, t.Id))
		}
		if err != nil {
			return err
		}
	}
	for _, v := range gs.Validators {
		cons, err := sdk.ConsAddressFromBech32(v.ConsAddress)
		if err != nil {
			return err
		}
		if err := k.Validators.Set(ctx, cons, v); err != nil {
			return err
		}
	}
	for _, p := range gs.Providers {
		a, err := k.addr("provider", p.Provider)
		if err != nil {
			return err
		}
		if err := k.Providers.Set(ctx, a, p); err != nil {
			return err
		}
	}
	if err := k.Stats.Set(ctx, gs.Stats); err != nil {
		return err
	}
	return k.NextTaskID.Set(ctx, gs.NextTaskId)
}

// ExportGenesis returns the module's state; indexes and queues are
// derived on import.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Tasks.Walk(ctx, nil, func(_ uint64, t types.Task) (bool, error) {
		gs.Tasks = append(gs.Tasks, t)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Validators.Walk(ctx, nil, func(_ []byte, v types.ValidatorRecord) (bool, error) {
		gs.Validators = append(gs.Validators, v)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.ProviderRecord) (bool, error) {
		gs.Providers = append(gs.Providers, p)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if gs.Stats, err = k.getStats(ctx); err != nil {
		return nil, err
	}
	gs.NextTaskId, err = k.NextTaskID.Peek(ctx)
	return gs, err
}
