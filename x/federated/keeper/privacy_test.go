package keeper_test

import (
	"fmt"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cohortchain/cohort/x/federated/types"
	registrykeeper "github.com/cohortchain/cohort/x/registry/keeper"
	registrytypes "github.com/cohortchain/cohort/x/registry/types"
)

func dpSpec(rounds uint32, epsilon, sigma string) types.RunSpec {
	s := spec()
	s.Rounds = rounds
	s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: epsilon, Delta: "0.00001", ClipNorm: "1.5", NoiseMultiplier: sigma}
	return s
}

func refEps(rounds int, sigma, delta float64) float64 {
	best := math.Inf(1)
	for a := 2; a <= 256; a++ {
		best = math.Min(best, float64(rounds)*float64(a)/(2*sigma*sigma)+math.Log(1/delta)/float64(a-1))
	}
	return best
}

// A client-dp run whose ε budget pays two of its ten rounds (σ=1.1,
// δ=1e-5: ε(2)≈7.01 ≤ 8 < ε(3)≈8.80) completes after round 2 like a run
// after its last round: the unspent escrow goes back and the final model
// is published to the registry.
func TestClientDPRunStopsWhenBudgetIsSpent(t *testing.T) {
	f := setup(t)
	reg := registrykeeper.NewMsgServer(f.c.App.RegistryKeeper)
	m, err := reg.RegisterModel(f.ctx, &registrytypes.MsgRegisterModel{Owner: f.client.String(), Name: "dp", Task: "classification",
		Architecture: registrytypes.Architecture{Layers: []registrytypes.Layer{{Kind: "dense", Inputs: 784, Outputs: 10}}},
		License:      registrytypes.License{SpdxId: "Apache-2.0"}, Public: true})
	require.NoError(t, err)
	_, err = reg.PublishVersion(f.ctx, &registrytypes.MsgPublishVersion{Owner: f.client.String(), ModelId: m.ModelId, WeightsHash: hash("dp"),
		Size_: 4096, Format: "safetensors", Locations: []string{"https://blobs.example/dp"}})
	require.NoError(t, err)

	total, client0 := f.total(), f.bal(f.client)
	s := dpSpec(10, "8", "1.1")
	s.Model = types.ModelRef{RegistryModelId: m.ModelId, RegistryVersion: 1}
	id := f.start(t, s)
	r := f.run(t, id)
	require.Equal(t, coin(10*3*reward), r.Escrow)
	require.Equal(t, "0.000000000000000000", r.DpEpsilonSpent)

	for n := uint32(1); n <= 2; n++ {
		require.NoError(t, f.agreeAndFinalize(t, id, n, f.submitAll(t, id, n)))
		r = f.run(t, id)
		spent, err := strconv.ParseFloat(r.DpEpsilonSpent, 64)
		require.NoError(t, err)
		require.InEpsilon(t, refEps(int(n), 1.1, 1e-5), spent, 1e-9, "round %d", n)
		f.invariants(t)
	}
	require.Equal(t, types.RUN_STATE_COMPLETED, r.State)
	require.Equal(t, uint32(2), r.CurrentRound, "no third round opened")
	_, err = f.k.GetRound(f.ctx, id, 3)
	require.Error(t, err)
	require.Contains(t, r.EndReason, "privacy budget spent after 2 rounds (2 releases): ε="+r.DpEpsilonSpent)
	require.Contains(t, r.EndReason, fmt.Sprintf("published as registry model %d version 2", m.ModelId))
	require.Equal(t, uint64(2), r.PublishedVersion)
	require.True(t, r.Escrow.IsZero())
	require.Equal(t, coin(2*3*reward), r.Paid)
	require.Equal(t, client0-2*3*reward, f.bal(f.client), "the eight unpaid rounds are refunded")
	require.Equal(t, total, f.total())
	f.invariants(t)

	// The Run query carries the spent ε.
	q, err := f.q.Run(f.ctx, &types.QueryRunRequest{Id: id})
	require.NoError(t, err)
	require.Equal(t, r.DpEpsilonSpent, q.Run.DpEpsilonSpent)
	eps, err := sdkmath.LegacyNewDecFromStr(q.Run.DpEpsilonSpent)
	require.NoError(t, err)
	require.True(t, eps.LTE(sdkmath.LegacyNewDec(8)))
}

