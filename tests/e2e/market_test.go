package e2e

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type jobView struct {
	Job struct {
		ID     string                     `json:"id"`
		State  string                     `json:"state"`
		Paid   struct{ Amount string }    `json:"paid"`
		Lease  *struct{ Provider string } `json:"lease"`
		Escrow struct{ Amount string }    `json:"escrow"`
	} `json:"job"`
}

// TestMarketFlow drives the compute market through the CLI on a node built
// from the repository's config.yml: a provider registers and bonds, a
// client creates a job, the provider bids, the client accepts, the provider
// submits, payment arrives; a second job is disputed, which opens an
// x/verify challenge task re-executing the whole job.
func TestMarketFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cohortd binary")
	}
	n := newNet(t, 1, 3000, "--config", "../../config.yml")
	nd := n.nodes[0]
	nd.start(t)
	n.waitHeight(t, 0, 2, time.Minute)

	c := n.client(t, 0)
	tx := func(from string, args ...string) txResult {
		t.Helper()
		r := c.tx(from, args...)
		t.Logf("gas used by %s %s: %s", args[0], args[1], r.GasUsed)
		return r
	}
	q, addr := c.q, c.addr
	balance := func(who string) int64 {
		var b balances
		q(&b, "bank", "balances", who)
		var v int64
		fmt.Sscan(b.of("ucohort"), &v)
		return v
	}
	bob, carol := addr("bob"), addr("carol")

	tx("bob", "provider", "register",
		`{"moniker":"gpu-1","hardware":{"gpu_model":"NVIDIA H100","gpu_count":8,"gpu_memory_gib":80,"cpu_cores":64,"ram_gib":512},"region":"eu","endpoints":["https://gpu-1.example"],"prices":{"training_per_step":{"denom":"ucohort","amount":"10"}}}`,
		"2000000000ucohort")
	var prov struct {
		Provider struct{ Collateral struct{ Amount string } } `json:"provider"`
		CanBid   bool                                         `json:"can_bid"`
	}
	q(&prov, "provider", "provider", bob)
	require.True(t, prov.CanBid)
	require.Equal(t, "2000000000", prov.Provider.Collateral.Amount)

	hash := sha256.Sum256([]byte("weights"))
	root := sha256.Sum256([]byte("checkpoints"))
	result := fmt.Sprintf(`{"hash":"%s","size":"1024","location":"https://gpu-1.example/blobs/%x","checkpoint_root":"%s","total_steps":"100"}`,
		base64.StdEncoding.EncodeToString(hash[:]), hash, base64.StdEncoding.EncodeToString(root[:]))
	spec := `{"model_id":"mnist-mlp","data_requirement":"fashion-mnist","hyperparameters":{"learning_rate":"0.01","batch_size":64}}`

	// Job 1: the whole way to payment.
	tx("carol", "market", "create-job", "training", spec, "100", "10ucohort", "1500ucohort", "300")
	var job jobView
	q(&job, "market", "job", "1")
	require.Equal(t, "JOB_STATE_OPEN", job.Job.State)
	require.Equal(t, "1500", job.Job.Escrow.Amount)
	tx("bob", "market", "bid", "1", "8ucohort", "1000000ucohort")
	tx("carol", "market", "accept-bid", "1", bob)
	bob0 := balance(bob)
	tx("bob", "market", "submit-result", "1", result)
	tx("carol", "market", "accept-result", "1")
	q(&job, "market", "job", "1")
	require.Equal(t, "JOB_STATE_COMPLETED", job.Job.State)
	require.Equal(t, "784", job.Job.Paid.Amount, "8 * 100 less the 2% fee")
	require.Equal(t, bob0-5000+784+1_000_000, balance(bob), "payment and deposit arrived (less the fee of the submit tx)")

	// Over REST too.
	var rest jobView
	require.NoError(t, getJSON(n.rest(0)+"/cohort/market/v1/jobs/1", &rest))
	require.Equal(t, "JOB_STATE_COMPLETED", rest.Job.State)

	// Job 2: disputed; x/verify opens a challenge task over the whole job
	// (its committee's sidecars decide it; here none attests, so it stays
	// open until its deadline).
	tx("carol", "market", "create-job", "training", spec, "100", "10ucohort", "1500ucohort", "300")
	tx("bob", "market", "bid", "2", "9ucohort", "1000000ucohort")
	tx("carol", "market", "accept-bid", "2", bob)
	tx("bob", "market", "submit-result", "2", result)
	carol0 := balance(carol)
	tx("carol", "market", "dispute", "2", "accuracy does not reproduce")
	q(&job, "market", "job", "2")
	require.Equal(t, "JOB_STATE_DISPUTED", job.Job.State)
	// Job 1's routine verification task may expire (nobody attests here)
	// meanwhile, which gives carol its verifier fee back.
	var job1Tasks struct {
		Tasks []struct {
			Work struct {
				Fee struct {
					Amount string `json:"amount"`
				} `json:"fee"`
			} `json:"work"`
		} `json:"tasks"`
	}
	q(&job1Tasks, "verify", "tasks-by-job", "1")
	require.Len(t, job1Tasks.Tasks, 1)
	refund, err := strconv.ParseInt(job1Tasks.Tasks[0].Work.Fee.Amount, 10, 64)
	require.NoError(t, err)
	paid := carol0 - balance(carol)
	require.Contains(t, []int64{5000 + 10_000_000, 5000 + 10_000_000 - refund}, paid,
		"the dispute bond and the tx fee (less job 1's verifier fee if its task expired meanwhile)")
	var tasks struct {
		Tasks []struct {
			ID           string   `json:"id"`
			State        string   `json:"state"`
			Challenge    bool     `json:"challenge"`
			SampledSteps []string `json:"sampled_steps"`
		} `json:"tasks"`
	}
	for i := 0; i < 40; i++ { // the challenge is drawn in a block after the dispute's
		q(&tasks, "verify", "tasks-by-job", "2")
		if len(tasks.Tasks) == 2 && tasks.Tasks[1].State == "TASK_STATE_OPEN" {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	require.Len(t, tasks.Tasks, 2, "the routine check of the result and the dispute's challenge")
	require.True(t, tasks.Tasks[1].Challenge)
	require.Equal(t, "TASK_STATE_OPEN", tasks.Tasks[1].State)
	require.Len(t, tasks.Tasks[1].SampledSteps, 100, "the whole job")

	// Bad input over the CLI: a bid over the max price is refused, nothing changes.
	tx("carol", "market", "create-job", "training", spec, "100", "10ucohort", "1500ucohort", "300")
	r := c.submit("bob", "market", "bid", "3", "11ucohort", "1000000ucohort")
	require.NotZero(t, r.Code)
	require.Contains(t, r.RawLog, "price over the job's max price")
}
