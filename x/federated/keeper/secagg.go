package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
)

// Secure aggregation on-chain. A collecting round of a
// PRIVACY_MODE_SECURE_AGGREGATION run goes through the steps of the
// pairwise-masking protocol (sidecar/secagg), each with its own deadline of
// the run's round_deadline_blocks:
//
//	ADVERTISE     every selected participant may send its public keys;
//	SHARE_KEYS    those that advertised send their encrypted shares;
//	MASKED_INPUT  those that shared submit their masked update (SubmitUpdate);
//	UNMASK        those that submitted send their unmasking shares;
//
// and then it goes to aggregation. A step ends early when everyone it
// waits for has sent; at its deadline it ends if at least the round's
// threshold T (types.SecAggThreshold) has sent, else the round is retried
// or the run fails (retryOrFail). The chain holds only each message's
// hash, size and location, so every validator unmasks the same set of
// messages; validators never see an individual update, only the sum of
// the masked ones.

// secAggRange is every message of one step of a round.
func secAggRange(runID uint64, round uint32, stage types.SecAggStage) *collections.Range[collections.Quad[uint64, uint32, int32, sdk.AccAddress]] {
	return collections.NewSuperPrefixedQuadRange3[uint64, uint32, int32, sdk.AccAddress](runID, round, int32(stage)).(*collections.Range[collections.Quad[uint64, uint32, int32, sdk.AccAddress]])
}

// hasSecAgg reports whether participant sent its message of stage.
func (k Keeper) hasSecAgg(ctx context.Context, runID uint64, round uint32, stage types.SecAggStage, p sdk.AccAddress) (bool, error) {
	return k.SecAgg.Has(ctx, collections.Join4(runID, round, int32(stage), p))
}

// SecAggMessages lists the messages of one step of a round, in the order
// of the round's selection.
func (k Keeper) SecAggMessages(ctx context.Context, round types.Round, stage types.SecAggStage) ([]types.SecAggMessage, error) {
	var out []types.SecAggMessage
	for _, s := range round.Selected {
		p, err := k.addr("participant", s)
		if err != nil {
			return nil, err
		}
		m, err := k.SecAgg.Get(ctx, collections.Join4(round.RunId, round.Number, int32(stage), p))
		if err == nil {
			out = append(out, m)
		} else if !isNotFound(err) {
			return nil, err
		}
	}
	return out, nil
}

// SubmitSecAggMessage records a participant's commitment to its message of
// the round's current secure-aggregation step, once, before the step's
// deadline. Only the participants that completed the previous step may
// send (every selected one for ADVERTISE). When everyone the step waits
// for has sent, the round moves to the next step.
func (k Keeper) SubmitSecAggMessage(ctx context.Context, msg *types.MsgSubmitSecAggMessage) error {
	participant, err := k.addr("participant", msg.Participant)
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := msg.ValidateFields(params); err != nil {
		return err
	}
	run, round, err := k.currentRound(ctx, msg.RunId, msg.Round)
	if err != nil {
		return err
	}
	if run.Spec.Privacy.Mode != types.PRIVACY_MODE_SECURE_AGGREGATION {
		return fmt.Errorf("%w: run %d does not use secure aggregation", types.ErrInvalidSecAgg, run.Id)
	}
	if round.SecaggStage != msg.Stage {
		return fmt.Errorf("%w: round %d of run %d is in step %s, not %s", types.ErrInvalidState, round.Number, run.Id, round.SecaggStage, msg.Stage)
	}
	if err := k.checkSelected(round, msg.Participant); err != nil {
		return err
	}
	if ok, err := k.tookPreviousStep(ctx, round, msg.Stage, participant); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("%w: %s did not complete the step before %s", types.ErrInvalidSecAgg, msg.Participant, msg.Stage)
	}
	key := collections.Join4(run.Id, round.Number, int32(msg.Stage), participant)
	if has, err := k.SecAgg.Has(ctx, key); err != nil {
		return err
	} else if has {
		return fmt.Errorf("%w: %s already sent its %s message", types.ErrInvalidSecAgg, msg.Participant, msg.Stage)
	}
	if err := k.SecAgg.Set(ctx, key, types.SecAggMessage{
		RunId: run.Id, Round: round.Number, Stage: msg.Stage, Participant: msg.Participant,
		Hash: msg.Hash, Size_: msg.Size_, Location: msg.Location, Height: height(ctx),
	}); err != nil {
		return err
	}
	round.SecaggCount++
	expected, err := k.secAggExpected(ctx, round)
	if err != nil {
		return err
	}
	if round.SecaggCount == expected {
		if retried, err := k.advanceSecAgg(ctx, &run, &round, params); err != nil || retried {
			return err
		}
	}
	return k.Rounds.Set(ctx, collections.Join(run.Id, round.Number), round)
}

