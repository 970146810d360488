package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// InitGenesis loads jobs and bids and rebuilds the indexes and queues from
// them; gs must be valid.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, j := range gs.Jobs {
		client, err := k.addr(j.Client)
		if err != nil {
			return err
		}
		if err := k.JobsByClient.Set(ctx, collections.Join(client, j.Id)); err != nil {
			return err
		}
		if j.Lease != nil {
			p, err := k.addr(j.Lease.Provider)
			if err != nil {
				return err
			}
			if err := k.JobsByProvider.Set(ctx, collections.Join(p, j.Id)); err != nil {
				return err
			}
		}
		var queue *collections.KeySet[collections.Pair[int64, uint64]]
		var at int64
		switch j.State {
		case types.JOB_STATE_OPEN:
			queue, at = &k.BiddingQueue, j.BiddingEndsHeight
		case types.JOB_STATE_LEASED:
			queue, at = &k.DeadlineQueue, j.DeadlineHeight
		case types.JOB_STATE_SUBMITTED:
			queue, at = &k.SettlementQueue, j.Lease.ChallengeEndsHeight
		}
		if queue != nil {
			if err := queue.Set(ctx, collections.Join(at, j.Id)); err != nil {
				return err
			}
		}
		if j.State == types.JOB_STATE_PAUSED {
			if err := k.DeadlineQueue.Set(ctx, collections.Join(j.DeadlineHeight, j.Id)); err != nil {
				return err
			}
		}
		if j.Lease != nil && j.Lease.PendingUnits > 0 && (j.State == types.JOB_STATE_LEASED || j.State == types.JOB_STATE_PAUSED) {
			if err := k.UsageQueue.Set(ctx, collections.Join(j.CreatedHeight, j.Id)); err != nil {
				return err
			}
		}
		if err := k.JobsByState.Set(ctx, collections.Join(int32(j.State), j.Id)); err != nil {
			return err
		}
		if err := k.Jobs.Set(ctx, j.Id, j); err != nil {
			return err
		}
	}
	for _, b := range gs.Bids {
		p, err := k.addr(b.Provider)
		if err != nil {
			return err
		}
		if err := k.Bids.Set(ctx, collections.Join(b.JobId, p), b); err != nil {
			return err
		}
	}
	return k.NextJobID.Set(ctx, gs.NextJobId)
}

// ExportGenesis returns jobs, bids, params and the next job id; indexes and
// queues are derived from them on import.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Jobs.Walk(ctx, nil, func(_ uint64, j types.Job) (bool, error) {
		gs.Jobs = append(gs.Jobs, j)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Bids.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], b types.Bid) (bool, error) {
		gs.Bids = append(gs.Bids, b)
		return false, nil
	}); err != nil {
		return nil, err
	}
	gs.NextJobId, err = k.NextJobID.Peek(ctx)
	return gs, err
}
