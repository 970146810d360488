package cmd

import (
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"

	serverconfig "github.com/cosmos/cosmos-sdk/server/config"

	"github.com/cohortchain/cohort/app"
)

// SidecarConfig is the [sidecar] section of app.toml: where the node finds
// the cohort-sidecar whose attestations it puts in its vote extensions.
type SidecarConfig struct {
	// Address is the sidecar's HTTP base URL; empty means no sidecar.
	Address string `mapstructure:"address"`
	// Timeout bounds how long a vote waits for the sidecar.
	Timeout time.Duration `mapstructure:"timeout"`
}

// AppConfig is app.toml: the SDK's sections and Cohort's own.
type AppConfig struct {
	serverconfig.Config `mapstructure:",squash"`

	Sidecar SidecarConfig `mapstructure:"sidecar"`
}

const sidecarTemplate = `
###############################################################################
###                              Cohort sidecar                             ###
###############################################################################

[sidecar]

# HTTP base URL of the cohort-sidecar (e.g. "http://127.0.0.1:7000"). Empty:
# this node's votes carry no attestations, which is valid but earns nothing.
address = "{{ .Sidecar.Address }}"

# How long a precommit waits for the sidecar before it goes out without
# attestations. Keep it well under the consensus timeouts.
timeout = "{{ .Sidecar.Timeout }}"
`

// initAppConfig returns the app.toml template and defaults of a new node:
// fees are required (DefaultMinGasPrices) and the REST and gRPC servers are
// on, on loopback.
func initAppConfig() (string, any) {
	srv := serverconfig.DefaultConfig()
	srv.MinGasPrices = app.DefaultMinGasPrices
	srv.API.Enable = true
	srv.API.Swagger = true
	srv.API.Address = "tcp://127.0.0.1:1317"
	srv.GRPC.Address = "127.0.0.1:9090"

	cfg := AppConfig{
		Config:  *srv,
		Sidecar: SidecarConfig{Timeout: app.DefaultSidecarTimeout},
	}
	return serverconfig.DefaultConfigTemplate + sidecarTemplate, cfg
}

// initCometBFTConfig returns config.toml defaults: one-second blocks.
func initCometBFTConfig() *cmtcfg.Config {
	cfg := cmtcfg.DefaultConfig()
	cfg.Consensus.TimeoutCommit = time.Second
	return cfg
}
