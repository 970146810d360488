package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cosmos/cosmos-sdk/types/bech32"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// This file is a validator's part of proof-of-compute: it re-executes the
// x/verify tasks whose committee it sits on and attests its verdicts in
// vote extensions (kind "verify-task") until the task is decided. For a
// training lease it fetches the provider's leaves (their Merkle root must
// be the committed checkpoint root, their count the committed steps) and,
// for every sampled step s, the checkpoint after step s−1 (its hash must be
// leaf s−1; step 0 starts from the registry weights), re-runs step s and
// compares the result with leaf s. The first divergent step fails the
// task; evidence that cannot be fetched within Config.UnavailableGrace
// makes it UNAVAILABLE. Verdicts are kept in state.json, so that a restart
// neither redoes a task nor changes its verdict.

// verdictRecord is a verdict reached on a task.
type verdictRecord struct {
	TaskID     uint64 `json:"task_id"`
	JobID      uint64 `json:"job_id"`
	Outcome    string `json:"outcome"`
	Step       uint64 `json:"step"`
	ResultHash []byte `json:"result_hash"`
	Reason     string `json:"reason,omitempty"`
	Took       string `json:"took"`
}

// verifyKey is a task's attestation key (apart from round keys).
func verifyKey(id uint64) string { return fmt.Sprintf(verifyKeyPrefix+"%020d", id) }

// verifyKeyPrefix begins every verifyKey.
const verifyKeyPrefix = "verify/"

// errNotYet says evidence could not be fetched but the grace is not over.
var errNotYet = errors.New("evidence not available yet")

// verifyStep starts re-executing the open tasks this validator sits on
// and offers the verdicts reached.
func (d *Daemon) verifyStep(ctx context.Context) error {
	if d.cfg.ConsAddress == "" {
		return nil
	}
	var tasks []verifytypes.Task
	req := &verifytypes.QueryCommitteeTasksRequest{ConsAddress: d.cfg.ConsAddress}
	for {
		resp, err := d.ver.CommitteeTasks(ctx, req)
		if err != nil {
			return err
		}
		tasks = append(tasks, resp.Tasks...)
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			break
		}
		req.Pagination = nextPage(resp.Pagination.NextKey)
	}
	atts := map[string]attestation{}
	for _, t := range tasks {
		if t.State != verifytypes.TASK_STATE_OPEN {
			continue
		}
		var rec verdictRecord
		var done bool
		d.state.read(func(s *state) { rec, done = s.Verdicts[t.Id] })
		if done {
			atts[verifyKey(t.Id)] = attestation{subject: verifytypes.TaskSubject(t.Id), resultHash: rec.ResultHash}
			continue
		}
		switch t.Work.Kind {
		case verifytypes.WORK_KIND_TRAINING_LEASE, verifytypes.WORK_KIND_FEDERATED_UPDATE, verifytypes.WORK_KIND_INFERENCE,
			verifytypes.WORK_KIND_INFERENCE_CLAIM:
		default:
			continue
		}
		d.mu.Lock()
		start := !d.inflight[t.Id] && len(d.inflight) < d.cfg.VerifyConcurrency
		if start {
			d.inflight[t.Id] = true
		}
		d.mu.Unlock()
		if start {
			go d.verifyTask(ctx, t)
		}
	}
	d.setAttestations(verifytypes.AttestationKind, atts)
	d.forgetDecided(tasks)
	return nil
}

