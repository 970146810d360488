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

// SubmitResult records the lease holder's result and, for training,
// reports it to x/verify, which checks a sample of its steps; unless
// disputed or failed by x/verify it settles when the challenge window ends.
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
	if job.Kind.Metered() {
		return 0, fmt.Errorf("%w: job %d is metered; claim usage instead of submitting a result", types.ErrInvalidState, jobID)
	}
	if err := result.ValidateFor(job.Kind); err != nil {
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
	if err := k.heartbeat(ctx, providerStr); err != nil {
		return 0, err
	}
	if err := k.reportResult(ctx, &job); err != nil {
		return 0, err
	}
	if err := k.setState(ctx, &job, types.JOB_STATE_SUBMITTED, "result submitted"); err != nil {
		return 0, err
	}
	return job.Lease.ChallengeEndsHeight, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventResultSubmitted{
		JobId: job.Id, Provider: providerStr, Hash: hex.EncodeToString(result.Hash), ChallengeEndsHeight: job.Lease.ChallengeEndsHeight,
	})
}

// heartbeat counts a provider's market activity as a liveness heartbeat.
func (k Keeper) heartbeat(ctx context.Context, provider string) error {
	p, err := k.addr(provider)
	if err != nil {
		return err
	}
	return k.providers.Heartbeat(ctx, p)
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

// payUnits pays the lease holder for units at the lease price, less the
// protocol fee, from the job's escrow. It returns what the provider got and
// the fee.
func (k Keeper) payUnits(ctx context.Context, job *types.Job, units uint64) (sdk.Coin, sdk.Coin, error) {
	zero := sdk.NewInt64Coin(job.Escrow.Denom, 0)
	if units == 0 {
		return zero, zero, nil
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return zero, zero, err
	}
	provider, err := k.addr(job.Lease.Provider)
	if err != nil {
		return zero, zero, err
	}
	costAmt, err := types.Cost(job.Lease.Price.Amount, units)
	if err != nil {
		return zero, zero, err
	}
	cost := sdk.NewCoin(job.Escrow.Denom, costAmt)
	if job.Escrow.IsLT(cost) {
		// Callers pay only what escrow covers; never pay out other jobs' escrow.
		return zero, zero, fmt.Errorf("%w: job %d escrow %s below cost %s", types.ErrInvalidState, job.Id, job.Escrow, cost)
	}
	fee := sdk.NewCoin(cost.Denom, params.FeeRate.MulInt(cost.Amount).TruncateInt())
	earned := cost.Sub(fee)
	if err := k.payFee(ctx, fee); err != nil {
		return zero, zero, err
	}
	if err := k.pay(ctx, provider, earned); err != nil {
		return zero, zero, err
	}
	job.Escrow = job.Escrow.Sub(cost)
	job.Paid = job.Paid.Add(earned)
	return earned, fee, nil
}

// settle pays a result-based lease: price * units to the provider less the
// protocol fee, which goes to the fee collector; the provider's deposit
// back; the rest of the escrow back to the client.
func (k Keeper) settle(ctx context.Context, job *types.Job, reason string) error {
	earned, fee, err := k.payUnits(ctx, job, job.Units)
	if err != nil {
		return err
	}
	return k.complete(ctx, job, earned, fee, reason)
}

// complete ends a lease that delivered: deposit back to the provider, the
// rest of the escrow back to the client, reputation credited.
func (k Keeper) complete(ctx context.Context, job *types.Job, earned, fee sdk.Coin, reason string) error {
	provider, err := k.addr(job.Lease.Provider)
	if err != nil {
		return err
	}
	if err := k.finishBid(ctx, job.Id, provider, provider); err != nil {
		return err
	}
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
