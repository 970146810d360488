package keeper

import (
	"context"
	"errors"
	"fmt"

	"cosmossdk.io/collections"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/provider/types"
)

// checkCollateralCoin checks that amt is positive and in the collateral denom.
func (k Keeper) checkCollateralCoin(ctx context.Context, amt sdk.Coin) (types.Params, error) {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return params, err
	}
	if err := types.ValidatePositive(amt); err != nil {
		return params, err
	}
	if amt.Denom != params.MinCollateral.Denom {
		return params, fmt.Errorf("%w: collateral is in %s, got %s", types.ErrInvalidAmount, params.MinCollateral.Denom, amt.Denom)
	}
	return params, nil
}

// Bond moves amt from the operator into its provider's collateral.
func (k Keeper) Bond(ctx context.Context, operator sdk.AccAddress, amt sdk.Coin) error {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return err
	}
	if _, err := k.checkCollateralCoin(ctx, amt); err != nil {
		return err
	}
	if err := k.bank.SendCoinsFromAccountToModule(ctx, operator, types.ModuleName, sdk.NewCoins(amt)); err != nil {
		return err
	}
	p.Collateral = p.Collateral.Add(amt)
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return err
	}
	return sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventCollateralBonded{Operator: p.Operator, Amount: amt, Collateral: p.Collateral})
}

// Unbond starts returning amt of the provider's collateral. It completes at
// the end of the liveness epoch unbonding_epochs after the current one; until
// then it can be slashed.
func (k Keeper) Unbond(ctx context.Context, operator sdk.AccAddress, amt sdk.Coin) (uint64, int64, error) {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return 0, 0, err
	}
	params, err := k.checkCollateralCoin(ctx, amt)
	if err != nil {
		return 0, 0, err
	}
	if p.Collateral.IsLT(amt) {
		return 0, 0, fmt.Errorf("%w: %s bonded, %s asked", types.ErrInsufficientBond, p.Collateral, amt)
	}
	epoch, err := k.currentEpoch(ctx)
	if err != nil {
		return 0, 0, err
	}
	id, err := k.NextUnbonding.Next(ctx)
	if err != nil {
		return 0, 0, err
	}
	completion := epoch + params.UnbondingEpochs
	u := types.Unbonding{Operator: p.Operator, Id: id, Amount: amt, CompletionEpoch: completion}
	p.Collateral = p.Collateral.Sub(amt)
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return 0, 0, err
	}
	if err := k.setUnbonding(ctx, operator, u); err != nil {
		return 0, 0, err
	}
	return id, completion, sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventUnbondingStarted{
		Operator: p.Operator, UnbondingId: id, Amount: amt, CompletionEpoch: completion,
	})
}

func (k Keeper) setUnbonding(ctx context.Context, operator sdk.AccAddress, u types.Unbonding) error {
	if err := k.Unbondings.Set(ctx, u.Id, u); err != nil {
		return err
	}
	if err := k.ByOperator.Set(ctx, collections.Join(operator, u.Id)); err != nil {
		return err
	}
	return k.Queue.Set(ctx, collections.Join(u.CompletionEpoch, u.Id))
}

func (k Keeper) removeUnbonding(ctx context.Context, operator sdk.AccAddress, u types.Unbonding) error {
	if err := k.Unbondings.Remove(ctx, u.Id); err != nil {
		return err
	}
	if err := k.ByOperator.Remove(ctx, collections.Join(operator, u.Id)); err != nil {
		return err
	}
	return k.Queue.Remove(ctx, collections.Join(u.CompletionEpoch, u.Id))
}

// completeUnbondings pays out every unbonding due by the end of epoch.
func (k Keeper) completeUnbondings(ctx context.Context, epoch int64) error {
	rng := new(collections.Range[collections.Pair[int64, uint64]]).EndInclusive(collections.Join(epoch, uint64(1<<64-1)))
	keys, err := k.Queue.Iterate(ctx, rng)
	if err != nil {
		return err
	}
	due, err := keys.Keys()
	if err != nil {
		return err
	}
	for _, key := range due {
		u, err := k.Unbondings.Get(ctx, key.K2())
		if err != nil {
			return err
		}
		op, err := k.addressCodec.StringToBytes(u.Operator)
		if err != nil {
			return err
		}
		if err := k.removeUnbonding(ctx, op, u); err != nil {
			return err
		}
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, op, sdk.NewCoins(u.Amount)); err != nil {
			return err
		}
		if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventUnbondingCompleted{Operator: u.Operator, UnbondingId: u.Id, Amount: u.Amount}); err != nil {
			return err
		}
	}
	return nil
}