// forgetDecided drops what no open task of this validator needs any more:
// the jobs made executable for re-execution (their data and initial
// weights) and when tasks were first seen. A verification under way keeps
// what it holds. Only a validator forgets jobs: a provider needs its own
// leases' to serve their evidence.
func (d *Daemon) forgetDecided(tasks []verifytypes.Task) {
	if d.cfg.Role != RoleValidator {
		return
	}
	jobs, keys := map[uint64]bool{}, map[string]bool{}
	for _, t := range tasks {
		if t.State == verifytypes.TASK_STATE_OPEN {
			jobs[t.Work.JobId] = true
			keys[verifyKey(t.Id)] = true
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for id := range d.jobs {
		if !jobs[id] {
			delete(d.jobs, id)
		}
	}
	for k := range d.seen {
		if strings.HasPrefix(k, verifyKeyPrefix) && !keys[k] {
			delete(d.seen, k)
		}
	}
}

// verifyTask reaches a verdict on t and records it, or leaves it for the
// next poll when it cannot decide yet.
func (d *Daemon) verifyTask(ctx context.Context, t verifytypes.Task) {
	defer func() {
		d.mu.Lock()
		delete(d.inflight, t.Id)
		d.mu.Unlock()
	}()
	start := time.Now()
	var v verifytypes.Verdict
	var reason string
	var err error
	switch t.Work.Kind {
	case verifytypes.WORK_KIND_INFERENCE:
		v, err = d.reexecuteInference(ctx, t)
	case verifytypes.WORK_KIND_INFERENCE_CLAIM:
		v, reason, err = d.reexecuteClaim(ctx, t)
	case verifytypes.WORK_KIND_FEDERATED_UPDATE:
		v, reason, err = d.reexecuteFederated(ctx, t)
	default:
		v, reason, err = d.reexecuteTraining(ctx, t)
	}
	if err != nil {
		if !errors.Is(err, errNotYet) {
			d.logOnce(fmt.Sprintf("verify/%d", t.Id), "cannot verify task", "task", t.Id, "job", t.Work.JobId, "err", err)
		}
		return
	}
	if d.cfg.Attack == AttackWrongVerdict {
		// The opposite of the truth: FAIL an honest provider, PASS a cheat.
		if v.Outcome == verifytypes.OUTCOME_PASS {
			v = verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_UNAVAILABLE}
			if len(t.SampledSteps) > 0 {
				v = verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_FAIL, FirstDivergentStep: slices.Min(t.SampledSteps)}
			}
		} else {
			v = verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_PASS}
		}
		reason = "wrong-verdict attack"
	}
	rec := verdictRecord{TaskID: t.Id, JobID: t.Work.JobId, Outcome: v.Outcome.String(), Step: v.FirstDivergentStep,
		ResultHash: verifytypes.VerdictHash(v), Reason: reason, Took: time.Since(start).String()}
	if err := d.state.update(func(s *state) { s.Verdicts[t.Id] = rec }); err != nil {
		d.log.Error("recording verdict", "task", t.Id, "err", err)
		return
	}
	d.log.Info("verdict", "task", t.Id, "job", t.Work.JobId, "provider", t.Work.Provider, "outcome", rec.Outcome,
		"step", rec.Step, "sampled", len(t.SampledSteps), "took", rec.Took, "reason", reason)
}

// reexecuteTraining re-executes the sampled steps of a training lease's
// task. It returns an error, and no verdict, when this validator cannot
// judge (the job or model unknown here, or evidence missing within the
// grace).
func (d *Daemon) reexecuteTraining(ctx context.Context, t verifytypes.Task) (verifytypes.Verdict, string, error) {
	pass := verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_PASS}
	jresp, err := d.mkt.Job(ctx, &markettypes.QueryJobRequest{Id: t.Work.JobId})
	if err != nil {
		return pass, "", err
	}
	x, err := d.execJobFor(ctx, jresp.Job, "")
	if err != nil {
		return pass, "", err
	}
	first := d.firstSeen(verifyKey(t.Id))
	return d.checkSteps(ctx, t, x, fmt.Sprintf("/v1/training/%d", t.Work.JobId), ownBatches(x), first)
}

// ownBatches gives the batches of a job whose data the verifier holds (a
// market lease's dataset anyone can rebuild): one cursor over the batch
// order, for steps asked in ascending order.
func ownBatches(x *execJob) batchSource {
	var cur *engine.BatchCursor
	return func(_ context.Context, s uint64) ([]float32, []int, string, error) {
		if cur == nil {
			var err error
			if cur, err = engine.NewBatchCursor(x.job.Config, len(x.data.Labels)); err != nil {
				return nil, nil, err.Error(), nil
			}
		}
		idx, err := cur.Batch(s)
		if err != nil {
			return nil, nil, err.Error(), nil
		}
		bx, labels := engine.Gather(x.data, idx)
		return bx, labels, "", nil
	}
}

// batchSource gives the batch of a sampled step when the verifier does not
// hold the data (a federated participant's private examples): its inputs
// and labels, or a reason the evidence is bad (why), or an error when it
// could not be fetched.
type batchSource func(ctx context.Context, step uint64) (x []float32, labels []int, why string, err error)

