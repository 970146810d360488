package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
)

// CreateRun validates the spec, escrows rounds × max_participants ×
// reward_per_update from the client and opens the run for joins. A
// client-dp spec whose ε budget cannot pay even one round is refused; an
// accepted one starts with dp_epsilon_spent 0.
func (k Keeper) CreateRun(ctx context.Context, msg *types.MsgCreateRun) (uint64, sdk.Coin, error) {
	client, err := k.addr("client", msg.Client)
	if err != nil {
		return 0, sdk.Coin{}, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return 0, sdk.Coin{}, err
	}
	if err := msg.Spec.Validate(params); err != nil {
		return 0, sdk.Coin{}, err
	}
	// A client-dp run must be able to pay at least one round's release
	// from its ε budget (types/privacy_budget.go).
	var epsSpent string
	if msg.Spec.Privacy.Mode == types.PRIVACY_MODE_CLIENT_DP {
		ok, eps, err := msg.Spec.Privacy.CanAfford(1)
		if err != nil {
			return 0, sdk.Coin{}, fmt.Errorf("%w: privacy: %v", types.ErrInvalidRun, err)
		}
		if !ok {
			return 0, sdk.Coin{}, fmt.Errorf("%w: privacy budget ε=%s cannot pay one round, which spends ε=%s at δ=%s and noise multiplier %s",
				types.ErrInvalidRun, msg.Spec.Privacy.Epsilon, eps, msg.Spec.Privacy.Delta, msg.Spec.Privacy.NoiseMultiplier)
		}
		epsSpent = sdkmath.LegacyZeroDec().String()
	}
	if m := msg.Spec.Model; m.RegistryModelId != 0 && k.registry != nil {
		if _, err := k.registry.GetVersion(ctx, m.RegistryModelId, m.RegistryVersion); err != nil {
			return 0, sdk.Coin{}, fmt.Errorf("%w: model: %v", types.ErrInvalidRun, err)
		}
		ok, why, err := k.registry.CanUse(ctx, m.RegistryModelId, m.RegistryVersion, client)
		if err != nil {
			return 0, sdk.Coin{}, fmt.Errorf("%w: model: %v", types.ErrInvalidRun, err)
		}
		if !ok {
			return 0, sdk.Coin{}, fmt.Errorf("%w: the client may not use model %d version %d: %s", types.ErrUnauthorized, m.RegistryModelId, m.RegistryVersion, why)
		}
	}
	amount, err := msg.Spec.Budget()
	if err != nil {
		return 0, sdk.Coin{}, err
	}
	budget := sdk.NewCoin(msg.Spec.RewardPerUpdate.Denom, amount)
	if err := k.bank.SendCoinsFromAccountToModule(ctx, client, types.ModuleName, sdk.NewCoins(budget)); err != nil {
		return 0, sdk.Coin{}, fmt.Errorf("escrowing %s: %w", budget, err)
	}
	id, err := k.NextRunID.Next(ctx)
	if err != nil {
		return 0, sdk.Coin{}, err
	}
	if id == 0 { // the sequence starts at 0; ids start at 1
		if id, err = k.NextRunID.Next(ctx); err != nil {
			return 0, sdk.Coin{}, err
		}
	}
	h := height(ctx)
	run := types.Run{
		Id: id, Client: msg.Client, Spec: msg.Spec, Escrow: budget, CreatedHeight: h,
		JoinDeadlineHeight: h + params.JoinWindowBlocks, Paid: sdk.NewCoin(budget.Denom, amount.MulRaw(0)),
		GlobalWeightsHash: msg.Spec.InitialWeightsHash, GlobalWeightsLocation: msg.Spec.InitialWeightsLocation,
		DpEpsilonSpent: epsSpent,
	}
	if err := k.JoinQueue.Set(ctx, collections.Join(run.JoinDeadlineHeight, id)); err != nil {
		return 0, sdk.Coin{}, err
	}
	if err := k.setRunState(ctx, &run, types.RUN_STATE_OPEN, "created"); err != nil {
		return 0, sdk.Coin{}, err
	}
	return id, budget, nil
}

// CancelRun ends an unfinished run at its client's request and refunds the
// unspent escrow. Rewards already paid stay paid.
func (k Keeper) CancelRun(ctx context.Context, clientStr string, id uint64) (sdk.Coin, error) {
	if _, err := k.addr("client", clientStr); err != nil {
		return sdk.Coin{}, err
	}
	run, err := k.GetRun(ctx, id)
	if err != nil {
		return sdk.Coin{}, err
	}
	if run.Client != clientStr {
		return sdk.Coin{}, fmt.Errorf("%w: only the client %s may cancel run %d", types.ErrUnauthorized, run.Client, id)
	}
	if run.State.Terminal() {
		return sdk.Coin{}, fmt.Errorf("%w: run %d is %s", types.ErrInvalidState, id, run.State)
	}
	return k.endRun(ctx, &run, types.RUN_STATE_CANCELLED, "cancelled by the client")
}

