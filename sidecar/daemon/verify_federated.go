package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/tensor"
	"github.com/cohortchain/cohort/sidecar/training"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// MaxVerifiedExamples bounds the data commitment of a participant whose
// update this validator re-executes: its batch order permutes that many
// indices (a commitment beyond it cannot be checked here, and the task is
// left to the rest of the committee).
const MaxVerifiedExamples = 1 << 24

// reexecuteFederated reaches a verdict on a task of kind
// WORK_KIND_FEDERATED_UPDATE (a run with verify_updates): the participant
// trained the run's local steps from the round's global weights
// (Work.InitialHash) on the examples it committed to when it joined, with
// its training seed of the round attempt (Work.RoundSeed), and committed to the checkpoint after every
// step (Work.CheckpointRoot). For every sampled step the validator fetches
// the participant's checkpoint before it and the examples of that step's
// batch, checks them against the leaves and the data commitment
// (federation.CheckBatch), re-runs the step on that batch alone
// (engine.StepOnBatch) and compares with the step's leaf; the rest is the
// checks of a training lease (checkSteps). The validator sees the examples
// of the sampled batches only.
func (d *Daemon) reexecuteFederated(ctx context.Context, t verifytypes.Task) (verifytypes.Verdict, string, error) {
	pass := verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_PASS}
	rresp, err := d.fed.Run(ctx, &fedtypes.QueryRunRequest{Id: t.Work.RunId})
	if err != nil {
		return pass, "", err
	}
	run := rresp.Run
	spec, err := d.specOf(ctx, run)
	if err != nil {
		return pass, "", err
	}
	commit, err := d.participantOf(ctx, run.Id, t.Work.Provider)
	if err != nil {
		return pass, "", err
	}
	if commit.DataSize == 0 || commit.DataSize > MaxVerifiedExamples || len(commit.DataRoot) != 32 {
		return pass, "", fmt.Errorf("participant %s of run %d committed %d examples: not re-executable here", t.Work.Provider, run.Id, commit.DataSize)
	}
	if len(t.Work.RoundSeed) == 0 {
		return pass, "", errors.New("the task names no round seed")
	}
	global, err := d.roundStart(ctx, spec, run, t)
	if err != nil {
		return pass, "", fmt.Errorf("the round's global weights: %w", err)
	}
	cfg, err := federation.LocalConfigOf(run.Spec)
	if err != nil {
		return pass, "", err
	}
	tc := federation.LocalTrainConfig(cfg, int(commit.DataSize), federation.TrainingSeed(t.Work.RoundSeed, t.Work.Provider))
	x := &execJob{job: training.Job{Spec: spec, Config: tc}, initial: global}
	base, err := evidenceBase(t.Work.Location)
	if err != nil {
		return verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_UNAVAILABLE}, err.Error(), nil
	}
	prefix := fmt.Sprintf("/v1/federated/%d/%d", run.Id, t.Work.Round)
	maxBatch := int64(tc.BatchSize)*int64(8*spec.InputWidth()+64*32+64) + 4096
	batches := func(ctx context.Context, s uint64) ([]float32, []int, string, error) {
		body, err := d.getBytes(ctx, fmt.Sprintf("%s%s/batch/%d", base, prefix, s), maxBatch)
		if err != nil {
			return nil, nil, "", err
		}
		var b federation.Batch
		if err := json.Unmarshal(body, &b); err != nil {
			return nil, nil, "not a batch: " + err.Error(), nil
		}
		bx, labels, err := federation.CheckBatch(b, [32]byte(commit.DataRoot), commit.DataSize, spec.InputWidth(), tc, s)
		if err != nil {
			return nil, nil, err.Error(), nil
		}
		return bx, labels, "", nil
	}
	return d.checkSteps(ctx, t, x, prefix, batches, d.firstSeen(verifyKey(t.Id)))
}

// participantOf is provider's participation in run, with its data commitment.
func (d *Daemon) participantOf(ctx context.Context, run uint64, provider string) (fedtypes.Participant, error) {
	resp, err := d.fed.Participants(ctx, &fedtypes.QueryParticipantsRequest{RunId: run})
	if err != nil {
		return fedtypes.Participant{}, err
	}
	for _, p := range resp.Participants {
		if p.Provider == provider {
			return p, nil
		}
	}
	return fedtypes.Participant{}, fmt.Errorf("%s is no participant of run %d", provider, run)
}

// roundStart is the global weights a round's update trained from
// (Work.InitialHash): from the own store (a validator keeps the weights it
// aggregated), or where the run serves them now, or the run's initial
// location, or the previous round's result location.
func (d *Daemon) roundStart(ctx context.Context, spec engine.Spec, run fedtypes.Run, t verifytypes.Task) (tensor.Set, error) {
	want := t.Work.InitialHash
	if len(want) != 32 {
		return nil, errors.New("the task names no starting weights")
	}
	var locations []string
	switch {
	case bytes.Equal(want, run.GlobalWeightsHash):
		locations = append(locations, run.GlobalWeightsLocation)
	case bytes.Equal(want, run.Spec.InitialWeightsHash):
		locations = append(locations, run.Spec.InitialWeightsLocation)
	}
	if t.Work.Round > 1 {
		if prev, err := d.fed.Round(ctx, &fedtypes.QueryRoundRequest{RunId: run.Id, Number: t.Work.Round - 1}); err == nil {
			locations = append(locations, prev.Round.NewWeightsLocation)
		}
	}
	var errs []error
	for _, loc := range append(locations, "") {
		w, err := d.fetchWeights(ctx, spec, want, loc)
		if err == nil {
			return w, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}
