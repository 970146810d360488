package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// VoucherVerifyGas is the gas a claim's voucher signature check costs
// (what x/auth charges for a secp256k1 signature).
const VoucherVerifyGas = 1000

// ClaimUsage claims a metered lease's usage with a voucher the client
// signed: msg.Voucher must be for this chain, this job and this provider,
// and msg.ClientSignature must verify against the client's account key.
// It records the voucher's cumulative units less what was claimed before
// as pending; the EndBlocker (settleUsage) pays it. A voucher covering
// nothing new is a replay, one beyond the units bought an over-claim; a
// paused lease takes no claims, since its provider must not serve until
// the client tops up (its vouchers keep: the next claim after the top-up
// covers them). The claim commits the receipts of the requests it is paid
// for (receipts_root, receipts, evidence_location), which x/verify samples
// (reportClaim). It returns the units newly claimed and the x/verify task.
func (k Keeper) ClaimUsage(ctx context.Context, msg *types.MsgClaimUsage) (units, taskID uint64, err error) {
	providerStr, jobID, v := msg.Provider, msg.JobId, msg.Voucher
	if err := validateReceiptCommitment(msg); err != nil {
		return 0, 0, err
	}
	job, err := k.GetJob(ctx, jobID)
	if err != nil {
		return 0, 0, err
	}
	if err := k.checkClaim(ctx, providerStr, &job); err != nil {
		return 0, 0, err
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	if v.ChainId != sdkCtx.ChainID() || v.JobId != jobID || v.Provider != providerStr {
		return 0, 0, fmt.Errorf("%w: voucher is for chain %q job %d provider %s, not chain %q job %d provider %s", types.ErrInvalidVoucher,
			v.ChainId, v.JobId, v.Provider, sdkCtx.ChainID(), jobID, providerStr)
	}
	client, err := k.addr(job.Client)
	if err != nil {
		return 0, 0, err
	}
	if err := types.VerifyVoucher(v, msg.ClientSignature, k.signerKey(ctx, client, "voucher signature")); err != nil {
		return 0, 0, err
	}
	l := job.Lease
	claimed := l.SettledUnits + l.PendingUnits
	if v.CumulativeUnits <= claimed {
		return 0, 0, fmt.Errorf("%w: voucher for %d units, %d claimed already", types.ErrReplayedVoucher, v.CumulativeUnits, claimed)
	}
	if v.CumulativeUnits > job.Units {
		return 0, 0, fmt.Errorf("%w: voucher for %d units, job %d bought %d", types.ErrInvalidAmount, v.CumulativeUnits, jobID, job.Units)
	}
	units = v.CumulativeUnits - claimed
	if taskID, err = k.reportClaim(ctx, &job, msg); err != nil {
		return 0, 0, err
	}
	return units, taskID, k.claimUnits(ctx, providerStr, &job, units, msg.Receipts, taskID)
}

// validateReceiptCommitment checks the form of a claim's receipt
// commitment: every claim commits at least one receipt, by a 32-byte root,
// with a location to fetch them from.
func validateReceiptCommitment(msg *types.MsgClaimUsage) error {
	switch {
	case len(msg.ReceiptsRoot) != 32:
		return fmt.Errorf("%w: receipts_root must be 32 bytes, got %d", types.ErrInvalidReceipt, len(msg.ReceiptsRoot))
	case msg.Receipts == 0 || msg.Receipts > verifytypes.MaxTotalSteps:
		return fmt.Errorf("%w: receipts must be 1 to %d", types.ErrInvalidReceipt, uint64(verifytypes.MaxTotalSteps))
	case msg.EvidenceLocation == "" || len(msg.EvidenceLocation) > verifytypes.MaxLocationLen:
		return fmt.Errorf("%w: evidence_location must be 1 to %d bytes", types.ErrInvalidReceipt, verifytypes.MaxLocationLen)
	}
	return nil
}

// signerKey charges the gas of one signature check (VoucherVerifyGas, as
// what) and returns addr's account public key: nil when the account has
// none on chain, which no signature verifies against.
func (k Keeper) signerKey(ctx context.Context, addr sdk.AccAddress, what string) cryptotypes.PubKey {
	sdk.UnwrapSDKContext(ctx).GasMeter().ConsumeGas(VoucherVerifyGas, what)
	if acc := k.accounts.GetAccount(ctx, addr); acc != nil {
		return acc.GetPubKey()
	}
	return nil
}

// checkClaim checks that job is a leased metered job of provider.
func (k Keeper) checkClaim(_ context.Context, providerStr string, job *types.Job) error {
	if job.Lease == nil || job.Lease.Provider != providerStr {
		return fmt.Errorf("%w: only the lease holder may claim usage of job %d", types.ErrUnauthorized, job.Id)
	}
	if !job.Kind.Metered() {
		return fmt.Errorf("%w: job %d is paid on its result, not by usage", types.ErrInvalidState, job.Id)
	}
	if job.State != types.JOB_STATE_LEASED {
		return fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, job.Id, job.State)
	}
	return nil
}

