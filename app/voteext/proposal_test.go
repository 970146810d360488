package voteext_test

import (
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext"
)

// ctxWithVoteExtensionsFrom returns a context whose consensus params turn
// vote extensions on at height enable (0: off).
func ctxWithVoteExtensionsFrom(enable int64) sdk.Context {
	return sdk.Context{}.WithLogger(log.NewNopLogger()).WithConsensusParams(cmtproto.ConsensusParams{
		Abci: &cmtproto.ABCIParams{VoteExtensionsEnableHeight: enable},
	})
}

func TestExtensionsInBlock(t *testing.T) {
	require.False(t, voteext.ExtensionsInBlock(ctxWithVoteExtensionsFrom(0), 10), "off")
	require.False(t, voteext.ExtensionsInBlock(ctxWithVoteExtensionsFrom(5), 5), "the enable height itself has no extended commit yet")
	require.True(t, voteext.ExtensionsInBlock(ctxWithVoteExtensionsFrom(5), 6))
}

// passthrough records what the wrapped handlers were given.
type passthrough struct {
	prepared  *abci.RequestPrepareProposal
	processed *abci.RequestProcessProposal
}

func (p *passthrough) handler() *voteext.ProposalHandler {
	decode := func(bz []byte) (sdk.Tx, error) {
		if string(bz) == "junk" {
			return nil, errors.New("undecodable")
		}
		return nil, nil
	}
	return voteext.NewProposalHandler(nil, decode,
		func(_ sdk.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
			p.prepared = req
			return &abci.ResponsePrepareProposal{Txs: req.Txs}, nil
		},
		func(_ sdk.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
			p.processed = req
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
		})
}

func TestPrepareProposalInjectsTheExtendedCommit(t *testing.T) {
	var p passthrough
	h := p.handler()
	commit := abci.ExtendedCommitInfo{Round: 1, Votes: []abci.ExtendedVoteInfo{vote(1, 10, cmtproto.BlockIDFlagCommit, []byte("x"))}}
	req := &abci.RequestPrepareProposal{Height: 6, MaxTxBytes: 10_000, Txs: [][]byte{[]byte("tx1")}, LocalLastCommit: commit}

	res, err := h.PrepareProposal()(ctxWithVoteExtensionsFrom(5), req)
	require.NoError(t, err)
	require.Len(t, res.Txs, 2)
	require.True(t, voteext.IsInjectedTx(res.Txs[0]))
	require.Equal(t, []byte("tx1"), res.Txs[1])
	require.Less(t, p.prepared.MaxTxBytes, int64(10_000), "the injected commit's bytes are reserved")

	res, err = h.PrepareProposal()(ctxWithVoteExtensionsFrom(0), req)
	require.NoError(t, err)
	require.Equal(t, req.Txs, res.Txs, "nothing injected while extensions are off")

	req.MaxTxBytes = 3
	_, err = h.PrepareProposal()(ctxWithVoteExtensionsFrom(5), req)
	require.Error(t, err, "a commit that does not fit is an error, not a silent omission")
}

func TestProcessProposalRejectsMisplacedCommits(t *testing.T) {
	injected, err := voteext.EncodeInjectedTx(abci.ExtendedCommitInfo{})
	require.NoError(t, err)
	reject := abci.ResponseProcessProposal_REJECT
	for name, tc := range map[string]struct {
		enable int64
		txs    [][]byte
	}{
		"due but block empty":        {5, nil},
		"due but first tx is a tx":   {5, [][]byte{[]byte("tx")}},
		"due but first tx is junk":   {5, [][]byte{append(append([]byte{}, voteext.InjectedTxPrefix...), 0xff)}},
		"not due but present":        {0, [][]byte{injected}},
		"present after ordinary txs": {0, [][]byte{[]byte("tx"), injected}},
		"undecodable tx":             {0, [][]byte{[]byte("tx"), []byte("junk")}},
	} {
		t.Run(name, func(t *testing.T) {
			var p passthrough
			res, err := p.handler().ProcessProposal()(ctxWithVoteExtensionsFrom(tc.enable), &abci.RequestProcessProposal{Height: 6, Txs: tc.txs})
			require.NoError(t, err)
			require.Equal(t, reject, res.Status)
			require.Nil(t, p.processed, "rejected before the wrapped handler")
		})
	}

	var p passthrough
	res, err := p.handler().ProcessProposal()(ctxWithVoteExtensionsFrom(0), &abci.RequestProcessProposal{Height: 6, Txs: [][]byte{[]byte("tx")}})
	require.NoError(t, err)
	require.Equal(t, abci.ResponseProcessProposal_ACCEPT, res.Status)
	require.Equal(t, [][]byte{[]byte("tx")}, p.processed.Txs)
}
