package types

import (
	"fmt"

	"cosmossdk.io/core/address"
	sdkmath "cosmossdk.io/math"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// DefaultParams of a new chain: 2% protocol fee; 20 blocks of bidding and
// 30 of challenge (longer than x/verify's task deadline, so that a verdict
// arrives before the result settles); 1 COHORT bid deposit, 10 COHORT
// dispute bond; bids ranked 70% on price and 30% on
// reputation; at most 100 queue items per queue per block.
func DefaultParams() Params {
	return Params{
		FeeRate:               sdkmath.LegacyNewDecWithPrec(2, 2),
		BiddingWindowBlocks:   20,
		ChallengeWindowBlocks: 30,
		MinBidDeposit:         sdk.NewInt64Coin(sdk.DefaultBondDenom, 1_000_000),
		DisputeBond:           sdk.NewInt64Coin(sdk.DefaultBondDenom, 10_000_000),
		PriceWeight:           sdkmath.LegacyNewDecWithPrec(7, 1),
		ReputationWeight:      sdkmath.LegacyNewDecWithPrec(3, 1),
		MaxQueueItemsPerBlock: 100,
		MaxDeadlineBlocks:     1_000_000,
	}
}

// Validate checks the params.
func (p Params) Validate(ac address.Codec) error {
	unit := func(name string, d sdkmath.LegacyDec) error {
		if d.IsNil() || d.IsNegative() || d.GT(sdkmath.LegacyOneDec()) {
			return fmt.Errorf("%w: %s must be in [0, 1]", ErrInvalidParams, name)
		}
		return nil
	}
	for name, d := range map[string]sdkmath.LegacyDec{
		"fee_rate":     p.FeeRate,
		"price_weight": p.PriceWeight, "reputation_weight": p.ReputationWeight,
	} {
		if err := unit(name, d); err != nil {
			return err
		}
	}
	if !p.PriceWeight.Add(p.ReputationWeight).Equal(sdkmath.LegacyOneDec()) {
		return fmt.Errorf("%w: price_weight + reputation_weight must be 1", ErrInvalidParams)
	}
	if p.BiddingWindowBlocks < 1 || p.ChallengeWindowBlocks < 1 || p.MaxDeadlineBlocks <= p.BiddingWindowBlocks {
		return fmt.Errorf("%w: windows must be at least 1 block and max_deadline_blocks beyond the bidding window", ErrInvalidParams)
	}
	for name, c := range map[string]sdk.Coin{"min_bid_deposit": p.MinBidDeposit, "dispute_bond": p.DisputeBond} {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidParams, name, err)
		}
	}
	if p.MaxQueueItemsPerBlock == 0 {
		return fmt.Errorf("%w: max_queue_items_per_block must be positive", ErrInvalidParams)
	}
	return nil
}
