package types

import (
	sdkmath "cosmossdk.io/math"
)

// This file is the market's rule for choosing among bids when the bidding
// window ends without the client choosing, in one place.
//
// Each open bid gets a score in [0, 1]:
//
//	score = price_weight * (1 - price/max_price) + reputation_weight * reputation
//
// A cheaper bid and a more reputable provider both score higher. The
// highest score wins; ties go to the lower price, then the earlier bid,
// then the lower provider address, so every validator picks the same bid.

// BidScore is the matching score of a bid at price from a provider with
// reputation, for a job whose max price is maxPrice (same denom, > 0).
func BidScore(p Params, price, maxPrice sdkmath.Int, reputation sdkmath.LegacyDec) sdkmath.LegacyDec {
	cheapness := sdkmath.LegacyOneDec().Sub(sdkmath.LegacyNewDecFromInt(price).Quo(sdkmath.LegacyNewDecFromInt(maxPrice)))
	return p.PriceWeight.Mul(cheapness).Add(p.ReputationWeight.Mul(reputation))
}

// RankedBid is a bid with its score.
type RankedBid struct {
	Bid   Bid
	Score sdkmath.LegacyDec
}

// Better reports whether a ranks before b.
func Better(a, b RankedBid) bool {
	if !a.Score.Equal(b.Score) {
		return a.Score.GT(b.Score)
	}
	if !a.Bid.Price.Amount.Equal(b.Bid.Price.Amount) {
		return a.Bid.Price.Amount.LT(b.Bid.Price.Amount)
	}
	if a.Bid.CreatedHeight != b.Bid.CreatedHeight {
		return a.Bid.CreatedHeight < b.Bid.CreatedHeight
	}
	return a.Bid.Provider < b.Bid.Provider
}
