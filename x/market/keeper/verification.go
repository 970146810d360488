package keeper

import (
	"context"
	"crypto/sha256"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// This file is the market's side of x/verify: a submitted training result
// is reported as committed work, a dispute opens a challenge task, and the
// verdicts come back through OnVerified.

// work is the x/verify description of job's submitted result, with fee
// put up by payer.
func (k Keeper) work(job *types.Job, fee sdk.Coin, payer string) verifytypes.Work {
	r := job.Lease.Result
	return verifytypes.Work{
		Kind: verifytypes.WORK_KIND_TRAINING_LEASE, JobId: job.Id, Provider: job.Lease.Provider, Client: job.Client,
		ResultHash: r.Hash, CheckpointRoot: r.CheckpointRoot, TotalSteps: r.TotalSteps,
		VerificationLevel: job.VerificationLevel, Location: r.Location, Fee: fee, FeePayer: payer,
	}
}

// feeFrom is the verifier fee, at most what available holds (of the same
// denom), moved from the market's module account to x/verify's.
func (k Keeper) feeFrom(ctx context.Context, available sdk.Coin) (sdk.Coin, error) {
	want, err := k.verifier.k.VerifierFee(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	fee := sdk.NewInt64Coin(available.Denom, 0)
	if want.Denom == available.Denom && want.IsPositive() && available.IsPositive() {
		fee.Amount = want.Amount
		if available.Amount.LT(fee.Amount) {
			fee.Amount = available.Amount
		}
	}
	if fee.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToModule(ctx, types.ModuleName, verifytypes.ModuleName, sdk.NewCoins(fee)); err != nil {
			return sdk.Coin{}, err
		}
	}
	return fee, nil
}

// reportResult reports a training lease's submitted result to x/verify,
// which checks every one. The client pays the verifier fee out of the
// escrow the lease does not need (budget beyond units x price); when there
// is none, the committee verifies unpaid by the job.
func (k Keeper) reportResult(ctx context.Context, job *types.Job) error {
	if k.verifier.k == nil || job.Kind != types.JOB_KIND_TRAINING {
		return nil
	}
	cost, err := types.Cost(job.Lease.Price.Amount, job.Units)
	if err != nil {
		return err
	}
	spare := sdk.NewInt64Coin(job.Escrow.Denom, 0)
	if job.Escrow.Amount.GT(cost) {
		spare.Amount = job.Escrow.Amount.Sub(cost)
	}
	fee, err := k.feeFrom(ctx, spare)
	if err != nil {
		return err
	}
	job.Escrow = job.Escrow.Sub(fee)
	id, err := k.verifier.k.OnWorkCommitted(ctx, k.work(job, fee, job.Client))
	if err != nil {
		return err
	}
	job.Lease.VerifyTaskId = id
	return nil
}

// reportClaim reports the requests a usage claim of an inference lease is
// paid for to x/verify as WORK_KIND_INFERENCE_CLAIM: the Merkle root and
// count of their signed receipts, served at the claim's evidence location.
// x/verify checks a sampled fraction of claims (inference_rate) and, in a
// checked one, re-executes sampled requests. A claim puts up no verifier
// fee: its units already pay the protocol fee to the fee collector, that
// is to the validators who check them, and taking a fee per claim out of
// a metered escrow would run it dry between top-ups. It returns the task
// id (0 when no verification module is wired).
func (k Keeper) reportClaim(ctx context.Context, job *types.Job, msg *types.MsgClaimUsage) (uint64, error) {
	if k.verifier.k == nil {
		return 0, nil
	}
	paid := sha256.Sum256(msg.Voucher.SignBytes())
	return k.verifier.k.OnWorkCommitted(ctx, verifytypes.Work{
		Kind: verifytypes.WORK_KIND_INFERENCE_CLAIM, JobId: job.Id, Provider: job.Lease.Provider, Client: job.Client,
		ResultHash: paid[:], CheckpointRoot: msg.ReceiptsRoot, TotalSteps: msg.Receipts,
		VerificationLevel: job.VerificationLevel, Location: msg.EvidenceLocation, Fee: sdk.NewInt64Coin(job.Escrow.Denom, 0),
	})
}

// openDisputeTask opens x/verify's challenge task for a disputed job; the
// disputer pays its fee out of the dispute bond.
func (k Keeper) openDisputeTask(ctx context.Context, job *types.Job) (uint64, error) {
	fee, err := k.feeFrom(ctx, job.Dispute.Bond)
	if err != nil {
		return 0, err
	}
	job.Dispute.Bond = job.Dispute.Bond.Sub(fee)
	id, err := k.verifier.k.OpenDispute(ctx, job.Dispute.Disputer, k.work(job, fee, job.Dispute.Disputer))
	if err != nil {
		return 0, err
	}
	job.Dispute.VerifyTaskId = id
	return id, nil
}

// OnVerified is how x/verify tells the market that task taskID on job
// jobID ended in state: a verdict (PASSED, FAILED, UNAVAILABLE) or none
// (EXPIRED).
//
//   - A disputed job whose challenge task this is: the verdict settles the
//     dispute (FAILED/UNAVAILABLE: provider at fault; PASSED: not; EXPIRED:
//     undecided).
//   - A submitted job, still in its challenge window, whose result this
//     task checked: FAILED or UNAVAILABLE fail the lease — the client gets
//     the escrow and the provider's deposit. Other verdicts let it settle.
//   - An inference lease still serving (LEASED or PAUSED) whose provider a
//     task on it found at fault (a sampled claim's re-execution, or a
//     reported request): the lease fails — the client gets the escrow and
//     the provider's deposit, and claims not paid yet are not paid.
//   - Anything else (the result settled already, an older task): nothing;
//     x/verify's slash paid the client part of the provider's collateral.
func (k Keeper) OnVerified(ctx context.Context, jobID, taskID uint64, state verifytypes.TaskState) error {
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	switch {
	case job.State == types.JOB_STATE_DISPUTED && job.Dispute != nil && job.Dispute.VerifyTaskId == taskID:
		return k.resolveDispute(ctx, &job, taskID, state.AgainstProvider(), state == verifytypes.TASK_STATE_EXPIRED)
	case job.State == types.JOB_STATE_SUBMITTED && job.Lease.VerifyTaskId == taskID && state.AgainstProvider():
		return k.failVerification(ctx, &job, taskID)
	case job.Kind == types.JOB_KIND_INFERENCE && job.Lease != nil && state.AgainstProvider() &&
		(job.State == types.JOB_STATE_LEASED || job.State == types.JOB_STATE_PAUSED):
		return k.failVerification(ctx, &job, taskID)
	case job.State == types.JOB_STATE_SUBMITTED && job.Lease.VerifyTaskId == taskID && height(ctx) > job.Lease.ChallengeEndsHeight:
		// The window ended while the check was undecided (awaitsVerdict):
		// a pass, or no verdict by the task's deadline, settles it now.
		return k.settle(ctx, &job, fmt.Sprintf("challenge window passed; verification task %d ended %s", taskID, state))
	}
	return nil
}

// awaitsVerdict reports whether job's submitted result is still being
// checked by its x/verify task (PENDING or OPEN). Settlement waits for the
// verdict then: OnVerified settles or fails the job when it comes.
func (k Keeper) awaitsVerdict(ctx context.Context, job *types.Job) (bool, error) {
	if k.verifier.k == nil || job.Lease == nil || job.Lease.Result == nil || job.Kind != types.JOB_KIND_TRAINING {
		return false, nil
	}
	t, err := k.verifier.k.GetTask(ctx, job.Lease.VerifyTaskId)
	if err != nil || t.Work.JobId != job.Id || t.Challenge {
		return false, nil // no routine check of this result
	}
	return t.State == verifytypes.TASK_STATE_PENDING || t.State == verifytypes.TASK_STATE_OPEN, nil
}

// failVerification ends a lease whose provider failed verification: a
// submitted training result before it settled, or an inference lease
// still serving. The client gets the escrow and the provider's deposit.
func (k Keeper) failVerification(ctx context.Context, job *types.Job, taskID uint64) error {
	provider, err := k.addr(job.Lease.Provider)
	if err != nil {
		return err
	}
	client, err := k.addr(job.Client)
	if err != nil {
		return err
	}
	if job.State == types.JOB_STATE_SUBMITTED {
		if err := k.SettlementQueue.Remove(ctx, collections.Join(job.Lease.ChallengeEndsHeight, job.Id)); err != nil {
			return err
		}
	}
	if err := k.finishBid(ctx, job.Id, provider, client); err != nil {
		return err
	}
	if err := k.refundEscrow(ctx, job); err != nil {
		return err
	}
	if err := k.setState(ctx, job, types.JOB_STATE_FAILED, fmt.Sprintf("result failed verification task %d", taskID)); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventResultFailedVerification{
		JobId: job.Id, VerifyTaskId: taskID, Provider: job.Lease.Provider,
	})
}
