package keeper

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

// selectionSeed is the randomness a round's selection is drawn from: the
// hash of the current block's header and the app hash it commits to, bound
// to the run, round and attempt. Neither is known before the block is
// proposed; a proposer could still grind the header by reordering its own
// transactions, which a verifiable random beacon would close (x/verify).
func selectionSeed(ctx context.Context, runID uint64, round, attempt uint32) []byte {
	return blockSeed(ctx, "cohort/federated/selection/v1", runID, round, attempt)
}

// blockSeed is sha256(domain ‖ header hash ‖ app hash ‖ run ‖ round ‖
// attempt): randomness of the current block for one purpose of one round.
func blockSeed(ctx context.Context, domain string, runID uint64, round, attempt uint32) []byte {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	h := sha256.New()
	h.Write([]byte(domain))
	h.Write(sdkCtx.HeaderHash())
	h.Write(sdkCtx.BlockHeader().AppHash)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], runID)
	binary.BigEndian.PutUint32(b[8:12], round)
	binary.BigEndian.PutUint32(b[12:], attempt)
	h.Write(b[:])
	return h.Sum(nil)
}

// draw returns the i-th pseudo-random number of seed in [0, n).
func draw(seed []byte, i int, n uint64) uint64 {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	d := sha256.Sum256(append(append([]byte{}, seed...), b[:]...))
	return binary.BigEndian.Uint64(d[:8]) % n
}

// scoreUnit turns a reputation score in [0, 1] into an integer weight.
const scoreUnit = 1_000_000

// Select draws up to n of candidates without replacement, each draw with
// probability proportional to its weight. It is deterministic in its
// arguments; candidates must be in a canonical order.
func Select(seed []byte, candidates []sdk.AccAddress, weights []uint64, n int) []sdk.AccAddress {
	cs := append([]sdk.AccAddress{}, candidates...)
	ws := append([]uint64{}, weights...)
	var out []sdk.AccAddress
	for i := 0; i < n && len(cs) > 0; i++ {
		var total uint64
		for _, w := range ws {
			total += w
		}
		r := draw(seed, i, total)
		j := 0
		for ; j < len(ws)-1; j++ {
			if r < ws[j] {
				break
			}
			r -= ws[j]
		}
		out = append(out, cs[j])
		cs = append(cs[:j], cs[j+1:]...)
		ws = append(ws[:j], ws[j+1:]...)
	}
	return out
}

// weight is a provider's selection weight: its reputation score in
// millionths, plus one so that a new or low-scored provider still has a
// chance.
func (k Keeper) weight(ctx context.Context, p sdk.AccAddress) uint64 {
	if k.reputation == nil {
		return 1
	}
	s, err := k.reputation.Score(ctx, p)
	if err != nil || s.IsNil() || s.IsNegative() {
		return 1
	}
	if s.GT(sdkmath.LegacyOneDec()) {
		s = sdkmath.LegacyOneDec()
	}
	return s.MulInt64(scoreUnit).TruncateInt().Uint64() + 1
}

// startRound selects the participants of round number (attempt) of run and
// opens it for updates. Fewer eligible providers than the run's minimum
// fail the run.
func (k Keeper) startRound(ctx context.Context, run *types.Run, number, attempt uint32, params types.Params) error {
	var candidates []sdk.AccAddress
	var weights []uint64
	err := k.Participants.Walk(ctx, collections.NewPrefixedPairRange[uint64, sdk.AccAddress](run.Id),
		func(key collections.Pair[uint64, sdk.AccAddress], _ types.Participant) (bool, error) {
			p := key.K2()
			if k.providers.CanBid(ctx, p) == nil {
				candidates = append(candidates, p)
				weights = append(weights, k.weight(ctx, p))
			}
			return false, nil
		})
	if err != nil {
		return err
	}
	if uint32(len(candidates)) < run.Spec.MinParticipants {
		_, err := k.endRun(ctx, run, types.RUN_STATE_FAILED,
			fmt.Sprintf("round %d: %d eligible participants, the run needs %d", number, len(candidates), run.Spec.MinParticipants))
		return err
	}
	seed := selectionSeed(ctx, run.Id, number, attempt)
	chosen := Select(seed, candidates, weights, int(run.Spec.MaxParticipants))
	h := height(ctx)
	round := types.Round{
		RunId: run.Id, Number: number, Attempt: attempt, State: types.ROUND_STATE_COLLECTING, Seed: seed,
		StartHeight: h, DeadlineHeight: h + run.Spec.RoundDeadlineBlocks,
		Required: types.RequiredUpdates(uint32(len(chosen)), run.Spec.MinParticipants, params.QuorumFraction),
	}
	if run.Spec.Privacy.Mode == types.PRIVACY_MODE_SECURE_AGGREGATION {
		round.SecaggStage = types.SECAGG_STAGE_ADVERTISE
		round.SecaggThreshold = types.SecAggThreshold(uint32(len(chosen)))
		round.Required = max(round.Required, round.SecaggThreshold)
	}
	for _, c := range chosen {
		round.Selected = append(round.Selected, k.str(c))
	}
	if err := k.Rounds.Set(ctx, collections.Join(run.Id, number), round); err != nil {
		return err
	}
	if err := k.DeadlineQueue.Set(ctx, collections.Join(round.DeadlineHeight, run.Id)); err != nil {
		return err
	}
	from := run.State
	run.CurrentRound = number
	if from != types.RUN_STATE_TRAINING {
		if err := k.setRunState(ctx, run, types.RUN_STATE_TRAINING, fmt.Sprintf("round %d opened", number)); err != nil {
			return err
		}
	} else if err := k.Runs.Set(ctx, run.Id, *run); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRoundOpened{
		RunId: run.Id, Round: number, Attempt: attempt, Selected: round.Selected, DeadlineHeight: round.DeadlineHeight})
}

