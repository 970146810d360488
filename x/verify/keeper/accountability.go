package keeper

import (
	"context"
	"fmt"
	"time"

	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/x/verify/types"
)

// payCommittee shares t's fee equally among its committee (rounding dust
// to the fee collector) and holds each member to account:
//
//   - a member that attested the agreed verdict gets its share and loses
//     a strike;
//   - a member that attested another verdict (dissenter) or nothing
//     (absent) forfeits validator_penalty_share of its share to the fee
//     collector and gains a strike; at miss_threshold strikes it is jailed
//     through the SDK slashing keeper for jail_seconds and its strikes are
//     reset.
//
// Tokens only move from the verify module account: the sum paid out is
// exactly the fee.
func (k Keeper) payCommittee(ctx context.Context, params types.Params, t *types.Task, a voteext.Agreement) error {
	fee := t.Work.Fee
	n := int64(len(t.Committee))
	if n == 0 {
		return fmt.Errorf("%w: task %d has no committee", types.ErrInvalidState, t.Id)
	}
	share := sdk.NewCoin(fee.Denom, fee.Amount.QuoRaw(n))
	keep := sdkmath.LegacyOneDec().Sub(params.ValidatorPenaltyShare)
	verdict := map[string]int{} // 1 agreed, 2 dissented; absent otherwise
	for _, v := range a.Voters {
		verdict[string(v)] = 1
	}
	for _, v := range a.Dissenters {
		verdict[string(v)] = 2
	}
	toCollector := fee.Sub(sdk.NewCoin(fee.Denom, share.Amount.MulRaw(n)))
	for _, m := range t.Committee {
		cons, err := sdk.ConsAddressFromBech32(m.ConsAddress)
		if err != nil {
			return err
		}
		operator, err := k.addr("operator", m.Operator)
		if err != nil {
			return err
		}
		rec, err := k.validatorRecord(ctx, cons, fee.Denom)
		if err != nil {
			return err
		}
		rec.Assigned++
		paid := share
		if verdict[string(cons)] == 1 {
			rec.Agreed++
			if rec.Strikes > 0 {
				rec.Strikes--
			}
		} else {
			dissented := verdict[string(cons)] == 2
			if dissented {
				rec.Dissented++
			} else {
				rec.Absent++
			}
			paid = sdk.NewCoin(share.Denom, keep.MulInt(share.Amount).TruncateInt())
			forfeited := share.Sub(paid)
			toCollector = toCollector.Add(forfeited)
			rec.Forfeited = addCoin(rec.Forfeited, forfeited)
			rec.Strikes++
			jailed := false
			if rec.Strikes >= params.MissThreshold {
				if jailed, err = k.jail(ctx, cons, params.JailSeconds); err != nil {
					return err
				}
				if jailed {
					rec.Jailed++
				}
				rec.Strikes = 0
			}
			if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventValidatorMissed{
				TaskId: t.Id, ConsAddress: m.ConsAddress, Dissented: dissented, Strikes: rec.Strikes, Jailed: jailed,
			}); err != nil {
				return err
			}
		}
		if paid.IsPositive() {
			if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, operator, sdk.NewCoins(paid)); err != nil {
				return err
			}
			rec.Earned = addCoin(rec.Earned, paid)
		}
		if err := k.Validators.Set(ctx, cons, rec); err != nil {
			return err
		}
	}
	if toCollector.IsPositive() {
		return k.bank.SendCoinsFromModuleToModule(ctx, types.ModuleName, authtypes.FeeCollectorName, sdk.NewCoins(toCollector))
	}
	return nil
}

// jail jails a bonded, unjailed, untombstoned validator through the SDK
// slashing keeper (which emits its slash event with the jailed attribute)
// until jailSeconds from now; it must then send MsgUnjail. It reports
// whether it jailed.
func (k Keeper) jail(ctx context.Context, cons sdk.ConsAddress, jailSeconds int64) (bool, error) {
	if k.slashing == nil {
		return false, nil
	}
	v, err := k.staking.GetValidatorByConsAddr(ctx, cons)
	if err != nil || v.IsJailed() || k.slashing.IsTombstoned(ctx, cons) {
		return false, nil // gone, already jailed or tombstoned: nothing more to do
	}
	if err := k.slashing.Jail(ctx, cons); err != nil {
		return false, err
	}
	until := sdk.UnwrapSDKContext(ctx).BlockTime().Add(time.Duration(jailSeconds) * time.Second)
	return true, k.slashing.JailUntil(ctx, cons, until)
}

// validatorRecord returns cons's duty record (empty before its first task).
func (k Keeper) validatorRecord(ctx context.Context, cons sdk.ConsAddress, denom string) (types.ValidatorRecord, error) {
	r, err := k.Validators.Get(ctx, cons)
	if err == nil {
		return r, nil
	}
	if !isNotFound(err) {
		return r, err
	}
	zero := sdk.NewInt64Coin(denom, 0)
	return types.ValidatorRecord{ConsAddress: cons.String(), Earned: zero, Forfeited: zero}, nil
}

// addCoin adds b to a, or replaces a when a is an empty coin of another denom.
func addCoin(a, b sdk.Coin) sdk.Coin {
	if a.Denom == b.Denom {
		return a.Add(b)
	}
	if a.IsNil() || a.IsZero() {
		return b
	}
	return a // records keep the first denom they were paid in
}
