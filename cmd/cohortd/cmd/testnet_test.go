package cmd_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	svrcmd "github.com/cosmos/cosmos-sdk/server/cmd"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/cmd/cohortd/cmd"
)

func execute(t *testing.T, args ...string) error {
	t.Helper()
	root := cmd.NewRootCmd()
	root.SetArgs(args)
	return svrcmd.Execute(root, "COHORTD", t.TempDir())
}

func writeConfig(t *testing.T, doc string) string {
	path := filepath.Join(t.TempDir(), "config.yml")
	require.NoError(t, os.WriteFile(path, []byte(doc), 0o600))
	return path
}

const config = `
version: 1
accounts:
  - name: alice
    coins: ["100000000000ucohort"]
  - name: bob
    coins: ["5ucohort"]
validators:
  - name: alice
    bonded: "1000000000ucohort"
    config: {consensus: {timeout_commit: "3s"}}
    app: {minimum-gas-prices: "0.5ucohort"}
genesis:
  chain_id: override-1
  consensus: {params: {abci: {vote_extensions_enable_height: "7"}}}
  app_state: {staking: {params: {unbonding_time: "60s"}}}
`

func TestTestnetInitFilesFromConfig(t *testing.T) {
	out := filepath.Join(t.TempDir(), "net")
	require.NoError(t, execute(t, "testnet", "init-files", "--config", writeConfig(t, config), "--output-dir", out, "--validators", "2"))

	for _, node := range []string{"node0", "node1"} {
		bz, err := os.ReadFile(filepath.Join(out, node, "config", "genesis.json"))
		require.NoError(t, err)
		var g struct {
			ChainID   string `json:"chain_id"`
			Consensus struct {
				Params struct {
					ABCI struct {
						Height string `json:"vote_extensions_enable_height"`
					} `json:"abci"`
				} `json:"params"`
			} `json:"consensus"`
			AppState struct {
				Staking struct {
					Params struct {
						UnbondingTime string `json:"unbonding_time"`
						BondDenom     string `json:"bond_denom"`
					} `json:"params"`
				} `json:"staking"`
				Genutil struct {
					GenTxs []json.RawMessage `json:"gen_txs"`
				} `json:"genutil"`
				Bank struct {
					DenomMetadata []struct{ Display string } `json:"denom_metadata"`
				} `json:"bank"`
			} `json:"app_state"`
		}
		require.NoError(t, json.Unmarshal(bz, &g))
		require.Equal(t, "override-1", g.ChainID)
		require.Equal(t, "7", g.Consensus.Params.ABCI.Height)
		require.Equal(t, "60s", g.AppState.Staking.Params.UnbondingTime)
		require.Equal(t, app.BaseDenom, g.AppState.Staking.Params.BondDenom)
		require.Len(t, g.AppState.Genutil.GenTxs, 2, "one gentx per validator")
		require.Equal(t, app.DisplayDenom, g.AppState.Bank.DenomMetadata[0].Display)

		appToml, err := os.ReadFile(filepath.Join(out, node, "config", "app.toml"))
		require.NoError(t, err)
		require.Contains(t, string(appToml), `minimum-gas-prices = "0.5ucohort"`)
		require.Contains(t, string(appToml), "[sidecar]")
		cfgToml, err := os.ReadFile(filepath.Join(out, node, "config", "config.toml"))
		require.NoError(t, err)
		require.Contains(t, string(cfgToml), `timeout_commit = "3s"`)
	}
	node1, err := os.ReadFile(filepath.Join(out, "node1", "config", "config.toml"))
	require.NoError(t, err)
	require.Contains(t, string(node1), `laddr = "tcp://127.0.0.1:26667"`)
	require.Contains(t, string(node1), "@127.0.0.1:26656", "node1 peers with node0")

	// Writing over an existing network is refused.
	err = execute(t, "testnet", "init-files", "--config", writeConfig(t, config), "--output-dir", out)
	require.ErrorContains(t, err, "already holds a network")
}

func TestTestnetInitFilesRefusesBadConfig(t *testing.T) {
	for name, tc := range map[string]struct{ doc, want string }{
		"bad bond":         {replace(config, `bonded: "1000000000ucohort"`, `bonded: "1000000000token"`), "validators[0].bonded"},
		"unknown module":   {replace(config, "app_state: {staking:", "app_state: {stakingg:"), "genesis.app_state.stakingg"},
		"bad app override": {replace(config, "minimum-gas-prices", "minimum-gas-pricez"), "minimum-gas-pricez"},
		"bad consensus":    {replace(config, `vote_extensions_enable_height: "7"`, `vote_extensions_enable_height: "-1"`), "VoteExtensionsEnableHeight"},
	} {
		t.Run(name, func(t *testing.T) {
			err := execute(t, "testnet", "init-files", "--config", writeConfig(t, tc.doc), "--output-dir", filepath.Join(t.TempDir(), "net"))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func replace(s, from, to string) string {
	if i := strings.Index(s, from); i >= 0 {
		return s[:i] + to + s[i+len(from):]
	}
	panic("test document lacks " + from)
}