// SubmitUpdate records a selected participant's update commitment for the
// run's current round, once, before the round's deadline. When every
// selected participant has submitted, the round goes to aggregation. In a
// run that verifies updates, the update must cover the participant's
// committed examples (sample_count = data_size) and, once recorded, is
// reported to x/verify (verification.go); a refused update writes nothing.
func (k Keeper) SubmitUpdate(ctx context.Context, msg *types.MsgSubmitUpdate) error {
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
	if err := k.checkSelected(round, msg.Participant); err != nil {
		return err
	}
	if err := k.checkVerifiable(ctx, run, round, participant, msg); err != nil {
		return err
	}
	secagg := run.Spec.Privacy.Mode == types.PRIVACY_MODE_SECURE_AGGREGATION
	if secagg {
		// The update of a secure-aggregation round is the masked input of
		// a participant that shared its keys.
		if round.SecaggStage != types.SECAGG_STAGE_MASKED_INPUT {
			return fmt.Errorf("%w: round %d of run %d is in secure-aggregation step %s, not masked-input", types.ErrInvalidState, round.Number, run.Id, round.SecaggStage)
		}
		if ok, err := k.tookPreviousStep(ctx, round, types.SECAGG_STAGE_MASKED_INPUT, participant); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("%w: %s did not share its keys this round", types.ErrInvalidSecAgg, msg.Participant)
		}
	}
	h := height(ctx)
	key := collections.Join3(run.Id, round.Number, participant)
	if has, err := k.Updates.Has(ctx, key); err != nil {
		return err
	} else if has {
		return fmt.Errorf("%w: %s, round %d of run %d", types.ErrDuplicateUpdate, msg.Participant, round.Number, run.Id)
	}
	// A copied update is no work: an update hash counts once per round.
	dup := false
	err = k.Updates.Walk(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](run.Id, round.Number),
		func(_ collections.Triple[uint64, uint32, sdk.AccAddress], u types.Update) (bool, error) {
			dup = bytes.Equal(u.Hash, msg.Hash)
			return dup, nil
		})
	if err != nil {
		return err
	}
	if dup {
		return fmt.Errorf("%w: another participant already submitted hash %X", types.ErrDuplicateUpdate, msg.Hash)
	}
	if err := k.Updates.Set(ctx, key, types.Update{
		RunId: run.Id, Round: round.Number, Participant: msg.Participant, Hash: msg.Hash, Size_: msg.Size_,
		Location: msg.Location, SampleCount: msg.SampleCount, CheckpointRoot: msg.CheckpointRoot, Height: h,
	}); err != nil {
		return err
	}
	if _, err := k.reportUpdate(ctx, run, round, msg); err != nil {
		return err
	}
	round.Submitted++
	if secagg {
		sharers, err := k.secAggExpected(ctx, round)
		if err != nil {
			return err
		}
		if round.Submitted == sharers {
			if retried, err := k.advanceSecAgg(ctx, &run, &round, params); err != nil || retried {
				return err
			}
		}
	} else if round.Submitted == uint32(len(round.Selected)) {
		if err := k.toAggregating(ctx, &round, params); err != nil {
			return err
		}
	}
	return k.Rounds.Set(ctx, collections.Join(run.Id, round.Number), round)
}

