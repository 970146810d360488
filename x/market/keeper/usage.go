package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// ClaimUsage records units a metered lease has served. The claim is paid
// by the EndBlocker (settleUsage); a paused lease takes no claims, since
// its provider must not serve until the client tops up.
//
// Claims are the provider's word for now; client-signed usage receipts
// (the inference network) will back them.
func (k Keeper) ClaimUsage(ctx context.Context, providerStr string, jobID, units uint64) error {
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	if job.Lease == nil || job.Lease.Provider != providerStr {
		return fmt.Errorf("%w: only the lease holder may claim usage of job %d", types.ErrUnauthorized, jobID)
	}
	if !job.Kind.Metered() {
		return fmt.Errorf("%w: job %d is paid on its result, not by usage", types.ErrInvalidState, jobID)
	}
	if job.State != types.JOB_STATE_LEASED {
		return fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	l := job.Lease
	if units == 0 || units > job.Units-l.SettledUnits-l.PendingUnits {
		return fmt.Errorf("%w: %d units claimed, %d of %d left", types.ErrInvalidAmount, units, job.Units-l.SettledUnits-l.PendingUnits, job.Units)
	}
	l.PendingUnits += units
	if err := k.Jobs.Set(ctx, job.Id, job); err != nil {
		return err
	}
	if err := k.UsageQueue.Set(ctx, collections.Join(height(ctx), job.Id)); err != nil {
		return err
	}
	if err := k.heartbeat(ctx, providerStr); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventUsageClaimed{JobId: jobID, Provider: providerStr, Units: units, PendingUnits: l.PendingUnits})
}

// TopUp adds amount to a job's escrow. A paused lease with claims waiting
// is queued for payment, and resumes once they are paid.
func (k Keeper) TopUp(ctx context.Context, clientStr string, jobID uint64, amount sdk.Coin) error {
	client, err := k.addr(clientStr)
	if err != nil {
		return err
	}
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	if job.Client != clientStr {
		return fmt.Errorf("%w: only the client may top up job %d", types.ErrUnauthorized, jobID)
	}
	if job.State.Terminal() || job.State == types.JOB_STATE_DISPUTED {
		return fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	if err := amount.Validate(); err != nil || !amount.IsPositive() || amount.Denom != job.Escrow.Denom {
		return fmt.Errorf("%w: top-up must be a positive amount of %s", types.ErrInvalidAmount, job.Escrow.Denom)
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, client, types.ModuleName, sdk.NewCoins(amount)); err != nil {
		return err
	}
	job.Escrow = job.Escrow.Add(amount)
	if err := k.Jobs.Set(ctx, job.Id, job); err != nil {
		return err
	}
	if job.State == types.JOB_STATE_PAUSED {
		if err := k.UsageQueue.Set(ctx, collections.Join(height(ctx), job.Id)); err != nil {
			return err
		}
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventToppedUp{JobId: jobID, Amount: amount, Escrow: job.Escrow})
}

// settleUsage pays a metered lease's pending claims, as far as its escrow
// covers whole units. Claims left unpaid pause the lease; paying them all
// resumes it; paying the last unit of the job completes it.
func (k Keeper) settleUsage(ctx context.Context, job *types.Job) error {
	l := job.Lease
	payable := l.PendingUnits
	if affordable := job.Escrow.Amount.Quo(l.Price.Amount); affordable.IsUint64() && affordable.Uint64() < payable {
		payable = affordable.Uint64()
	}
	earned, fee, err := k.payUnits(ctx, job, payable)
	if err != nil {
		return err
	}
	l.PendingUnits -= payable
	l.SettledUnits += payable
	if payable > 0 {
		if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSettled{
			JobId: job.Id, Provider: l.Provider, Paid: earned, Fee: fee, Refunded: sdk.NewInt64Coin(job.Escrow.Denom, 0),
		}); err != nil {
			return err
		}
	}
	switch {
	case l.SettledUnits == job.Units:
		zero := sdk.NewInt64Coin(job.Escrow.Denom, 0)
		return k.complete(ctx, job, zero, zero, "all units served and paid")
	case l.PendingUnits > 0 && job.State != types.JOB_STATE_PAUSED:
		return k.setState(ctx, job, types.JOB_STATE_PAUSED, "escrow does not cover the claimed usage; top up to resume")
	case l.PendingUnits == 0 && job.State == types.JOB_STATE_PAUSED:
		return k.setState(ctx, job, types.JOB_STATE_LEASED, "resumed")
	default:
		return k.Jobs.Set(ctx, job.Id, *job)
	}
}

// endMeteredLease ends a metered lease at its deadline or on cancellation:
// pending claims are paid as far as escrow covers, the provider gets its
// deposit back and the client the rest of the escrow.
func (k Keeper) endMeteredLease(ctx context.Context, job *types.Job, to types.JobState, reason string) error {
	if err := k.settleUsage(ctx, job); err != nil {
		return err
	}
	if job.State.Terminal() {
		return nil // the last claim completed it
	}
	if err := k.UsageQueue.Remove(ctx, collections.Join(height(ctx), job.Id)); err != nil {
		return err
	}
	if to == types.JOB_STATE_COMPLETED {
		zero := sdk.NewInt64Coin(job.Escrow.Denom, 0)
		return k.complete(ctx, job, zero, zero, reason)
	}
	provider, err := k.addr(job.Lease.Provider)
	if err != nil {
		return err
	}
	if err := k.finishBid(ctx, job.Id, provider, provider); err != nil {
		return err
	}
	if err := k.refundEscrow(ctx, job); err != nil {
		return err
	}
	return k.setState(ctx, job, to, reason)
}
