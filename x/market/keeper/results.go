package keeper

import (
	"context"
	"encoding/hex"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

// SubmitResult records the lease holder's result; unless disputed it
// settles when the challenge window ends.
func (k Keeper) SubmitResult(ctx context.Context, providerStr string, jobID uint64, result types.Result) (int64, error) {
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return 0, err
	}
	if job.Lease == nil || job.Lease.Provider != providerStr {
		return 0, fmt.Errorf("%w: only the lease holder may submit a result for job %d", types.ErrUnauthorized, jobID)
	}
	if job.State != types.JOB_STATE_LEASED {
		return 0, fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	if err := result.Validate(); err != nil {
		return 0, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	h := height(ctx)
	job.Lease.Result = &result
	job.Lease.SubmittedHeight = h
	job.Lease.ChallengeEndsHeight = h + params.ChallengeWindowBlocks
	if err := k.DeadlineQueue.Remove(ctx, collections.Join(job.DeadlineHeight, job.Id)); err != nil {
		return 0, err
	}
	if err := k.SettlementQueue.Set(ctx, collections.Join(job.Lease.ChallengeEndsHeight, job.Id)); err != nil {
		return 0, err
	}
	if err := k.setState(ctx, &job, types.JOB_STATE_SUBMITTED, "result submitted"); err != nil {
		return 0, err
	}
	return job.Lease.ChallengeEndsHeight, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventResultSubmitted{
		JobId: job.Id, Provider: providerStr, Hash: hex.EncodeToString(result.Hash), ChallengeEndsHeight: job.Lease.ChallengeEndsHeight,
	})
}

// AcceptResult lets the client settle a submitted result before the
// challenge window ends.
func (k Keeper) AcceptResult(ctx context.Context, clientStr string, jobID uint64) error {
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	if job.Client != clientStr {
		return fmt.Errorf("%w: only the client may accept the result of job %d", types.ErrUnauthorized, jobID)
	}
	if job.State != types.JOB_STATE_SUBMITTED {
		return fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	if err := k.SettlementQueue.Remove(ctx, collections.Join(job.Lease.ChallengeEndsHeight, job.Id)); err != nil {
		return err
	}
	return k.settle(ctx, &job, "result accepted by the client")
}

// settle pays the lease: price * units to the provider less the protocol
// fee, which goes to the fee collector; the provider's deposit back; the
// rest of the escrow back to the client.
func (k Keeper) settle(ctx context.Context, job *types.Job, reason string) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	provider, err := k.addr(job.Lease.Provider)
	if err != nil {
		return err
	}
	costAmt, err := types.Cost(job.Lease.Price.Amount, job.Units)
	if err != nil {
		return err
	}
	cost := sdk.NewCoin(job.Escrow.Denom, costAmt)
	if job.Escrow.IsLT(cost) {
		// Cannot happen: budgets cover max_price * units and bids ask at
		// most max_price. Refuse rather than pay out other jobs' escrow.
		return fmt.Errorf("%w: job %d escrow %s below cost %s", types.ErrInvalidState, job.Id, job.Escrow, cost)
	}
	fee := sdk.NewCoin(cost.Denom, params.FeeRate.MulInt(cost.Amount).TruncateInt())
	earned := cost.Sub(fee)
	if err := k.payFee(ctx, fee); err != nil {
		return err
	}
	if err := k.pay(ctx, provider, earned); err != nil {
		return err
	}
	if err := k.finishBid(ctx, job.Id, provider, provider); err != nil {
		return err
	}
	job.Escrow = job.Escrow.Sub(cost)
	job.Paid = job.Paid.Add(earned)
	refund := job.Escrow
	if err := k.refundEscrow(ctx, job); err != nil {
		return err
	}
	if err := k.reputation.Record(ctx, provider, reputationtypes.OUTCOME_JOB_COMPLETED); err != nil {
		return err
	}
	if err := k.setState(ctx, job, types.JOB_STATE_COMPLETED, reason); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSettled{
		JobId: job.Id, Provider: job.Lease.Provider, Paid: earned, Fee: fee, Refunded: refund,
	})
}

// failLease ends a lease whose provider did not deliver by the deadline:
// the client gets the escrow and the provider's deposit.
func (k Keeper) failLease(ctx context.Context, job *types.Job) error {
	provider, err := k.addr(job.Lease.Provider)
	if err != nil {
		return err
	}
	client, err := k.addr(job.Client)
	if err != nil {
		return err
	}
	if err := k.finishBid(ctx, job.Id, provider, client); err != nil {
		return err
	}
	if err := k.refundEscrow(ctx, job); err != nil {
		return err
	}
	if err := k.reputation.Record(ctx, provider, reputationtypes.OUTCOME_JOB_FAILED); err != nil {
		return err
	}
	return k.setState(ctx, job, types.JOB_STATE_FAILED, "no result by the deadline")
}
