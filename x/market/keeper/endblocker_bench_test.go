package keeper_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/market/types"
)

// leases opens n jobs and leases them all to one provider; their deadlines
// are far away, so they stay open.
func leases(b *testing.B, n int) *fixture {
	f := setup(b)
	f.c.Fund(b, f.ctx, int64(n)*2_000_000, f.provider)
	spec := registerModel(b, f.c, f.ctx, f.other, "m", 0, true)
	for i := 0; i < n; i++ {
		res, err := f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_INFERENCE,
			Spec: spec, Units: 1_000_000, MaxPrice: coin(1), Budget: coin(1_000), DeadlineBlocks: 900_000})
		require.NoError(b, err)
		_, err = f.msg.PlaceBid(f.ctx, &types.MsgPlaceBid{Provider: f.provider.String(), JobId: res.JobId, Price: coin(1), Deposit: coin(1_000_000)})
		require.NoError(b, err)
		_, err = f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: res.JobId, Provider: f.provider.String()})
		require.NoError(b, err)
	}
	// Commit, as every block does: an IAVL tree with thousands of unsaved
	// writes iterates far more slowly than a committed one.
	f.c.App.CommitMultiStore().Commit()
	return f
}

// BenchmarkEndBlocker measures the market's EndBlocker with 10 and with
// 10,000 open leases: with nothing due, and with 100 usage claims to pay
// (the per-block bound). The queues make its cost depend on what is due,
// not on how many leases are open; compare the two sizes in one run.
func BenchmarkEndBlocker(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		f := leases(b, n)
		h := f.ctx.BlockHeight()
		b.Run(fmt.Sprintf("leases=%d/nothing-due", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				h++
				require.NoError(b, f.k.EndBlocker(f.ctx.WithBlockHeight(h)))
			}
			f.c.App.CommitMultiStore().Commit()
		})
		b.Run(fmt.Sprintf("leases=%d/100-claims", n), func(b *testing.B) {
			ids := make([]uint64, 0, 100)
			for id := uint64(1); id <= uint64(min(n, 100)); id++ {
				ids = append(ids, id)
			}
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				h++
				ctx := f.ctx.WithBlockHeight(h).WithEventManager(sdk.NewEventManager())
				for _, id := range ids {
					require.NoError(b, f.k.ClaimUnitsForTest(ctx, f.provider.String(), id, 1))
				}
				f.c.App.CommitMultiStore().Commit()
				b.StartTimer()
				require.NoError(b, f.k.EndBlocker(ctx))
			}
		})
	}
}
