package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// PlaceBid records a provider's offer on an open job and takes its deposit.
// The provider must be able to bid (x/provider), meet the job's hardware
// requirement, and ask at most the max price.
func (k Keeper) PlaceBid(ctx context.Context, msg *types.MsgPlaceBid) error {
	provider, err := k.addr(msg.Provider)
	if err != nil {
		return err
	}
	job, err := k.GetJob(ctx, msg.JobId)
	if err != nil {
		return err
	}
	if job.State != types.JOB_STATE_OPEN || height(ctx) > job.BiddingEndsHeight {
		return fmt.Errorf("%w: job %d is %s, bidding ended at %d", types.ErrInvalidState, job.Id, job.State, job.BiddingEndsHeight)
	}
	if job.Client == msg.Provider {
		return fmt.Errorf("%w: a client cannot bid on its own job", types.ErrUnauthorized)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := msg.Price.Validate(); err != nil || !msg.Price.IsPositive() || msg.Price.Denom != job.MaxPrice.Denom {
		return fmt.Errorf("%w: price must be a positive amount of %s", types.ErrInvalidAmount, job.MaxPrice.Denom)
	}
	if msg.Price.Amount.GT(job.MaxPrice.Amount) {
		return fmt.Errorf("%w: %s > %s", types.ErrPriceTooHigh, msg.Price, job.MaxPrice)
	}
	if err := msg.Deposit.Validate(); err != nil || msg.Deposit.Denom != params.MinBidDeposit.Denom || msg.Deposit.IsLT(params.MinBidDeposit) {
		return fmt.Errorf("%w: deposit must be at least %s", types.ErrInvalidAmount, params.MinBidDeposit)
	}
	if has, err := k.Bids.Has(ctx, collections.Join(job.Id, provider)); err != nil {
		return err
	} else if has {
		return fmt.Errorf("%w: job %d", types.ErrBidExists, job.Id)
	}
	if err := k.providers.CanBid(ctx, provider); err != nil {
		return err
	}
	p, err := k.providers.GetProvider(ctx, provider)
	if err != nil {
		return err
	}
	if err := job.Spec.Hardware.MetBy(p.Hardware); err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, provider, types.ModuleName, sdk.NewCoins(msg.Deposit)); err != nil {
		return err
	}
	if err := k.providers.Heartbeat(ctx, provider); err != nil {
		return err
	}
	bid := types.Bid{JobId: job.Id, Provider: msg.Provider, Price: msg.Price, Deposit: msg.Deposit, State: types.BID_STATE_OPEN, CreatedHeight: height(ctx)}
	if err := k.Bids.Set(ctx, collections.Join(job.Id, provider), bid); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventBidPlaced{JobId: job.Id, Provider: msg.Provider, Price: msg.Price})
}

// CloseBid withdraws an open bid and returns its deposit.
func (k Keeper) CloseBid(ctx context.Context, providerStr string, jobID uint64) error {
	provider, err := k.addr(providerStr)
	if err != nil {
		return err
	}
	bid, err := k.Bids.Get(ctx, collections.Join(jobID, provider))
	if err != nil {
		return fmt.Errorf("%w: job %d, provider %s", types.ErrBidNotFound, jobID, providerStr)
	}
	if bid.State != types.BID_STATE_OPEN {
		return fmt.Errorf("%w: bid is %s", types.ErrInvalidState, bid.State)
	}
	return k.finishBid(ctx, jobID, provider, provider)
}

// finishBid closes a bid and sends its deposit to to (the provider, or the
// client when the provider forfeits it).
func (k Keeper) finishBid(ctx context.Context, jobID uint64, provider, to sdk.AccAddress) error {
	key := collections.Join(jobID, provider)
	bid, err := k.Bids.Get(ctx, key)
	if err != nil {
		return err
	}
	if bid.State == types.BID_STATE_CLOSED {
		return nil
	}
	if err := k.pay(ctx, to, bid.Deposit); err != nil {
		return err
	}
	bid.State = types.BID_STATE_CLOSED
	if err := k.Bids.Set(ctx, key, bid); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventBidClosed{JobId: jobID, Provider: bid.Provider})
}

