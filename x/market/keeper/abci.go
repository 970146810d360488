package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// EndBlocker works through the queues that are due at this height:
// bidding windows that ended (match or expire), challenge windows that
// ended (settle, unless the result's verification task is still undecided:
// then its verdict settles it), usage claims of metered leases (pay, pause or resume),
// and deadlines that passed (fail a result-based lease, end a metered one). Each queue
// handles at most params.max_queue_items_per_block items per block; the
// rest wait for the next block, so the work per block is bounded.
func (k Keeper) EndBlocker(ctx context.Context) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	h := height(ctx)
	if err := k.drain(ctx, k.BiddingQueue, h, params, func(ctx context.Context, job *types.Job) error {
		if job.State != types.JOB_STATE_OPEN {
			return nil
		}
		return k.matchBids(ctx, job, params)
	}); err != nil {
		return err
	}
	if err := k.drain(ctx, k.SettlementQueue, h, params, func(ctx context.Context, job *types.Job) error {
		if job.State != types.JOB_STATE_SUBMITTED {
			return nil
		}
		if wait, err := k.awaitsVerdict(ctx, job); err != nil || wait {
			return err // its verdict settles it (OnVerified)
		}
		return k.settle(ctx, job, "challenge window passed")
	}); err != nil {
		return err
	}
	if err := k.drain(ctx, k.UsageQueue, h, params, func(ctx context.Context, job *types.Job) error {
		if job.State != types.JOB_STATE_LEASED && job.State != types.JOB_STATE_PAUSED {
			return nil
		}
		return k.settleUsage(ctx, job)
	}); err != nil {
		return err
	}
	return k.drain(ctx, k.DeadlineQueue, h, params, func(ctx context.Context, job *types.Job) error {
		switch {
		case job.Kind.Metered() && (job.State == types.JOB_STATE_LEASED || job.State == types.JOB_STATE_PAUSED):
			return k.endMeteredLease(ctx, job, types.JOB_STATE_COMPLETED, "service period ended")
		case job.State == types.JOB_STATE_LEASED:
			return k.failLease(ctx, job)
		}
		return nil
	})
}

// drain removes up to max items due by height h from queue and runs fn on
// each item's job, in a cache context: an item that fails is logged and
// leaves no trace, and never halts the chain.
func (k Keeper) drain(ctx context.Context, queue collections.KeySet[collections.Pair[int64, uint64]], h int64, params types.Params, fn func(context.Context, *types.Job) error) error {
	rng := new(collections.Range[collections.Pair[int64, uint64]]).EndInclusive(collections.Join(h, uint64(1<<64-1)))
	it, err := queue.Iterate(ctx, rng)
	if err != nil {
		return err
	}
	var due []collections.Pair[int64, uint64]
	for ; it.Valid() && uint32(len(due)) < params.MaxQueueItemsPerBlock; it.Next() {
		key, err := it.Key()
		if err != nil {
			it.Close()
			return err
		}
		due = append(due, key)
	}
	it.Close()
	for _, key := range due {
		if err := queue.Remove(ctx, key); err != nil {
			return err
		}
		job, err := k.Jobs.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		cacheCtx, write := sdk.UnwrapSDKContext(ctx).CacheContext()
		if err := fn(cacheCtx, &job); err != nil {
			sdk.UnwrapSDKContext(ctx).Logger().Error("market queue item failed", "job", job.Id, "state", job.State, "err", err)
			continue
		}
		write()
	}
	return nil
}
