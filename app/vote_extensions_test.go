package app_test

import (
	"crypto/sha256"
	"errors"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/app/voteext/types"
	"github.com/cohortchain/cohort/testutil"
)

// TestPreBlockerRoutesAgreements feeds a block an extended commit by hand
// and checks what the PreBlocker does with it: agreements reach the handler
// of their kind, a failing handler's state changes are discarded, a kind
// without a handler is only reported, and a block that lacks the commit is
// refused.
func TestPreBlockerRoutesAgreements(t *testing.T) {
	var got []voteext.Agreement
	sink := sdk.AccAddress([]byte("vote-extension-sink1"))
	var c *testutil.Chain // set before any block runs a handler
	c = testutil.NewChainWith(t, testutil.ChainOptions{
		VoteExtensionsFrom: 1,
		App: app.Options{RegisterAttestationHandlers: func(r *voteext.Router) {
			r.Register("test/ok", voteext.HandlerFunc(func(_ sdk.Context, a voteext.Agreement) error {
				got = append(got, a)
				return nil
			}))
			r.Register("test/fail", voteext.HandlerFunc(func(ctx sdk.Context, a voteext.Agreement) error {
				// A handler that changes state and then fails: the change must not stick.
				if err := c.App.BankKeeper.SendCoins(ctx, c.Funded, sink, sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 7))); err != nil {
					return err
				}
				return errors.New("refused")
			}))
		}},
	})
	testutil.FinalizeAndCommit(t, c.App, c.ValSet, 1)

	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	ve := types.VoteExtension{Height: 1, Attestations: []types.Attestation{
		{Kind: "test/ok", Subject: []byte("s1"), ResultHash: hash("r1")},
		{Kind: "test/fail", Subject: []byte("s2"), ResultHash: hash("r2")},
		{Kind: "test/unknown", Subject: []byte("s3"), ResultHash: hash("r3")},
	}}
	ext, err := ve.Marshal()
	require.NoError(t, err)
	val := c.ValSet.Validators[0]
	injected, err := voteext.EncodeInjectedTx(abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{{
		Validator:     abci.Validator{Address: val.Address, Power: val.VotingPower},
		VoteExtension: ext,
		BlockIdFlag:   cmtproto.BlockIDFlagCommit,
	}}})
	require.NoError(t, err)

	res := testutil.Finalize(t, c.App, c.ValSet, 2, injected)
	_, err = c.App.Commit()
	require.NoError(t, err)

	require.Len(t, got, 1)
	require.Equal(t, "test/ok", got[0].Kind)
	require.Equal(t, []byte("s1"), got[0].Subject)
	require.Equal(t, hash("r1"), got[0].ResultHash)
	require.Equal(t, []sdk.ConsAddress{sdk.ConsAddress(val.Address)}, got[0].Voters)

	var tally []abci.Event
	agreed := map[string]string{}
	for _, e := range res.Events {
		switch e.Type {
		case voteext.EventTypeTally:
			tally = append(tally, e)
		case voteext.EventTypeAgreement:
			agreed[attr(e, voteext.AttrKind)] = attr(e, voteext.AttrHandlerError)
		}
	}
	require.Len(t, tally, 1)
	require.Equal(t, "1", attr(tally[0], voteext.AttrExtended))
	require.Equal(t, "3", attr(tally[0], voteext.AttrAgreements))
	require.Equal(t, map[string]string{"test/ok": "", "test/fail": "refused", "test/unknown": "no handler for kind"}, agreed)

	ctx := c.App.NewContext(true)
	require.True(t, c.App.BankKeeper.GetBalance(ctx, sink, app.BaseDenom).IsZero(), "the failing handler's send was discarded")

	// A block without the extended commit never gets this far in a real
	// network (ProcessProposal rejects it); FinalizeBlock refuses it too.
	_, err = c.App.FinalizeBlock(&abci.RequestFinalizeBlock{Height: 3, Time: testutil.GenesisTime.Add(3e9), DecidedLastCommit: testutil.LastCommit(c.ValSet), NextValidatorsHash: c.ValSet.Hash(), ProposerAddress: val.Address})
	require.ErrorContains(t, err, "carries no extended commit")
}

func attr(e abci.Event, key string) string {
	for _, a := range e.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return ""
}