// claimUnits records units of a leased metered job as pending payment and
// queues the job for the EndBlocker; receipts and taskID are what the claim
// committed and the x/verify task that may check them (for the event).
func (k Keeper) claimUnits(ctx context.Context, providerStr string, job *types.Job, units, receipts, taskID uint64) error {
	l := job.Lease
	if units == 0 || units > job.Units-l.SettledUnits-l.PendingUnits {
		return fmt.Errorf("%w: %d units claimed, %d of %d left", types.ErrInvalidAmount, units, job.Units-l.SettledUnits-l.PendingUnits, job.Units)
	}
	l.PendingUnits += units
	if err := k.Jobs.Set(ctx, job.Id, *job); err != nil {
		return err
	}
	if err := k.UsageQueue.Set(ctx, collections.Join(height(ctx), job.Id)); err != nil {
		return err
	}
	if err := k.heartbeat(ctx, providerStr); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventUsageClaimed{JobId: job.Id, Provider: providerStr, Units: units, PendingUnits: l.PendingUnits,
		Receipts: receipts, VerifyTaskId: taskID})
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

// UnitCost is what one unit of a metered lease takes from escrow: the
// lease price plus the licence price (when the job pays one).
func UnitCost(job *types.Job) sdkmath.Int {
	c := job.Lease.Price.Amount
	if !job.LicencePrice.IsNil() && job.LicencePrice.IsPositive() {
		c = c.Add(job.LicencePrice.Amount)
	}
	return c
}

// payMetered pays units of a metered lease from escrow: the lease price
// to the provider less the protocol fee (to the fee collector), and the
// licence price to the model owner. It returns the provider's share, the
// fee and the licence.
func (k Keeper) payMetered(ctx context.Context, job *types.Job, units uint64) (earned, fee, licence sdk.Coin, err error) {
	zero := sdk.NewInt64Coin(job.Escrow.Denom, 0)
	earned, fee, licence = zero, zero, zero
	if units == 0 {
		return
	}
	if !job.LicencePrice.IsNil() && job.LicencePrice.IsPositive() {
		amt, err := types.Cost(job.LicencePrice.Amount, units)
		if err != nil {
			return zero, zero, zero, err
		}
		licence = sdk.NewCoin(job.Escrow.Denom, amt)
		if job.Escrow.IsLT(licence) {
			return zero, zero, zero, fmt.Errorf("%w: job %d escrow %s below the licence %s", types.ErrInvalidState, job.Id, job.Escrow, licence)
		}
		owner, err := k.addr(job.LicenceOwner)
		if err != nil {
			return zero, zero, zero, err
		}
		if err := k.pay(ctx, owner, licence); err != nil {
			return zero, zero, zero, err
		}
		job.Escrow = job.Escrow.Sub(licence)
		if job.LicencePaid.IsNil() || job.LicencePaid.Denom == "" {
			job.LicencePaid = zero
		}
		job.LicencePaid = job.LicencePaid.Add(licence)
	}
	earned, fee, err = k.payUnits(ctx, job, units)
	return earned, fee, licence, err
}

// settleUsage pays a metered lease's pending claims, as far as its escrow
// covers whole units (lease price plus licence price each). Claims left
// unpaid pause the lease; paying them all resumes it; paying the last unit
// of the job completes it.
func (k Keeper) settleUsage(ctx context.Context, job *types.Job) error {
	l := job.Lease
	payable := l.PendingUnits
	if unit := UnitCost(job); unit.IsPositive() {
		if affordable := job.Escrow.Amount.Quo(unit); affordable.IsUint64() && affordable.Uint64() < payable {
			payable = affordable.Uint64()
		}
	}
	earned, fee, licence, err := k.payMetered(ctx, job, payable)
	if err != nil {
		return err
	}
	l.PendingUnits -= payable
	l.SettledUnits += payable
	if payable > 0 {
		if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSettled{
			JobId: job.Id, Provider: l.Provider, Paid: earned, Fee: fee, Refunded: sdk.NewInt64Coin(job.Escrow.Denom, 0),
			Licence: licence, LicenceOwner: job.LicenceOwner,
		}); err != nil {
			return err
		}
	}
	switch {
	case l.SettledUnits == job.Units:
		zero := sdk.NewInt64Coin(job.Escrow.Denom, 0)
		return k.complete(ctx, job, zero, zero, "all units served and paid")
	case l.PendingUnits > 0 && job.State != types.JOB_STATE_PAUSED:
		return k.setState(ctx, job, types.JOB_STATE_PAUSED, fmt.Sprintf("out of funds: escrow does not cover the claimed usage; top up job %d to resume", job.Id))
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
