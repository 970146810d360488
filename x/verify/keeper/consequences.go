package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
	"github.com/cohortchain/cohort/x/verify/types"
)

// applyVerdict records v on t and applies its consequences, all automatic:
//
//   - PASS: the provider's reputation goes up (OUTCOME_VERIFICATION_PASSED).
//   - FAIL and UNAVAILABLE (withholding evidence must not be cheaper than
//     being caught): slash_fraction of the provider's collateral is slashed
//     with the client as beneficiary (x/provider), its reputation goes down
//     (OUTCOME_VERIFICATION_FAILED, severe, or _UNAVAILABLE).
//   - A challenge task (a client's dispute, or anyone's challenge of a
//     decided task) is a dispute of the work: its verdict is recorded as
//     OUTCOME_DISPUTE_WON or _LOST instead, once; the market records no
//     reputation of its own when the verdict settles a dispute.
//   - Either way, a market job is told (MarketKeeper.OnVerified): a failed
//     result still inside its challenge window is refunded to the client,
//     and a disputed one is settled by the verdict.
func (k Keeper) applyVerdict(ctx context.Context, params types.Params, t *types.Task, v types.Verdict) error {
	provider, err := k.addr("provider", t.Work.Provider)
	if err != nil {
		return err
	}
	to := v.Outcome.State()
	t.Verdict, t.DecidedHeight = &v, height(ctx)
	if err := k.DeadlineQueue.Remove(ctx, collections.Join(t.DeadlineHeight, t.Id)); err != nil {
		return err
	}
	rec, err := k.providerRecord(ctx, provider)
	if err != nil {
		return err
	}
	var outcome reputationtypes.Outcome
	switch to {
	case types.TASK_STATE_PASSED:
		outcome = reputationtypes.OUTCOME_VERIFICATION_PASSED
		rec.Passed++
	case types.TASK_STATE_FAILED, types.TASK_STATE_UNAVAILABLE:
		if to == types.TASK_STATE_FAILED {
			outcome = reputationtypes.OUTCOME_VERIFICATION_FAILED
			rec.Failed++
		} else {
			outcome = reputationtypes.OUTCOME_VERIFICATION_UNAVAILABLE
			rec.Unavailable++
		}
		var client sdk.AccAddress
		if t.Work.Client != "" {
			if client, err = k.addr("client", t.Work.Client); err != nil {
				return err
			}
		}
		// A provider that is gone (or has nothing left to take) still gets
		// the verdict, the refund and the reputation; the slash is skipped
		// and logged.
		sdkCtx := sdk.UnwrapSDKContext(ctx)
		slashCtx, write := sdkCtx.CacheContext()
		slashed, err := k.providers.Slash(slashCtx, provider, params.SlashFraction, client,
			fmt.Sprintf("verification task %d: %s", t.Id, to))
		if err != nil {
			sdkCtx.Logger().Error("could not slash a provider that failed verification", "task", t.Id, "provider", t.Work.Provider, "err", err)
			slashed = sdk.NewInt64Coin(t.Slashed.Denom, 0)
		} else {
			write()
		}
		t.Slashed = slashed
		switch {
		case rec.Slashed.Denom == slashed.Denom:
			rec.Slashed = rec.Slashed.Add(slashed)
		case rec.Slashed.IsZero():
			rec.Slashed = slashed
		}
	default:
		return fmt.Errorf("%w: verdict outcome %s", types.ErrUnknownVerdict, v.Outcome)
	}
	if t.Challenge {
		outcome = reputationtypes.OUTCOME_DISPUTE_LOST
		if to == types.TASK_STATE_PASSED {
			outcome = reputationtypes.OUTCOME_DISPUTE_WON
		}
	}
	if k.reputation != nil {
		if err := k.reputation.Record(ctx, provider, outcome); err != nil {
			return err
		}
	}
	if err := k.Providers.Set(ctx, provider, rec); err != nil {
		return err
	}
	if err := k.setState(ctx, t, to); err != nil {
		return err
	}
	if err := k.updateStats(ctx, func(s *types.Stats) {
		switch to {
		case types.TASK_STATE_PASSED:
			s.Passed++
		case types.TASK_STATE_FAILED:
			s.Failed++
		case types.TASK_STATE_UNAVAILABLE:
			s.Unavailable++
		}
	}); err != nil {
		return err
	}
	if err := k.tellMarket(ctx, t); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskDecided{
		TaskId: t.Id, State: to, FirstDivergentStep: v.FirstDivergentStep, Provider: t.Work.Provider, Slashed: t.Slashed,
	})
}

// expire ends t without a verdict: its fee goes back to the payer, the
// provider's history counts it, and a market job is told.
func (k Keeper) expire(ctx context.Context, t *types.Task, reason string) error {
	provider, err := k.addr("provider", t.Work.Provider)
	if err != nil {
		return err
	}
	if t.State == types.TASK_STATE_OPEN {
		if err := k.DeadlineQueue.Remove(ctx, collections.Join(t.DeadlineHeight, t.Id)); err != nil {
			return err
		}
	}
	if err := k.refundFee(ctx, t); err != nil {
		return err
	}
	t.DecidedHeight = height(ctx)
	if err := k.setState(ctx, t, types.TASK_STATE_EXPIRED); err != nil {
		return err
	}
	rec, err := k.providerRecord(ctx, provider)
	if err != nil {
		return err
	}
	rec.Expired++
	if err := k.Providers.Set(ctx, provider, rec); err != nil {
		return err
	}
	if err := k.updateStats(ctx, func(s *types.Stats) { s.Expired++ }); err != nil {
		return err
	}
	if err := k.tellMarket(ctx, t); err != nil {
		return err
	}
	sdk.UnwrapSDKContext(ctx).Logger().Info("verification task expired", "task", t.Id, "reason", reason)
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventTaskDecided{
		TaskId: t.Id, State: types.TASK_STATE_EXPIRED, Provider: t.Work.Provider, Slashed: t.Slashed,
	})
}

// tellMarket passes the end of a task on a market job to the market, in a
// cache context: a market that cannot settle the job (it moved on, or
// failed) is logged and changes nothing, and never keeps a verdict from
// applying or the EndBlocker from expiring tasks.
func (k Keeper) tellMarket(ctx context.Context, t *types.Task) error {
	if k.market == nil || t.Work.JobId == 0 || t.Work.Kind == types.WORK_KIND_FEDERATED_UPDATE {
		return nil
	}
	sdkCtx := sdk.UnwrapSDKContext(ctx)
	cacheCtx, write := sdkCtx.CacheContext()
	if err := k.market.OnVerified(cacheCtx, t.Work.JobId, t.Id, t.State); err != nil {
		sdkCtx.Logger().Error("market could not settle a verified job", "job", t.Work.JobId, "task", t.Id, "err", err)
		return nil
	}
	write()
	return nil
}

// providerRecord returns provider's history (empty before its first task).
func (k Keeper) providerRecord(ctx context.Context, provider sdk.AccAddress) (types.ProviderRecord, error) {
	r, err := k.Providers.Get(ctx, provider)
	if err == nil {
		return r, nil
	}
	if !isNotFound(err) {
		return r, err
	}
	s, err := k.addressCodec.BytesToString(provider)
	return types.ProviderRecord{Provider: s, Slashed: sdk.NewInt64Coin(sdk.DefaultBondDenom, 0)}, err
}
