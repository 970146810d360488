package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLocalnetRejectsBadConfig runs scripts/localnet.sh on a config.yml
// with a broken field: it must name the field and stop before starting
// anything.
func TestLocalnetRejectsBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the localnet script")
	}
	for name, tc := range map[string]struct{ doc, want string }{
		"missing chain id": {"version: 1\naccounts: [{name: a, coins: [1ucohort]}]\nvalidators: [{name: a, bonded: 1ucohort}]\ngenesis: {}\n", "genesis.chain_id: missing"},
		"bad coins":        {"version: 1\naccounts: [{name: a, coins: [lots]}]\nvalidators: [{name: a, bonded: 1ucohort}]\ngenesis: {chain_id: x}\n", "accounts[0].coins[0]"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yml")
			require.NoError(t, os.WriteFile(cfg, []byte(tc.doc), 0o600))
			script, err := filepath.Abs("../../scripts/localnet.sh")
			require.NoError(t, err)
			cmd := exec.Command("bash", script)
			cmd.Env = append(os.Environ(), "CONFIG="+cfg, "OUT="+filepath.Join(dir, "net"), "BIN="+cohortd, "SKIP_BUILD=1")
			out, err := cmd.CombinedOutput()
			require.Error(t, err, string(out))
			require.Contains(t, string(out), tc.want)
			require.NoDirExists(t, filepath.Join(dir, "net", "node0", "data", "application.db"))
		})
	}
}
