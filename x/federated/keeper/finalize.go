package keeper

import (
	"bytes"
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

// OnAgreement is the vote-extension handler of kind "federated-round": more
// than 2/3 of the validators' power attested result hash a.ResultHash for
// the round named by a.Subject (types.Subject). The hash commits to a
// RoundResult (new global weights and the accepted updates), which does not
// fit in an attestation; it is recorded on the round, and FinalizeRound
// (anyone may send it, normally a validator's sidecar) reveals the result
// and finalises the round.
func (k Keeper) OnAgreement(ctx sdk.Context, subject, resultHash []byte) error {
	runID, number, err := types.ParseSubject(subject)
	if err != nil {
		return err
	}
	run, err := k.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	if run.State != types.RUN_STATE_TRAINING || run.CurrentRound != number {
		return fmt.Errorf("%w: run %d is %s in round %d", types.ErrInvalidState, runID, run.State, run.CurrentRound)
	}
	round, err := k.GetRound(ctx, runID, number)
	if err != nil {
		return err
	}
	if round.State != types.ROUND_STATE_AGGREGATING {
		return fmt.Errorf("%w: round %d of run %d is %s", types.ErrInvalidState, number, runID, round.State)
	}
	if err := types.ValidateHash("result_hash", resultHash); err != nil {
		return fmt.Errorf("%w: %v", types.ErrInvalidResult, err)
	}
	if len(round.ResultHash) > 0 {
		// Validators may attest the same aggregate again until it is revealed.
		if bytes.Equal(round.ResultHash, resultHash) {
			return nil
		}
		return fmt.Errorf("%w: round %d of run %d already has another agreed result", types.ErrInvalidState, number, runID)
	}
	round.ResultHash = resultHash
	return k.Rounds.Set(ctx, collections.Join(runID, number), round)
}

// FinalizeRound reveals the result of a round whose hash validators agreed
// on: each accepted update's participant is paid the run's reward from
// escrow (less the protocol fee), the other updates are recorded as
// rejected, the new global weights are stored, and the next round opens or
// the run completes and its unspent escrow goes back to the client.
//
// Reputation: every participant with an accepted update is recorded
// OUTCOME_FEDERATED_UPDATE_ACCEPTED, every other update's participant
// OUTCOME_FEDERATED_UPDATE_REJECTED (the aggregation rule dropped it as an
// outlier). Invariant: a round is finalised entirely or not at all. Any
// error of x/reputation is returned, so the message fails and the SDK
// discards all of its writes (payouts, round state, the other outcomes);
// no reputation error is ignored.
//
// Privacy: for a client-dp run, the round is one more release
// (chargeRelease): run.dp_epsilon_spent becomes the ε of run.dp_releases.
// If the run has rounds left but one more round would spend more than
// privacy.epsilon,
// the run completes now, exactly as after its last round (refund of the
// unspent escrow, publication to the registry), with the reason
// "privacy budget spent after N rounds: ε=...".
func (k Keeper) FinalizeRound(ctx context.Context, sender string, res types.RoundResult) error {
	if _, err := k.addr("sender", sender); err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if err := res.Validate(params.MaxLocationLength); err != nil {
		return err
	}
	run, err := k.GetRun(ctx, res.RunId)
	if err != nil {
		return err
	}
	if run.State != types.RUN_STATE_TRAINING || run.CurrentRound != res.Round {
		return fmt.Errorf("%w: run %d is %s in round %d", types.ErrInvalidState, run.Id, run.State, run.CurrentRound)
	}
	round, err := k.GetRound(ctx, run.Id, res.Round)
	if err != nil {
		return err
	}
	if round.State != types.ROUND_STATE_AGGREGATING || len(round.ResultHash) == 0 {
		return fmt.Errorf("%w: round %d of run %d has no agreed result to finalise", types.ErrInvalidState, round.Number, run.Id)
	}
	if !bytes.Equal(res.ResultHash(), round.ResultHash) {
		return fmt.Errorf("%w: round %d of run %d", types.ErrResultMismatch, round.Number, run.Id)
	}
	var updates []types.Update
	if err := k.Updates.Walk(ctx, collections.NewSuperPrefixedTripleRange[uint64, uint32, sdk.AccAddress](run.Id, round.Number),
		func(_ collections.Triple[uint64, uint32, sdk.AccAddress], u types.Update) (bool, error) {
			updates = append(updates, u)
			return false, nil
		}); err != nil {
		return err
	}
	byHash := map[string]types.Update{}
	for _, u := range updates {
		byHash[string(u.Hash)] = u
	}
	accepted := map[string]bool{}
	for _, h := range res.AcceptedUpdates {
		if _, ok := byHash[string(h)]; !ok {
			return fmt.Errorf("%w: %X", types.ErrUnknownUpdate, h)
		}
		accepted[string(h)] = true
	}
	for _, h := range res.AcceptedUpdates {
		u := byHash[string(h)]
		p, err := k.addr("participant", u.Participant)
		if err != nil {
			return err
		}
		if err := k.payReward(ctx, &run, p, params); err != nil {
			return err
		}
		pk := collections.Join(run.Id, p)
		part, err := k.Participants.Get(ctx, pk)
		if err != nil {
			return err
		}
		part.AcceptedUpdates++
		if err := k.Participants.Set(ctx, pk, part); err != nil {
			return err
		}
		if err := k.recordOutcome(ctx, p, reputationtypes.OUTCOME_FEDERATED_UPDATE_ACCEPTED); err != nil {
			return err
		}
	}
	round.AcceptedUpdates = res.AcceptedUpdates
	round.RejectedUpdates = nil
	for _, u := range updates {
		if !accepted[string(u.Hash)] {
			round.RejectedUpdates = append(round.RejectedUpdates, u.Hash)
			p, err := k.addr("participant", u.Participant)
			if err != nil {
				return err
			}
			if err := k.recordOutcome(ctx, p, reputationtypes.OUTCOME_FEDERATED_UPDATE_REJECTED); err != nil {
				return err
			}
		}
	}
	round.State = types.ROUND_STATE_FINALISED
	round.NewWeightsHash = res.NewWeightsHash
	round.NewWeightsLocation = res.NewWeightsLocation
	if err := k.DeadlineQueue.Remove(ctx, collections.Join(round.DeadlineHeight, run.Id)); err != nil {
		return err
	}
	if err := k.Rounds.Set(ctx, collections.Join(run.Id, round.Number), round); err != nil {
		return err
	}
	run.GlobalWeightsHash = res.NewWeightsHash
	run.GlobalWeightsLocation = res.NewWeightsLocation
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventRoundFinalised{
		RunId: run.Id, Round: round.Number, NewWeightsHash: res.NewWeightsHash,
		Accepted: uint32(len(round.AcceptedUpdates)), Rejected: uint32(len(round.RejectedUpdates)),
	}); err != nil {
		return err
	}
	dp := run.Spec.Privacy.Mode == types.PRIVACY_MODE_CLIENT_DP
	if dp {
		if err := chargeRelease(&run); err != nil {
			return err
		}
	}
	if round.Number == run.Spec.Rounds {
		return k.complete(ctx, &run, fmt.Sprintf("%d rounds finalised", round.Number))
	}
	if dp {
		ok, _, err := run.Spec.Privacy.CanAfford(run.DpReleases + 1)
		if err != nil {
			return err
		}
		if !ok {
			return k.complete(ctx, &run, fmt.Sprintf("privacy budget spent after %d rounds (%d releases): ε=%s", round.Number, run.DpReleases, run.DpEpsilonSpent))
		}
	}
	if err := k.Runs.Set(ctx, run.Id, run); err != nil {
		return err
	}
	return k.startRound(ctx, &run, round.Number+1, 0, params)
}