// A budget that pays every round lets the run complete normally; a run
// without client-dp spends no ε.
func TestClientDPRunWithinBudgetCompletes(t *testing.T) {
	f := setup(t)
	id := f.start(t, dpSpec(3, "8", "2")) // ε(3)≈4.54
	f.finish(t, id)
	r := f.run(t, id)
	require.Equal(t, "3 rounds finalised", r.EndReason)
	spent, err := strconv.ParseFloat(r.DpEpsilonSpent, 64)
	require.NoError(t, err)
	require.InEpsilon(t, refEps(3, 2, 1e-5), spent, 1e-9)
	f.invariants(t)

	plain := f.start(t, spec())
	f.finish(t, plain)
	require.Empty(t, f.run(t, plain).DpEpsilonSpent)
}

// CreateRun refuses a client-dp budget that cannot pay one round and
// escrows nothing; one that pays exactly one round is accepted.
func TestCreateRunRejectsUnpayablePrivacyBudget(t *testing.T) {
	f := setup(t)
	total, bal := f.total(), f.bal(f.client)
	for _, c := range []struct{ eps, sigma string }{{"8", "0.5"}, {"1", "1.1"}, {"4.78", "1.1"}} {
		_, err := f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: f.client.String(), Spec: dpSpec(5, c.eps, c.sigma)})
		require.ErrorIs(t, err, types.ErrInvalidRun, "ε=%s σ=%s", c.eps, c.sigma)
		require.Contains(t, err.Error(), "cannot pay one round")
	}
	require.Equal(t, bal, f.bal(f.client))
	require.Equal(t, total, f.total())
	next, err := f.k.NextRunID.Peek(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), next, "no run created")
	f.invariants(t)

	// ε(1)≈4.7819 at σ=1.1: a budget of 4.79 pays round 1 only.
	id := f.start(t, dpSpec(5, "4.79", "1.1"))
	require.NoError(t, f.agreeAndFinalize(t, id, 1, f.submitAll(t, id, 1)))
	r := f.run(t, id)
	require.Equal(t, types.RUN_STATE_COMPLETED, r.State)
	require.Contains(t, r.EndReason, "privacy budget spent after 1 rounds")
	require.Equal(t, bal-3*reward, f.bal(f.client))
	require.Equal(t, total, f.total())
	f.invariants(t)
}

// An attempt that received noised updates and was retried published them:
// it is charged like a finalised round. Budget 8 at σ=1.1 pays two
// releases: the failed first attempt and the retried round 1; then the
// run stops after round 1.
func TestClientDPRetriedAttemptIsCharged(t *testing.T) {
	f := setup(t)
	total := f.total()
	id := f.start(t, dpSpec(10, "8", "1.1"))
	round := f.round(t, id, 1)
	_, err := f.msg.SubmitUpdate(f.ctx, update(addr(t, round.Selected[0]), id, 1, "lonely"))
	require.NoError(t, err)
	f.endBlock(t, round.DeadlineHeight) // 1 of 2 required: retried
	r := f.run(t, id)
	require.Equal(t, uint32(1), r.DpReleases, "the failed attempt's update was published")
	spent, err := strconv.ParseFloat(r.DpEpsilonSpent, 64)
	require.NoError(t, err)
	require.InEpsilon(t, refEps(1, 1.1, 1e-5), spent, 1e-9)
	require.Equal(t, uint32(1), f.round(t, id, 1).Attempt)

	require.NoError(t, f.agreeAndFinalize(t, id, 1, f.submitAll(t, id, 1)))
	r = f.run(t, id)
	require.Equal(t, uint32(2), r.DpReleases)
	require.Equal(t, types.RUN_STATE_COMPLETED, r.State)
	require.Contains(t, r.EndReason, "privacy budget spent after 1 rounds (2 releases)")
	require.Equal(t, total, f.total())
	f.invariants(t)

	// An attempt that received nothing costs nothing.
	id2 := f.start(t, dpSpec(10, "8", "1.1"))
	f.endBlock(t, f.round(t, id2, 1).DeadlineHeight)
	require.Zero(t, f.run(t, id2).DpReleases)
}
