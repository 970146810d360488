package keeper

import (
	"context"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
)

// InitGenesis loads runs, participants, rounds, updates and
// secure-aggregation messages, and rebuilds the queues from them; gs must
// be valid.
func (k Keeper) InitGenesis(ctx context.Context, gs types.GenesisState) error {
	if err := k.Params.Set(ctx, gs.Params); err != nil {
		return err
	}
	for _, r := range gs.Rounds {
		if err := k.Rounds.Set(ctx, collections.Join(r.RunId, r.Number), r); err != nil {
			return err
		}
	}
	for _, r := range gs.Runs {
		if err := k.Runs.Set(ctx, r.Id, r); err != nil {
			return err
		}
		switch r.State {
		case types.RUN_STATE_OPEN:
			if err := k.JoinQueue.Set(ctx, collections.Join(r.JoinDeadlineHeight, r.Id)); err != nil {
				return err
			}
		case types.RUN_STATE_TRAINING:
			round, err := k.GetRound(ctx, r.Id, r.CurrentRound)
			if err != nil {
				return err
			}
			if round.State == types.ROUND_STATE_COLLECTING || round.State == types.ROUND_STATE_AGGREGATING {
				if err := k.DeadlineQueue.Set(ctx, collections.Join(round.DeadlineHeight, r.Id)); err != nil {
					return err
				}
			}
		}
	}
	for _, p := range gs.Participants {
		a, err := k.addr("provider", p.Provider)
		if err != nil {
			return err
		}
		if err := k.Participants.Set(ctx, collections.Join(p.RunId, a), p); err != nil {
			return err
		}
	}
	for _, u := range gs.Updates {
		a, err := k.addr("participant", u.Participant)
		if err != nil {
			return err
		}
		if err := k.Updates.Set(ctx, collections.Join3(u.RunId, u.Round, a), u); err != nil {
			return err
		}
	}
	for _, m := range gs.SecaggMessages {
		a, err := k.addr("participant", m.Participant)
		if err != nil {
			return err
		}
		if err := k.SecAgg.Set(ctx, collections.Join4(m.RunId, m.Round, int32(m.Stage), a), m); err != nil {
			return err
		}
	}
	return k.NextRunID.Set(ctx, gs.NextRunId)
}

// ExportGenesis returns the module's state; queues are derived on import.
func (k Keeper) ExportGenesis(ctx context.Context) (*types.GenesisState, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return nil, err
	}
	gs := &types.GenesisState{Params: params}
	if err := k.Runs.Walk(ctx, nil, func(_ uint64, r types.Run) (bool, error) {
		gs.Runs = append(gs.Runs, r)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Participants.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], p types.Participant) (bool, error) {
		gs.Participants = append(gs.Participants, p)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Rounds.Walk(ctx, nil, func(_ collections.Pair[uint64, uint32], r types.Round) (bool, error) {
		gs.Rounds = append(gs.Rounds, r)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.Updates.Walk(ctx, nil, func(_ collections.Triple[uint64, uint32, sdk.AccAddress], u types.Update) (bool, error) {
		gs.Updates = append(gs.Updates, u)
		return false, nil
	}); err != nil {
		return nil, err
	}
	if err := k.SecAgg.Walk(ctx, nil, func(_ collections.Quad[uint64, uint32, int32, sdk.AccAddress], m types.SecAggMessage) (bool, error) {
		gs.SecaggMessages = append(gs.SecaggMessages, m)
		return false, nil
	}); err != nil {
		return nil, err
	}
	gs.NextRunId, err = k.NextRunID.Peek(ctx)
	return gs, err
}
