package keeper

import (
	"context"
	"fmt"
	"strconv"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/x/verify/types"
)

// BeginBlocker draws the tasks committed in earlier blocks (at most
// max_draws_per_block, oldest first; the rest wait for the next block).
// The seed of each is TaskSeed(header hash of this block, task id): the
// block after the commitment at the earliest, so the provider could not
// know it when it committed.
func (k Keeper) BeginBlocker(ctx context.Context) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	h := height(ctx)
	rng := new(collections.Range[collections.Pair[int64, uint64]]).EndExclusive(collections.Join(h, uint64(0)))
	it, err := k.PendingQueue.Iterate(ctx, rng)
	if err != nil {
		return err
	}
	keys, err := it.Keys()
	if err != nil {
		return err
	}
	if len(keys) > int(params.MaxDrawsPerBlock) {
		keys = keys[:params.MaxDrawsPerBlock]
	}
	headerHash := sdk.UnwrapSDKContext(ctx).HeaderHash()
	for _, key := range keys {
		if err := k.PendingQueue.Remove(ctx, key); err != nil {
			return err
		}
		t, err := k.GetTask(ctx, key.K2())
		if err != nil {
			return err
		}
		k.isolated(ctx, "draw", t.Id, func(c sdk.Context) error {
			return k.draw(c, params, &t, types.TaskSeed(headerHash, t.Id))
		}, func(c sdk.Context) error {
			t, err := k.GetTask(c, key.K2())
			if err != nil {
				return err
			}
			return k.expire(c, &t, "could not be drawn")
		})
	}
	return nil
}

// isolated runs f in a cache context and keeps its writes only when it
// succeeds; on failure it logs, and runs fallback (if any) the same way.
// A task that cannot be processed never halts the chain.
func (k Keeper) isolated(ctx context.Context, what string, id uint64, f, fallback func(sdk.Context) error) {
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	cacheCtx, write := sdkCtx.CacheContext()
	err := f(cacheCtx)
	if err == nil {
		write()
		return
	}
	sdkCtx.Logger().Error("verification task failed to "+what, "task", id, "err", err)
	if fallback != nil {
		k.isolated(ctx, what+" (fallback)", id, fallback, nil)
	}
}

// draw picks t's level, sample and committee from seed and opens it; an
// inference claim the sampling rate passes over is dropped, and a task no
// validator can sit on expires.
func (k Keeper) draw(ctx context.Context, params types.Params, t *types.Task, seed []byte) error {
	provider, err := k.addr("provider", t.Work.Provider)
	if err != nil {
		return err
	}
	score := sdkmath.LegacyOneDec()
	if k.reputation != nil {
		if score, err = k.reputation.Score(ctx, provider); err != nil {
			return err
		}
	}
	level := types.SelectLevel(params.Levels, t.Work.VerificationLevel)
	t.Level, t.Seed, t.DrawnHeight = level.Name, seed, height(ctx)
	if t.Work.Kind == types.WORK_KIND_INFERENCE_CLAIM && !t.Challenge {
		if !types.Chosen(seed, types.InferenceRate(params, level, score)) {
			return k.skip(ctx, t, provider)
		}
		if err := k.updateStats(ctx, func(s *types.Stats) { s.InferenceSampled++ }); err != nil {
			return err
		}
	}
	k2 := types.SampleSize(params, level, score, t.Work.TotalSteps, t.Challenge)
	t.SampledSteps = types.SampleSteps(seed, t.Work.TotalSteps, k2)
	committee, err := k.drawCommittee(ctx, seed, params.CommitteeSize)
	if err != nil {
		return err
	}
	if len(committee) == 0 {
		return k.expire(ctx, t, "no bonded validator to sit on the committee")
	}
	t.Committee = committee
	t.DeadlineHeight = t.DrawnHeight + params.TaskDeadlineBlocks
	if err := k.DeadlineQueue.Set(ctx, collections.Join(t.DeadlineHeight, t.Id)); err != nil {
		return err
	}
	if err := k.setState(ctx, t, types.TASK_STATE_OPEN); err != nil {
		return err
	}
	if err := k.updateStats(ctx, func(s *types.Stats) {
		s.TasksOpened++
		switch t.Work.Kind {
		case types.WORK_KIND_TRAINING_LEASE, types.WORK_KIND_FEDERATED_UPDATE:
			s.StepsSampled += uint64(len(t.SampledSteps))
			s.StepsCommitted += t.Work.TotalSteps
		case types.WORK_KIND_INFERENCE_CLAIM:
			s.RequestsSampled += uint64(len(t.SampledSteps))
		}
	}); err != nil {
		return err
	}
	names := make([]string, len(committee))
	for i, m := range committee {
		names[i] = m.ConsAddress
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskOpened{
		TaskId: t.Id, SampledSteps: t.SampledSteps, Committee: names, DeadlineHeight: t.DeadlineHeight,
	})
}