// endRun takes an unfinished run off the queues, refunds its escrow and
// moves it to state.
func (k Keeper) endRun(ctx context.Context, run *types.Run, state types.RunState, reason string) (sdk.Coin, error) {
	if err := k.unqueue(ctx, run); err != nil {
		return sdk.Coin{}, err
	}
	if run.CurrentRound > 0 {
		round, err := k.GetRound(ctx, run.Id, run.CurrentRound)
		if err != nil {
			return sdk.Coin{}, err
		}
		if round.State == types.ROUND_STATE_COLLECTING || round.State == types.ROUND_STATE_AGGREGATING {
			round.State = types.ROUND_STATE_FAILED
			if err := k.Rounds.Set(ctx, collections.Join(run.Id, round.Number), round); err != nil {
				return sdk.Coin{}, err
			}
		}
	}
	refunded, err := k.refund(ctx, run)
	if err != nil {
		return sdk.Coin{}, err
	}
	return refunded, k.setRunState(ctx, run, state, reason)
}

// unqueue removes the run's pending join-window or round deadline.
func (k Keeper) unqueue(ctx context.Context, run *types.Run) error {
	if run.State == types.RUN_STATE_OPEN {
		return k.JoinQueue.Remove(ctx, collections.Join(run.JoinDeadlineHeight, run.Id))
	}
	if run.CurrentRound == 0 {
		return nil
	}
	round, err := k.GetRound(ctx, run.Id, run.CurrentRound)
	if err != nil {
		return err
	}
	return k.DeadlineQueue.Remove(ctx, collections.Join(round.DeadlineHeight, run.Id))
}

// JoinRun adds msg's provider, registered, active and bonded, to an open
// run. A run that verifies updates requires the provider's data commitment
// (data_root and data_size, types.ValidateDataCommitment) and stores it on
// the participant; any other run ignores it and stores none
// (verification.go).
func (k Keeper) JoinRun(ctx context.Context, msg *types.MsgJoinRun) error {
	providerStr, id := msg.Provider, msg.RunId
	provider, err := k.addr("provider", providerStr)
	if err != nil {
		return err
	}
	run, err := k.GetRun(ctx, id)
	if err != nil {
		return err
	}
	if run.State != types.RUN_STATE_OPEN {
		return fmt.Errorf("%w: run %d is %s, not open for joins", types.ErrInvalidState, id, run.State)
	}
	participant := types.Participant{RunId: id, Provider: providerStr, JoinedHeight: height(ctx)}
	if run.Spec.VerifyUpdates {
		if err := types.ValidateDataCommitment(msg.DataRoot, msg.DataSize); err != nil {
			return fmt.Errorf("%w: run %d verifies updates and needs a commitment to the provider's examples: %v", types.ErrRequirements, id, err)
		}
		participant.DataRoot, participant.DataSize = msg.DataRoot, msg.DataSize
	}
	if err := k.providers.CanBid(ctx, provider); err != nil {
		return fmt.Errorf("%w: %v", types.ErrNotProvider, err)
	}
	if err := k.meetsRequirements(ctx, provider, run.Spec); err != nil {
		return err
	}
	key := collections.Join(id, provider)
	if has, err := k.Participants.Has(ctx, key); err != nil {
		return err
	} else if has {
		return fmt.Errorf("%w: %s in run %d", types.ErrAlreadyJoined, providerStr, id)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if run.Joined >= params.MaxJoined {
		return fmt.Errorf("%w: %d joined, max_joined is %d", types.ErrRunFull, run.Joined, params.MaxJoined)
	}
	if err := k.Participants.Set(ctx, key, participant); err != nil {
		return err
	}
	run.Joined++
	return k.Runs.Set(ctx, id, run)
}

// meetsRequirements fails with ErrRequirements unless the provider's
// hardware meets the run's and its bonded collateral is at least the
// run's min_collateral.
func (k Keeper) meetsRequirements(ctx context.Context, provider sdk.AccAddress, spec types.RunSpec) error {
	p, err := k.providers.GetProvider(ctx, provider)
	if err != nil {
		return fmt.Errorf("%w: %v", types.ErrNotProvider, err)
	}
	if err := spec.Hardware.MetBy(p.Hardware); err != nil {
		return fmt.Errorf("%w: %v", types.ErrRequirements, err)
	}
	if min := spec.MinCollateral; min.Denom != "" && min.IsPositive() {
		if p.Collateral.Denom != min.Denom || p.Collateral.IsLT(min) {
			return fmt.Errorf("%w: %s bonded, the run needs %s", types.ErrRequirements, p.Collateral, min)
		}
	}
	return nil
}

// isNotFound reports a missing collections entry.
func isNotFound(err error) bool { return errors.Is(err, collections.ErrNotFound) }
