package keeper

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/provider/types"
)

// CollateralInvariant checks that the module account holds exactly the
// bonded collateral of every provider plus every pending unbonding.
func (k Keeper) CollateralInvariant(ctx context.Context, moduleAddr sdk.AccAddress) error {
	params, err := k.Params.Get(ctx)
	if err != nil {
		return err
	}
	want := sdk.NewInt64Coin(params.MinCollateral.Denom, 0)
	if err := k.Providers.Walk(ctx, nil, func(_ sdk.AccAddress, p types.Provider) (bool, error) {
		want = want.Add(p.Collateral)
		return false, nil
	}); err != nil {
		return err
	}
	if err := k.Unbondings.Walk(ctx, nil, func(_ uint64, u types.Unbonding) (bool, error) {
		want = want.Add(u.Amount)
		return false, nil
	}); err != nil {
		return err
	}
	have := k.bank.GetBalance(ctx, moduleAddr, want.Denom)
	if !have.Equal(want) {
		return fmt.Errorf("provider module account holds %s, collateral and unbondings add up to %s", have, want)
	}
	return nil
}
