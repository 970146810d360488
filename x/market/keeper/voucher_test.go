package keeper_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	storetypes "github.com/cosmos/cosmos-sdk/store/v2/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/testutil"
	"github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

func TestVouchersCannotBeFakedOrReplayed(t *testing.T) {
	f := setup(t)
	id := f.meteredLease(t)
	claim := func(v types.Voucher, sig []byte) error {
		_, err := f.msg.ClaimUsage(f.ctx, claimMsg(f.provider.String(), id, v, sig))
		return err
	}
	v, sig := f.voucher(t, id, 10)
	require.NoError(t, claim(v, sig))
	require.ErrorIs(t, claim(v, sig), types.ErrReplayedVoucher, "the same voucher twice")
	low, lowSig := f.voucher(t, id, 7)
	require.ErrorIs(t, claim(low, lowSig), types.ErrReplayedVoucher, "an older voucher")

	// A voucher the provider made up, signed with its own key.
	forged := types.Voucher{ChainId: testutil.ChainID, JobId: id, Provider: f.provider.String(), CumulativeUnits: 50}
	fsig, err := keyOf(t, f.c, f.ctx, "provider").Sign(forged.SignBytes())
	require.NoError(t, err)
	require.ErrorIs(t, claim(forged, fsig), types.ErrInvalidVoucher)
	// A real signature over changed units.
	v2, sig2 := f.voucher(t, id, 20)
	v2.CumulativeUnits = 90
	require.ErrorIs(t, claim(v2, sig2), types.ErrInvalidVoucher)
	// Another chain's, or another provider's, voucher.
	other := types.Voucher{ChainId: "other-chain", JobId: id, Provider: f.provider.String(), CumulativeUnits: 20}
	osig, _ := keyOf(t, f.c, f.ctx, "client").Sign(other.SignBytes())
	require.ErrorIs(t, claim(other, osig), types.ErrInvalidVoucher)
	// More than the job bought.
	over, overSig := f.voucher(t, id, 101)
	require.ErrorIs(t, claim(over, overSig), types.ErrInvalidAmount)

	// The highest voucher pays cumulative less claimed.
	v3, sig3 := f.voucher(t, id, 25)
	res, err := f.msg.ClaimUsage(f.ctx, claimMsg(f.provider.String(), id, v3, sig3))
	require.NoError(t, err)
	require.EqualValues(t, 15, res.Units)
	f.endBlock(t, f.ctx.BlockHeight())
	require.EqualValues(t, 25, f.job(t, id).Lease.SettledUnits)
}

// Tokens are neither created nor lost: the escrow a client put in is
// exactly what the provider, the model owner, the fee collector and the
// client's refund got.
func TestLicenceFeeGoesToTheOwner(t *testing.T) {
	f := setup(t)
	owner := testutil.Addr("model-owner")
	spec := registerModel(t, f.c, f.ctx, owner, "priced", 4, true)
	feeCollector := authtypes.NewModuleAddress(authtypes.FeeCollectorName)
	client0, owner0, fee0 := f.bal(f.client), f.bal(owner), f.bal(feeCollector)

	_, err := f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_INFERENCE,
		Spec: spec, Units: 100, MaxPrice: coin(10), Budget: coin(13), DeadlineBlocks: 200})
	require.ErrorIs(t, err, types.ErrInsufficientFee, "one unit costs the price and the licence")

	id := f.meteredLeaseOn(t, spec, 500)
	prov0 := f.bal(f.provider) // after its bid deposit
	j := f.job(t, id)
	require.Equal(t, coin(4), j.LicencePrice)
	require.Equal(t, owner.String(), j.LicenceOwner)

	require.NoError(t, f.claim(t, id, 20))
	f.endBlock(t, f.ctx.BlockHeight())
	require.Equal(t, prov0+200-4, f.bal(f.provider), "20 units at 10, less the 2% fee")
	require.Equal(t, owner0+80, f.bal(owner), "20 units at a licence of 4")
	require.Equal(t, coin(500-280), f.job(t, id).Escrow)

	// Escrow runs out: 220 covers 15 units of 14; the lease pauses.
	require.NoError(t, f.claim(t, id, 30))
	f.endBlock(t, f.ctx.BlockHeight()+1)
	j = f.job(t, id)
	require.Equal(t, types.JOB_STATE_PAUSED, j.State)
	require.EqualValues(t, 35, j.Lease.SettledUnits)
	require.Equal(t, coin(10), j.Escrow, "less than one unit left")

	_, err = f.msg.CancelJob(f.ctx, &types.MsgCancelJob{Client: f.client.String(), JobId: id})
	require.NoError(t, err)
	f.invariants(t)
	j = f.job(t, id)
	provGot, ownerGot, feeGot := f.bal(f.provider)-prov0-1_000_000, f.bal(owner)-owner0, f.bal(feeCollector)-fee0
	refund := j.Refunded.Amount.Int64()
	require.EqualValues(t, 35*4, ownerGot)
	require.Equal(t, coin(35*4), j.LicencePaid)
	require.EqualValues(t, 35*10, provGot+feeGot)
	require.Equal(t, int64(500), provGot+ownerGot+feeGot+refund, "escrow in = provider + owner + fee + refund")
	require.Equal(t, client0-500+refund, f.bal(f.client))
}

