package keeper_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/x/federated/types"
	verifykeeper "github.com/cohortchain/cohort/x/verify/keeper"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// dataSize is the examples each provider commits to in verifying runs; the
// fixture's update() trains on 600.
const dataSize = 600

func verifySpec() types.RunSpec {
	s := spec()
	s.VerifyUpdates, s.VerificationLevel = true, 40
	return s
}

func joinMsg(p sdk.AccAddress, id uint64) *types.MsgJoinRun {
	return &types.MsgJoinRun{Provider: p.String(), RunId: id, DataRoot: hash("data " + p.String()), DataSize: dataSize}
}

// startVerifying creates a run with s, lets every provider join with a data
// commitment of dataSize examples and opens round 1.
func (f *fixture) startVerifying(t *testing.T, s types.RunSpec) uint64 {
	t.Helper()
	id := f.create(t, s)
	for _, p := range f.providers {
		_, err := f.msg.JoinRun(f.ctx, joinMsg(p, id))
		require.NoError(t, err)
	}
	f.endBlock(t, f.run(t, id).JoinDeadlineHeight)
	require.Equal(t, types.RUN_STATE_TRAINING, f.run(t, id).State)
	return id
}

// tasks lists x/verify's pending tasks.
func (f *fixture) pendingTasks(t *testing.T) []verifytypes.Task {
	t.Helper()
	res, err := verifykeeper.NewQueryServer(f.c.App.VerifyKeeper).TasksByState(f.ctx,
		&verifytypes.QueryTasksByStateRequest{State: verifytypes.TASK_STATE_PENDING})
	require.NoError(t, err)
	return res.Tasks
}

func (f *fixture) tasksOf(t *testing.T, p sdk.AccAddress) []verifytypes.Task {
	t.Helper()
	res, err := verifykeeper.NewQueryServer(f.c.App.VerifyKeeper).TasksByProvider(f.ctx,
		&verifytypes.QueryTasksByProviderRequest{Provider: p.String()})
	require.NoError(t, err)
	return res.Tasks
}

func TestRunSpecVerifyUpdates(t *testing.T) {
	p := types.DefaultParams()
	ok := verifySpec()
	require.NoError(t, ok.Validate(p))
	ok.VerificationLevel = verifytypes.MaxJobLevel
	ok.Aggregation = types.AggregationRule{Name: types.RuleMedian}
	ok.Compression = types.Compression{Mode: types.COMPRESSION_MODE_TOPK, TopkFraction: "0.1"}
	require.NoError(t, ok.Validate(p), "any rule, compression and level up to the maximum")

	f := setup(t)
	for name, mut := range map[string]func(*types.RunSpec){
		"level over max": func(s *types.RunSpec) { s.VerificationLevel = verifytypes.MaxJobLevel + 1 },
		"secure aggregation": func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_SECURE_AGGREGATION}
		},
		"client dp": func(s *types.RunSpec) {
			s.Privacy = types.Privacy{Mode: types.PRIVACY_MODE_CLIENT_DP, Epsilon: "8", Delta: "0.00001", ClipNorm: "1", NoiseMultiplier: "1.1"}
		},
	} {
		s := verifySpec()
		mut(&s)
		require.ErrorIs(t, s.Validate(p), types.ErrInvalidRun, name)
		bal, total := f.bal(f.client), f.total()
		_, err := f.msg.CreateRun(f.ctx, &types.MsgCreateRun{Client: f.client.String(), Spec: s})
		require.ErrorIs(t, err, types.ErrInvalidRun, name)
		require.Equal(t, bal, f.bal(f.client), "%s: nothing escrowed", name)
		require.Equal(t, total, f.total())
		// The same privacy modes without verification are fine.
		if s.Privacy.Mode != types.PRIVACY_MODE_NONE {
			s.VerifyUpdates = false
			require.NoError(t, s.Validate(p), name)
		}
	}
	next, err := f.k.NextRunID.Peek(f.ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(1), next, "no run created")
}

func TestVerifyingRunNeedsDataCommitment(t *testing.T) {
	f := setup(t)
	id := f.create(t, verifySpec())
	p := f.providers[0]
	for name, mut := range map[string]func(*types.MsgJoinRun){
		"no commitment": func(m *types.MsgJoinRun) { m.DataRoot, m.DataSize = nil, 0 },
		"no root":       func(m *types.MsgJoinRun) { m.DataRoot = nil },
		"short root":    func(m *types.MsgJoinRun) { m.DataRoot = m.DataRoot[:31] },
		"zero size":     func(m *types.MsgJoinRun) { m.DataSize = 0 },
		"huge size":     func(m *types.MsgJoinRun) { m.DataSize = types.MaxDataSize + 1 },
	} {
		m := joinMsg(p, id)
		mut(m)
		_, err := f.msg.JoinRun(f.ctx, m)
		require.ErrorIs(t, err, types.ErrRequirements, name)
		require.Equal(t, uint32(0), f.run(t, id).Joined, "%s changes nothing", name)
		has, err := f.k.Participants.Has(f.ctx, collections.Join(id, p))
		require.NoError(t, err)
		require.False(t, has, name)
	}
	_, err := f.msg.JoinRun(f.ctx, joinMsg(p, id))
	require.NoError(t, err)
	got, err := f.k.Participants.Get(f.ctx, collections.Join(id, p))
	require.NoError(t, err)
	require.Equal(t, hash("data "+p.String()), got.DataRoot)
	require.Equal(t, uint64(dataSize), got.DataSize)

	// A run that does not verify updates ignores a commitment.
	plain := f.create(t, spec())
	_, err = f.msg.JoinRun(f.ctx, joinMsg(p, plain))
	require.NoError(t, err)
	got, err = f.k.Participants.Get(f.ctx, collections.Join(plain, p))
	require.NoError(t, err)
	require.Empty(t, got.DataRoot)
	require.Zero(t, got.DataSize)
}

