package keeper_test

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/testutil"
	"github.com/cohortchain/cohort/x/market/types"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	registrykeeper "github.com/cohortchain/cohort/x/registry/keeper"
	registrytypes "github.com/cohortchain/cohort/x/registry/types"
)

// keyOf is the private key of testutil.Addr(name), whose account is given
// that public key on chain (as its first transaction would).
func keyOf(t testing.TB, c *testutil.Chain, ctx sdk.Context, name string) *secp256k1.PrivKey {
	t.Helper()
	priv := secp256k1.GenPrivKeyFromSecret([]byte(name))
	addr := testutil.Addr(name)
	ak := c.App.AccountKeeper
	acc := ak.GetAccount(ctx, addr)
	if acc == nil {
		acc = ak.NewAccountWithAddress(ctx, addr)
	}
	require.NoError(t, acc.SetPubKey(priv.PubKey()))
	ak.SetAccount(ctx, acc)
	return priv
}

// registerModel registers a public model with one published version whose
// licence costs licence per inference, owned by owner, and returns the
// inference job spec naming it.
func registerModel(t testing.TB, c *testutil.Chain, ctx sdk.Context, owner sdk.AccAddress, name string, licence int64, public bool) types.JobSpec {
	t.Helper()
	rmsg := registrykeeper.NewMsgServer(c.App.RegistryKeeper)
	res, err := rmsg.RegisterModel(ctx, &registrytypes.MsgRegisterModel{Owner: owner.String(), Name: name, Task: "classification",
		Architecture: registrytypes.Architecture{Layers: []registrytypes.Layer{{Kind: "dense", Inputs: 4, Outputs: 3}}},
		License:      registrytypes.License{SpdxId: "Apache-2.0", PricePerInference: coin(licence), PricePerDownload: coin(0)}, Public: public})
	require.NoError(t, err)
	h := make([]byte, 32)
	h[0] = byte(res.ModelId)
	v, err := rmsg.PublishVersion(ctx, &registrytypes.MsgPublishVersion{Owner: owner.String(), ModelId: res.ModelId, WeightsHash: h, Size_: 64,
		Format: "safetensors", Locations: []string{"https://blobs.example/w"}})
	require.NoError(t, err)
	return types.JobSpec{ModelId: strconv.FormatUint(res.ModelId, 10), ModelVersion: strconv.FormatUint(v.Number, 10)}
}

// meteredLease opens an inference job of 100 requests at up to 10 each with
// 300 escrowed on a free model, and leases it to the provider at 10.
func (f *fixture) meteredLease(t *testing.T) uint64 {
	t.Helper()
	return f.meteredLeaseOn(t, registerModel(t, f.c, f.ctx, f.other, fmt.Sprintf("m%d", f.ctx.BlockHeight()+int64(len(f.cum))), 0, true), 300)
}

func (f *fixture) meteredLeaseOn(t *testing.T, spec types.JobSpec, budget int64) uint64 {
	t.Helper()
	res, err := f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_INFERENCE,
		Spec: spec, Units: 100, MaxPrice: coin(10), Budget: coin(budget), DeadlineBlocks: 200})
	require.NoError(t, err)
	f.bid(t, res.JobId, f.provider, 10)
	_, err = f.msg.AcceptBid(f.ctx, &types.MsgAcceptBid{Client: f.client.String(), JobId: res.JobId, Provider: f.provider.String()})
	require.NoError(t, err)
	if f.cum == nil {
		f.cum = map[uint64]uint64{}
	}
	f.cum[res.JobId] = 0
	return res.JobId
}

// voucher is the client's voucher for cumulative units of job id.
func (f *fixture) voucher(t *testing.T, id, cumulative uint64) (types.Voucher, []byte) {
	t.Helper()
	v := types.Voucher{ChainId: testutil.ChainID, JobId: id, Provider: f.provider.String(), CumulativeUnits: cumulative}
	sig, err := keyOf(t, f.c, f.ctx, "client").Sign(v.SignBytes())
	require.NoError(t, err)
	return v, sig
}

// claim claims units more of job id with the client's next voucher.
func (f *fixture) claim(t *testing.T, id, units uint64) error {
	t.Helper()
	v, sig := f.voucher(t, id, f.cum[id]+units)
	res, err := f.msg.ClaimUsage(f.ctx, claimMsg(f.provider.String(), id, v, sig))
	if err == nil {
		require.Equal(t, units, res.Units)
		f.cum[id] += units
	}
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
	v, sig := f.voucher(t, id, 1)
	_, err = f.msg.ClaimUsage(f.ctx, claimMsg(f.other.String(), id, v, sig))
	require.ErrorIs(t, err, types.ErrUnauthorized)
	require.ErrorIs(t, f.claim(t, id, 0), types.ErrInvalidVoucher, "a voucher for nothing")

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

// testReceiptsRoot stands for the Merkle root of a claim's receipts.
var testReceiptsRoot = sha256.Sum256([]byte("receipts"))

// claimMsg is a usage claim with voucher v (signed sig) that commits five
// receipts served at a provider's evidence server.
func claimMsg(provider string, id uint64, v types.Voucher, sig []byte) *types.MsgClaimUsage {
	return &types.MsgClaimUsage{Provider: provider, JobId: id, Voucher: v, ClientSignature: sig,
		ReceiptsRoot: testReceiptsRoot[:], Receipts: 5, EvidenceLocation: "http://provider.example:7300"}
}
