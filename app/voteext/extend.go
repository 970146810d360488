package voteext

import (
	"context"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"

	"cosmossdk.io/log/v2"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext/types"
)

// ExtendHandler builds and checks vote extensions.
type ExtendHandler struct {
	source  AttestationSource
	timeout time.Duration
	logger  log.Logger
}

// NewExtendHandler returns handlers that ask source for attestations and
// give up after timeout (DefaultSourceTimeout when zero).
func NewExtendHandler(source AttestationSource, timeout time.Duration, logger log.Logger) *ExtendHandler {
	if source == nil {
		source = NoSource{}
	}
	if timeout <= 0 {
		timeout = DefaultSourceTimeout
	}
	return &ExtendHandler{source: source, timeout: timeout, logger: logger.With("module", "voteext")}
}

// ExtendVote returns the encoded attestations the source has for the vote's
// height. It never fails and never waits longer than the timeout: a slow,
// failing or absent sidecar yields an empty extension.
func (h *ExtendHandler) ExtendVote() sdk.ExtendVoteHandler {
	return func(_ sdk.Context, req *abci.RequestExtendVote) (*abci.ResponseExtendVote, error) {
		atts := h.fetch(req.Height)
		if len(atts) == 0 {
			return &abci.ResponseExtendVote{}, nil
		}
		ve := types.VoteExtension{Height: req.Height, Attestations: atts}
		if err := ve.Validate(req.Height); err != nil {
			h.logger.Error("sidecar attestations are invalid; extending with nothing", "height", req.Height, "err", err)
			return &abci.ResponseExtendVote{}, nil
		}
		bz, err := ve.Marshal()
		if err != nil || len(bz) > types.MaxExtensionBytes {
			h.logger.Error("vote extension too large or unencodable; extending with nothing", "height", req.Height, "bytes", len(bz), "err", err)
			return &abci.ResponseExtendVote{}, nil
		}
		return &abci.ResponseExtendVote{VoteExtension: bz}, nil
	}
}

// fetch asks the source in its own goroutine so that a source which ignores
// its context still cannot hold up the vote.
func (h *ExtendHandler) fetch(height int64) []types.Attestation {
	ctx, cancel := context.WithTimeout(context.Background(), h.timeout)
	defer cancel()
	type result struct {
		atts []types.Attestation
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		atts, err := h.source.Attestations(ctx, height)
		ch <- result{atts, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			h.logger.Info("sidecar gave no attestations", "height", height, "err", r.err)
			return nil
		}
		return r.atts
	case <-ctx.Done():
		h.logger.Info("sidecar did not answer in time", "height", height, "timeout", h.timeout)
		return nil
	}
}

// VerifyVoteExtension accepts an empty extension and any extension that
// decodes and keeps the limits in package types; it rejects the rest.
func (h *ExtendHandler) VerifyVoteExtension() sdk.VerifyVoteExtensionHandler {
	return func(_ sdk.Context, req *abci.RequestVerifyVoteExtension) (*abci.ResponseVerifyVoteExtension, error) {
		if _, err := types.Decode(req.VoteExtension, req.Height); err != nil {
			h.logger.Info("rejecting vote extension", "height", req.Height, "validator", sdk.ConsAddress(req.ValidatorAddress).String(), "err", err)
			return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_REJECT}, nil
		}
		return &abci.ResponseVerifyVoteExtension{Status: abci.ResponseVerifyVoteExtension_ACCEPT}, nil
	}
}
