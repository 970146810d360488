package keeper_test

import (
	"cosmossdk.io/collections"

	"github.com/cohortchain/cohort/x/federated/types"
)

func joinKey(r types.Run) collections.Pair[int64, uint64] {
	return collections.Join(r.JoinDeadlineHeight, r.Id)
}
