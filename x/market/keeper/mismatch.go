package keeper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// ReportMismatch opens an x/verify challenge against an inference output:
// msg.Receipt, signed by its provider (checked against the provider's
// account key), says the provider computed output_hash from the input
// whose blob (sha256 input_hash) is at msg.InputLocation, on a request
// paid on job receipt.job_id, which the provider holds the lease of. The
// reporter pays the verifier fee. The task's work is of kind
// WORK_KIND_INFERENCE with result_hash the output hash the provider
// signed, checkpoint_root the input hash (inference work has no
// checkpoints), location the input blob and total_steps the rows; the
// committee re-runs the job's model version on the input
// (sidecar/daemon reexecuteInference), and a FAIL slashes the provider.
// A receipt is reported at most once.
func (k Keeper) ReportMismatch(ctx context.Context, msg *types.MsgReportMismatch) (uint64, error) {
	reporter, err := k.addr(msg.Reporter)
	if err != nil {
		return 0, err
	}
	if k.verifier.k == nil {
		return 0, fmt.Errorf("%w: no verification module is wired", types.ErrInvalidState)
	}
	rc := msg.Receipt
	if err := rc.Validate(); err != nil {
		return 0, err
	}
	if msg.InputLocation == "" || len(msg.InputLocation) > verifytypes.MaxLocationLen {
		return 0, fmt.Errorf("%w: input_location must be 1 to %d bytes", types.ErrInvalidReceipt, verifytypes.MaxLocationLen)
	}
	if msg.OtherOutputHash == rc.OutputHash {
		return 0, fmt.Errorf("%w: the other output is the same", types.ErrInvalidReceipt)
	}
	job, err := k.GetJob(ctx, rc.JobId)
	if err != nil {
		return 0, err
	}
	switch {
	case job.Kind != types.JOB_KIND_INFERENCE || job.Lease == nil:
		return 0, fmt.Errorf("%w: job %d is not a leased inference job", types.ErrInvalidState, job.Id)
	case job.Lease.Provider != rc.Provider:
		return 0, fmt.Errorf("%w: the receipt's provider %s does not hold job %d's lease", types.ErrInvalidReceipt, rc.Provider, job.Id)
	case job.Client != rc.Client:
		return 0, fmt.Errorf("%w: the receipt's client %s is not job %d's", types.ErrInvalidReceipt, rc.Client, job.Id)
	case job.Spec.ModelId != strconv.FormatUint(rc.ModelId, 10) || job.Spec.ModelVersion != strconv.FormatUint(rc.VersionNumber, 10):
		return 0, fmt.Errorf("%w: the receipt is for model %d/%d, job %d for %s/%s", types.ErrInvalidReceipt,
			rc.ModelId, rc.VersionNumber, job.Id, job.Spec.ModelId, job.Spec.ModelVersion)
	}
	provider, err := k.addr(rc.Provider)
	if err != nil {
		return 0, err
	}
	pub := k.signerKey(ctx, provider, "receipt signature")
	signBytes := types.ReceiptSignBytes(&rc)
	if rc.Algo != "secp256k1" || pub == nil || !pub.VerifySignature(signBytes, msg.Signature) {
		return 0, fmt.Errorf("%w: the receipt's signature does not verify against the provider's account key", types.ErrInvalidReceipt)
	}
	digest := sha256.Sum256(signBytes)
	if has, err := k.ReportedReceipts.Has(ctx, digest[:]); err != nil {
		return 0, err
	} else if has {
		return 0, fmt.Errorf("%w: this receipt was reported already", types.ErrInvalidReceipt)
	}
	if err := k.ReportedReceipts.Set(ctx, digest[:]); err != nil {
		return 0, err
	}
	fee, err := k.verifier.k.VerifierFee(ctx)
	if err != nil {
		return 0, err
	}
	if fee.IsNil() || fee.Denom == "" {
		fee = sdk.NewInt64Coin(job.Escrow.Denom, 0)
	}
	if fee.IsPositive() {
		if err := k.bank.SendCoinsFromAccountToModule(ctx, reporter, verifytypes.ModuleName, sdk.NewCoins(fee)); err != nil {
			return 0, err
		}
	}
	in, _ := hex.DecodeString(rc.InputHash)
	out, _ := hex.DecodeString(rc.OutputHash)
	id, err := k.verifier.k.OpenDispute(ctx, msg.Reporter, verifytypes.Work{
		Kind: verifytypes.WORK_KIND_INFERENCE, JobId: job.Id, Provider: rc.Provider, Client: job.Client,
		ResultHash: out, CheckpointRoot: in, TotalSteps: rc.Units, VerificationLevel: job.VerificationLevel,
		Location: msg.InputLocation, Fee: fee, FeePayer: msg.Reporter,
	})
	if err != nil {
		return 0, err
	}
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventMismatchReported{
		JobId: job.Id, Provider: rc.Provider, Reporter: msg.Reporter, RequestId: rc.RequestId,
		InputHash: rc.InputHash, OutputHash: rc.OutputHash, VerifyTaskId: id,
	})
}
