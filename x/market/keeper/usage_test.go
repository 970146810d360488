package keeper_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/x/market/types"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
)

// meteredLease opens an inference job of 100 requests at up to 10 each with
// 300 escrowed, and leases it to the provider at 10.
func (f *fixture) meteredLease(t *testing.T) uint64 {
	t.Helper()
	res, err := f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_INFERENCE,
		Spec: types.JobSpec{ModelId: "mnist-mlp"}, Units: 100, MaxPrice: coin(10), Budget: coin(300), DeadlineBlocks: 200})
	require.NoError(t, err)
	f.bid(t, res.JobId, f.provider, 10)
	_, err = f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: res.JobId, Provider: f.provider.String()})
	require.NoError(t, err)
	return res.JobId
}

func (f *fixture) claim(t *testing.T, id, units uint64) error {
	t.Helper()
	_, err := f.msg.ClaimUsage(f.ctx, &types.MsgClaimUsage{Provider: f.provider.String(), JobId: id, Units: units})
	return err
}

func TestMeteredLeasePausesAndResumes(t *testing.T) {
	f := setup(t)
	id := f.meteredLease(t)
	prov0 := f.bal(f.provider)

	require.NoError(t, f.claim(t, id, 20))
	h := f.ctx.BlockHeight()
	f.endBlock(t, h)
	j := f.job(t, id)
	require.Equal(t, types.JOB_STATE_LEASED, j.State)
	require.EqualValues(t, 20, j.Lease.SettledUnits)
	require.Equal(t, coin(100), j.Escrow)
	require.Equal(t, prov0+200-4, f.bal(f.provider), "20 units at 10, less 2%")

	// Claims beyond the escrow pause the lease; what is covered is paid.
	require.NoError(t, f.claim(t, id, 15))
	f.endBlock(t, h+1)
	j = f.job(t, id)
	require.Equal(t, types.JOB_STATE_PAUSED, j.State)
	require.EqualValues(t, 30, j.Lease.SettledUnits)
	require.EqualValues(t, 5, j.Lease.PendingUnits)
	require.True(t, j.Escrow.IsZero())
	require.ErrorIs(t, f.claim(t, id, 1), types.ErrInvalidState, "a paused lease takes no claims")

	// Topping up resumes it and pays the waiting claims.
	_, err := f.msg.TopUp(f.ctx, &types.MsgTopUp{Client: f.client.String(), JobId: id, Amount: coin(1_000)})
	require.NoError(t, err)
	f.endBlock(t, h+2)
	j = f.job(t, id)
	require.Equal(t, types.JOB_STATE_LEASED, j.State)
	require.EqualValues(t, 35, j.Lease.SettledUnits)
	require.Zero(t, j.Lease.PendingUnits)
	require.Equal(t, coin(950), j.Escrow)

	// Claiming every remaining unit completes the job and refunds the rest.
	require.ErrorIs(t, f.claim(t, id, 66), types.ErrInvalidAmount, "no more than the units bought")
	client0 := f.bal(f.client)
	require.NoError(t, f.claim(t, id, 65))
	f.endBlock(t, h+3)
	j = f.job(t, id)
	require.Equal(t, types.JOB_STATE_COMPLETED, j.State)
	require.EqualValues(t, 100, j.Lease.SettledUnits)
	require.Equal(t, client0+300, f.bal(f.client), "escrow left over comes back")
}

func TestMeteredLeaseEndsAtDeadlineAndOnCancel(t *testing.T) {
	f := setup(t)
	id := f.meteredLease(t)
	require.NoError(t, f.claim(t, id, 7))
	prov0, client0 := f.bal(f.provider), f.bal(f.client)
	f.endBlock(t, f.job(t, id).DeadlineHeight)
	j := f.job(t, id)
	require.Equal(t, types.JOB_STATE_COMPLETED, j.State, "a metered lease ends, it does not fail, at its deadline")
	require.Equal(t, prov0+70-1+1_000_000, f.bal(f.provider), "pending claims paid, deposit back")
	require.Equal(t, client0+230, f.bal(f.client))

	id = f.meteredLease(t)
	require.NoError(t, f.claim(t, id, 3))
	res, err := f.msg.CancelJob(f.ctx, &types.MsgCancelJob{Client: f.client.String(), JobId: id})
	require.NoError(t, err)
	require.Equal(t, coin(270), res.Refunded, "what was earned is paid before the refund")
	require.Equal(t, types.JOB_STATE_CANCELLED, f.job(t, id).State)
	f.invariants(t)
}

func TestMeteringOnlyForMeteredJobs(t *testing.T) {
	f := setup(t)
	id := f.meteredLease(t)
	_, err := f.msg.SubmitResult(f.ctx, &types.MsgSubmitResult{Provider: f.provider.String(), JobId: id, Result: result()})
	require.ErrorIs(t, err, types.ErrInvalidState)
	_, err = f.msg.ClaimUsage(f.ctx, &types.MsgClaimUsage{Provider: f.other.String(), JobId: id, Units: 1})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	require.ErrorIs(t, f.claim(t, id, 0), types.ErrInvalidAmount)

	training := f.createJob(t)
	f.bid(t, training, f.provider, 1_000)
	_, err = f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: training, Provider: f.provider.String()})
	require.NoError(t, err)
	require.ErrorIs(t, f.claim(t, training, 1), types.ErrInvalidState)

	_, err = f.msg.TopUp(f.ctx, &types.MsgTopUp{Client: f.provider.String(), JobId: id, Amount: coin(1)})
	require.ErrorIs(t, err, types.ErrUnauthorized)
	_, err = f.msg.TopUp(f.ctx, &types.MsgTopUp{Client: f.client.String(), JobId: id, Amount: coin(0)})
	require.ErrorIs(t, err, types.ErrInvalidAmount)
	f.invariants(t)
}

// Market activity counts as a liveness heartbeat.
func TestActivityIsAHeartbeat(t *testing.T) {
	f := setup(t)
	params := providertypes.DefaultParams()
	id := f.meteredLease(t)
	pk := f.c.App.ProviderKeeper
	for e := int64(1); e < params.InactiveAfterEpochs; e++ {
		require.NoError(t, pk.AfterEpochEnd(f.ctx, params.EpochIdentifier, e))
	}
	require.NoError(t, f.claim(t, id, 1)) // activity in the last epoch before going inactive
	require.NoError(t, pk.AfterEpochEnd(f.ctx, params.EpochIdentifier, params.InactiveAfterEpochs))
	p, _ := pk.GetProvider(f.ctx, f.provider)
	require.Equal(t, providertypes.STATUS_ACTIVE, p.Status)
	o, _ := pk.GetProvider(f.ctx, f.other)
	require.Equal(t, providertypes.STATUS_INACTIVE, o.Status, "the idle provider went inactive")
}
