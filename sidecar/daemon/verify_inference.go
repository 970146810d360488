package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/cohortchain/cohort/sidecar/serve"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// MaxInferenceInput bounds an inference task's input blob (64 MiB).
const MaxInferenceInput = 64 << 20

// reexecuteInference reaches a verdict on a task of kind
// WORK_KIND_INFERENCE (x/market's MsgReportMismatch): the provider signed
// that the job's model version, run on the input whose sha256 is
// Work.CheckpointRoot (served at Work.Location, by the reporter), gives
// the output whose hash is Work.ResultHash, for Work.TotalSteps rows. The
// validator loads the model version from the registry (weights
// hash-checked), fetches the input (hash-checked), runs the engine and
// compares:
//
//   - the output hashes agree: PASS; they differ, or the rows do not
//     match what the provider signed: FAIL;
//   - the input cannot be fetched (within Config.UnavailableGrace) or is
//     not the one the receipt names: PASS. The input is the reporter's
//     evidence, not the provider's, so its absence is no fault of the
//     provider (an UNAVAILABLE verdict would slash an honest provider on
//     a report with a bad location); the reporter's fee pays the
//     committee all the same.
//
// When this validator cannot judge (the job or the model version cannot
// be read or loaded here) it returns an error and attests nothing.
func (d *Daemon) reexecuteInference(ctx context.Context, t verifytypes.Task) (verifytypes.Verdict, error) {
	pass := verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_PASS}
	fail := verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_FAIL}
	jres, err := d.mkt.Job(ctx, &markettypes.QueryJobRequest{Id: t.Work.JobId})
	if err != nil {
		return pass, err
	}
	k, err := serve.ParseKey(jres.Job.Spec.ModelId + "/" + jres.Job.Spec.ModelVersion)
	if err != nil {
		return pass, fmt.Errorf("job %d names no registry model version: %w", t.Work.JobId, err)
	}
	first := d.firstSeen(verifyKey(t.Id))

	input, err := d.getBytes(ctx, t.Work.Location, MaxInferenceInput)
	if err != nil {
		if time.Since(first) >= d.cfg.UnavailableGrace {
			d.log.Warn("inference task: the reporter's input is unavailable; the provider is not at fault", "task", t.Id, "err", err)
			return pass, nil
		}
		return pass, fmt.Errorf("%w: input %s: %v", errNotYet, t.Work.Location, err)
	}
	if h := sha256.Sum256(input); !bytes.Equal(h[:], t.Work.CheckpointRoot) {
		d.log.Warn("inference task: the input served is not the one reported; the provider is not at fault", "task", t.Id)
		return pass, nil
	}
	x, err := serve.DecodeFloats(input)
	if err != nil {
		return pass, nil
	}
	m, err := (&serve.Loader{Source: serve.RegistrySource{Q: d.reg}, Store: d.store, Timeout: d.cfg.FetchTimeout}).Load(ctx, k)
	if err != nil {
		return pass, fmt.Errorf("loading model %s: %w", k, err)
	}
	if m.Width == 0 || len(x)%m.Width != 0 || uint64(len(x)/m.Width) != t.Work.TotalSteps {
		d.log.Warn("inference task: the provider signed rows the input does not have", "task", t.Id, "values", len(x), "width", m.Width, "rows", t.Work.TotalSteps)
		return fail, nil
	}
	out, err := m.Predict(x, len(x)/m.Width)
	if err != nil {
		return pass, fmt.Errorf("re-executing model %s: %w", k, err)
	}
	if h := serve.HashFloats(out); !bytes.Equal(h[:], t.Work.ResultHash) {
		return fail, nil
	}
	return pass, nil
}
