package voteext

import (
	"bytes"
	"fmt"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/cosmos/cosmos-sdk/baseapp"
	sdk "github.com/cosmos/cosmos-sdk/types"
)

// InjectedTxPrefix marks the pseudo-transaction that carries the previous
// height's extended commit into a block. No SDK transaction starts with these
// bytes (an encoded tx starts with a protobuf tag), so CheckTx refuses any
// user transaction that imitates it, and in FinalizeBlock it fails decoding
// without effect. Indexers can recognise it by this prefix.
var InjectedTxPrefix = []byte("\x00cohort/voteext/v1\x00")

// EncodeInjectedTx wraps an extended commit into the block's first tx.
func EncodeInjectedTx(info abci.ExtendedCommitInfo) ([]byte, error) {
	bz, err := info.Marshal()
	if err != nil {
		return nil, err
	}
	return append(append([]byte{}, InjectedTxPrefix...), bz...), nil
}

// IsInjectedTx reports whether tx carries an extended commit.
func IsInjectedTx(tx []byte) bool { return bytes.HasPrefix(tx, InjectedTxPrefix) }

// DecodeInjectedTx parses what EncodeInjectedTx wrote.
func DecodeInjectedTx(tx []byte) (abci.ExtendedCommitInfo, error) {
	var info abci.ExtendedCommitInfo
	if !IsInjectedTx(tx) {
		return info, fmt.Errorf("not an injected vote-extension tx")
	}
	if err := info.Unmarshal(tx[len(InjectedTxPrefix):]); err != nil {
		return info, fmt.Errorf("injected vote-extension tx: %w", err)
	}
	return info, nil
}

// ExtensionsInBlock reports whether a block at height must carry the
// extended commit of height-1: extensions were enabled at or before it.
func ExtensionsInBlock(ctx sdk.Context, height int64) bool {
	cp := ctx.ConsensusParams()
	if cp.Abci == nil || cp.Abci.VoteExtensionsEnableHeight == 0 {
		return false
	}
	return height > cp.Abci.VoteExtensionsEnableHeight
}

// ProposalHandler wraps the app's proposal handlers so that blocks carry
// the extended commit they are built on, and only transactions that decode.
type ProposalHandler struct {
	valStore  baseapp.ValidatorStore
	txDecoder sdk.TxDecoder
	prepare   sdk.PrepareProposalHandler
	process   sdk.ProcessProposalHandler
}

// NewProposalHandler wraps prepare and process, the handlers that deal with
// the block's ordinary transactions; txDecoder is the app's.
func NewProposalHandler(valStore baseapp.ValidatorStore, txDecoder sdk.TxDecoder, prepare sdk.PrepareProposalHandler, process sdk.ProcessProposalHandler) *ProposalHandler {
	return &ProposalHandler{valStore: valStore, txDecoder: txDecoder, prepare: prepare, process: process}
}

// PrepareProposal puts the extended commit first, when extensions are on,
// and fills the rest of the block with the wrapped handler's choice.
func (h *ProposalHandler) PrepareProposal() sdk.PrepareProposalHandler {
	return func(ctx sdk.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
		if !ExtensionsInBlock(ctx, req.Height) {
			return h.prepare(ctx, req)
		}
		injected, err := EncodeInjectedTx(req.LocalLastCommit)
		if err != nil {
			return nil, err
		}
		inner := *req
		inner.MaxTxBytes -= int64(len(injected))
		if inner.MaxTxBytes < 0 {
			return nil, fmt.Errorf("extended commit (%d bytes) does not fit in the block (%d bytes)", len(injected), req.MaxTxBytes)
		}
		resp, err := h.prepare(ctx, &inner)
		if err != nil {
			return nil, err
		}
		resp.Txs = append([][]byte{injected}, resp.Txs...)
		return resp, nil
	}
}

// ProcessProposal rejects a block whose first tx is not a valid extended
// commit when one is due, that carries one anywhere else, or that holds a
// transaction that does not decode (an honest proposer only takes
// transactions that passed CheckTx; and executors disagree on the gas of
// an undecodable one, so accepting it could split validators that run
// different executors). The remaining transactions go to the wrapped
// handler.
func (h *ProposalHandler) ProcessProposal() sdk.ProcessProposalHandler {
	reject := &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}
	return func(ctx sdk.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
		txs := req.Txs
		if ExtensionsInBlock(ctx, req.Height) {
			if len(txs) == 0 {
				return reject, nil
			}
			info, err := DecodeInjectedTx(txs[0])
			if err != nil {
				ctx.Logger().Info("proposal rejected: no extended commit", "height", req.Height, "err", err)
				return reject, nil
			}
			if err := baseapp.ValidateVoteExtensions(ctx, h.valStore, req.Height, ctx.ChainID(), info); err != nil {
				ctx.Logger().Info("proposal rejected: bad extended commit", "height", req.Height, "err", err)
				return reject, nil
			}
			txs = txs[1:]
		}
		for _, tx := range txs {
			if IsInjectedTx(tx) {
				return reject, nil
			}
			if _, err := h.txDecoder(tx); err != nil {
				ctx.Logger().Info("proposal rejected: undecodable tx", "height", req.Height, "err", err)
				return reject, nil
			}
		}
		inner := *req
		inner.Txs = txs
		return h.process(ctx, &inner)
	}
}
