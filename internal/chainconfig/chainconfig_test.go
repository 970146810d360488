package chainconfig_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cohortchain/cohort/internal/chainconfig"
)

const good = `
version: 1
accounts:
  - name: alice
    coins: ["1000ucohort", "5token"]
  - name: bob
    coins: ["10ucohort"]
validators:
  - name: alice
    bonded: "600ucohort"
    app: {minimum-gas-prices: "0.1ucohort"}
genesis:
  chain_id: test-1
  app_state: {staking: {params: {unbonding_time: "60s"}}}
`

func TestParseGood(t *testing.T) {
	cfg, err := chainconfig.Parse([]byte(good), "ucohort")
	require.NoError(t, err)
	require.Equal(t, "test-1", cfg.Genesis.ChainID)
	require.Equal(t, "5token,1000ucohort", cfg.Account("alice").Balance.String())
	require.Equal(t, "600ucohort", cfg.Validators[0].Stake.String())
	require.Nil(t, cfg.Account("nobody"))
}

func TestRepositoryConfigIsValid(t *testing.T) {
	_, err := chainconfig.Load("../../config.yml", "ucohort")
	require.NoError(t, err)
}

// Every broken field is named in the error.
func TestParseNamesTheBadField(t *testing.T) {
	cases := map[string]struct{ from, to, field string }{
		"version":         {"version: 1", "version: 2", "version"},
		"no chain id":     {"chain_id: test-1", "chain_id: \"\"", "genesis.chain_id"},
		"bad coin":        {`["10ucohort"]`, `["ten"]`, "accounts[1].coins[0]"},
		"zero coin":       {`["10ucohort"]`, `["0ucohort"]`, "accounts[1].coins[0]"},
		"bad name":        {"name: bob", "name: 9bob", "accounts[1].name"},
		"duplicate name":  {"name: bob", "name: alice", "accounts[1].name"},
		"unknown op":      {"  - name: alice\n    bonded", "  - name: carol\n    bonded", "validators[0].name"},
		"bond denom":      {`bonded: "600ucohort"`, `bonded: "600token"`, "validators[0].bonded"},
		"bond too large":  {`bonded: "600ucohort"`, `bonded: "6000ucohort"`, "validators[0].bonded"},
		"bond unparsable": {`bonded: "600ucohort"`, `bonded: "lots"`, "validators[0].bonded"},
		"unknown field":   {"version: 1", "version: 1\nvalidatorz: []", "validatorz"},
		"not yaml":        {"version: 1", "version: [1", "not a valid chain description"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			doc := strings.Replace(good, tc.from, tc.to, 1)
			require.NotEqual(t, good, doc, "test case does not change the document")
			_, err := chainconfig.Parse([]byte(doc), "ucohort")
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.field)
		})
	}
	_, err := chainconfig.Parse([]byte("version: 1\ngenesis: {chain_id: x}\n"), "ucohort")
	require.ErrorContains(t, err, "accounts")
}

func TestLoadNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yml")
	require.NoError(t, os.WriteFile(path, []byte("version: 3\n"), 0o600))
	_, err := chainconfig.Load(path, "ucohort")
	require.ErrorContains(t, err, path)
	_, err = chainconfig.Load(filepath.Join(t.TempDir(), "missing.yml"), "ucohort")
	require.Error(t, err)
}

func TestMerge(t *testing.T) {
	dst := map[string]any{"a": map[string]any{"x": 1, "y": 2}, "b": 3}
	got := chainconfig.Merge(dst, map[string]any{"a": map[string]any{"y": 5, "z": 6}, "c": []any{1}})
	require.Equal(t, map[string]any{"a": map[string]any{"x": 1, "y": 5, "z": 6}, "b": 3, "c": []any{1}}, got)
}
