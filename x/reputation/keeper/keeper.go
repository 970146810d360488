// Package keeper keeps one reputation score per provider and the rules that
// move it (types/scoring.go).
package keeper

import (
	"context"
	"errors"

	"cosmossdk.io/collections"
	"cosmossdk.io/core/address"
	"cosmossdk.io/core/store"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/codec"
	sdk "github.com/cosmos/cosmos-sdk/types"

	providertypes "github.com/cohortchain/cohort/x/provider/types"
	"github.com/cohortchain/cohort/x/reputation/types"
)

// Keeper of the reputation module.
type Keeper struct {
	addressCodec address.Codec
	authority    string

	Schema      collections.Schema
	Params      collections.Item[types.Params]
	Reputations collections.Map[sdk.AccAddress, types.Reputation]
}

// NewKeeper returns the reputation keeper; authority may change the params.
func NewKeeper(cdc codec.BinaryCodec, storeService store.KVStoreService, ac address.Codec, authority string) Keeper {
	sb := collections.NewSchemaBuilder(storeService)
	k := Keeper{
		addressCodec: ac,
		authority:    authority,
		Params:       collections.NewItem(sb, types.ParamsKey, "params", codec.CollValue[types.Params](cdc)),
		Reputations:  collections.NewMap(sb, types.ReputationsKey, "reputations", sdk.AccAddressKey, codec.CollValue[types.Reputation](cdc)),
	}
	schema, err := sb.Build()
	if err != nil {
		panic(err)
	}
	k.Schema = schema
	return k
}

// Authority is the address allowed to change the params.
func (k Keeper) Authority() string { return k.authority }

// AddressCodec encodes operator addresses.
func (k Keeper) AddressCodec() address.Codec { return k.addressCodec }

// Get returns operator's record; one without history has the initial score.
func (k Keeper) Get(ctx context.Context, operator sdk.AccAddress) (types.Reputation, error) {
	r, err := k.Reputations.Get(ctx, operator)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, collections.ErrNotFound) {
		return r, err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return r, err
	}
	op, err := k.addressCodec.BytesToString(operator)
	if err != nil {
		return r, err
	}
	return types.Reputation{Operator: op, Score: params.InitialScore}, nil
}

// Score returns operator's score in [0, 1].
func (k Keeper) Score(ctx context.Context, operator sdk.AccAddress) (sdkmath.LegacyDec, error) {
	r, err := k.Get(ctx, operator)
	return r.Score, err
}

// Record applies one outcome to operator's score and counters.
func (k Keeper) Record(ctx context.Context, operator sdk.AccAddress, outcome types.Outcome) error {
	value, err := outcome.Value()
	if err != nil {
		return err
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	r, err := k.Get(ctx, operator)
	if err != nil {
		return err
	}
	rate := params.LearningRate.Mul(outcome.Weight(params.SevereWeight))
	from := r.Score
	r.Score = types.Learn(r.Score, value, rate)
	switch outcome {
	case types.OUTCOME_JOB_COMPLETED:
		r.JobsCompleted++
	case types.OUTCOME_JOB_FAILED:
		r.JobsFailed++
	case types.OUTCOME_DISPUTE_LOST:
		r.DisputesLost++
	case types.OUTCOME_DISPUTE_WON:
		r.DisputesWon++
	case types.OUTCOME_LIVENESS_MISSED:
		r.LivenessMissed++
	case types.OUTCOME_SLASHED:
		r.Slashes++
	case types.OUTCOME_FEDERATED_UPDATE_ACCEPTED:
		r.FederatedUpdatesAccepted++
	case types.OUTCOME_FEDERATED_UPDATE_REJECTED:
		r.FederatedUpdatesRejected++
	case types.OUTCOME_FEDERATED_UPDATE_MISSED:
		r.FederatedUpdatesMissed++
	}
	if err := k.Reputations.Set(ctx, operator, r); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventScoreChanged{
		Operator: r.Operator, Outcome: outcome, From: from.String(), To: r.Score.String(),
	})
}

// RecordLatency folds a measured latency into the score (as an outcome of
// value LatencyValue) and into the moving average latency_ms.
func (k Keeper) RecordLatency(ctx context.Context, operator sdk.AccAddress, latencyMs uint64) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	r, err := k.Get(ctx, operator)
	if err != nil {
		return err
	}
	r.Score = types.Learn(r.Score, types.LatencyValue(latencyMs, params.TargetLatencyMs), params.LearningRate)
	if r.LatencyMs == 0 {
		r.LatencyMs = latencyMs
	} else { // moving average with weight 1/8 on the new report
		r.LatencyMs = r.LatencyMs - r.LatencyMs/8 + latencyMs/8
	}
	return k.Reputations.Set(ctx, operator, r)
}

// AfterEpochEnd decays every score towards the initial score at the end of
// each reputation epoch.
func (k Keeper) AfterEpochEnd(ctx context.Context, identifier string, _ int64) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	if identifier != params.EpochIdentifier || params.DecayRate.IsZero() {
		return nil
	}
	var updated []types.Reputation
	if err := k.Reputations.Walk(ctx, nil, func(_ sdk.AccAddress, r types.Reputation) (bool, error) {
		r.Score = types.Decay(r.Score, params.InitialScore, params.DecayRate)
		updated = append(updated, r)
		return false, nil
	}); err != nil {
		return err
	}
	for _, r := range updated {
		op, err := k.addressCodec.StringToBytes(r.Operator)
		if err != nil {
			return err
		}
		if err := k.Reputations.Set(ctx, op, r); err != nil {
			return err
		}
	}
	return nil
}

// BeforeEpochStart is the x/epochs hook; nothing happens then.
func (k Keeper) BeforeEpochStart(context.Context, string, int64) error { return nil }

// ProviderHooks returns the hooks through which x/provider reports slashes
// and silence.
func (k Keeper) ProviderHooks() providertypes.ProviderHooks { return providerHooks{k} }

type providerHooks struct{ k Keeper }

func (h providerHooks) AfterProviderSlashed(ctx context.Context, operator sdk.AccAddress, _ string) error {
	return h.k.Record(ctx, operator, types.OUTCOME_SLASHED)
}

func (h providerHooks) AfterProviderStatusChanged(ctx context.Context, operator sdk.AccAddress, from, to providertypes.Status) error {
	if to == providertypes.STATUS_INACTIVE {
		return h.k.Record(ctx, operator, types.OUTCOME_LIVENESS_MISSED)
	}
	return nil
}
