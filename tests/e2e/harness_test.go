// Package e2e drives the real cohortd binary: it writes networks with
// `cohortd testnet init-files`, starts nodes as separate processes, and
// talks to them over the CLI, CometBFT RPC and REST.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cohortd is the binary under test, built once by TestMain.
var cohortd string

func TestMain(m *testing.M) {
	if bin := os.Getenv("COHORTD_BIN"); bin != "" {
		cohortd = bin
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "cohort-e2e-bin-")
	if err != nil {
		panic(err)
	}
	cohortd = filepath.Join(dir, "cohortd")
	build := exec.Command("go", "build", "-o", cohortd, "github.com/cohortchain/cohort/cmd/cohortd")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building cohortd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// run executes cohortd with args and returns its combined output; it fails
// the test when the command fails.
func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(cohortd, args...).CombinedOutput()
	require.NoErrorf(t, err, "cohortd %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// runJSON runs cohortd with -o json and decodes its standard output.
func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	cmd := exec.Command(cohortd, append(args, "-o", "json")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoErrorf(t, err, "cohortd %s:\n%s%s", strings.Join(args, " "), out, stderr.String())
	require.NoErrorf(t, json.Unmarshal(out, v), "output of cohortd %s: %s", strings.Join(args, " "), out)
}

// network is a network written by `cohortd testnet init-files`.
type network struct {
	dir    string
	offset int
	nodes  []*node
}

// node is one validator process.
type node struct {
	i    int
	home string
	cmd  *exec.Cmd
	log  *os.File
}

func newNet(t *testing.T, validators, portOffset int, extra ...string) *network {
	t.Helper()
	dir := t.TempDir()
	args := append([]string{"testnet", "init-files", "--output-dir", dir,
		"--validators", strconv.Itoa(validators), "--port-offset", strconv.Itoa(portOffset),
		"--timeout-commit", "500ms"}, extra...)
	run(t, args...)
	n := &network{dir: dir, offset: portOffset}
	for i := 0; i < validators; i++ {
		n.nodes = append(n.nodes, &node{i: i, home: filepath.Join(dir, fmt.Sprintf("node%d", i))})
	}
	t.Cleanup(func() {
		for _, nd := range n.nodes {
			nd.stop(syscall.SIGKILL)
		}
		if t.Failed() {
			for _, nd := range n.nodes {
				if bz, err := os.ReadFile(nd.logPath()); err == nil {
					lines := strings.Split(string(bz), "\n")
					if len(lines) > 30 {
						lines = lines[len(lines)-30:]
					}
					t.Logf("--- node%d log tail ---\n%s", nd.i, strings.Join(lines, "\n"))
				}
			}
		}
	})
	return n
}

func (nd *node) logPath() string { return nd.home + ".log" }

// start runs `cohortd start` for the node, appending to its log.
func (nd *node) start(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(nd.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	nd.log = f
	nd.cmd = exec.Command(cohortd, "start", "--home", nd.home)
	nd.cmd.Stdout, nd.cmd.Stderr = f, f
	require.NoError(t, nd.cmd.Start())
}

// stop signals the node and waits for it to exit.
func (nd *node) stop(sig syscall.Signal) {
	if nd.cmd == nil || nd.cmd.Process == nil {
		return
	}
	_ = nd.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = nd.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = nd.cmd.Process.Kill()
		<-done
	}
	nd.cmd = nil
	if nd.log != nil {
		nd.log.Close()
		nd.log = nil
	}
}

func (n *network) rpc(i int) string  { return fmt.Sprintf("http://127.0.0.1:%d", n.offset+26657+10*i) }
func (n *network) rest(i int) string { return fmt.Sprintf("http://127.0.0.1:%d", n.offset+1317+i) }

// getJSON fetches url and decodes its JSON body into v.
func getJSON(url string, v any) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s: %s", url, resp.Status, body)
	}
	return json.Unmarshal(body, v)
}

