package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// MaxReasonLen bounds a dispute's reason.
const MaxReasonLen = 512

// Dispute challenges a submitted training result within its challenge
// window; the disputer (the client, or anyone) puts up the dispute bond.
// x/verify opens a challenge task that re-executes the job with its larger
// dispute sample (the whole job when it is short), paid out of the bond
// (up to x/verify's verifier fee); its verdict settles the dispute
// (OnVerified). The result does not settle until then. It returns the
// task id.
func (k Keeper) Dispute(ctx context.Context, disputerStr string, jobID uint64, reason string) (uint64, error) {
	disputer, err := k.addr(disputerStr)
	if err != nil {
		return 0, err
	}
	if len(reason) > MaxReasonLen {
		return 0, fmt.Errorf("%w: reason longer than %d bytes", types.ErrInvalidJob, MaxReasonLen)
	}
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return 0, err
	}
	if job.State != types.JOB_STATE_SUBMITTED {
		return 0, fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, jobID, job.State)
	}
	if height(ctx) > job.Lease.ChallengeEndsHeight {
		return 0, fmt.Errorf("%w: the challenge window of job %d ended at %d", types.ErrWindowClosed, jobID, job.Lease.ChallengeEndsHeight)
	}
	if disputerStr == job.Lease.Provider {
		return 0, fmt.Errorf("%w: a provider cannot dispute its own result", types.ErrUnauthorized)
	}
	if job.Kind != types.JOB_KIND_TRAINING {
		return 0, fmt.Errorf("%w: only training results can be disputed: x/verify re-executes training steps", types.ErrInvalidState)
	}
	if k.verifier.k == nil {
		return 0, fmt.Errorf("%w: no verifier is wired to decide disputes", types.ErrInvalidState)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, disputer, types.ModuleName, sdk.NewCoins(params.DisputeBond)); err != nil {
		return 0, err
	}
	if err := k.SettlementQueue.Remove(ctx, collections.Join(job.Lease.ChallengeEndsHeight, job.Id)); err != nil {
		return 0, err
	}
	job.Dispute = &types.Dispute{Disputer: disputerStr, Bond: params.DisputeBond, Reason: reason, OpenedHeight: height(ctx)}
	taskID, err := k.openDisputeTask(ctx, &job)
	if err != nil {
		return 0, err
	}
	if err := k.setState(ctx, &job, types.JOB_STATE_DISPUTED, "disputed"); err != nil {
		return 0, err
	}
	return taskID, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDisputeOpened{JobId: jobID, Disputer: disputerStr, Reason: reason})
}

// resolveDispute settles a dispute by a verification verdict (or its
// absence). At fault (FAIL or UNAVAILABLE): the client gets the whole
// escrow and the provider's deposit, the disputer what is left of its
// bond; x/verify has already slashed the provider's collateral with the
// client as beneficiary. Not at fault (PASS): the lease settles as usual
// and the rest of the bond goes to the provider. The provider's reputation
// records the outcome once, in x/verify (a dispute won or lost). Undecided (the task
// expired): the lease settles as usual and the bond goes back to the
// disputer, since nobody was shown to be at fault.
func (k Keeper) resolveDispute(ctx context.Context, job *types.Job, taskID uint64, providerAtFault, undecided bool) error {
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
	switch {
	case providerAtFault:
		if err := k.pay(ctx, disputer, job.Dispute.Bond); err != nil {
			return err
		}
		if err := k.finishBid(ctx, job.Id, provider, client); err != nil {
			return err
		}
		if err := k.refundEscrow(ctx, job); err != nil {
			return err
		}
		if err := k.setState(ctx, job, types.JOB_STATE_FAILED, fmt.Sprintf("dispute lost by the provider (verification task %d)", taskID)); err != nil {
			return err
		}
	case undecided:
		if err := k.pay(ctx, disputer, job.Dispute.Bond); err != nil {
			return err
		}
		if err := k.settle(ctx, job, fmt.Sprintf("dispute undecided (verification task %d expired)", taskID)); err != nil {
			return err
		}
	default:
		if err := k.pay(ctx, provider, job.Dispute.Bond); err != nil {
			return err
		}
		if err := k.settle(ctx, job, fmt.Sprintf("dispute won by the provider (verification task %d)", taskID)); err != nil {
			return err
		}
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventDisputeResolved{
		JobId: job.Id, ProviderAtFault: providerAtFault, Resolver: "x/verify", Slashed: sdk.NewInt64Coin(job.Escrow.Denom, 0),
		VerifyTaskId: taskID, Undecided: undecided,
	})
}