// currentRound returns a training run and its round number, which must be
// the run's current round, collecting, before its deadline.
func (k Keeper) currentRound(ctx context.Context, runID uint64, number uint32) (types.Run, types.Round, error) {
	run, err := k.GetRun(ctx, runID)
	if err != nil {
		return run, types.Round{}, err
	}
	if run.State != types.RUN_STATE_TRAINING {
		return run, types.Round{}, fmt.Errorf("%w: run %d is %s", types.ErrInvalidState, run.Id, run.State)
	}
	if number != run.CurrentRound {
		return run, types.Round{}, fmt.Errorf("%w: run %d is in round %d, not %d", types.ErrWrongRound, run.Id, run.CurrentRound, number)
	}
	round, err := k.GetRound(ctx, run.Id, number)
	if err != nil {
		return run, round, err
	}
	if round.State != types.ROUND_STATE_COLLECTING {
		return run, round, fmt.Errorf("%w: round %d of run %d is %s", types.ErrInvalidState, round.Number, run.Id, round.State)
	}
	if h := height(ctx); h > round.DeadlineHeight {
		return run, round, fmt.Errorf("%w: round %d of run %d ended at height %d", types.ErrDeadlinePassed, round.Number, run.Id, round.DeadlineHeight)
	}
	return run, round, nil
}

// checkSelected fails unless participant was selected for round.
func (k Keeper) checkSelected(round types.Round, participant string) error {
	if !slices.Contains(round.Selected, participant) {
		return fmt.Errorf("%w: %s in round %d of run %d", types.ErrNotSelected, participant, round.Number, round.RunId)
	}
	return nil
}

// toAggregating moves a collecting round to aggregation with a new deadline
// and draws its committee (drawCommittee). The caller stores the round.
func (k Keeper) toAggregating(ctx context.Context, round *types.Round, params types.Params) error {
	if err := k.DeadlineQueue.Remove(ctx, collections.Join(round.DeadlineHeight, round.RunId)); err != nil {
		return err
	}
	round.State = types.ROUND_STATE_AGGREGATING
	round.DeadlineHeight = height(ctx) + params.AggregationTimeoutBlocks
	if err := k.drawCommittee(ctx, round, params); err != nil {
		return err
	}
	return k.DeadlineQueue.Set(ctx, collections.Join(round.DeadlineHeight, round.RunId))
}

// retryOrFail re-runs a round that missed its quorum or its aggregate with a
// new selection, up to max_round_retries times; then the run fails and its
// unspent escrow goes back to the client. Updates of the failed attempt are
// discarded and earn nothing; in a client-dp run they were published all
// the same, so an attempt with updates is charged to the privacy budget,
// and a run that cannot afford another attempt fails now.
func (k Keeper) retryOrFail(ctx context.Context, run *types.Run, round types.Round, params types.Params, why string) error {
	if err := k.DeadlineQueue.Remove(ctx, collections.Join(round.DeadlineHeight, run.Id)); err != nil {
		return err
	}
	exhausted := round.Attempt >= params.MaxRoundRetries
	if run.Spec.Privacy.Mode == types.PRIVACY_MODE_CLIENT_DP && round.Submitted > 0 {
		// The attempt's noised updates were published: they are charged
		// although the round did not finalise.
		if err := chargeRelease(run); err != nil {
			return err
		}
		if ok, _, err := run.Spec.Privacy.CanAfford(run.DpReleases + 1); err != nil {
			return err
		} else if !ok && !exhausted {
			why = fmt.Sprintf("%s; no privacy budget left for a retry (%d releases: ε=%s)", why, run.DpReleases, run.DpEpsilonSpent)
			exhausted = true
		}
	}
	if exhausted {
		round.State = types.ROUND_STATE_FAILED
		if err := k.Rounds.Set(ctx, collections.Join(run.Id, round.Number), round); err != nil {
			return err
		}
		if _, err := k.refund(ctx, run); err != nil {
			return err
		}
		return k.setRunState(ctx, run, types.RUN_STATE_FAILED,
			fmt.Sprintf("round %d failed after %d attempts: %s", round.Number, round.Attempt+1, why))
	}
	if err := k.Updates.Clear(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](run.Id, round.Number)); err != nil {
		return err
	}
	if err := k.SecAgg.Clear(ctx, collections.NewSuperPrefixedQuadRange[uint64, uint32, int32, sdk.AccAddress](run.Id, round.Number)); err != nil {
		return err
	}
	return k.startRound(ctx, run, round.Number, round.Attempt+1, params)
}