func TestVerifyingRunReportsUpdates(t *testing.T) {
	f := setup(t)
	total := f.total()
	s := verifySpec()
	id := f.startVerifying(t, s)
	round := f.round(t, id, 1)
	sel := addr(t, round.Selected[0])

	// An update that does not train on the committed shard is refused and
	// changes nothing.
	bad := update(sel, id, 1, "bad")
	bad.SampleCount = dataSize - 1
	_, err := f.msg.SubmitUpdate(f.ctx, bad)
	require.ErrorIs(t, err, types.ErrInvalidUpdate)
	require.Equal(t, uint32(0), f.round(t, id, 1).Submitted)
	ups, err := f.q.Updates(f.ctx, &types.QueryUpdatesRequest{RunId: id, Round: 1})
	require.NoError(t, err)
	require.Empty(t, ups.Updates)
	require.Empty(t, f.pendingTasks(t))
	require.Empty(t, f.tasksOf(t, sel))

	// Each accepted update opens a pending x/verify task, unpaid by the run.
	hashes := f.submitAll(t, id, 1)
	require.Len(t, f.pendingTasks(t), len(round.Selected))
	for i, who := range round.Selected {
		tasks := f.tasksOf(t, addr(t, who))
		require.Len(t, tasks, 1)
		task := tasks[0]
		require.Equal(t, verifytypes.TASK_STATE_PENDING, task.State)
		w := task.Work
		require.Equal(t, verifytypes.WORK_KIND_FEDERATED_UPDATE, w.Kind)
		require.Equal(t, id, w.RunId)
		require.Zero(t, w.JobId)
		require.Equal(t, uint32(1), w.Round)
		require.Equal(t, who, w.Provider)
		require.Equal(t, f.client.String(), w.Client)
		require.Equal(t, hashes[i], w.ResultHash)
		require.Equal(t, hash(fmt.Sprintf("root r1-%d", i)), w.CheckpointRoot)
		require.Equal(t, uint64(s.LocalSteps), w.TotalSteps)
		require.Equal(t, s.VerificationLevel, w.VerificationLevel)
		require.Equal(t, fmt.Sprintf("https://p.example/blobs/r1-%d", i), w.Location)
		require.Equal(t, hash("w0"), w.InitialHash, "round 1 trains from the initial weights")
		require.Equal(t, f.round(t, id, 1).Seed, w.RoundSeed, "the attempt's seed, which a retry replaces")
		require.Equal(t, coin(0), w.Fee)
	}
	require.Equal(t, total, f.total(), "no fee taken")
	f.invariants(t)

	// Round 2 trains from round 1's aggregate.
	res := types.RoundResult{RunId: id, Round: 1, NewWeightsHash: hash("w1"), NewWeightsLocation: "https://agg.example/w1", AcceptedUpdates: hashes}
	require.NoError(t, f.k.OnAgreement(f.ctx, types.Subject(id, 1), res.ResultHash()))
	_, err = f.msg.FinalizeRound(f.ctx, &types.MsgFinalizeRound{Sender: f.stranger.String(), Result: res})
	require.NoError(t, err)
	round2 := f.round(t, id, 2)
	m := update(addr(t, round2.Selected[0]), id, 2, "r2")
	_, err = f.msg.SubmitUpdate(f.ctx, m)
	require.NoError(t, err)
	var found bool
	for _, task := range f.tasksOf(t, addr(t, round2.Selected[0])) {
		if task.Work.Round == 2 {
			found = true
			require.Equal(t, hash("w1"), task.Work.InitialHash)
			require.Equal(t, m.Hash, task.Work.ResultHash)
		}
	}
	require.True(t, found, "round 2's update was reported")
	f.invariants(t)
}

func TestRunWithoutVerifyUpdatesReportsNothing(t *testing.T) {
	f := setup(t)
	id := f.start(t, spec())
	f.submitAll(t, id, 1)
	require.Equal(t, types.ROUND_STATE_AGGREGATING, f.round(t, id, 1).State)
	require.Empty(t, f.pendingTasks(t))
	for _, p := range f.providers {
		require.Empty(t, f.tasksOf(t, p))
	}
}