// checkSteps re-executes t's sampled steps of job x, in ascending order,
// against the provider's evidence, served under prefix
// ("/v1/training/{job}" or "/v1/federated/{run}/{round}": its leaves and
// checkpoints); each step runs on the batch batches gives. first is when
// this validator first tried (evidence missing for
// Config.UnavailableGrace after it is UNAVAILABLE).
func (d *Daemon) checkSteps(ctx context.Context, t verifytypes.Task, x *execJob, prefix string, batches batchSource, first time.Time) (verifytypes.Verdict, string, error) {
	pass := verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_PASS}
	unavailable := verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_UNAVAILABLE}
	fail := func(step uint64, why string) (verifytypes.Verdict, string, error) {
		return verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_FAIL, FirstDivergentStep: step}, why, nil
	}
	sampled := slices.Clone(t.SampledSteps)
	slices.Sort(sampled)
	if x.job.Steps() != t.Work.TotalSteps && len(sampled) > 0 {
		return fail(sampled[0], fmt.Sprintf("%d committed steps, the job has %d", t.Work.TotalSteps, x.job.Steps()))
	}
	missing := func(what string, err error) (verifytypes.Verdict, string, error) {
		if time.Since(first) >= d.cfg.UnavailableGrace {
			return unavailable, fmt.Sprintf("%s: %v", what, err), nil
		}
		return pass, "", fmt.Errorf("%w: %s: %v", errNotYet, what, err)
	}
	base, err := evidenceBase(t.Work.Location)
	if err != nil {
		return unavailable, err.Error(), nil
	}
	leafBytes, err := d.getBytes(ctx, base+prefix+"/leaves", int64(32*t.Work.TotalSteps))
	if err != nil {
		return missing("leaves", err)
	}
	if len(sampled) == 0 {
		return pass, "", nil
	}
	if uint64(len(leafBytes)) != 32*t.Work.TotalSteps {
		return fail(sampled[0], fmt.Sprintf("%d bytes of leaves for %d steps", len(leafBytes), t.Work.TotalSteps))
	}
	leaves := make([][32]byte, t.Work.TotalSteps)
	for i := range leaves {
		copy(leaves[i][:], leafBytes[32*i:])
	}
	if root := federation.CheckpointRoot(leaves); !bytes.Equal(root[:], t.Work.CheckpointRoot) {
		return fail(sampled[0], "the leaves' root is not the committed checkpoint root")
	}
	initial := engine.InitialCheckpoint(x.initial, x.job.Config.Optimizer)
	ib, err := initial.Encode()
	if err != nil {
		return pass, "", err
	}
	for _, s := range sampled {
		if s >= t.Work.TotalSteps {
			return fail(s, "sampled step beyond the job")
		}
		prev := initial
		if s > 0 {
			b, err := d.getBytes(ctx, fmt.Sprintf("%s%s/checkpoints/%d", base, prefix, s-1), 2*int64(len(ib))+1024)
			if err != nil {
				return missing(fmt.Sprintf("checkpoint %d", s-1), err)
			}
			if sha256.Sum256(b) != leaves[s-1] {
				return fail(s, fmt.Sprintf("checkpoint %d is not its leaf", s-1))
			}
			if prev, err = engine.DecodeCheckpoint(b, x.job.Spec); err != nil || prev.Step != s {
				return fail(s, fmt.Sprintf("checkpoint %d does not decode as step %d's: %v", s-1, s, err))
			}
		}
		bx, labels, why, berr := batches(ctx, s)
		switch {
		case berr != nil:
			return missing(fmt.Sprintf("batch %d", s), berr)
		case why != "":
			return fail(s, fmt.Sprintf("batch %d: %s", s, why))
		}
		next, err := engine.StepOnBatch(x.job.Spec, prev, bx, labels, x.job.Config)
		if err != nil {
			return fail(s, fmt.Sprintf("step %d does not run from its checkpoint: %v", s, err))
		}
		h, err := next.Hash()
		if err != nil {
			return fail(s, err.Error())
		}
		if h != leaves[s] {
			return fail(s, fmt.Sprintf("step %d re-executed to %s, leaf %s", s, hex.EncodeToString(h[:8]), hex.EncodeToString(leaves[s][:8])))
		}
	}
	return pass, fmt.Sprintf("%d sampled steps reproduced", len(sampled)), nil
}

// evidenceBase is the provider's sidecar base URL: the result location
// without its blob path.
func evidenceBase(location string) (string, error) {
	i := strings.Index(location, "/v1/blobs/")
	if i <= 0 || !(strings.HasPrefix(location, "http://") || strings.HasPrefix(location, "https://")) {
		return "", fmt.Errorf("result location %q is not a sidecar blob URL", location)
	}
	return location[:i], nil
}

// getBytes fetches url, at most max bytes, within Config.FetchTimeout.
func (d *Daemon) getBytes(ctx context.Context, url string, max int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d.cfg.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: more than %d bytes", url, max)
	}
	return b, nil
}

// ConsAddressFromKeyFile reads a validator's consensus address (bech32
// valcons) from its CometBFT priv_validator_key.json.
func ConsAddressFromKeyFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var key struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(b, &key); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	raw, err := hex.DecodeString(key.Address)
	if err != nil || len(raw) != 20 {
		return "", fmt.Errorf("%s: address %q is not 20 hex bytes", path, key.Address)
	}
	return bech32.ConvertAndEncode(app.Bech32PrefixConsAddr, raw)
}