// closeOpenBids closes every open bid of a job except keep's.
func (k Keeper) closeOpenBids(ctx context.Context, jobID uint64, keep string) error {
	bids, err := k.bidsOf(ctx, jobID)
	if err != nil {
		return err
	}
	for _, b := range bids {
		if b.State != types.BID_STATE_OPEN || b.Provider == keep {
			continue
		}
		p, err := k.addr(b.Provider)
		if err != nil {
			return err
		}
		if err := k.finishBid(ctx, jobID, p, p); err != nil {
			return err
		}
	}
	return nil
}

func (k Keeper) bidsOf(ctx context.Context, jobID uint64) ([]types.Bid, error) {
	it, err := k.Bids.Iterate(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](jobID))
	if err != nil {
		return nil, err
	}
	return it.Values()
}

// AcceptBid makes the provider's open bid the lease of the client's open job.
func (k Keeper) AcceptBid(ctx context.Context, clientStr string, jobID uint64, providerStr string) error {
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	if job.Client != clientStr {
		return fmt.Errorf("%w: only the client may accept bids on job %d", types.ErrUnauthorized, jobID)
	}
	if job.State != types.JOB_STATE_OPEN {
		return fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	provider, err := k.addr(providerStr)
	if err != nil {
		return err
	}
	bid, err := k.Bids.Get(ctx, collections.Join(jobID, provider))
	if err != nil || bid.State != types.BID_STATE_OPEN {
		return fmt.Errorf("%w: no open bid from %s on job %d", types.ErrBidNotFound, providerStr, jobID)
	}
	// The provider may have lost its standing since it bid.
	if err := k.providers.CanBid(ctx, provider); err != nil {
		return err
	}
	return k.startLease(ctx, &job, bid, false)
}

// startLease turns bid into the job's lease: the other bids close, the
// deadline starts to count.
func (k Keeper) startLease(ctx context.Context, job *types.Job, bid types.Bid, matched bool) error {
	provider, err := k.addr(bid.Provider)
	if err != nil {
		return err
	}
	bid.State = types.BID_STATE_ACCEPTED
	if err := k.Bids.Set(ctx, collections.Join(job.Id, provider), bid); err != nil {
		return err
	}
	if err := k.closeOpenBids(ctx, job.Id, bid.Provider); err != nil {
		return err
	}
	job.Lease = &types.Lease{Provider: bid.Provider, Price: bid.Price, Deposit: bid.Deposit, StartHeight: height(ctx)}
	if err := k.JobsByProvider.Set(ctx, collections.Join(provider, job.Id)); err != nil {
		return err
	}
	if err := k.BiddingQueue.Remove(ctx, collections.Join(job.BiddingEndsHeight, job.Id)); err != nil {
		return err
	}
	if err := k.DeadlineQueue.Set(ctx, collections.Join(job.DeadlineHeight, job.Id)); err != nil {
		return err
	}
	if err := k.setState(ctx, job, types.JOB_STATE_LEASED, "bid accepted"); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventLeaseStarted{JobId: job.Id, Provider: bid.Provider, Price: bid.Price, Matched: matched})
}

// matchBids picks the best open bid of a job whose bidding window ended
// (types/matching.go), or expires the job when no bid can be taken.
func (k Keeper) matchBids(ctx context.Context, job *types.Job, params types.Params) error {
	bids, err := k.bidsOf(ctx, job.Id)
	if err != nil {
		return err
	}
	var best *types.RankedBid
	for _, b := range bids {
		if b.State != types.BID_STATE_OPEN {
			continue
		}
		p, err := k.addr(b.Provider)
		if err != nil {
			return err
		}
		if k.providers.CanBid(ctx, p) != nil {
			continue // jailed or under-collateralised since it bid
		}
		rep, err := k.reputation.Score(ctx, p)
		if err != nil {
			return err
		}
		r := types.RankedBid{Bid: b, Score: types.BidScore(params, b.Price.Amount, job.MaxPrice.Amount, rep)}
		if best == nil || types.Better(r, *best) {
			best = &r
		}
	}
	if best != nil {
		return k.startLease(ctx, job, best.Bid, true)
	}
	if err := k.closeOpenBids(ctx, job.Id, ""); err != nil {
		return err
	}
	if err := k.refundEscrow(ctx, job); err != nil {
		return err
	}
	return k.setState(ctx, job, types.JOB_STATE_EXPIRED, "no bid could be matched")
}
