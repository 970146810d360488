package daemon

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// fakeFed answers the federated queries of one run, its participants and
// its round (whatever number is asked).
type fakeFed struct {
	fedtypes.QueryClient
	run   fedtypes.Run
	parts []fedtypes.Participant
	round fedtypes.Round
}

func (f fakeFed) Run(context.Context, *fedtypes.QueryRunRequest, ...grpc.CallOption) (*fedtypes.QueryRunResponse, error) {
	return &fedtypes.QueryRunResponse{Run: f.run}, nil
}

func (f fakeFed) Participants(context.Context, *fedtypes.QueryParticipantsRequest, ...grpc.CallOption) (*fedtypes.QueryParticipantsResponse, error) {
	return &fedtypes.QueryParticipantsResponse{Participants: f.parts}, nil
}

func (f fakeFed) Round(_ context.Context, r *fedtypes.QueryRoundRequest, _ ...grpc.CallOption) (*fedtypes.QueryRoundResponse, error) {
	rd := f.round
	rd.Number = r.Number
	return &fedtypes.QueryRoundResponse{Round: rd}, nil
}

// TestFederatedVerification: a participant of a run that verifies updates
// trains its update and serves the evidence; a validator re-executing
// every local step from the revealed batches passes the honest one, fails
// one that skips steps at its first faked step, and fails an update whose
// examples are not the ones committed to.
func TestFederatedVerification(t *testing.T) {
	const me = "cohort1participant"
	for _, attack := range []string{"", AttackSkipSteps} {
		prov := testDaemon(t, Config{Attack: attack, SnapshotEvery: 3, Granter: me})
		prov.cfg.Data = data.Clusters(90, 12, 3, 2, 5)
		specHash, err := prov.ImportSpec(leaseSpec)
		require.NoError(t, err)
		global, err := engine.Init(leaseSpec, 3)
		require.NoError(t, err)
		blob, err := federation.EncodeWeights(global)
		require.NoError(t, err)
		gref, err := prov.store.PutBytes(blob)
		require.NoError(t, err)
		run := fedtypes.Run{Id: 7, GlobalWeightsHash: gref.Hash[:], Spec: fedtypes.RunSpec{Model: fedtypes.ModelRef{EngineSpecHash: specHash[:]},
			InitialWeightsHash: gref.Hash[:], LocalSteps: 12, BatchSize: 16, LearningRate: "0.05", VerifyUpdates: true}}
		round := fedtypes.Round{RunId: 7, Number: 1, Seed: []byte("round seed")}
		res, rec, err := prov.trainVerified(run, round, leaseSpec, global)
		require.NoError(t, err)
		require.NoError(t, prov.recordRound(rec))
		uref, err := prov.store.PutBytes(res.Blob)
		require.NoError(t, err)
		if attack == "" {
			// As after a restart: the round is made executable again from
			// the chain and the store.
			prov.rounds = map[string]*execJob{}
			prov.fed = fakeFed{run: run, round: round}
		}
		srv := httptest.NewServer(prov.Handler())
		defer srv.Close()

		root := federation.DataRoot(prov.cfg.Data)
		validator := func(root [32]byte) *Daemon {
			val := testDaemon(t, Config{UnavailableGrace: time.Hour})
			_, err := val.ImportSpec(leaseSpec)
			require.NoError(t, err)
			_, err = val.store.PutBytes(blob) // the validator aggregated these weights
			require.NoError(t, err)
			val.fed = fakeFed{run: run, round: round, parts: []fedtypes.Participant{{RunId: 7, Provider: me, DataRoot: root[:], DataSize: 90}}}
			return val
		}
		task := verifytypes.Task{Id: 1, Work: verifytypes.Work{Kind: verifytypes.WORK_KIND_FEDERATED_UPDATE, RunId: 7, Round: 1, Provider: me,
			CheckpointRoot: res.CheckpointRoot[:], TotalSteps: 12, Location: srv.URL + "/v1/blobs/sha256/" + uref.Hex(), InitialHash: gref.Hash[:], RoundSeed: round.Seed}}
		for s := range uint64(12) {
			task.SampledSteps = append(task.SampledSteps, s)
		}
		v, why, err := validator(root).reexecuteFederated(context.Background(), task)
		require.NoError(t, err)
		if attack == "" {
			require.Equal(t, verifytypes.OUTCOME_PASS, v.Outcome, why)
			honest, err := federation.LocalUpdate(leaseSpec, global, prov.cfg.Data, federation.LocalConfig{Steps: 12, BatchSize: 16, LearningRate: 0.05},
				federation.TrainingSeed(round.Seed, me))
			require.NoError(t, err)
			require.Equal(t, honest.Blob, res.Blob, "trained like a lease, the update is LocalUpdate's")
			require.Equal(t, honest.CheckpointRoot, res.CheckpointRoot)

			other := federation.DataRoot(data.Clusters(90, 12, 3, 2, 6))
			v, why, err = validator(other).reexecuteFederated(context.Background(), task)
			require.NoError(t, err)
			require.Equal(t, verifytypes.OUTCOME_FAIL, v.Outcome, "examples other than those committed: %s", why)
			continue
		}
		require.Equal(t, verifytypes.OUTCOME_FAIL, v.Outcome, why)
		var first uint64
		for skipped(rec.Seed, first) == false {
			first++
		}
		require.Equal(t, first, v.FirstDivergentStep, "the first faked step: %s", why)
	}
}