// tookPreviousStep reports whether participant may send its message of
// stage: everyone selected may advertise, only advertisers share keys,
// only sharers submit a masked update, only submitters unmask.
func (k Keeper) tookPreviousStep(ctx context.Context, round types.Round, stage types.SecAggStage, p sdk.AccAddress) (bool, error) {
	switch stage {
	case types.SECAGG_STAGE_ADVERTISE:
		return true, nil
	case types.SECAGG_STAGE_UNMASK:
		return k.Updates.Has(ctx, collections.Join3(round.RunId, round.Number, p))
	default:
		return k.hasSecAgg(ctx, round.RunId, round.Number, stage-1, p)
	}
}

// secAggExpected is how many messages the round's current step waits for:
// one from each participant that completed the previous step.
func (k Keeper) secAggExpected(ctx context.Context, round types.Round) (uint32, error) {
	switch round.SecaggStage {
	case types.SECAGG_STAGE_ADVERTISE:
		return uint32(len(round.Selected)), nil
	case types.SECAGG_STAGE_UNMASK:
		return round.Submitted, nil
	default:
		var n uint32
		err := k.SecAgg.Walk(ctx, secAggRange(round.RunId, round.Number, round.SecaggStage-1),
			func(collections.Quad[uint64, uint32, int32, sdk.AccAddress], types.SecAggMessage) (bool, error) {
				n++
				return false, nil
			})
		return n, err
	}
}

// secAggSent is how many messages the round's current step has received.
func secAggSent(round types.Round) uint32 {
	if round.SecaggStage == types.SECAGG_STAGE_MASKED_INPUT {
		return round.Submitted
	}
	return round.SecaggCount
}

// advanceSecAgg ends the round's current step: with fewer than T messages
// the round is retried or the run fails; else it moves to the next step
// with a new deadline, and after UNMASK to aggregation. Leaving
// MASKED_INPUT records every selected participant without an update as
// missed. retried reports the first case, in which retryOrFail stored
// what it changed; otherwise the caller stores the round.
func (k Keeper) advanceSecAgg(ctx context.Context, run *types.Run, round *types.Round, params types.Params) (retried bool, err error) {
	if sent := secAggSent(*round); sent < round.SecaggThreshold {
		return true, k.retryOrFail(ctx, run, *round, params,
			fmt.Sprintf("secure aggregation step %s: %d of the %d participants it needs", round.SecaggStage, sent, round.SecaggThreshold))
	}
	if round.SecaggStage == types.SECAGG_STAGE_MASKED_INPUT {
		if err := k.recordMisses(ctx, *round); err != nil {
			return false, err
		}
	}
	if round.SecaggStage == types.SECAGG_STAGE_UNMASK {
		return false, k.toAggregating(ctx, round, params)
	}
	if err := k.DeadlineQueue.Remove(ctx, collections.Join(round.DeadlineHeight, round.RunId)); err != nil {
		return false, err
	}
	// sent ≥ T ≥ 2 here, so the next step waits for someone.
	round.SecaggStage++
	round.SecaggCount = 0
	round.DeadlineHeight = height(ctx) + run.Spec.RoundDeadlineBlocks
	return false, k.DeadlineQueue.Set(ctx, collections.Join(round.DeadlineHeight, round.RunId))
}

// secAggDeadline ends the current step of a secure-aggregation round whose
// deadline passed (see advanceSecAgg).
func (k Keeper) secAggDeadline(ctx context.Context, run *types.Run, round types.Round, params types.Params) error {
	if retried, err := k.advanceSecAgg(ctx, run, &round, params); err != nil || retried {
		return err
	}
	return k.Rounds.Set(ctx, collections.Join(run.Id, round.Number), round)
}
