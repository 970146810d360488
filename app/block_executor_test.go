package app_test

import (
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/testutil"
)

// TestBlockExecutorsAgree runs the same blocks (transfers, and the carrier
// of the extended commit) on a sequential and a Block-STM app: the tx
// results and app hashes must be identical, or validators that chose
// different executors would fork.
func TestBlockExecutorsAgree(t *testing.T) {
	valSet, err := simtestutil.CreateRandomValidatorSet()
	require.NoError(t, err)
	key := secp256k1.GenPrivKey()
	chains := map[string]*testutil.Chain{}
	for _, ex := range []string{"sequential", "block-stm"} {
		chains[ex] = testutil.NewChainWith(t, testutil.ChainOptions{
			VoteExtensionsFrom: 1, ValSet: valSet, FundKey: key,
			AppConfig: map[string]any{"block-executor": ex},
		})
	}
	val := valSet.Validators[0]
	carrier, err := voteext.EncodeInjectedTx(abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{{
		Validator: abci.Validator{Address: val.Address, Power: val.VotingPower}, BlockIdFlag: cmtproto.BlockIDFlagCommit,
	}}})
	require.NoError(t, err)

	for h := int64(1); h <= 3; h++ {
		var results [][]*abci.ExecTxResult
		var hashes [][]byte
		for _, ex := range []string{"sequential", "block-stm"} {
			c := chains[ex]
			var txs [][]byte
			if h > 1 {
				txs = append(txs, carrier)
			}
			for i := 0; i < 4; i++ {
				txs = append(txs, sendTx(t, c, sdk.AccAddress([]byte("recipient-address-20")), 10+int64(i), uint64(4*(h-1)+int64(i))))
			}
			res := testutil.Finalize(t, c.App, c.ValSet, h, txs...)
			_, err := c.App.Commit()
			require.NoError(t, err)
			results = append(results, res.TxResults)
			hashes = append(hashes, res.AppHash)
		}
		require.Equal(t, hashes[0], hashes[1], "app hash at height %d", h)
		if h > 1 {
			require.Equal(t, voteext.ModuleName, results[0][0].Codespace, "the carrier's result names what it is")
			require.EqualValues(t, 2, results[0][0].Code)
		}
		require.Equal(t, len(results[0]), len(results[1]))
		for i := range results[0] {
			a, b := results[0][i], results[1][i]
			require.Equalf(t, []any{a.Code, a.Codespace, a.GasWanted, a.GasUsed, a.Data}, []any{b.Code, b.Codespace, b.GasWanted, b.GasUsed, b.Data},
				"tx %d of block %d: sequential %q, block-stm %q", i, h, a.Log, b.Log)
		}
	}
}

// TestCheckTxRefusesCarrier: a user cannot get the carrier's bytes into the
// mempool.
func TestCheckTxRefusesCarrier(t *testing.T) {
	c := testutil.NewChain(t)
	carrier, err := voteext.EncodeInjectedTx(abci.ExtendedCommitInfo{})
	require.NoError(t, err)
	res, err := c.App.CheckTx(&abci.RequestCheckTx{Tx: carrier, Type: abci.CheckTxType_New})
	require.NoError(t, err)
	require.Equal(t, voteext.ModuleName, res.Codespace)
	require.EqualValues(t, 2, res.Code)
}
