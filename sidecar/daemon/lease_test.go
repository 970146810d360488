package daemon

import (
	"context"
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/training"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

var leaseSpec = engine.Spec{Layers: []engine.LayerSpec{
	{Kind: engine.KindDense, Inputs: 12, Outputs: 10}, {Kind: engine.KindReLU}, {Kind: engine.KindDropout, Rate: 0.2}, {Kind: engine.KindDense, Inputs: 10, Outputs: 3},
}}

// TestVerdictSurvivesRestart: a verdict reached is read back unchanged.
func TestVerdictSurvivesRestart(t *testing.T) {
	d := testDaemon(t, Config{})
	v := verifytypes.Verdict{TaskId: 9, Outcome: verifytypes.OUTCOME_FAIL, FirstDivergentStep: 17}
	rec := verdictRecord{TaskID: 9, JobID: 2, Outcome: v.Outcome.String(), Step: 17, ResultHash: verifytypes.VerdictHash(v)}
	require.NoError(t, d.state.update(func(s *state) { s.Verdicts[9] = rec }))
	again, err := loadState(d.state.path)
	require.NoError(t, err)
	require.Equal(t, rec, again.Verdicts[9])
}

func testDaemon(t *testing.T, cfg Config) *Daemon {
	t.Helper()
	dir := t.TempDir()
	setDefaults(&cfg)
	cfg.Logger = slog.New(slog.DiscardHandler)
	store, err := blobstore.New(filepath.Join(dir, "blobs"))
	require.NoError(t, err)
	st, err := loadState(filepath.Join(dir, "state.json"))
	require.NoError(t, err)
	return &Daemon{cfg: cfg, store: store, state: st, log: cfg.Logger, attest: map[string]attestation{}, specs: map[string]engine.Spec{},
		jobs: map[uint64]*execJob{}, datasets: map[string]engine.Dataset{}, inflight: map[uint64]bool{}, rounds: map[string]*execJob{}}
}

func leaseJob(t *testing.T, d *Daemon, optimizer, attack string) *execJob {
	t.Helper()
	w, err := engine.Init(leaseSpec, 3)
	require.NoError(t, err)
	dataSpec, err := training.ParseData("synthetic:n=200,classes=3,seed=5")
	require.NoError(t, err)
	tj := training.Job{ID: 1, Spec: leaseSpec, Data: dataSpec,
		Config: engine.TrainConfig{Steps: 60, BatchSize: 16, LearningRate: 0.02, Momentum: training.Momentum, Optimizer: optimizer, Seed: 11}}
	if optimizer == engine.OptimizerAdam {
		tj.Config.Momentum = 0
	}
	if attack == AttackWrongData {
		dataSpec.Seed++
	}
	ds, err := d.dataset(dataSpec, leaseSpec.InputWidth())
	require.NoError(t, err)
	return &execJob{job: tj, data: ds, initial: w, attack: attack}
}

// TestLeaseVerification: a provider trains a lease and serves its evidence;
// a validator re-executing every step passes the honest provider and fails
// each cheating one at its first faked step; a provider whose evidence is
// gone is unavailable once the grace has passed, and not before.
func TestLeaseVerification(t *testing.T) {
	for _, opt := range []string{engine.OptimizerSGD, engine.OptimizerAdam} {
		for _, attack := range []string{"", AttackSkipSteps, AttackWrongData, AttackStale} {
			prov := testDaemon(t, Config{Attack: attack, SnapshotEvery: 7})
			x := leaseJob(t, prov, opt, attack)
			prov.jobs[1] = x
			rec, _, err := prov.train(x)
			require.NoError(t, err)
			require.NoError(t, prov.state.update(func(s *state) { s.Leases[1] = rec }))
			require.Len(t, rec.Snapshots, 1+60/7)
			// The lease survives a restart.
			again, err := loadState(prov.state.path)
			require.NoError(t, err)
			require.Equal(t, rec, again.Leases[1])
			srv := httptest.NewServer(prov.Handler())

			val := testDaemon(t, Config{UnavailableGrace: time.Hour})
			honest := leaseJob(t, val, opt, "")
			root, _ := hex.DecodeString(rec.Root)
			task := verifytypes.Task{Id: 4, Work: verifytypes.Work{JobId: 1, TotalSteps: 60, CheckpointRoot: root,
				Location: srv.URL + "/v1/blobs/sha256/" + rec.ResultHash}}
			for s := uint64(0); s < 60; s++ {
				task.SampledSteps = append(task.SampledSteps, s)
			}
			v, why, err := val.checkSteps(context.Background(), task, honest, "/v1/training/1", ownBatches(honest), time.Now())
			require.NoError(t, err)
			want := verifytypes.Verdict{TaskId: 4, Outcome: verifytypes.OUTCOME_PASS}
			switch attack {
			case AttackWrongData:
				want = verifytypes.Verdict{TaskId: 4, Outcome: verifytypes.OUTCOME_FAIL, FirstDivergentStep: 0}
			case AttackStale:
				want = verifytypes.Verdict{TaskId: 4, Outcome: verifytypes.OUTCOME_FAIL, FirstDivergentStep: staleFrom(60)}
			case AttackSkipSteps:
				first := uint64(0)
				for !skipped(11, first) {
					first++
				}
				want = verifytypes.Verdict{TaskId: 4, Outcome: verifytypes.OUTCOME_FAIL, FirstDivergentStep: first}
			}
			require.Equal(t, want, v, "%s %q: %s", opt, attack, why)

			if attack == "" {
				// A few sampled steps only, the honest provider passes too.
				few := task
				few.SampledSteps = []uint64{0, 13, 14, 59}
				v, _, err := val.checkSteps(context.Background(), few, honest, "/v1/training/1", ownBatches(honest), time.Now())
				require.NoError(t, err)
				require.Equal(t, verifytypes.OUTCOME_PASS, v.Outcome)
				// Another root than the leaves': fail at the first sampled step.
				bad := few
				bad.Work.CheckpointRoot = make([]byte, 32)
				v, _, err = val.checkSteps(context.Background(), bad, honest, "/v1/training/1", ownBatches(honest), time.Now())
				require.NoError(t, err)
				require.Equal(t, verifytypes.Verdict{TaskId: 4, Outcome: verifytypes.OUTCOME_FAIL}, v)
				// The provider goes away: not yet decided, then unavailable.
				srv.Close()
				_, _, err = val.checkSteps(context.Background(), few, honest, "/v1/training/1", ownBatches(honest), time.Now())
				require.ErrorIs(t, err, errNotYet)
				v, _, err = val.checkSteps(context.Background(), few, honest, "/v1/training/1", ownBatches(honest), time.Now().Add(-2*time.Hour))
				require.NoError(t, err)
				require.Equal(t, verifytypes.OUTCOME_UNAVAILABLE, v.Outcome)
			}
			srv.Close()
		}
	}
}

// TestValidatorForgetsDecidedTasks: a validator drops the jobs and
// first-seen times of tasks no longer open to it, and keeps those of open
// ones and of federated rounds; a provider keeps its jobs.
func TestValidatorForgetsDecidedTasks(t *testing.T) {
	d := &Daemon{cfg: Config{Role: RoleValidator}, jobs: map[uint64]*execJob{1: {}, 2: {}}, seen: map[string]time.Time{}}
	for _, k := range []string{verifyKey(10), verifyKey(20), "round/1"} {
		d.firstSeen(k)
	}
	d.forgetDecided([]verifytypes.Task{
		{Id: 10, State: verifytypes.TASK_STATE_OPEN, Work: verifytypes.Work{JobId: 1}},
		{Id: 20, State: verifytypes.TASK_STATE_PASSED, Work: verifytypes.Work{JobId: 2}},
	})
	if _, ok := d.jobs[1]; !ok || len(d.jobs) != 1 {
		t.Fatalf("jobs kept: %v", d.jobs)
	}
	if _, ok := d.seen[verifyKey(10)]; !ok || len(d.seen) != 2 {
		t.Fatalf("first-seen kept: %v", d.seen)
	}
	p := &Daemon{cfg: Config{Role: RoleProvider}, jobs: map[uint64]*execJob{1: {}}}
	p.forgetDecided(nil)
	if len(p.jobs) != 1 {
		t.Fatal("a provider forgot its lease")
	}
}