type status struct {
	Result struct {
		SyncInfo struct {
			LatestBlockHeight string `json:"latest_block_height"`
			CatchingUp        bool   `json:"catching_up"`
		} `json:"sync_info"`
	} `json:"result"`
}

// height returns node i's latest block height, or -1 when it does not answer.
func (n *network) height(i int) int64 {
	var s status
	if err := getJSON(n.rpc(i)+"/status", &s); err != nil {
		return -1
	}
	h, _ := strconv.ParseInt(s.Result.SyncInfo.LatestBlockHeight, 10, 64)
	return h
}

// waitHeight waits until node i has committed height h.
func (n *network) waitHeight(t *testing.T, i int, h int64, timeout time.Duration) {
	t.Helper()
	require.Eventuallyf(t, func() bool { return n.height(i) >= h }, timeout, 200*time.Millisecond,
		"node%d did not reach height %d (at %d)", i, h, n.height(i))
}

// blockResults returns the finalize-block events of height h from node i.
func (n *network) blockResults(t *testing.T, i int, h int64) blockResults {
	t.Helper()
	var r struct {
		Result blockResults `json:"result"`
	}
	require.NoError(t, getJSON(fmt.Sprintf("%s/block_results?height=%d", n.rpc(i), h), &r))
	return r.Result
}

type event struct {
	Type       string `json:"type"`
	Attributes []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"attributes"`
}

func (e event) attr(key string) string {
	for _, a := range e.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}

type blockResults struct {
	FinalizeBlockEvents []event `json:"finalize_block_events"`
}

func (r blockResults) events(typ string) []event {
	var out []event
	for _, e := range r.FinalizeBlockEvents {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func execCommand(args ...string) *exec.Cmd { return exec.Command(cohortd, args...) }

// txResult is the part of a broadcast or committed tx the tests read.
type txResult struct {
	Height  string `json:"height"`
	TxHash  string `json:"txhash"`
	Code    uint32 `json:"code"`
	RawLog  string `json:"raw_log"`
	GasUsed string `json:"gas_used"`
}

// client runs CLI commands against one node's home.
type client struct {
	t    *testing.T
	home []string
}

func (n *network) client(t *testing.T, i int) client {
	return client{t: t, home: []string{"--home", n.nodes[i].home}}
}

// submit broadcasts `tx args...` from an account and, when CheckTx took it,
// waits for it to be committed; it returns the final result.
func (c client) submit(from string, args ...string) txResult {
	c.t.Helper()
	var r txResult
	runJSON(c.t, &r, append(append([]string{"tx"}, args...), append([]string{"--from", from, "--fees", "5000ucohort", "--gas", "400000", "-y"}, c.home...)...)...)
	if r.Code == 0 {
		runJSON(c.t, &r, append([]string{"q", "wait-tx", r.TxHash, "--timeout", "30s"}, c.home...)...)
	}
	return r
}

// tx submits and requires success.
func (c client) tx(from string, args ...string) txResult {
	c.t.Helper()
	r := c.submit(from, args...)
	require.Zerof(c.t, r.Code, "%v: %s", args, r.RawLog)
	return r
}

// q runs `q args...` and decodes its JSON into v.
func (c client) q(v any, args ...string) {
	c.t.Helper()
	runJSON(c.t, v, append(append([]string{"q"}, args...), c.home...)...)
}

// tryQ is q that reports a failure instead of failing the test: polling
// conditions (require.Eventually) run outside the test's goroutine, where
// failing the test would stop the poll instead of retrying it.
// A query that hangs is killed after 20 s, so the poll goes on.
func (c client) tryQ(v any, args ...string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cohortd, append(append(append([]string{"q"}, args...), c.home...), "-o", "json")...).Output()
	return err == nil && json.Unmarshal(out, v) == nil
}

// addr is the address of a key in the node's keyring.
func (c client) addr(name string) string {
	c.t.Helper()
	return strings.TrimSpace(run(c.t, append([]string{"keys", "show", name, "-a"}, c.home...)...))
}
