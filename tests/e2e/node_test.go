package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type balances struct {
	Balances []struct{ Denom, Amount string } `json:"balances"`
}

func (b balances) of(denom string) string {
	for _, c := range b.Balances {
		if c.Denom == denom {
			return c.Amount
		}
	}
	return "0"
}

// TestNodeLifecycle drives one validator through the CLI: a network from
// the repository's config.yml, a bank send, queries over CLI and REST,
// refused bad transactions, a stop and a restart with state intact, a
// rollback and an export.
func TestNodeLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cohortd binary")
	}
	repoConfig, err := filepath.Abs("../../config.yml")
	require.NoError(t, err)
	n := newNet(t, 1, 1000, "--config", repoConfig)
	nd := n.nodes[0]
	home := []string{"--home", nd.home}
	cli := func(args ...string) []string { return append(args, home...) }

	nd.start(t)
	n.waitHeight(t, 0, 2, time.Minute)

	// The node answers `status` on its RPC address from client.toml.
	require.Contains(t, run(t, cli("status")...), `"network":"cohort-local-1"`)

	bob := strings.TrimSpace(run(t, cli("keys", "show", "bob", "-a")...))
	require.True(t, strings.HasPrefix(bob, "cohort1"), bob)
	var before balances
	runJSON(t, &before, cli("q", "bank", "balances", bob)...)

	// A bank send through the CLI, waited for, then read back.
	var res txResult
	runJSON(t, &res, cli("tx", "bank", "send", "alice", bob, "1234ucohort", "--fees", "500ucohort", "-y")...)
	require.Zero(t, res.Code, res.RawLog)
	var included txResult
	runJSON(t, &included, cli("q", "wait-tx", res.TxHash, "--timeout", "30s")...)
	require.Zero(t, included.Code, included.RawLog)

	var after balances
	runJSON(t, &after, cli("q", "bank", "balances", bob)...)
	require.Equal(t, addInt(t, before.of("ucohort"), 1234), after.of("ucohort"))

	var rest balances
	require.NoError(t, getJSON(n.rest(0)+"/cosmos/bank/v1beta1/balances/"+bob, &rest))
	require.Equal(t, after.of("ucohort"), rest.of("ucohort"))
	var restTx struct {
		TxResponse txResult `json:"tx_response"`
	}
	require.NoError(t, getJSON(n.rest(0)+"/cosmos/tx/v1beta1/txs/"+res.TxHash, &restTx))
	require.Equal(t, included.Height, restTx.TxResponse.Height)

	// Bad transactions: a clear error, nothing committed.
	for _, bad := range []struct {
		name string
		args []string
		code uint32
		log  string
	}{
		{"no fees", []string{}, 13, "insufficient fee"},
		{"fees too low", []string{"--fees", "1ucohort"}, 13, "insufficient fee"},
		{"fees in the wrong denom", []string{"--fees", "500stake"}, 13, "insufficient fee"},
		{"wrong chain id", []string{"--fees", "500ucohort", "--chain-id", "other-chain"}, 4, "signature verification failed"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			var r txResult
			runJSON(t, &r, cli(append([]string{"tx", "bank", "send", "alice", bob, "1ucohort", "-y"}, bad.args...)...)...)
			require.Equal(t, bad.code, r.Code, r.RawLog)
			require.Contains(t, r.RawLog, bad.log)
		})
	}
	// More than alice has: refused when the block runs it; balance unchanged.
	t.Run("more than the balance", func(t *testing.T) {
		var r txResult
		runJSON(t, &r, cli("tx", "bank", "send", "alice", bob, "999999999999999999999ucohort", "--fees", "500ucohort", "-y")...)
		if r.Code == 0 {
			runJSON(t, &r, cli("q", "wait-tx", r.TxHash, "--timeout", "30s")...)
		}
		require.Equal(t, uint32(5), r.Code, r.RawLog)
		require.Contains(t, r.RawLog, "insufficient funds")
	})
	t.Run("malformed tx bytes", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad.json")
		require.NoError(t, os.WriteFile(bad, []byte(`{"body":"nonsense"}`), 0o600))
		out, err := runErr(cli("tx", "broadcast", bad)...)
		require.Error(t, err)
		require.Contains(t, out, "error")
	})
	var unchanged balances
	runJSON(t, &unchanged, cli("q", "bank", "balances", bob)...)
	require.Equal(t, after.of("ucohort"), unchanged.of("ucohort"))

	// Stop and restart from the same home: state and height carry on.
	hStop := n.height(0)
	nd.stop(syscall.SIGTERM)
	nd.start(t)
	n.waitHeight(t, 0, hStop+2, time.Minute)
	var restarted balances
	runJSON(t, &restarted, cli("q", "bank", "balances", bob)...)
	require.Equal(t, after.of("ucohort"), restarted.of("ucohort"))

	// Roll back the last block, restart, and the chain goes on.
	nd.stop(syscall.SIGTERM)
	require.Contains(t, run(t, cli("rollback")...), "Rolled back state to height")
	nd.start(t)
	n.waitHeight(t, 0, hStop+4, time.Minute)

	// Export the stopped node's state as a genesis document.
	nd.stop(syscall.SIGTERM)
	exported := filepath.Join(t.TempDir(), "export.json")
	run(t, cli("export", "--output-document", exported)...)
	bz, err := os.ReadFile(exported)
	require.NoError(t, err)
	require.Contains(t, string(bz), bob)
	require.Contains(t, string(bz), `"chain_id": "cohort-local-1"`)
}

func runErr(args ...string) (string, error) {
	out, err := execCommand(args...).CombinedOutput()
	return string(out), err
}

func addInt(t *testing.T, a string, b int64) string {
	t.Helper()
	var x int64
	_, err := fmt.Sscan(a, &x)
	require.NoError(t, err)
	return fmt.Sprint(x + b)
}
