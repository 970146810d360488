package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This file is what the end-to-end tests that run cohort-sidecar
// processes beside the nodes share.

var (
	sidecarOnce sync.Once
	sidecarBin  string
	sidecarErr  error
)

// sidecarBinary builds cohort-sidecar once for the package (next to the
// cohortd TestMain built) and returns its path.
func sidecarBinary(t *testing.T) string {
	t.Helper()
	sidecarOnce.Do(func() {
		sidecarBin = filepath.Join(filepath.Dir(cohortd), "cohort-sidecar")
		if os.Getenv("COHORTD_BIN") != "" { // cohortd's folder may not be ours to write
			dir, err := os.MkdirTemp("", "cohort-e2e-sidecar-")
			if err != nil {
				sidecarErr = err
				return
			}
			sidecarBin = filepath.Join(dir, "cohort-sidecar")
		}
		out, err := exec.Command("go", "build", "-o", sidecarBin, "github.com/cohortchain/cohort/cmd/cohort-sidecar").CombinedOutput()
		if err != nil {
			sidecarErr = fmt.Errorf("building cohort-sidecar: %v\n%s", err, out)
		}
	})
	require.NoError(t, sidecarErr)
	return sidecarBin
}

// processes are the cohort-sidecar processes a test started, each logging
// to work/<name>.log. They are killed when the test ends; when it failed,
// the last lines of every log are written to the test's output.
type processes struct {
	t    *testing.T
	bin  string
	work string
	mu   sync.Mutex
	cmds map[string]*exec.Cmd
}

// newProcesses builds (once) cohort-sidecar and returns an empty set of
// processes logging under work.
func newProcesses(t *testing.T, work string) *processes {
	p := &processes{t: t, bin: sidecarBinary(t), work: work, cmds: map[string]*exec.Cmd{}}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.cmds {
			_ = c.Process.Kill()
			_, _ = c.Process.Wait()
		}
		if !t.Failed() {
			return
		}
		logs, _ := filepath.Glob(filepath.Join(work, "*.log"))
		for _, l := range logs {
			b, _ := os.ReadFile(l)
			lines := strings.Split(string(b), "\n")
			if len(lines) > 40 {
				lines = lines[len(lines)-40:]
			}
			t.Logf("--- %s ---\n%s", filepath.Base(l), strings.Join(lines, "\n"))
		}
	})
	return p
}

// spawn starts cohort-sidecar with args as process name (appending to its
// log, so a restarted process keeps its history).
func (p *processes) spawn(name string, args ...string) {
	p.t.Helper()
	f, err := os.OpenFile(filepath.Join(p.work, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(p.t, err)
	cmd := exec.Command(p.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(p.t, cmd.Start())
	p.mu.Lock()
	p.cmds[name] = cmd
	p.mu.Unlock()
}

// get is the process started as name (nil if none).
func (p *processes) get(name string) *exec.Cmd {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmds[name]
}

// initModel writes a 16 → 16 → 10 MLP's spec and initial weights (seed 1)
// into dir with cohort-sidecar init-model and returns what it printed
// (hashes in hex and base64, the weights' size), as strings.
func initModel(t *testing.T, dir string) map[string]string {
	t.Helper()
	out, err := exec.Command(sidecarBinary(t), "init-model", "--model", "mlp", "--width", "16", "--hidden", "16", "--seed", "1", "--out", dir).Output()
	require.NoError(t, err)
	var raw map[string]any
	require.NoError(t, json.Unmarshal(out, &raw))
	m := map[string]string{}
	for k, v := range raw {
		m[k] = fmt.Sprint(v)
	}
	return m
}

// repoConfigWith writes the repository's config.yml with old replaced by
// new into work and returns its path; old must be there.
func repoConfigWith(t *testing.T, work, old, new string) string {
	t.Helper()
	b, err := os.ReadFile("../../config.yml")
	require.NoError(t, err)
	cfg := strings.Replace(string(b), old, new, 1)
	require.NotEqual(t, string(b), cfg, "config.yml no longer holds %q", old)
	path := filepath.Join(work, "config.yml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o644))
	return path
}

// chainIDOf is the chain id a node home's client.toml names.
func chainIDOf(t *testing.T, home string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "config", "client.toml"))
	require.NoError(t, err)
	m := regexp.MustCompile(`chain-id = "([^"]*)"`).FindStringSubmatch(string(b))
	require.NotNil(t, m, "no chain-id in %s's client.toml", home)
	return m[1]
}

// waitTx waits until a transaction is in a block, by polling q tx (q
// wait-tx can miss a transaction included while it subscribes); it must
// have succeeded.
func waitTx(t *testing.T, c client, hash string) {
	t.Helper()
	require.Eventuallyf(t, func() bool {
		var r txResult
		b, err := execCommand(append([]string{"q", "tx", hash, "-o", "json"}, c.home...)...).Output()
		if err != nil || json.Unmarshal(b, &r) != nil {
			return false
		}
		require.Zerof(t, r.Code, "tx %s: %s", hash, r.RawLog)
		return true
	}, time.Minute, 250*time.Millisecond, "tx %s not included", hash)
}
