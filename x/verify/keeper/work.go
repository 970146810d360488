package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/verify/types"
)

func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }

// OnWorkCommitted is the hook other modules call when a provider commits
// work (the market when a training lease's result is submitted, and for
// the inference requests each usage claim is paid for; the federated
// module for an update). It
// records a PENDING task and returns its id; the sample and the committee
// are drawn in the BeginBlocker of a later block, from that block's header
// hash, which the provider could not know when it committed. The caller
// must already have moved w.Fee into the verify module account.
func (k Keeper) OnWorkCommitted(ctx context.Context, w types.Work) (uint64, error) {
	return k.record(ctx, w, false, "")
}

// OpenDispute records work a client disputes (the market's Dispute): a
// challenge task, drawn like any other but with the larger dispute sample.
// Its verdict settles the dispute (MarketKeeper.OnVerified). The caller
// must already have moved w.Fee into the verify module account.
func (k Keeper) OpenDispute(ctx context.Context, disputer string, w types.Work) (uint64, error) {
	if _, err := k.addr("disputer", disputer); err != nil {
		return 0, err
	}
	return k.record(ctx, w, true, disputer)
}

// OpenChallenge re-verifies the work of a decided task with the dispute
// sample; challenger pays params.challenge_fee, which pays the committee.
// Anyone may challenge, within params.challenge_window_blocks of the
// decision (providers keep the evidence that long): the fee is the cost
// of asking.
func (k Keeper) OpenChallenge(ctx context.Context, challenger string, taskID uint64) (uint64, error) {
	who, err := k.addr("challenger", challenger)
	if err != nil {
		return 0, err
	}
	t, err := k.GetTask(ctx, taskID)
	if err != nil {
		return 0, err
	}
	if !t.State.Terminal() {
		return 0, fmt.Errorf("%w: task %d is %s; only a decided task can be challenged", types.ErrInvalidState, taskID, t.State)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, err
	}
	if w := params.ChallengeWindowBlocks; w > 0 && height(ctx) > t.DecidedHeight+w {
		return 0, fmt.Errorf("%w: task %d was decided at height %d; its challenge window closed at %d", types.ErrInvalidState,
			taskID, t.DecidedHeight, t.DecidedHeight+w)
	}
	w := t.Work
	w.Fee, w.FeePayer = params.ChallengeFee, challenger
	if params.ChallengeFee.IsPositive() {
		if err := k.bank.SendCoinsFromAccountToModule(ctx, who, types.ModuleName, sdk.NewCoins(params.ChallengeFee)); err != nil {
			return 0, err
		}
	}
	return k.record(ctx, w, true, challenger)
}

// record stores w as a PENDING task queued for the next block's draw.
func (k Keeper) record(ctx context.Context, w types.Work, challenge bool, challenger string) (uint64, error) {
	if err := w.Validate(k.addressCodec); err != nil {
		return 0, err
	}
	provider, err := k.addr("provider", w.Provider)
	if err != nil {
		return 0, err
	}
	id, err := k.NextTaskID.Next(ctx)
	if err != nil {
		return 0, err
	}
	h := height(ctx)
	t := types.Task{Id: id, Work: w, Challenge: challenge, Challenger: challenger, CommittedHeight: h,
		Slashed: sdk.NewInt64Coin(w.Fee.Denom, 0)}
	if w.JobId != 0 {
		if err := k.TasksByJob.Set(ctx, collections.Join(w.JobId, id)); err != nil {
			return 0, err
		}
	}
	if err := k.TasksByProvider.Set(ctx, collections.Join(provider, id)); err != nil {
		return 0, err
	}
	if err := k.PendingQueue.Set(ctx, collections.Join(h, id)); err != nil {
		return 0, err
	}
	if err := k.setState(ctx, &t, types.TASK_STATE_PENDING); err != nil {
		return 0, err
	}
	if err := k.updateStats(ctx, func(s *types.Stats) {
		if challenge {
			s.Challenges++
		} else if w.Kind == types.WORK_KIND_INFERENCE_CLAIM {
			s.RequestsCommitted += w.TotalSteps
		}
	}); err != nil {
		return 0, err
	}
	return id, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventWorkCommitted{
		TaskId: id, Kind: w.Kind, JobId: w.JobId, Provider: w.Provider, Challenge: challenge,
	})
}
