package keeper

import (
	"context"
	"fmt"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/verify/types"
)

// HeldFees adds up the fees of the PENDING and OPEN tasks: what the module
// account must hold.
func (k Keeper) HeldFees(ctx context.Context) (sdk.Coins, error) {
	held := sdk.NewCoins()
	err := k.Tasks.Walk(ctx, nil, func(_ uint64, t types.Task) (bool, error) {
		if !t.State.Terminal() {
			held = held.Add(t.Work.Fee)
		}
		return false, nil
	})
	return held, err
}

// FeeInvariant checks that the module account holds exactly HeldFees.
func (k Keeper) FeeInvariant(ctx context.Context) error {
	held, err := k.HeldFees(ctx)
	if err != nil {
		return err
	}
	have := k.bank.GetAllBalances(ctx, k.moduleAddr)
	if !have.Equal(held) {
		return fmt.Errorf("verify module account holds %s; fees of undecided tasks %s", have, held)
	}
	return nil
}
