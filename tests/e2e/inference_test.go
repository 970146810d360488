package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/sidecar/engine"
)

// TestInferenceNetwork runs the inference network end to end with the
// real binaries: one validator with its sidecar (which serves the model's
// weights and re-executes verification tasks), five providers serving a
// registry model version (providers 2 and 4 return wrong outputs), and bob's
// gateway, which signs bob's payment vouchers. carol registers the model
// with a licence of 3ucohort per inference; bob opens inference leases at
// 10ucohort per request with providers 0, 1 and 3 and calls the gateway:
//
//   - every answer equals the engine's output computed here, and none is
//     lost while provider 0 is killed mid-traffic (failover);
//   - once the leases' escrow is spent the gateway answers 402 "out of
//     funds: top up job N", never serving for free;
//   - the providers claim with bob's vouchers and are paid exactly the
//     units they served at the lease price, carol exactly the units at the
//     licence price, and the settled receipts are pruned;
//   - after bob leases provider 2 too, the gateway's redundancy checks
//     catch its wrong outputs, report them on chain, and the validator's
//     re-execution fails the task: provider 2 is slashed;
//   - with the gateway's checks off, bob leases provider 4 at the maximum
//     verification level: x/verify samples its usage claim, the validator
//     re-runs sampled requests from the evidence provider 4 committed to,
//     the check fails, provider 4 is slashed and the lease fails with bob
//     refunded.
func TestInferenceNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a network with sidecars, providers and a gateway")
	}
	start := time.Now()
	work := t.TempDir()
	procs := newProcesses(t, work)
	spawn := procs.spawn
	// Routine checks of usage claims: almost never at the standard level
	// (provider 0 is killed holding the evidence of its claims), always at
	// the maximum level (phase 5).
	cfgPath := repoConfigWith(t, work, `        task_deadline_blocks: "15"`, `        task_deadline_blocks: "60"
        levels:
          - {name: standard, min_job_level: 0, sample_steps: 44, inference_rate: "0.000001"}
          - {name: high, min_job_level: 50, sample_steps: 66, inference_rate: "0.2"}
          - {name: maximum, min_job_level: 90, sample_steps: 100, inference_rate: "1"}`)

	const offset = 6000
	n := newNet(t, 1, offset, "--config", cfgPath)
	home := n.nodes[0].home
	setSidecar(t, home, "http://127.0.0.1:7700")
	n.nodes[0].start(t)
	n.waitHeight(t, 0, 3, 2*time.Minute)
	c := n.client(t, 0)
	// csubmit broadcasts a node0 keyring transaction and waits for it by
	// polling (q wait-tx can miss a transaction included while it subscribes).
	csubmit := func(from string, args ...string) txResult {
		t.Helper()
		var r txResult
		runJSON(t, &r, append(append([]string{"tx"}, args...), append([]string{"--from", from, "--fees", "5000ucohort", "--gas", "400000", "-y"}, c.home...)...)...)
		if r.Code != 0 {
			return r
		}
		require.Eventuallyf(t, func() bool {
			b, err := execCommand(append([]string{"q", "tx", r.TxHash, "-o", "json"}, c.home...)...).Output()
			return err == nil && json.Unmarshal(b, &r) == nil
		}, time.Minute, 250*time.Millisecond, "tx %s not included", r.TxHash)
		return r
	}
	ctx := func(from string, args ...string) {
		t.Helper()
		r := csubmit(from, args...)
		require.Zerof(t, r.Code, "%v: %s", args, r.RawLog)
	}
	chainID := chainIDOf(t, home)
	nodeRPC := fmt.Sprintf("tcp://127.0.0.1:%d", offset+26657)
	grpcAddr := fmt.Sprintf("127.0.0.1:%d", offset+9090)

	// The model: a 16 → 16 → 10 MLP.
	modelDir := filepath.Join(work, "model")
	model := initModel(t, modelDir)
	str := func(k string) string { return model[k] }
	specBlob, err := os.ReadFile(filepath.Join(modelDir, "spec.json"))
	require.NoError(t, err)
	spec, err := engine.DecodeSpec(specBlob)
	require.NoError(t, err)
	weights, err := engine.Init(spec, 1)
	require.NoError(t, err)

	// The validator's sidecar: serves the weights, re-executes tasks.
	spawn("validator", "run", "--role", "validator", "--listen", "127.0.0.1:7700", "--dir", filepath.Join(work, "validator"),
		"--home", home, "--from", "alice", "--grpc", grpcAddr, "--import", filepath.Join(modelDir, "spec.json"),
		"--import", filepath.Join(modelDir, "weights.safetensors"), "--poll", "500ms", "--unavailable-grace", "20s")

	// Five providers serving model 1 version 1; providers 2 and 4 lie
	// (provider 4 is leased in phase 5 only: provider 2 is jailed by then).
	provHome := filepath.Join(work, "providers")
	const nProv = 5
	addrs := make([]string, nProv)
	for k := range addrs {
		run(t, "keys", "add", fmt.Sprintf("provider%d", k), "--home", provHome, "--keyring-backend", "test", "--output", "json")
		addrs[k] = strings.TrimSpace(run(t, "keys", "show", fmt.Sprintf("provider%d", k), "-a", "--home", provHome, "--keyring-backend", "test"))
	}
	ctx("alice", append(append([]string{"bank", "multi-send", "alice"}, addrs...), "5000000000ucohort")...)
	ptx := func(k int, args ...string) {
		t.Helper()
		var r txResult
		runJSON(t, &r, append(append([]string{"tx"}, args...), "--from", fmt.Sprintf("provider%d", k), "--home", provHome, "--keyring-backend", "test",
			"--node", nodeRPC, "--chain-id", chainID, "--fees", "5000ucohort", "--gas", "400000", "-y")...)
		require.Zerof(t, r.Code, "%v: %s", args, r.RawLog)
		waitTx(t, c, r.TxHash)
	}
	serveURL := func(k int) string { return fmt.Sprintf("http://127.0.0.1:%d", 7711+k) }
	var reg sync.WaitGroup
	for k := range addrs {
		reg.Add(1)
		go func() {
			defer reg.Done()
			info := fmt.Sprintf(`{"moniker":"provider%d","hardware":{"gpu_model":"cpu","gpu_count":1,"gpu_memory_gib":1,"cpu_cores":2,"ram_gib":4},"region":"local","endpoints":[%q],"models":["1/1"],"prices":{"inference_per_request":{"denom":"ucohort","amount":"10"}}}`, k, serveURL(k))
			ptx(k, "provider", "register", info, "1000000000ucohort")
		}()
	}
	reg.Wait()
	startProvider := func(k int) {
		args := []string{"run", "--role", "provider", "--listen", fmt.Sprintf("127.0.0.1:%d", 7701+k), "--dir", filepath.Join(work, fmt.Sprintf("provider%d", k)),
			"--home", provHome, "--from", fmt.Sprintf("provider%d", k), "--grpc", grpcAddr, "--data", "synthetic", "--poll", "500ms",
			"--import", filepath.Join(modelDir, "spec.json"),
			"--serve-models", "1/1", "--serve-listen", fmt.Sprintf("127.0.0.1:%d", 7711+k), "--claim-every", "2s"}
		if k == 2 || k == 4 {
			args = append(args, "--serve-attack", "wrong-outputs")
		}
		spawn(fmt.Sprintf("provider%d", k), args...)
	}

	// carol registers the model with a licence of 3ucohort an inference
	// and publishes its weights (served by the validator's sidecar).
	arch := fmt.Sprintf(`{"layers":[{"kind":"dense","inputs":16,"outputs":16,"activation":"relu"},{"kind":"dense","inputs":16,"outputs":10}],"spec_format":"cohort-engine-spec/v1","spec_hash":"%s"}`, str("spec_hash_base64"))
	ctx("carol", "registry", "register-model", "served-mlp", "classification", arch,
		`{"spdx_id":"Apache-2.0","price_per_inference":{"denom":"ucohort","amount":"3"}}`, "--public")
	ctx("carol", "registry", "publish-version", "1", str("weights_hash"), str("weights_size"), "safetensors",
		"http://127.0.0.1:7700/v1/blobs/sha256/"+str("weights_hash"), "--semver", "1.0.0")
	// The providers start once the version is published: they load it at
	// start (a provider loading on its first request would measure slow
	// and be routed around).
	for k := range addrs {
		startProvider(k)
	}
	carol, bob := c.addr("carol"), c.addr("bob")
	balance := func(who string) int64 {
		var b balances
		c.q(&b, "bank", "balances", who)
		v, _ := strconv.ParseInt(b.of("ucohort"), 10, 64)
		return v
	}
	carol0 := balance(carol)

	// A version bob may not use (none published) is refused at CreateJob.
	r := csubmit("bob", "market", "create-job", "inference", `{"model_id":"1","model_version":"9"}`, "1000", "10ucohort", "2600ucohort", "1000")
	require.NotZero(t, r.Code)
	require.Contains(t, r.RawLog, "licence")

	// bob's leases: 200 units' worth of escrow (13 = price 10 + licence 3) each.
	const budget = 13 * 200
	leases := func(level int, ks ...int) map[int]string {
		t.Helper()
		ids := map[int]string{}
		for _, k := range ks {
			ctx("bob", "market", "create-job", "inference", `{"model_id":"1","model_version":"1"}`, "100000", "10ucohort", fmt.Sprintf("%ducohort", budget), "1000",
				"--verification-level", strconv.Itoa(level))
			var jobs struct {
				Jobs []struct {
					ID string `json:"id"`
				} `json:"jobs"`
			}
			c.q(&jobs, "market", "jobs", "--client", bob)
			ids[k] = jobs.Jobs[len(jobs.Jobs)-1].ID
		}
		var bids sync.WaitGroup
		for _, k := range ks {
			bids.Add(1)
			go func() { defer bids.Done(); ptx(k, "market", "bid", ids[k], "10ucohort", "1000000ucohort") }()
		}
		bids.Wait()
		for _, k := range ks {
			ctx("bob", "market", "accept-bid", ids[k], addrs[k])
		}
		return ids
	}
	jobOf := leases(0, 0, 1, 3)

	// bob's gateway: his API key, his vouchers, redundancy checks on half the requests.
	keys := filepath.Join(work, "api-keys.json")
	require.NoError(t, os.WriteFile(keys, []byte(fmt.Sprintf(`{"bob-key-0123456789": %q}`, bob)), 0o600))
	spawn("gateway", "run", "--role", "gateway", "--serve-listen", "127.0.0.1:7720", "--dir", filepath.Join(work, "gateway"),
		"--home", home, "--from", "bob", "--grpc", grpcAddr, "--api-keys", keys, "--api-keys-only", "--refresh", "2s", "--rate", "0",
		"--check-min", "0.5", "--check-max", "0.5", "--try-timeout", "2s")
	gw := "http://127.0.0.1:7720"
	require.Eventually(t, func() bool {
		var p struct {
			Providers []any `json:"providers"`
		}
		return getJSON(gw+"/v1/providers", &p) == nil && len(p.Providers) == nProv
	}, time.Minute, 300*time.Millisecond, "the gateway lists the providers")
	t.Logf("set up in %s", time.Since(start).Round(time.Second))

	hc := &http.Client{Timeout: 30 * time.Second}
	predict := func(x []float32) ([]float32, int, string) {
		body, _ := json.Marshal(map[string]any{"inputs": [][]float32{x}})
		req, _ := http.NewRequest("POST", gw+"/v1/models/1/versions/1:predict", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer bob-key-0123456789")
		resp, err := hc.Do(req)
		if err != nil {
			return nil, 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return nil, resp.StatusCode, string(b)
		}
		var pr struct {
			Outputs [][]float32 `json:"outputs"`
		}
		if err := json.Unmarshal(b, &pr); err != nil || len(pr.Outputs) != 1 {
			return nil, resp.StatusCode, string(b)
		}
		return pr.Outputs[0], 200, ""
	}
	input := func(seed int64) []float32 {
		g := rand.New(rand.NewSource(seed))
		x := make([]float32, 16)
		for i := range x {
			x[i] = g.Float32()*2 - 1
		}
		return x
	}

	// Phase 1: traffic from 6 clients; provider 0 is killed mid-way.
	const workers, each = 6, 25
	var done atomic.Int64
	var kill sync.Once
	var wg sync.WaitGroup
	errs := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if done.Load() >= workers*each/3 {
					kill.Do(func() {
						p := procs.get("provider0")
						_ = p.Process.Signal(syscall.SIGKILL)
						_, _ = p.Process.Wait()
						t.Logf("killed provider 0 after %d requests", done.Load())
					})
				}
				x := input(int64(w*1000 + i))
				got, code, msg := predict(x)
				want, err := engine.Forward(spec, weights, x, 1)
				switch {
				case err != nil:
					errs <- err.Error()
				case code != 200:
					errs <- fmt.Sprintf("request %d/%d: %d %s", w, i, code, msg)
				case !slices.Equal(got, want):
					errs <- fmt.Sprintf("request %d/%d: output %v, the engine gives %v", w, i, got, want)
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	require.False(t, t.Failed())
	t.Logf("phase 1: %d requests answered correctly, none lost to the kill (%s)", workers*each, time.Since(start).Round(time.Second))

	// Phase 2: once the escrow is spent, bob is refused with a clear error.
	refused := ""
	for i := 0; i < 1000 && refused == ""; i++ {
		if _, code, msg := predict(input(int64(100_000 + i))); code == http.StatusPaymentRequired {
			refused = msg
		} else if code != 200 {
			t.Fatalf("request %d: %d %s", i, code, msg)
		}
	}
	require.Contains(t, refused, "out of funds: top up job", "the refusal names the lease to top up")
	t.Logf("phase 2: refused once the escrow was spent: %q", strings.TrimSpace(refused))

	// Phase 3: the claims settle; every served unit is paid exactly.
	type jobView struct {
		Job struct {
			State  string `json:"state"`
			Escrow struct {
				Amount string `json:"amount"`
			} `json:"escrow"`
			Paid struct {
				Amount string `json:"amount"`
			} `json:"paid"`
			LicencePaid struct {
				Amount string `json:"amount"`
			} `json:"licence_paid"`
			Lease struct {
				SettledUnits string `json:"settled_units"`
				PendingUnits string `json:"pending_units"`
			} `json:"lease"`
		} `json:"job"`
	}
	job := func(id string) jobView {
		var j jobView
		c.q(&j, "market", "job", id)
		return j
	}
	atoi := func(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
	served := func(k int) int64 { return infMetric(t, serveURL(k)+"/metrics", "cohort_serve_receipts_total") }
	var totalSettled int64
	for _, k := range []int{1, 3} {
		id := jobOf[k]
		require.Eventuallyf(t, func() bool {
			var j jobView
			return c.tryQ(&j, "market", "job", id) && atoi(j.Job.Lease.SettledUnits) == served(k) && atoi(j.Job.Lease.PendingUnits) == 0
		}, time.Minute, 500*time.Millisecond, "provider %d's job %s settles what it served (%d)", k, id, served(k))
		j := job(id)
		units := atoi(j.Job.Lease.SettledUnits)
		paid := atoi(j.Job.Paid.Amount)
		t.Logf("provider %d, job %s: %d units served and settled; provider paid %d, licence %s, escrow left %s", k, id, units, paid, j.Job.LicencePaid.Amount, j.Job.Escrow.Amount)
		require.Equal(t, budget-13*units, atoi(j.Job.Escrow.Amount), "the client paid exactly units × (price + licence)")
		require.Equal(t, 3*units, atoi(j.Job.LicencePaid.Amount), "the owner got exactly units × licence")
		require.LessOrEqual(t, paid, 10*units)
		require.GreaterOrEqual(t, paid, 10*units*98/100, "the provider got units × price less the 2% fee")
		require.Less(t, atoi(j.Job.Escrow.Amount), int64(13), "served until the escrow was spent")
		totalSettled += units
	}
	// Provider 0 was killed: what it claimed before is paid. carol gets
	// the licence of every unit settled, on every lease.
	require.Eventually(t, func() bool {
		var j0 jobView
		var b balances
		if !c.tryQ(&j0, "market", "job", jobOf[0]) || !c.tryQ(&b, "bank", "balances", carol) {
			return false
		}
		got, _ := strconv.ParseInt(b.of("ucohort"), 10, 64)
		return atoi(j0.Job.Lease.PendingUnits) == 0 && got-carol0 == 3*(totalSettled+atoi(j0.Job.Lease.SettledUnits))
	}, 30*time.Second, 500*time.Millisecond, "carol gets the licence of every unit settled")
	// Settled receipts are pruned at the provider.
	var clients struct {
		Clients []struct {
			Client string `json:"client"`
			Count  int64  `json:"count"`
		} `json:"clients"`
	}
	require.Eventually(t, func() bool {
		clients.Clients = nil
		return getJSON(serveURL(1)+"/v1/receipts/clients", &clients) == nil && len(clients.Clients) == 1 && clients.Clients[0].Count < served(1)
	}, 30*time.Second, 500*time.Millisecond, "provider 1 prunes settled receipts")
	t.Logf("phase 3: claims settled; provider 1 keeps %d of %d receipts (%s)", clients.Clients[0].Count, served(1), time.Since(start).Round(time.Second))

	// Phase 4: bob tops up, leases the lying provider too; the redundancy
	// checks catch it and the committee's re-execution slashes it.
	ctx("bob", "market", "top-up", jobOf[1], "100000ucohort")
	ctx("bob", "market", "top-up", jobOf[3], "100000ucohort")
	jobOf[2] = leases(0, 2)[2]
	// Traffic until a redundancy check (once the gateway has read the new
	// lease) finds provider 2 out.
	for i := 0; infMetric(t, gw+"/metrics", "cohort_gateway_verification_mismatches_total") <= 0; i++ {
		if i == 1000 {
			resp, err := http.Get(gw + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				for _, l := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(l, "cohort_gateway_upstream_requests") || strings.HasPrefix(l, "cohort_gateway_redundancy") {
						t.Log(l)
					}
				}
			}
			t.Fatalf("no redundancy check caught provider 2 (it served %d)", served(2))
		}
		predict(input(int64(200_000 + i)))
	}
	if t.Failed() {
		return
	}
	defer func() {
		if t.Failed() {
			resp, err := http.Get(gw + "/metrics")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				for _, l := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(l, "cohort_gateway_") {
						t.Log(l)
					}
				}
			}
		}
	}()
	type taskView struct {
		ID      string `json:"id"`
		State   string `json:"state"`
		Verdict *struct {
			Outcome string `json:"outcome"`
		} `json:"verdict"`
	}
	var tasks []taskView
	require.Eventually(t, func() bool {
		var r struct {
			Tasks []taskView `json:"tasks"`
		}
		b, err := execCommand("q", "verify", "tasks-by-job", jobOf[2], "--home", home, "-o", "json").Output()
		if err != nil || json.Unmarshal(b, &r) != nil {
			return false
		}
		tasks = r.Tasks
		for _, tk := range r.Tasks {
			if tk.State == "TASK_STATE_FAILED" {
				return true
			}
		}
		return false
	}, 2*time.Minute, time.Second, "a mismatch reported against provider 2 is re-executed and fails: %+v", tasks)
	var p struct {
		Provider struct{ Collateral struct{ Amount string } } `json:"provider"`
	}
	c.q(&p, "provider", "provider", addrs[2])
	p2 := p.Provider.Collateral.Amount
	require.Less(t, atoi(p2), int64(1_000_000_000), "provider 2 is slashed")
	for _, k := range []int{1, 3} {
		b, _ := execCommand("q", "verify", "tasks-by-job", jobOf[k], "--home", home, "-o", "json").Output()
		require.NotContains(t, string(b), "TASK_STATE_FAILED", "no honest provider fails")
	}
	c.q(&p, "provider", "provider", addrs[1])
	require.Equal(t, "1000000000", p.Provider.Collateral.Amount)
	gwLog, _ := os.ReadFile(filepath.Join(work, "gateway.log"))
	require.Contains(t, string(gwLog), "redundancy mismatch reported on chain")
	t.Logf("phase 4: %d task(s) against provider 2 (%+v), its collateral now %s (%s)", len(tasks), tasks, p2, time.Since(start).Round(time.Second))

	// Phase 5: routine checks. The gateway restarts without redundancy
	// checks (same directory: its vouchers go on); bob leases provider 4
	// at the maximum level, where every usage claim is checked.
	gwProc := procs.get("gateway")
	require.NoError(t, gwProc.Process.Signal(syscall.SIGTERM))
	_, _ = gwProc.Process.Wait()
	spawn("gateway-unchecked", "run", "--role", "gateway", "--serve-listen", "127.0.0.1:7720", "--dir", filepath.Join(work, "gateway"),
		"--home", home, "--from", "bob", "--grpc", grpcAddr, "--api-keys", keys, "--api-keys-only", "--refresh", "2s", "--rate", "0",
		"--no-checks", "--try-timeout", "2s")
	checked := leases(90, 4)[4]
	bob0 := balance(bob)
	type claimTask struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Work  struct {
			Kind       string `json:"kind"`
			TotalSteps string `json:"total_steps"`
		} `json:"work"`
		SampledSteps []string `json:"sampled_steps"`
	}
	var claimTasks []claimTask
	for i := 0; ; i++ {
		require.Lessf(t, i, 2000, "no usage claim of provider 4's lease %s was checked and failed: %+v", checked, claimTasks)
		predict(input(int64(300_000 + i)))
		if i%20 != 19 {
			continue
		}
		var r struct {
			Tasks []claimTask `json:"tasks"`
		}
		b, err := execCommand("q", "verify", "tasks-by-job", checked, "--home", home, "-o", "json").Output()
		if err != nil || json.Unmarshal(b, &r) != nil {
			continue
		}
		claimTasks = r.Tasks
		if slices.ContainsFunc(r.Tasks, func(tk claimTask) bool {
			return tk.Work.Kind == "WORK_KIND_INFERENCE_CLAIM" && tk.State == "TASK_STATE_FAILED"
		}) {
			break
		}
	}
	require.Eventually(t, func() bool {
		var j jobView
		return c.tryQ(&j, "market", "job", checked) && j.Job.State == "JOB_STATE_FAILED"
	}, time.Minute, 500*time.Millisecond, "provider 4's checked lease fails")
	require.Greater(t, balance(bob), bob0, "bob gets the lease's escrow and provider 4's deposit back")
	c.q(&p, "provider", "provider", addrs[4])
	require.Less(t, atoi(p.Provider.Collateral.Amount), int64(1_000_000_000), "provider 4 is slashed")
	var stats struct {
		Stats struct {
			RequestsCommitted string `json:"requests_committed"`
			RequestsSampled   string `json:"requests_sampled"`
		} `json:"stats"`
	}
	c.q(&stats, "verify", "stats")
	require.Positive(t, atoi(stats.Stats.RequestsSampled), "requests were re-executed by routine checks")
	valLog, _ := os.ReadFile(filepath.Join(work, "validator.log"))
	require.Contains(t, string(valLog), "the output re-executed differs from the one signed")
	t.Logf("phase 5: claim checks on lease %s: %+v; provider 4's collateral now %s; requests committed %s, sampled %s; inference network end to end in %s",
		checked, claimTasks, p.Provider.Collateral.Amount, stats.Stats.RequestsCommitted, stats.Stats.RequestsSampled, time.Since(start).Round(time.Second))
	infClaimGas(t, work)
}

// infMetric reads a counter without labels from a Prometheus endpoint (-1 when unreadable).
func infMetric(t *testing.T, url, name string) int64 {
	resp, err := http.Get(url)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return int64(f)
			}
		}
	}
	return -1
}

// infClaimGas logs the gas the providers' claim transactions used, by how
// many leases they claimed.
func infClaimGas(t *testing.T, work string) {
	re := regexp.MustCompile(`claimed usage".*leases=(\d+).*gas_used=(\d+)`)
	gas := map[string][]string{}
	logs, _ := filepath.Glob(filepath.Join(work, "provider*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			gas[m[1]] = append(gas[m[1]], m[2])
		}
	}
	for leases, g := range gas {
		t.Logf("claim transactions of %s lease(s): gas used %v", leases, g)
	}
}