// UnbondingsOf returns a provider's pending unbondings, oldest first.
func (k Keeper) UnbondingsOf(ctx context.Context, operator sdk.AccAddress) ([]types.Unbonding, error) {
	it, err := k.ByOperator.Iterate(ctx, collections.NewPrefixedPairRange[sdk.AccAddress, uint64](operator))
	if err != nil {
		return nil, err
	}
	keys, err := it.Keys()
	if err != nil {
		return nil, err
	}
	out := make([]types.Unbonding, 0, len(keys))
	for _, key := range keys {
		u, err := k.Unbondings.Get(ctx, key.K2())
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

func (k Keeper) currentEpoch(ctx context.Context) (int64, error) {
	e, err := k.Epoch.Get(ctx)
	if errors.Is(err, collections.ErrNotFound) {
		return 0, nil
	}
	return e, err
}

// Slash takes fraction of everything operator has at stake, bonded and
// unbonding alike; slash_burn_fraction of it is burned and the rest paid to
// beneficiary (all burned when beneficiary is nil). A fraction of at least
// severe_slash_fraction also jails the provider. It returns what was taken.
// The market and verify modules call it; it is never a message.
func (k Keeper) Slash(ctx context.Context, operator sdk.AccAddress, fraction sdkmath.LegacyDec, beneficiary sdk.AccAddress, reason string) (sdk.Coin, error) {
	p, err := k.GetProvider(ctx, operator)
	if err != nil {
		return sdk.Coin{}, err
	}
	if fraction.IsNil() || !fraction.IsPositive() || fraction.GT(sdkmath.LegacyOneDec()) {
		return sdk.Coin{}, fmt.Errorf("%w: fraction %s must be in (0, 1]", types.ErrInvalidSlash, fraction)
	}
	params, err := k.Params.Get(ctx)
	if err != nil {
		return sdk.Coin{}, err
	}
	take := func(c sdk.Coin) sdk.Coin {
		return sdk.NewCoin(c.Denom, fraction.MulInt(c.Amount).TruncateInt())
	}
	taken := take(p.Collateral)
	p.Collateral = p.Collateral.Sub(taken)
	unbondings, err := k.UnbondingsOf(ctx, operator)
	if err != nil {
		return sdk.Coin{}, err
	}
	for _, u := range unbondings {
		cut := take(u.Amount)
		if cut.IsZero() {
			continue
		}
		taken = taken.Add(cut)
		u.Amount = u.Amount.Sub(cut)
		if u.Amount.IsZero() {
			err = k.removeUnbonding(ctx, operator, u)
		} else {
			err = k.Unbondings.Set(ctx, u.Id, u)
		}
		if err != nil {
			return sdk.Coin{}, err
		}
	}

	burned := sdk.NewCoin(taken.Denom, params.SlashBurnFraction.MulInt(taken.Amount).TruncateInt())
	if beneficiary == nil {
		burned = taken
	}
	paid := taken.Sub(burned)
	if burned.IsPositive() {
		if err := k.bank.BurnCoins(ctx, types.ModuleName, sdk.NewCoins(burned)); err != nil {
			return sdk.Coin{}, err
		}
	}
	if paid.IsPositive() {
		if err := k.bank.SendCoinsFromModuleToAccount(ctx, types.ModuleName, beneficiary, sdk.NewCoins(paid)); err != nil {
			return sdk.Coin{}, err
		}
	}
	if fraction.GTE(params.SevereSlashFraction) && p.Status != types.STATUS_JAILED {
		epoch, err := k.currentEpoch(ctx)
		if err != nil {
			return sdk.Coin{}, err
		}
		p.JailedUntilEpoch = epoch + params.JailEpochs
		if err := k.setStatus(ctx, &p, types.STATUS_JAILED, "severe slash: "+reason); err != nil {
			return sdk.Coin{}, err
		}
	}
	if err := k.Providers.Set(ctx, operator, p); err != nil {
		return sdk.Coin{}, err
	}
	beneficiaryStr := ""
	if beneficiary != nil {
		beneficiaryStr = k.str(beneficiary)
	}
	if err := sdk.UnwrapSDKContext(ctx).EventManager().EmitTypedEvent(&types.EventSlashed{
		Operator: p.Operator, Fraction: fraction.String(), Burned: burned, Paid: paid, Beneficiary: beneficiaryStr, Reason: reason,
	}); err != nil {
		return sdk.Coin{}, err
	}
	if k.hooks != nil {
		if err := k.hooks.AfterProviderSlashed(ctx, operator, fraction.String()); err != nil {
			return sdk.Coin{}, err
		}
	}
	return taken, nil
}
