package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/daemon"
)

// TestProofOfCompute runs market training leases end to end with the real
// binaries: 4 validators, each with its cohort-sidecar re-executing the
// verification tasks of its committees, and 4 providers whose sidecars
// train their leases (200 steps of Adam on a small MLP over a synthetic
// dataset the job names) and serve checkpoints. Provider 0 is honest;
// provider 1 fakes a quarter of its steps (skip-steps), provider 2 trains
// on other data (wrong-data), provider 3 stops early and returns an old
// checkpoint (stale-checkpoint). Validator 3's sidecar attests the
// opposite of the truth (wrong-verdict). The honest lease must pass and be paid, each
// cheating one fail, its provider slashed and its client refunded, and
// validator 3 be outvoted and struck for dissent.
func TestProofOfCompute(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a 4-validator network with sidecars and providers")
	}
	start := time.Now()
	work := t.TempDir()
	procs := newProcesses(t, work)
	spawn := procs.spawn

	// config.yml with a committee of all four validators and a task
	// deadline long enough for a loaded machine.
	cfgPath := repoConfigWith(t, work, `        task_deadline_blocks: "15"`, `        task_deadline_blocks: "60"
        committee_size: "4"`)

	const offset = 5000
	n := newNet(t, 4, offset, "--config", cfgPath)
	for i, nd := range n.nodes {
		setSidecar(t, nd.home, fmt.Sprintf("http://127.0.0.1:%d", 7500+i))
	}
	for _, nd := range n.nodes {
		nd.start(t)
	}
	n.waitHeight(t, 0, 3, 2*time.Minute)
	c := n.client(t, 0)
	chainID := chainIDOf(t, n.nodes[0].home)
	nodeRPC := fmt.Sprintf("tcp://127.0.0.1:%d", offset+26657)
	grpc := func(i int) string { return fmt.Sprintf("127.0.0.1:%d", offset+9090+2*i) }

	// The model: a 16 → 16 → 10 MLP, its spec and initial weights.
	modelDir := filepath.Join(work, "model")
	model := initModel(t, modelDir)
	str := func(k string) string { return model[k] }

	// Validators' sidecars; validator 3's lies.
	mirrors := "http://127.0.0.1:7500,http://127.0.0.1:7501,http://127.0.0.1:7502,http://127.0.0.1:7503"
	for i, nd := range n.nodes {
		key := "alice"
		if i > 0 {
			key = fmt.Sprintf("validator%d", i)
		}
		args := []string{"run", "--role", "validator", "--listen", fmt.Sprintf("127.0.0.1:%d", 7500+i), "--dir", filepath.Join(work, fmt.Sprintf("sidecar%d", i)),
			"--home", nd.home, "--from", key, "--grpc", grpc(i), "--import", filepath.Join(modelDir, "spec.json"),
			"--import", filepath.Join(modelDir, "weights.safetensors"), "--mirrors", mirrors, "--poll", "500ms", "--unavailable-grace", "60s"}
		if i == 3 {
			args = append(args, "--attack", daemon.AttackWrongVerdict)
		}
		spawn(fmt.Sprintf("sidecar%d", i), args...)
	}

	// Four providers, funded by alice and registered with 1,000,000,000
	// ucohort of collateral each.
	provHome := filepath.Join(work, "providers")
	attacks := []string{"", daemon.AttackSkipSteps, daemon.AttackWrongData, daemon.AttackStale}
	addrs := make([]string, len(attacks))
	for k := range attacks {
		run(t, "keys", "add", fmt.Sprintf("provider%d", k), "--home", provHome, "--keyring-backend", "test", "--output", "json")
		addrs[k] = strings.TrimSpace(run(t, "keys", "show", fmt.Sprintf("provider%d", k), "-a", "--home", provHome, "--keyring-backend", "test"))
	}
	c.tx("alice", append(append([]string{"bank", "multi-send", "alice"}, addrs...), "5000000000ucohort")...)
	ptx := func(k int, args ...string) {
		t.Helper()
		var r txResult
		runJSON(t, &r, append(append([]string{"tx"}, args...), "--from", fmt.Sprintf("provider%d", k), "--home", provHome, "--keyring-backend", "test",
			"--node", nodeRPC, "--chain-id", chainID, "--fees", "5000ucohort", "--gas", "400000", "-y")...)
		require.Zerof(t, r.Code, "%v: %s", args, r.RawLog)
		waitTx(t, c, r.TxHash)
	}
	for k := range attacks {
		info := fmt.Sprintf(`{"moniker":"provider%d","hardware":{"gpu_model":"cpu","gpu_count":1,"gpu_memory_gib":1,"cpu_cores":2,"ram_gib":4},"region":"local","endpoints":["http://127.0.0.1:%d"],"prices":{"training_per_step":{"denom":"ucohort","amount":"1"}}}`, k, 7600+k)
		ptx(k, "provider", "register", info, "1000000000ucohort")
	}
	for k, a := range attacks {
		args := []string{"run", "--role", "provider", "--listen", fmt.Sprintf("127.0.0.1:%d", 7600+k), "--dir", filepath.Join(work, fmt.Sprintf("provider%d", k)),
			"--home", provHome, "--from", fmt.Sprintf("provider%d", k), "--grpc", grpc(0), "--import", filepath.Join(modelDir, "spec.json"),
			"--mirrors", mirrors, "--data", "synthetic", "--poll", "500ms", "--snapshot-every", "10"}
		if a != "" {
			args = append(args, "--attack", a)
		}
		spawn(fmt.Sprintf("provider%d", k), args...)
	}

	// carol registers the model, publishes its weights (served by
	// validator 0's sidecar) and buys four training jobs of 200 steps.
	arch := fmt.Sprintf(`{"layers":[{"kind":"dense","inputs":16,"outputs":16,"activation":"relu"},{"kind":"dense","inputs":16,"outputs":10}],"spec_format":"cohort-engine-spec/v1","spec_hash":"%s"}`, str("spec_hash_base64"))
	c.tx("carol", "registry", "register-model", "poc-mlp", "classification", arch, `{"spdx_id":"Apache-2.0"}`, "--public")
	c.tx("carol", "registry", "publish-version", "1", str("weights_hash"), str("weights_size"), "safetensors",
		"http://127.0.0.1:7500/v1/blobs/sha256/"+str("weights_hash"), "--semver", "1.0.0")
	spec := `{"model_id":"1","model_version":"1","data_requirement":"synthetic:n=512,classes=4,seed=7","hyperparameters":{"learning_rate":"0.01","batch_size":32,"optimizer":"adam","seed":3}}`
	carol := c.addr("carol")
	balance := func(who string) int64 {
		var b balances
		c.q(&b, "bank", "balances", who)
		v, _ := strconv.ParseInt(b.of("ucohort"), 10, 64)
		return v
	}
	for k := range attacks {
		c.tx("carol", "market", "create-job", "training", spec, "200", "10ucohort", "100000ucohort", "400")
		id := strconv.Itoa(k + 1)
		ptx(k, "market", "bid", id, "10ucohort", "1000000ucohort")
		c.tx("carol", "market", "accept-bid", id, addrs[k])
	}
	carol0 := balance(carol)
	t.Logf("set up in %s; the providers train, the committees re-execute", time.Since(start).Round(time.Second))

	// Every lease is checked; its task decided by the honest majority.
	type taskView struct {
		ID           string   `json:"id"`
		State        string   `json:"state"`
		SampledSteps []string `json:"sampled_steps"`
		Verdict      *struct {
			Outcome            string `json:"outcome"`
			FirstDivergentStep string `json:"first_divergent_step"`
		} `json:"verdict"`
	}
	want := []string{"TASK_STATE_PASSED", "TASK_STATE_FAILED", "TASK_STATE_FAILED", "TASK_STATE_FAILED"}
	tasks := make([]taskView, len(attacks))
	require.Eventually(t, func() bool {
		for k := range attacks {
			var r struct {
				Tasks []taskView `json:"tasks"`
			}
			cmd := execCommand("q", "verify", "tasks-by-job", strconv.Itoa(k+1), "--home", n.nodes[0].home, "-o", "json")
			b, err := cmd.Output()
			if err != nil || json.Unmarshal(b, &r) != nil || len(r.Tasks) == 0 {
				return false
			}
			tasks[k] = r.Tasks[0]
			if tasks[k].State != want[k] {
				return false
			}
		}
		return true
	}, 3*time.Minute, time.Second, "tasks: %+v", tasks)
	for k, tk := range tasks {
		t.Logf("job %d (%q): task %s %s, %d steps sampled, verdict %+v", k+1, attacks[k], tk.ID, tk.State, len(tk.SampledSteps), tk.Verdict)
	}

	// Jobs: the honest one settles and pays once its verdict is in; the
	// others failed, their escrow and the provider's deposit refunded.
	type jobState struct {
		Job struct {
			State    string                  `json:"state"`
			Paid     struct{ Amount string } `json:"paid"`
			Refunded struct{ Amount string } `json:"refunded"`
		} `json:"job"`
	}
	require.Eventually(t, func() bool {
		var j jobState
		b, err := execCommand("q", "market", "job", "1", "--home", n.nodes[0].home, "-o", "json").Output()
		return err == nil && json.Unmarshal(b, &j) == nil && j.Job.State == "JOB_STATE_COMPLETED"
	}, 2*time.Minute, time.Second, "the honest job settles")
	for k := range attacks {
		var j jobState
		c.q(&j, "market", "job", strconv.Itoa(k+1))
		if k == 0 {
			require.Equal(t, "JOB_STATE_COMPLETED", j.Job.State)
			require.NotEqual(t, "0", j.Job.Paid.Amount)
			continue
		}
		require.Equal(t, "JOB_STATE_FAILED", j.Job.State, "job %d (%s)", k+1, attacks[k])
		require.True(t, j.Job.Paid.Amount == "" || j.Job.Paid.Amount == "0", "job %d paid %s", k+1, j.Job.Paid.Amount)
	}
	// carol got the failed jobs' escrow, the deposits and part of the slashes back.
	require.Greater(t, balance(carol)-carol0, int64(3*1_000_000), "refunds, deposits and slashed collateral reach the client")

	// Providers: the honest one keeps its collateral and gains reputation;
	// each cheat loses 10% of its collateral.
	for k := range attacks {
		var p struct {
			Provider struct{ Collateral struct{ Amount string } } `json:"provider"`
		}
		c.q(&p, "provider", "provider", addrs[k])
		var rep struct {
			Reputation struct {
				Score         string `json:"score"`
				JobsCompleted string `json:"jobs_completed"`
				Slashes       string `json:"slashes"`
			} `json:"reputation"`
		}
		c.q(&rep, "reputation", "reputation", addrs[k])
		var hist struct {
			Record struct {
				Passed string `json:"passed"`
				Failed string `json:"failed"`
			} `json:"record"`
		}
		c.q(&hist, "verify", "provider-history", addrs[k])
		t.Logf("provider %d (%q): collateral %s, reputation %+v, history %+v", k, attacks[k], p.Provider.Collateral.Amount, rep.Reputation, hist.Record)
		if k == 0 {
			require.Equal(t, "1000000000", p.Provider.Collateral.Amount)
			require.Equal(t, "1", rep.Reputation.JobsCompleted)
			continue
		}
		require.Equal(t, "900000000", p.Provider.Collateral.Amount, "provider %d slashed 10%%", k)
	}

	// Validator 3 dissented and is struck; the others agreed.
	for i, nd := range n.nodes {
		cons, err := daemon.ConsAddressFromKeyFile(filepath.Join(nd.home, "config", "priv_validator_key.json"))
		require.NoError(t, err)
		var rec struct {
			Record struct {
				Agreed    string `json:"agreed"`
				Dissented string `json:"dissented"`
				Strikes   any    `json:"strikes"`
			} `json:"record"`
		}
		c.q(&rec, "verify", "validator-record", cons)
		t.Logf("validator %d: %+v", i, rec.Record)
		if i == 3 {
			require.Equal(t, "4", rec.Record.Dissented, "it attested against the quorum on every task")
			require.NotContains(t, []any{nil, "0", float64(0)}, rec.Record.Strikes, "struck for dissent")
		} else {
			require.Equal(t, "4", rec.Record.Agreed, "validator %d agreed on every task", i)
		}
	}
	t.Logf("proof-of-compute end to end in %s", time.Since(start).Round(time.Second))
}
