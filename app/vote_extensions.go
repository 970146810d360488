package app

import (
	"cosmossdk.io/log/v2"
	"github.com/spf13/cast"

	"github.com/cosmos/cosmos-sdk/baseapp"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"

	"github.com/cohortchain/cohort/app/voteext"
)

// app.toml keys of the [sidecar] section.
const (
	FlagSidecarAddress = "sidecar.address"
	FlagSidecarTimeout = "sidecar.timeout"
)

// setVoteExtensionHandlers wires the ABCI++ vote extension path (see package
// voteext). CometBFT calls these handlers only from the height named in the
// genesis consensus params (abci.vote_extensions_enable_height); before it
// the proposal handlers pass blocks through unchanged.
func (app *App) setVoteExtensionHandlers(logger log.Logger, appOpts servertypes.AppOptions, opts Options) {
	source := opts.AttestationSource
	if source == nil {
		source = sidecarFromConfig(logger, appOpts)
	}
	timeout := cast.ToDuration(appOpts.Get(FlagSidecarTimeout))
	ext := voteext.NewExtendHandler(source, timeout, logger)
	app.SetExtendVoteHandler(ext.ExtendVote())
	app.SetVerifyVoteExtensionHandler(ext.VerifyVoteExtension())

	dflt := baseapp.NewDefaultProposalHandler(app.Mempool(), app)
	prop := voteext.NewProposalHandler(app.StakingKeeper, app.TxDecode, dflt.PrepareProposalHandler(), dflt.ProcessProposalHandler())
	app.SetPrepareProposal(prop.PrepareProposal())
	app.SetProcessProposal(prop.ProcessProposal())

	if opts.RegisterAttestationHandlers != nil {
		opts.RegisterAttestationHandlers(app.VoteExtensions)
	}
}

// sidecarFromConfig returns the HTTP source named by sidecar.address, or no
// source when it is empty or invalid (the node then extends votes with
// nothing, and says so).
func sidecarFromConfig(logger log.Logger, appOpts servertypes.AppOptions) voteext.AttestationSource {
	addr := cast.ToString(appOpts.Get(FlagSidecarAddress))
	if addr == "" {
		return voteext.NoSource{}
	}
	src, err := voteext.NewHTTPSource(addr)
	if err != nil {
		logger.Error("ignoring sidecar address; votes will carry no attestations", "err", err)
		return voteext.NoSource{}
	}
	return src
}

// DefaultSidecarTimeout is how long ExtendVote waits for the sidecar unless
// app.toml says otherwise.
const DefaultSidecarTimeout = voteext.DefaultSourceTimeout