func TestInferenceJobNeedsAUsableModelVersion(t *testing.T) {
	f := setup(t)
	create := func(spec types.JobSpec) error {
		_, err := f.msg.CreateJob(f.ctx, &types.MsgCreateJob{Client: f.client.String(), Kind: types.JOB_KIND_INFERENCE,
			Spec: spec, Units: 10, MaxPrice: coin(10), Budget: coin(100), DeadlineBlocks: 200})
		return err
	}
	require.ErrorIs(t, create(types.JobSpec{ModelId: "mnist-mlp"}), types.ErrInvalidJob, "not a registry model")
	restricted := registerModel(t, f.c, f.ctx, f.other, "private", 0, false)
	require.ErrorIs(t, create(restricted), types.ErrLicence, "restricted, client not allowed")
	unknown := restricted
	unknown.ModelVersion = "9"
	require.ErrorIs(t, create(unknown), types.ErrLicence, "no such version")
	require.NoError(t, create(registerModel(t, f.c, f.ctx, f.other, "public", 0, true)))
}

// signedReceipt is the provider's signed receipt of a request on job id.
func (f *fixture) signedReceipt(t *testing.T, id uint64, spec types.JobSpec, out string) (types.InferenceReceipt, []byte) {
	t.Helper()
	in := sha256.Sum256([]byte("input"))
	o := sha256.Sum256([]byte(out))
	rc := types.InferenceReceipt{Provider: f.provider.String(), Algo: "secp256k1", Client: f.client.String(), Seq: 1,
		ModelId: parseU(spec.ModelId), VersionNumber: parseU(spec.ModelVersion), RequestId: "r1",
		InputHash: hex.EncodeToString(in[:]), OutputHash: hex.EncodeToString(o[:]), Units: 1, TimeUnixMs: 1, JobId: id}
	sig, err := keyOf(t, f.c, f.ctx, "provider").Sign(types.ReceiptSignBytes(&rc))
	require.NoError(t, err)
	return rc, sig
}

func parseU(s string) uint64 {
	var n uint64
	for _, c := range s {
		n = n*10 + uint64(c-'0')
	}
	return n
}

func TestReportMismatchOpensAnInferenceChallenge(t *testing.T) {
	f := setup(t)
	spec := registerModel(t, f.c, f.ctx, f.other, "checked", 0, true)
	id := f.meteredLeaseOn(t, spec, 300)
	rc, sig := f.signedReceipt(t, id, spec, "wrong output")
	report := func(rc types.InferenceReceipt, sig []byte) (*types.MsgReportMismatchResponse, error) {
		return f.msg.ReportMismatch(f.ctx, &types.MsgReportMismatch{Reporter: f.client.String(), Receipt: rc, Signature: sig,
			InputLocation: "http://gw.example/blobs/" + rc.InputHash})
	}
	bad := rc
	bad.OutputHash = rc.InputHash
	_, err := report(bad, sig)
	require.ErrorIs(t, err, types.ErrInvalidReceipt, "a receipt the provider did not sign")

	res, err := report(rc, sig)
	require.NoError(t, err)
	task, err := f.c.App.VerifyKeeper.GetTask(f.ctx, res.VerifyTaskId)
	require.NoError(t, err)
	require.Equal(t, verifytypes.WORK_KIND_INFERENCE, task.Work.Kind)
	require.True(t, task.Challenge)
	require.Equal(t, f.provider.String(), task.Work.Provider)
	require.Equal(t, rc.OutputHash, hex.EncodeToString(task.Work.ResultHash))
	require.Equal(t, rc.InputHash, hex.EncodeToString(task.Work.CheckpointRoot))
	require.Equal(t, id, task.Work.JobId)

	_, err = report(rc, sig)
	require.ErrorIs(t, err, types.ErrInvalidReceipt, "reported once only")
	f.invariants(t)
}

