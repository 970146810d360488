package keeper

import (
	"context"
	"fmt"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// Holdings is what the market module account should hold, by purpose.
type Holdings struct {
	Escrow, Deposits, Bonds sdk.Coins
}

// Total is the sum of the holdings.
func (h Holdings) Total() sdk.Coins { return h.Escrow.Add(h.Deposits...).Add(h.Bonds...) }

// ComputeHoldings adds up the escrow of unfinished jobs, the deposits of
// open and accepted bids, and the bonds of open disputes.
func (k Keeper) ComputeHoldings(ctx context.Context) (Holdings, error) {
	h := Holdings{Escrow: sdk.NewCoins(), Deposits: sdk.NewCoins(), Bonds: sdk.NewCoins()}
	if err := k.Jobs.Walk(ctx, nil, func(_ uint64, j types.Job) (bool, error) {
		h.Escrow = h.Escrow.Add(j.Escrow)
		if j.State == types.JOB_STATE_DISPUTED && j.Dispute != nil {
			h.Bonds = h.Bonds.Add(j.Dispute.Bond)
		}
		return false, nil
	}); err != nil {
		return h, err
	}
	err := k.Bids.Walk(ctx, nil, func(_ collections.Pair[uint64, sdk.AccAddress], b types.Bid) (bool, error) {
		if b.State == types.BID_STATE_OPEN || b.State == types.BID_STATE_ACCEPTED {
			h.Deposits = h.Deposits.Add(b.Deposit)
		}
		return false, nil
	})
	return h, err
}

// EscrowInvariant checks that the module account holds exactly the
// holdings, and that finished jobs hold no escrow.
func (k Keeper) EscrowInvariant(ctx context.Context) error {
	h, err := k.ComputeHoldings(ctx)
	if err != nil {
		return err
	}
	have := k.bank.GetAllBalances(ctx, k.moduleAddr)
	if !have.Equal(h.Total()) {
		return fmt.Errorf("market module account holds %s; escrow %s + deposits %s + bonds %s = %s", have, h.Escrow, h.Deposits, h.Bonds, h.Total())
	}
	return k.Jobs.Walk(ctx, nil, func(_ uint64, j types.Job) (bool, error) {
		if j.State.Terminal() && !j.Escrow.IsZero() {
			return true, fmt.Errorf("job %d is %s but holds %s", j.Id, j.State, j.Escrow)
		}
		return false, nil
	})
}
