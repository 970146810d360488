// Package chainconfig reads config.yml, the one description of a local
// Cohort chain: its accounts, its validators and its genesis overrides. The
// format is Ignite's (version 1), restricted to the fields Cohort uses; an
// unknown field is an error, so a typo never passes silently.
package chainconfig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"

	"go.yaml.in/yaml/v3"

	sdk "github.com/cosmos/cosmos-sdk/types"
)

// Config is the parsed config.yml.
type Config struct {
	Version    int         `yaml:"version"`
	Accounts   []Account   `yaml:"accounts"`
	Validators []Validator `yaml:"validators"`
	Genesis    Genesis     `yaml:"genesis"`
	Faucet     *Faucet     `yaml:"faucet,omitempty"`
	Build      *yaml.Node  `yaml:"build,omitempty"`
	Client     *yaml.Node  `yaml:"client,omitempty"`
}

// Account is a genesis account with a key in the local keyring.
type Account struct {
	Name string `yaml:"name"`
	// Coins are the account's genesis balance, e.g. ["1000000ucohort"].
	Coins []string `yaml:"coins"`
	// Mnemonic recovers the key; without it a new key is made.
	Mnemonic string `yaml:"mnemonic,omitempty"`

	// Balance is Coins parsed.
	Balance sdk.Coins `yaml:"-"`
}

// Validator is a genesis validator, operated by the account of the same name.
type Validator struct {
	Name string `yaml:"name"`
	// Bonded is the validator's self-delegation, in the bond denom.
	Bonded string `yaml:"bonded"`
	// App overrides app.toml keys (nested maps, as in the file).
	App map[string]any `yaml:"app,omitempty"`
	// Config overrides config.toml keys (nested maps, as in the file).
	Config map[string]any `yaml:"config,omitempty"`

	// Stake is Bonded parsed.
	Stake sdk.Coin `yaml:"-"`
}

// Genesis overrides parts of the generated genesis file.
type Genesis struct {
	ChainID string `yaml:"chain_id"`
	// AppState is merged into the genesis app_state (maps merge key by key,
	// everything else replaces).
	AppState map[string]any `yaml:"app_state,omitempty"`
	// Consensus is merged into the genesis consensus section, e.g.
	// {params: {abci: {vote_extensions_enable_height: "2"}}}.
	Consensus map[string]any `yaml:"consensus,omitempty"`
}

// Faucet is accepted for compatibility with Ignite files and not used.
type Faucet struct {
	Name  string   `yaml:"name"`
	Coins []string `yaml:"coins"`
}

var namePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,63}$`)

// Load reads and validates the file at path.
func Load(path string, bondDenom string) (*Config, error) {
	bz, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(bz, bondDenom)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes and validates a config.yml document.
func Parse(bz []byte, bondDenom string) (*Config, error) {
	dec := yaml.NewDecoder(bytes.NewReader(bz))
	dec.KnownFields(true)
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("not a valid chain description: %w", err)
	}
	if err := cfg.validate(bondDenom); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func (c *Config) validate(bondDenom string) error {
	if c.Version != 1 {
		return fmt.Errorf("version: must be 1, got %d", c.Version)
	}
	if c.Genesis.ChainID == "" {
		return errors.New("genesis.chain_id: missing")
	}
	if len(c.Accounts) == 0 {
		return errors.New("accounts: at least one account is needed")
	}
	byName := map[string]*Account{}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		field := fmt.Sprintf("accounts[%d]", i)
		if !namePattern.MatchString(a.Name) {
			return fmt.Errorf("%s.name: %q must start with a letter and hold at most 64 letters, digits, '-' or '_'", field, a.Name)
		}
		if byName[a.Name] != nil {
			return fmt.Errorf("%s.name: %q is used twice", field, a.Name)
		}
		byName[a.Name] = a
		if len(a.Coins) == 0 {
			return fmt.Errorf("%s.coins: missing", field)
		}
		for j, s := range a.Coins {
			coin, err := sdk.ParseCoinNormalized(s)
			if err != nil {
				return fmt.Errorf("%s.coins[%d]: %q is not an amount with a denom: %v", field, j, s, err)
			}
			if !coin.IsPositive() {
				return fmt.Errorf("%s.coins[%d]: %q must be positive", field, j, s)
			}
			a.Balance = a.Balance.Add(coin)
		}
	}
	if len(c.Validators) == 0 {
		return errors.New("validators: at least one validator is needed")
	}
	seen := map[string]bool{}
	for i := range c.Validators {
		v := &c.Validators[i]
		field := fmt.Sprintf("validators[%d]", i)
		acc := byName[v.Name]
		if acc == nil {
			return fmt.Errorf("%s.name: %q is not one of the accounts", field, v.Name)
		}
		if seen[v.Name] {
			return fmt.Errorf("%s.name: %q runs two validators", field, v.Name)
		}
		seen[v.Name] = true
		stake, err := sdk.ParseCoinNormalized(v.Bonded)
		if err != nil {
			return fmt.Errorf("%s.bonded: %q is not an amount with a denom: %v", field, v.Bonded, err)
		}
		if stake.Denom != bondDenom {
			return fmt.Errorf("%s.bonded: denom must be %s, got %q", field, bondDenom, stake.Denom)
		}
		if !stake.IsPositive() {
			return fmt.Errorf("%s.bonded: must be positive", field)
		}
		if acc.Balance.AmountOf(bondDenom).LT(stake.Amount) {
			return fmt.Errorf("%s.bonded: %s is more than account %q holds (%s)", field, stake, v.Name, acc.Balance.AmountOf(bondDenom))
		}
		v.Stake = stake
	}
	return nil
}

// Account returns the account called name, or nil.
func (c *Config) Account(name string) *Account {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			return &c.Accounts[i]
		}
	}
	return nil
}

// Merge deep-merges src into dst: maps merge key by key, anything else in
// src replaces what dst has. It returns the merged value.
func Merge(dst, src any) any {
	dm, dok := dst.(map[string]any)
	sm, sok := src.(map[string]any)
	if !dok || !sok {
		return src
	}
	for k, v := range sm {
		dm[k] = Merge(dm[k], v)
	}
	return dm
}