// TestClaimGas reports the gas of claims in the keeper (state reads and
// writes and the voucher signature check; the transaction's own costs —
// its signature, bytes and fee — come on top): one claim, and N claims of
// N leases as one transaction would batch them.
func TestClaimGas(t *testing.T) {
	f := setup(t)
	spec := registerModel(t, f.c, f.ctx, f.other, "gas", 1, true)
	const n = 10
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = f.meteredLeaseOn(t, spec, 500)
	}
	gas := func(ids []uint64) uint64 {
		ctx := f.ctx.WithGasMeter(storetypes.NewInfiniteGasMeter()).WithEventManager(sdk.NewEventManager())
		for _, id := range ids {
			v, sig := f.voucher(t, id, f.cum[id]+5)
			_, err := f.msg.ClaimUsage(ctx, claimMsg(f.provider.String(), id, v, sig))
			require.NoError(t, err)
			f.cum[id] += 5
		}
		return ctx.GasMeter().GasConsumed()
	}
	one := gas(ids[:1])
	all := gas(ids)
	t.Logf("keeper gas: 1 claim %d; %d claims batched %d (%d each)", one, n, all, all/n)
	require.Less(t, all/n, one*2)
}

// Every usage claim commits the receipts of the requests it is paid for,
// and x/verify records them as a claim task; a claim without a well-formed
// commitment is refused and changes nothing. A verdict against the
// provider on an inference lease ends it: the client gets the escrow and
// the provider's deposit, and claims not yet paid are not paid.
func TestClaimsCommitReceiptsAndAFailedCheckEndsTheLease(t *testing.T) {
	f := setup(t)
	id := f.meteredLease(t)
	v, sig := f.voucher(t, id, 10)
	for name, mutate := range map[string]func(m *types.MsgClaimUsage){
		"short root":  func(m *types.MsgClaimUsage) { m.ReceiptsRoot = m.ReceiptsRoot[:31] },
		"no receipts": func(m *types.MsgClaimUsage) { m.Receipts = 0 },
		"no location": func(m *types.MsgClaimUsage) { m.EvidenceLocation = "" },
	} {
		m := claimMsg(f.provider.String(), id, v, sig)
		mutate(m)
		_, err := f.msg.ClaimUsage(f.ctx, m)
		require.ErrorIs(t, err, types.ErrInvalidReceipt, name)
		require.Zero(t, f.job(t, id).Lease.PendingUnits, name+": nothing claimed")
	}
	res, err := f.msg.ClaimUsage(f.ctx, claimMsg(f.provider.String(), id, v, sig))
	require.NoError(t, err)
	task, err := f.c.App.VerifyKeeper.GetTask(f.ctx, res.VerifyTaskId)
	require.NoError(t, err)
	require.Equal(t, verifytypes.WORK_KIND_INFERENCE_CLAIM, task.Work.Kind)
	require.False(t, task.Challenge)
	require.Equal(t, testReceiptsRoot[:], task.Work.CheckpointRoot)
	require.EqualValues(t, 5, task.Work.TotalSteps)
	require.Equal(t, "http://provider.example:7300", task.Work.Location)
	paid := sha256.Sum256(v.SignBytes())
	require.Equal(t, paid[:], task.Work.ResultHash, "the task names the voucher paid")
	f.endBlock(t, f.ctx.BlockHeight())
	require.EqualValues(t, 10, f.job(t, id).Lease.SettledUnits)

	// A second claim is pending when the first one's check fails.
	v2, sig2 := f.voucher(t, id, 14)
	_, err = f.msg.ClaimUsage(f.ctx, claimMsg(f.provider.String(), id, v2, sig2))
	require.NoError(t, err)
	client0, escrow := f.bal(f.client), f.job(t, id).Escrow.Amount.Int64()
	require.NoError(t, f.c.App.MarketKeeper.OnVerified(f.ctx, id, res.VerifyTaskId, verifytypes.TASK_STATE_FAILED))
	job := f.job(t, id)
	require.Equal(t, types.JOB_STATE_FAILED, job.State)
	require.EqualValues(t, 10, job.Lease.SettledUnits, "the pending claim is not paid")
	require.Greater(t, f.bal(f.client), client0+escrow, "the client gets the escrow and the provider's deposit")
	f.endBlock(t, f.ctx.BlockHeight())
	require.Equal(t, types.JOB_STATE_FAILED, f.job(t, id).State)
	f.invariants(t)
}
