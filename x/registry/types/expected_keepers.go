package types

import (
	"context"

	markettypes "github.com/cohortchain/cohort/x/market/types"
)

// MarketKeeper is what the registry needs of x/market: the job that
// produced a version, to check that it finished.
type MarketKeeper interface {
	GetJob(ctx context.Context, id uint64) (markettypes.Job, error)
}
