package keeper

import (
	"context"
	"fmt"
	"slices"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

// MaxReasonLen bounds a dispute's reason.
const MaxReasonLen = 512

// Dispute challenges a submitted result within its challenge window; the
// disputer (the client, or anyone) puts up the dispute bond. The result
// does not settle until the dispute is resolved.
func (k Keeper) Dispute(ctx context.Context, disputerStr string, jobID uint64, reason string) error {
	disputer, err := k.addr(disputerStr)
	if err != nil {
		return err
	}
	if len(reason) > MaxReasonLen {
		return fmt.Errorf("%w: reason longer than %d bytes", types.ErrInvalidJob, MaxReasonLen)
	}
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	if job.State != types.JOB_STATE_SUBMITTED {
		return fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	if height(ctx) > job.Lease.ChallengeEndsHeight {
		return fmt.Errorf("%w: the challenge window of job %d ended at %d", types.ErrWindowClosed, jobID, job.Lease.ChallengeEndsHeight)
	}
	if disputerStr == job.Lease.Provider {
		return fmt.Errorf("%w: a provider cannot dispute its own result", types.ErrUnauthorized)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, disputer, types.ModuleName, sdk.NewCoins(params.DisputeBond)); err != nil {
		return err
	}
	if err := k.SettlementQueue.Remove(ctx, collections.Join(job.Lease.ChallengeEndsHeight, job.Id)); err != nil {
		return err
	}
	job.Dispute = &types.Dispute{Disputer: disputerStr, Bond: params.DisputeBond, Reason: reason, OpenedHeight: height(ctx)}
	if err := k.setState(ctx, &job, types.JOB_STATE_DISPUTED, "disputed"); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDisputeOpened{JobId: jobID, Disputer: disputerStr, Reason: reason})
}

// ResolveDispute decides a dispute. Until x/verify re-executes disputed
// work, the governance authority or an address in params.dispute_resolvers
// decides. At fault: the provider's collateral is slashed by
// dispute_slash_fraction (part to the client), the client gets the whole
// escrow and the provider's deposit, the disputer its bond. Not at fault:
// the lease settles as usual and the disputer's bond goes to the provider.
func (k Keeper) ResolveDispute(ctx context.Context, resolver string, jobID uint64, providerAtFault bool) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if resolver != k.authority && !slices.Contains(params.DisputeResolvers, resolver) {
		return fmt.Errorf("%w: %s may not resolve disputes", types.ErrUnauthorized, resolver)
	}
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	if job.State != types.JOB_STATE_DISPUTED {
		return fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	provider, err := k.addr(job.Lease.Provider)
	if err != nil {
		return err
	}
	client, err := k.addr(job.Client)
	if err != nil {
		return err
	}
	disputer, err := k.addr(job.Dispute.Disputer)
	if err != nil {
		return err
	}
	slashed := sdk.NewInt64Coin(job.Escrow.Denom, 0)
	if providerAtFault {
		if slashed, err = k.providers.Slash(ctx, provider, params.DisputeSlashFraction, client, fmt.Sprintf("lost dispute on job %d", jobID)); err != nil {
			return err
		}
		if err := k.pay(ctx, disputer, job.Dispute.Bond); err != nil {
			return err
		}
		if err := k.finishBid(ctx, job.Id, provider, client); err != nil {
			return err
		}
		if err := k.refundEscrow(ctx, &job); err != nil {
			return err
		}
		if err := k.reputation.Record(ctx, provider, reputationtypes.OUTCOME_DISPUTE_LOST); err != nil {
			return err
		}
		if err := k.setState(ctx, &job, types.JOB_STATE_FAILED, "dispute lost by the provider"); err != nil {
			return err
		}
	} else {
		if err := k.pay(ctx, provider, job.Dispute.Bond); err != nil {
			return err
		}
		if err := k.reputation.Record(ctx, provider, reputationtypes.OUTCOME_DISPUTE_WON); err != nil {
			return err
		}
		if err := k.settle(ctx, &job, "dispute won by the provider"); err != nil {
			return err
		}
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDisputeResolved{
		JobId: jobID, ProviderAtFault: providerAtFault, Resolver: resolver, Slashed: slashed,
	})
}
