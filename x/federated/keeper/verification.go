package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// This file is the federated module's side of x/verify. A run whose spec
// sets verify_updates (opt-in; never with secure aggregation or client-level
// DP, RunSpec.Validate) has every update reported as committed work:
//
//   - JoinRun: each participant commits to its local examples, the Merkle
//     root of their leaves (data_root, 32 bytes) and their count
//     (data_size, 1 to types.MaxDataSize), stored on its Participant. In a
//     run that does not verify updates the commitment is ignored and not
//     stored: Participant.data_root and data_size are set exactly when the
//     run verifies updates.
//   - SubmitUpdate: the update trains on the committed shard, so its
//     sample_count must equal the participant's data_size; checkpoint_root
//     (32 bytes, MsgSubmitUpdate.ValidateFields) roots its local steps'
//     checkpoints. Once the update is recorded it is reported to x/verify
//     as WORK_KIND_FEDERATED_UPDATE (updateWork). A committee re-executes
//     sampled local steps from the checkpoints and the examples of those
//     steps' batches, which the participant reveals with Merkle proofs
//     against data_root.
//
// x/verify applies its verdict itself (slashing the participant's
// collateral, recording reputation); the round's aggregation does not wait
// for it.

// updateWork is the x/verify description of a verifying run's update msg,
// submitted by its participant in round (the current attempt, whose seed
// the local training drew from: RoundSeed). It started
// from the run's current global weights (InitialHash): the initial weights
// in round 1, then each finalised round's aggregate; a retried attempt
// trains from the same weights, since only finalisation moves them. It puts
// up no fee (a zero coin of the escrow's denom): the run's escrow pays the
// participants, not the committee, which verifies unpaid by the run, as it
// does the market's inference claims.
func updateWork(run types.Run, round types.Round, msg *types.MsgSubmitUpdate) verifytypes.Work {
	start := run.GlobalWeightsHash
	if len(start) == 0 {
		start = run.Spec.InitialWeightsHash
	}
	return verifytypes.Work{
		Kind: verifytypes.WORK_KIND_FEDERATED_UPDATE, RunId: run.Id, Round: msg.Round,
		Provider: msg.Participant, Client: run.Client,
		ResultHash: msg.Hash, CheckpointRoot: msg.CheckpointRoot, TotalSteps: uint64(run.Spec.LocalSteps),
		VerificationLevel: run.Spec.VerificationLevel, Location: msg.Location, InitialHash: start, RoundSeed: round.Seed,
		Fee: sdk.NewInt64Coin(run.Escrow.Denom, 0),
	}
}

// checkVerifiable fails with ErrInvalidUpdate unless msg, an update of a
// run that verifies updates by participant, can be reported: its
// sample_count is the participant's committed data_size and the work it
// describes is valid for x/verify. It writes nothing, so a refused update
// changes nothing. Runs that do not verify updates pass.
func (k Keeper) checkVerifiable(ctx context.Context, run types.Run, round types.Round, participant sdk.AccAddress, msg *types.MsgSubmitUpdate) error {
	if !run.Spec.VerifyUpdates {
		return nil
	}
	p, err := k.Participants.Get(ctx, collections.Join(run.Id, participant))
	if err != nil {
		return fmt.Errorf("%w: %s is not a participant of run %d", types.ErrNotSelected, msg.Participant, run.Id)
	}
	if p.DataSize == 0 {
		return fmt.Errorf("%w: %s made no data commitment when it joined run %d, which verifies updates", types.ErrInvalidUpdate, msg.Participant, run.Id)
	}
	if msg.SampleCount != p.DataSize {
		return fmt.Errorf("%w: sample_count %d is not the %d examples %s committed to when it joined run %d",
			types.ErrInvalidUpdate, msg.SampleCount, p.DataSize, msg.Participant, run.Id)
	}
	if err := updateWork(run, round, msg).Validate(k.addressCodec); err != nil {
		return fmt.Errorf("%w: cannot be verified: %v", types.ErrInvalidUpdate, err)
	}
	return nil
}

// reportUpdate reports a recorded update of a run that verifies updates to
// x/verify and returns the task id (0 when the run does not verify updates
// or no verification module is wired).
func (k Keeper) reportUpdate(ctx context.Context, run types.Run, round types.Round, msg *types.MsgSubmitUpdate) (uint64, error) {
	if !run.Spec.VerifyUpdates || k.verifier == nil || k.verifier.k == nil {
		return 0, nil
	}
	id, err := k.verifier.k.OnWorkCommitted(ctx, updateWork(run, round, msg))
	if err != nil {
		return 0, fmt.Errorf("reporting the update of %s in round %d of run %d to x/verify: %w", msg.Participant, msg.Round, run.Id, err)
	}
	return id, nil
}
