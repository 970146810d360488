package keeper

import "context"

// ClaimUnitsForTest claims units of a leased metered job without a
// voucher (benchmarks and the randomized conservation test).
func (k Keeper) ClaimUnitsForTest(ctx context.Context, provider string, id, units uint64) error {
	job, err := k.GetJob(ctx, id)
	if err != nil {
		return err
	}
	if err := k.checkClaim(ctx, provider, &job); err != nil {
		return err
	}
	return k.claimUnits(ctx, provider, &job, units, 0, 0)
}