// drawCommittee samples up to size bonded validators by stake from seed,
// with their operators' accounts (paid the fee shares).
func (k Keeper) drawCommittee(ctx context.Context, seed []byte, size uint32) ([]types.CommitteeMember, error) {
	candidates, err := voteext.BondedMembers(ctx, k.staking)
	if err != nil {
		return nil, err
	}
	sampled := voteext.SampleCommittee(seed, candidates, int(size))
	out := make([]types.CommitteeMember, 0, len(sampled))
	for _, m := range sampled {
		op, err := sdk.ValAddressFromBech32(m.Operator)
		if err != nil {
			return nil, fmt.Errorf("committee member %s: operator %q: %w", m.Address, m.Operator, err)
		}
		acc, err := k.addressCodec.BytesToString(op)
		if err != nil {
			return nil, err
		}
		out = append(out, types.CommitteeMember{ConsAddress: m.Address.String(), Operator: acc, Power: m.Power})
	}
	return out, nil
}

// skip drops an inference commitment the sampling rate passed over: its
// fee goes back to the payer and nothing of it stays in state.
func (k Keeper) skip(ctx context.Context, t *types.Task, provider sdk.AccAddress) error {
	if err := k.refundFee(ctx, t); err != nil {
		return err
	}
	if err := k.TasksByState.Remove(ctx, collections.Join(int32(t.State), t.Id)); err != nil {
		return err
	}
	if t.Work.JobId != 0 {
		if err := k.TasksByJob.Remove(ctx, collections.Join(t.Work.JobId, t.Id)); err != nil {
			return err
		}
	}
	if err := k.TasksByProvider.Remove(ctx, collections.Join(provider, t.Id)); err != nil {
		return err
	}
	if err := k.Tasks.Remove(ctx, t.Id); err != nil {
		return err
	}
	if err := k.updateStats(ctx, func(s *types.Stats) { s.InferenceSkipped++ }); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskSkipped{TaskId: t.Id, Provider: t.Work.Provider})
}

// refundFee returns an undecided task's fee to its payer.
func (k Keeper) refundFee(ctx context.Context, t *types.Task) error {
	if !t.Work.Fee.IsPositive() {
		return nil
	}
	payer, err := k.addr("fee_payer", t.Work.FeePayer)
	if err != nil {
		return err
	}
	return k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, payer, sdk.NewCoins(t.Work.Fee))
}

// EndBlocker expires the OPEN tasks whose deadline is this block or
// earlier: no verdict had more than 2/3 of the committee's power. The fee
// goes back to its payer; nobody is punished, since on-chain nothing tells
// a silent member from one outvoted without quorum; a challenge of a
// market dispute settles the dispute without fault (MarketKeeper).
func (k Keeper) EndBlocker(ctx context.Context) error {
	h := height(ctx)
	rng := new(collections.Range[collections.Pair[int64, uint64]]).EndInclusive(collections.Join(h, ^uint64(0)))
	it, err := k.DeadlineQueue.Iterate(ctx, rng)
	if err != nil {
		return err
	}
	keys, err := it.Keys()
	if err != nil {
		return err
	}
	for _, key := range keys {
		t, err := k.GetTask(ctx, key.K2())
		if err != nil {
			return err
		}
		k.isolated(ctx, "expire", t.Id, func(c sdk.Context) error {
			return k.expire(c, &t, "no agreement by block "+strconv.FormatInt(t.DeadlineHeight, 10))
		}, func(c sdk.Context) error { // never retried: leave the queue
			return k.DeadlineQueue.Remove(c, key)
		})
	}
	return nil
}
