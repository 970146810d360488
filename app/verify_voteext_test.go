package app_test

import (
	"crypto/sha256"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/app/voteext/types"
	"github.com/cohortchain/cohort/testutil"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// TestVerifyVerdictThroughThePreBlocker drives a verification task the way
// the chain does: work committed in block 2 is drawn by block 3's
// BeginBlocker (its committee is the chain's one validator), the
// validator's vote extension of block 3 attests the verdict hash under
// kind "verify-task", and block 4's PreBlocker decides the task. An
// attestation of a hash that is no verdict of the task decides nothing.
func TestVerifyVerdictThroughThePreBlocker(t *testing.T) {
	c := testutil.NewChainWith(t, testutil.ChainOptions{VoteExtensionsFrom: 1})
	testutil.FinalizeAndCommit(t, c.App, c.ValSet, 1)
	val := c.ValSet.Validators[0]
	inject := func(height int64, atts ...types.Attestation) []byte {
		vote := abci.ExtendedVoteInfo{Validator: abci.Validator{Address: val.Address, Power: val.VotingPower}, BlockIdFlag: cmtproto.BlockIDFlagCommit}
		if len(atts) > 0 {
			ext, err := (&types.VoteExtension{Height: height, Attestations: atts}).Marshal()
			require.NoError(t, err)
			vote.VoteExtension = ext
		}
		tx, err := voteext.EncodeInjectedTx(abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{vote}})
		require.NoError(t, err)
		return tx
	}

	ctx := c.Context(t)
	h := sha256.Sum256([]byte("weights"))
	w := verifytypes.Work{Kind: verifytypes.WORK_KIND_TRAINING_LEASE, JobId: 1, Provider: testutil.Addr("provider").String(),
		ResultHash: h[:], CheckpointRoot: h[:], TotalSteps: 100, Fee: sdk.NewInt64Coin(app.BaseDenom, 0)}
	pass, err := c.App.VerifyKeeper.OnWorkCommitted(ctx, w)
	require.NoError(t, err)
	other, err := c.App.VerifyKeeper.OnWorkCommitted(ctx, w)
	require.NoError(t, err)

	for height := int64(2); height <= 3; height++ { // the injected commit is read, not executed
		testutil.Finalize(t, c.App, c.ValSet, height, inject(height-1))
		_, err = c.App.Commit()
		require.NoError(t, err)
	}
	task, err := c.App.VerifyKeeper.GetTask(c.App.NewContext(true), pass)
	require.NoError(t, err)
	require.Equal(t, verifytypes.TASK_STATE_OPEN, task.State)
	require.Len(t, task.Committee, 1)
	require.Equal(t, sdk.ConsAddress(val.Address).String(), task.Committee[0].ConsAddress)

	res := testutil.Finalize(t, c.App, c.ValSet, 4, inject(3,
		types.Attestation{Kind: verifytypes.AttestationKind, Subject: verifytypes.TaskSubject(pass),
			ResultHash: verifytypes.VerdictHash(verifytypes.Verdict{TaskId: pass, Outcome: verifytypes.OUTCOME_PASS})},
		types.Attestation{Kind: verifytypes.AttestationKind, Subject: verifytypes.TaskSubject(other), ResultHash: h[:]},
	))
	_, err = c.App.Commit()
	require.NoError(t, err)
	var errs []string
	for _, e := range res.Events {
		if e.Type == voteext.EventTypeAgreement {
			errs = append(errs, attr(e, voteext.AttrHandlerError))
		}
	}
	require.Len(t, errs, 2)
	require.Empty(t, errs[0])
	require.Contains(t, errs[1], "matches no verdict")

	q := c.App.NewContext(true)
	task, err = c.App.VerifyKeeper.GetTask(q, pass)
	require.NoError(t, err)
	require.Equal(t, verifytypes.TASK_STATE_PASSED, task.State)
	task, err = c.App.VerifyKeeper.GetTask(q, other)
	require.NoError(t, err)
	require.Equal(t, verifytypes.TASK_STATE_OPEN, task.State, "a hash of no verdict decides nothing")
}