// EndBlocker opens the first round of runs whose join window ended, and
// retries or fails rounds whose collection or aggregation deadline passed.
// Each item runs in its own cache context: one that fails is logged and
// dropped from its queue (its client can still cancel the run), and never
// halts the chain.
func (k Keeper) EndBlocker(ctx context.Context) error {
	h := height(ctx)
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	for _, q := range []struct {
		queue collections.KeySet[collections.Pair[int64, uint64]]
		fn    func(context.Context, types.Run) error
	}{
		{k.JoinQueue, func(ctx context.Context, run types.Run) error { return k.joinWindowEnded(ctx, run, params) }},
		{k.DeadlineQueue, func(ctx context.Context, run types.Run) error { return k.roundDeadline(ctx, run, params) }},
	} {
		it, err := q.queue.Iterate(ctx, new(collections.Range[collections.Pair[int64, uint64]]).EndInclusive(collections.Join(h, ^uint64(0))))
		if err != nil {
			return err
		}
		keys, err := it.Keys()
		if err != nil {
			return err
		}
		for _, key := range keys {
			if err := q.queue.Remove(ctx, key); err != nil {
				return err
			}
			run, err := k.GetRun(ctx, key.K2())
			if err != nil {
				return err
			}
			sdkCtx := sdk.UnwrapSDKContext(ctx)
			cacheCtx, write := sdkCtx.CacheContext()
			if err := q.fn(cacheCtx, run); err != nil {
				sdkCtx.Logger().Error("federated queue item failed", "run", run.Id, "state", run.State, "err", err)
				continue
			}
			write()
		}
	}
	return nil
}

// joinWindowEnded opens the first round of an open run, or fails it when
// fewer than its minimum joined.
func (k Keeper) joinWindowEnded(ctx context.Context, run types.Run, params types.Params) error {
	if run.State != types.RUN_STATE_OPEN {
		return nil
	}
	if run.Joined < run.Spec.MinParticipants {
		return k.setClosed(ctx, &run, fmt.Sprintf("%d providers joined, the run needs %d", run.Joined, run.Spec.MinParticipants))
	}
	return k.startRound(ctx, &run, 1, 0, params)
}

// roundDeadline moves a collecting round with enough updates to
// aggregation, and retries (or fails) one without, or one whose aggregate
// did not come in time. When collection ends at the deadline, every
// selected participant without an update is recorded
// OUTCOME_FEDERATED_UPDATE_MISSED in x/reputation (recordMisses); a missed
// aggregation deadline is the validators' fault and records nothing.
func (k Keeper) roundDeadline(ctx context.Context, run types.Run, params types.Params) error {
	if run.State != types.RUN_STATE_TRAINING {
		return nil
	}
	round, err := k.GetRound(ctx, run.Id, run.CurrentRound)
	if err != nil {
		return err
	}
	if round.DeadlineHeight > height(ctx) {
		return nil // a stale queue entry
	}
	if round.State == types.ROUND_STATE_COLLECTING && round.SecaggStage != types.SECAGG_STAGE_UNSPECIFIED {
		return k.secAggDeadline(ctx, &run, round, params)
	}
	if round.State == types.ROUND_STATE_COLLECTING {
		if err := k.recordMisses(ctx, round); err != nil {
			return err
		}
	}
	switch {
	case round.State == types.ROUND_STATE_COLLECTING && round.Submitted >= round.Required:
		if err := k.toAggregating(ctx, &round, params); err != nil {
			return err
		}
		return k.Rounds.Set(ctx, collections.Join(run.Id, round.Number), round)
	case round.State == types.ROUND_STATE_COLLECTING:
		return k.retryOrFail(ctx, &run, round, params,
			fmt.Sprintf("%d of %d required updates by the deadline", round.Submitted, round.Required))
	case round.State == types.ROUND_STATE_AGGREGATING:
		return k.retryOrFail(ctx, &run, round, params, "no agreed aggregate before the aggregation timeout")
	}
	return nil
}

// recordMisses records OUTCOME_FEDERATED_UPDATE_MISSED for each selected
// participant of round (in selection order) that submitted no update. An
// error is returned, never ignored: the EndBlocker then drops the whole
// deadline item (its cache context), so the round is not half expired.
func (k Keeper) recordMisses(ctx context.Context, round types.Round) error {
	for _, s := range round.Selected {
		p, err := k.addr("participant", s)
		if err != nil {
			return err
		}
		has, err := k.Updates.Has(ctx, collections.Join3(round.RunId, round.Number, p))
		if err != nil {
			return err
		}
		if !has {
			if err := k.recordOutcome(ctx, p, reputationtypes.OUTCOME_FEDERATED_UPDATE_MISSED); err != nil {
				return err
			}
		}
	}
	return nil
}

// setClosed fails an open run whose join window ended without enough
// participants (its join queue entry is already gone).
func (k Keeper) setClosed(ctx context.Context, run *types.Run, reason string) error {
	if _, err := k.refund(ctx, run); err != nil {
		return err
	}
	return k.setRunState(ctx, run, types.RUN_STATE_FAILED, reason)
}
