package daemon

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/cohortchain/cohort/sidecar/serve"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// reexecuteClaim reaches a verdict on a task of kind
// WORK_KIND_INFERENCE_CLAIM (x/market's MsgClaimUsage): the provider
// committed to the signed receipts of the Work.TotalSteps requests a usage
// claim is paid for, by their Merkle root (Work.CheckpointRoot), and
// serves each receipt with its proof and the request's input at
// Work.Location. For every sampled receipt index, in ascending order, the
// validator fetches that evidence and checks it against the commitment
// (serve.CheckEvidence: the proof, the provider's signature, the input's
// hash), then checks that the receipt is a request of this job (its lease,
// client and model version) and re-runs the model version on the input:
//
//   - evidence not served within Config.UnavailableGrace, or not matching
//     the provider's own commitment: UNAVAILABLE (the evidence is the
//     provider's to keep, so withholding it costs what cheating does);
//   - a receipt of another job, client or model, rows that are not the
//     units signed, or an output hash other than the one signed: FAIL at
//     that index;
//   - every sampled request re-executes to its signed output: PASS.
//
// When this validator cannot judge (the job or the model version cannot
// be read or loaded here) it returns an error and attests nothing.
func (d *Daemon) reexecuteClaim(ctx context.Context, t verifytypes.Task) (verifytypes.Verdict, string, error) {
	pass := verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_PASS}
	jres, err := d.mkt.Job(ctx, &markettypes.QueryJobRequest{Id: t.Work.JobId})
	if err != nil {
		return pass, "", err
	}
	job := jres.Job
	k, err := serve.ParseKey(job.Spec.ModelId + "/" + job.Spec.ModelVersion)
	if err != nil {
		return pass, "", fmt.Errorf("job %d names no registry model version: %w", t.Work.JobId, err)
	}
	m, err := (&serve.Loader{Source: serve.RegistrySource{Q: d.reg}, Store: d.store, Timeout: d.cfg.FetchTimeout}).Load(ctx, k)
	if err != nil {
		return pass, "", fmt.Errorf("loading model %s: %w", k, err)
	}
	first := d.firstSeen(verifyKey(t.Id))
	for _, i := range t.SampledSteps {
		it, err := serve.FetchEvidence(ctx, t.Work.Location, t.Work.JobId, t.Work.CheckpointRoot, i, 2*MaxInferenceInput)
		if err != nil {
			if time.Since(first) >= d.cfg.UnavailableGrace {
				return verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_UNAVAILABLE},
					fmt.Sprintf("receipt %d not served: %v", i, err), nil
			}
			return pass, "", fmt.Errorf("%w: receipt %d of %s: %v", errNotYet, i, t.Work.Location, err)
		}
		x, err := serve.CheckEvidence(it, t.Work.CheckpointRoot, i, t.Work.TotalSteps, t.Work.Provider)
		if err != nil {
			return verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_UNAVAILABLE},
				fmt.Sprintf("receipt %d does not match the commitment: %v", i, err), nil
		}
		fail := func(why string) (verifytypes.Verdict, string, error) {
			return verifytypes.Verdict{TaskId: t.Id, Outcome: verifytypes.OUTCOME_FAIL, FirstDivergentStep: i},
				fmt.Sprintf("receipt %d: %s", i, why), nil
		}
		rc := it.Receipt
		switch {
		case rc.JobID != job.Id || rc.Client != job.Client:
			return fail(fmt.Sprintf("a request of job %d for %s, not of this lease", rc.JobID, rc.Client))
		case strconv.FormatUint(rc.ModelID, 10) != job.Spec.ModelId || strconv.FormatUint(rc.Number, 10) != job.Spec.ModelVersion:
			return fail(fmt.Sprintf("served model %d/%d, not the lease's %s", rc.ModelID, rc.Number, k))
		case m.Width == 0 || len(x)%m.Width != 0 || uint64(len(x)/m.Width) != rc.Units:
			return fail(fmt.Sprintf("%d rows signed for an input of %d values (width %d)", rc.Units, len(x), m.Width))
		}
		out, err := m.Predict(x, len(x)/m.Width)
		if err != nil {
			return pass, "", fmt.Errorf("re-executing model %s: %w", k, err)
		}
		if h := serve.HashFloats(out); hex.EncodeToString(h[:]) != rc.OutputHash {
			return fail("the output re-executed differs from the one signed")
		}
	}
	return pass, fmt.Sprintf("%d sampled requests re-executed to their signed outputs", len(t.SampledSteps)), nil
}