// complete ends a training run whose last round was just finalised (its
// last planned round, or the last its privacy budget pays for): the
// unspent escrow goes back to the client, the final weights are published
// to the registry when the run names a registry model, and the run is
// COMPLETED with reason (plus the publication note).
func (k Keeper) complete(ctx context.Context, run *types.Run, reason string) error {
	if _, err := k.refund(ctx, run); err != nil {
		return err
	}
	if note, err := k.publish(ctx, run); err != nil {
		return err
	} else if note != "" {
		reason += "; " + note
	}
	return k.setRunState(ctx, run, types.RUN_STATE_COMPLETED, reason)
}

// recordOutcome reports a federated outcome of participant to x/reputation
// (nothing when the keeper has none). Its error is always returned: the
// caller's message, or EndBlocker item (run in its own cache context),
// then fails as a whole, so no round is half finalised or half expired.
func (k Keeper) recordOutcome(ctx context.Context, participant sdk.AccAddress, outcome reputationtypes.Outcome) error {
	if k.reputation == nil {
		return nil
	}
	if err := k.reputation.Record(ctx, participant, outcome); err != nil {
		return fmt.Errorf("recording %s for %s: %w", outcome, k.str(participant), err)
	}
	return nil
}

// publish records a completed run's final global weights as the next
// version of its registry model (spec.model.registry_model_id), with the
// run as provenance and the run's starting version as parent. A refusal by
// the registry (frozen model, client not the owner, bad location...) does
// not stop the run from completing: it is written in a cache context that
// is dropped, reported in EventRunPublished and returned as a note for the
// run's end reason. Only errors of the event manager are returned.
func (k Keeper) publish(ctx context.Context, run *types.Run) (string, error) {
	m := run.Spec.Model
	if m.RegistryModelId == 0 || k.registry == nil {
		return "", nil
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	cache, write := sdkCtx.CacheContext()
	version, err := k.registry.PublishFromRun(cache, run.Client, m.RegistryModelId, run.Id, run.GlobalWeightsHash, run.GlobalWeightsLocation, m.RegistryVersion)
	ev := &types.EventRunPublished{RunId: run.Id, ModelId: m.RegistryModelId, WeightsHash: run.GlobalWeightsHash}
	var note string
	if err != nil {
		ev.Error = err.Error()
		note = fmt.Sprintf("not published to registry model %d: %v", m.RegistryModelId, err)
	} else {
		write() // also carries the registry's events over to ctx
		run.PublishedVersion = version
		ev.Version = version
		note = fmt.Sprintf("published as registry model %d version %d", m.RegistryModelId, version)
	}
	return note, sdkCtx.EventManager().EmitTypedEvent(ev)
}

// chargeRelease counts one more release of a client-dp run's noised
// updates and sets its ε spent to that of run.dp_releases releases.
func chargeRelease(run *types.Run) error {
	eps, err := run.Spec.Privacy.EpsilonAfterRounds(run.DpReleases + 1)
	if err != nil {
		return err
	}
	run.DpReleases++
	run.DpEpsilonSpent = eps.String()
	return nil
}
