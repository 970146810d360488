package keeper

import (
	"context"
	"fmt"
	"strconv"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// CreateJob validates msg, escrows the budget from the client and opens
// the job for bids until the end of the bidding window.
func (k Keeper) CreateJob(ctx context.Context, msg *types.MsgCreateJob) (uint64, error) {
	client, err := k.addr(msg.Client)
	if err != nil {
		return 0, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	if _, ok := types.JobKind_name[int32(msg.Kind)]; !ok || msg.Kind == types.JOB_KIND_UNSPECIFIED {
		return 0, fmt.Errorf("%w: kind %d", types.ErrInvalidJob, msg.Kind)
	}
	if err := msg.Spec.Validate(msg.Kind); err != nil {
		return 0, err
	}
	if msg.Units == 0 || msg.Units > types.MaxUnits {
		return 0, fmt.Errorf("%w: units must be 1 to %d", types.ErrInvalidJob, uint64(types.MaxUnits))
	}
	if msg.VerificationLevel > types.MaxVerifyLevel {
		return 0, fmt.Errorf("%w: verification_level is a percentage (0-100)", types.ErrInvalidJob)
	}
	if msg.DeadlineBlocks <= params.BiddingWindowBlocks || msg.DeadlineBlocks > params.MaxDeadlineBlocks {
		return 0, fmt.Errorf("%w: deadline_blocks must be after the bidding window (%d) and at most %d", types.ErrInvalidJob, params.BiddingWindowBlocks, params.MaxDeadlineBlocks)
	}
	for name, c := range map[string]sdk.Coin{"max_price": msg.MaxPrice, "budget": msg.Budget} {
		if err := c.Validate(); err != nil || !c.IsPositive() {
			return 0, fmt.Errorf("%w: %s must be a positive amount", types.ErrInvalidAmount, name)
		}
	}
	if msg.Budget.Denom != msg.MaxPrice.Denom || msg.Budget.Denom != params.MinBidDeposit.Denom {
		return 0, fmt.Errorf("%w: budget and max_price must be in %s", types.ErrInvalidAmount, params.MinBidDeposit.Denom)
	}
	licence, owner, err := k.inferenceTerms(ctx, msg, client)
	if err != nil {
		return 0, err
	}
	// A result-based job escrows all it may cost up front; a metered job
	// needs at least one unit's worth (with its licence fee) and is topped
	// up as it is used.
	covered := msg.Units
	if msg.Kind.Metered() {
		covered = 1
	}
	unit := msg.MaxPrice.Amount.Add(licence.Amount)
	cost, err := types.Cost(unit, covered)
	if err != nil {
		return 0, err
	}
	if _, err := types.Cost(unit, msg.Units); err != nil {
		return 0, err
	}
	if msg.Budget.Amount.LT(cost) {
		return 0, fmt.Errorf("%w: %s < (%s + licence %s) * %d", types.ErrInsufficientFee, msg.Budget, msg.MaxPrice, licence, covered)
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, client, types.ModuleName, sdk.NewCoins(msg.Budget)); err != nil {
		return 0, err
	}

	id, err := k.NextJobID.Next(ctx)
	if err != nil {
		return 0, err
	}
	h := height(ctx)
	zero := sdk.NewInt64Coin(msg.Budget.Denom, 0)
	job := types.Job{
		Id: id, Client: msg.Client, Kind: msg.Kind, Spec: msg.Spec, Units: msg.Units, MaxPrice: msg.MaxPrice,
		Escrow: msg.Budget, DeadlineHeight: h + msg.DeadlineBlocks, VerificationLevel: msg.VerificationLevel,
		CreatedHeight: h, BiddingEndsHeight: h + params.BiddingWindowBlocks, Paid: zero, Refunded: zero,
		LicencePrice: licence, LicenceOwner: owner, LicencePaid: zero,
	}
	if err := k.JobsByClient.Set(ctx, collections.Join(client, id)); err != nil {
		return 0, err
	}
	if err := k.BiddingQueue.Set(ctx, collections.Join(job.BiddingEndsHeight, id)); err != nil {
		return 0, err
	}
	if err := k.setState(ctx, &job, types.JOB_STATE_OPEN, "created"); err != nil {
		return 0, err
	}
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventJobCreated{JobId: id, Client: msg.Client, Kind: msg.Kind, Escrow: msg.Budget})
}

// inferenceTerms checks, for an inference job when x/registry is wired,
// that the spec names a registry model version (model_id and
// model_version are its numbers) the client may use, and returns the
// licence price per inference (zero of the budget's denom when free) and
// the owner it is paid to.
func (k Keeper) inferenceTerms(ctx context.Context, msg *types.MsgCreateJob, client sdk.AccAddress) (sdk.Coin, string, error) {
	zero := sdk.NewInt64Coin(msg.Budget.Denom, 0)
	if msg.Kind != types.JOB_KIND_INFERENCE || k.registry.k == nil {
		return zero, "", nil
	}
	id, err1 := strconv.ParseUint(msg.Spec.ModelId, 10, 64)
	number, err2 := strconv.ParseUint(msg.Spec.ModelVersion, 10, 64)
	if err1 != nil || err2 != nil {
		return zero, "", fmt.Errorf("%w: an inference job names a registry model by its id and version number (model_id %q, model_version %q)",
			types.ErrInvalidJob, msg.Spec.ModelId, msg.Spec.ModelVersion)
	}
	ok, reason, price, owner, err := k.registry.k.InferenceTerms(ctx, id, number, client)
	if err != nil {
		return zero, "", err
	}
	if !ok {
		return zero, "", fmt.Errorf("%w: model %d version %d: %s", types.ErrLicence, id, number, reason)
	}
	if price.IsNil() || price.IsZero() {
		return zero, owner, nil
	}
	if price.Denom != msg.Budget.Denom {
		return zero, "", fmt.Errorf("%w: the licence is priced in %s, the budget in %s", types.ErrInvalidAmount, price.Denom, msg.Budget.Denom)
	}
	return price, owner, nil
}

// CancelJob ends a job that has no result yet: an open job closes its bids,
// a leased one returns the provider's deposit. A result-based lease has
// earned nothing yet, so the whole escrow goes back to the client; a
// metered lease is first paid the usage it claimed, as far as escrow covers.
func (k Keeper) CancelJob(ctx context.Context, clientStr string, id uint64) (sdk.Coin, error) {
	job, err := k.GetJob(ctx, id)
	if err != nil {
		return sdk.Coin{}, err
	}
	if job.Client != clientStr {
		return sdk.Coin{}, fmt.Errorf("%w: only the client may cancel job %d", types.ErrUnauthorized, id)
	}
	refund := job.Escrow
	switch job.State {
	case types.JOB_STATE_LEASED, types.JOB_STATE_PAUSED:
		if job.Kind.Metered() {
			if err := k.endMeteredLease(ctx, &job, types.JOB_STATE_CANCELLED, "cancelled by the client"); err != nil {
				return sdk.Coin{}, err
			}
			return job.Refunded, nil
		}
	}
	switch job.State {
	case types.JOB_STATE_OPEN:
		if err := k.closeOpenBids(ctx, id, ""); err != nil {
			return sdk.Coin{}, err
		}
	case types.JOB_STATE_LEASED:
		provider, err := k.addr(job.Lease.Provider)
		if err != nil {
			return sdk.Coin{}, err
		}
		if err := k.finishBid(ctx, id, provider, provider); err != nil {
			return sdk.Coin{}, err
		}
	default:
		return sdk.Coin{}, fmt.Errorf("%w: job %d is %s", types.ErrInvalidState, id, job.State)
	}
	if err := k.refundEscrow(ctx, &job); err != nil {
		return sdk.Coin{}, err
	}
	return refund, k.setState(ctx, &job, types.JOB_STATE_CANCELLED, "cancelled by the client")
}

// refundEscrow returns whatever the job still holds to the client.
func (k Keeper) refundEscrow(ctx context.Context, job *types.Job) error {
	client, err := k.addr(job.Client)
	if err != nil {
		return err
	}
	if err := k.pay(ctx, client, job.Escrow); err != nil {
		return err
	}
	job.Refunded = job.Refunded.Add(job.Escrow)
	job.Escrow = sdk.NewInt64Coin(job.Escrow.Denom, 0)
	return nil
}
