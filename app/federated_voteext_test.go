package app_test

import (
	"crypto/sha256"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/collections"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/app/voteext/types"
	"github.com/cohortchain/cohort/testutil"
	federatedtypes "github.com/cohortchain/cohort/x/federated/types"
)

// TestFederatedRoundAgreementReachesTheModule checks the wiring of the
// "federated-round" kind: an aggregate the validators agree on is recorded
// on the round it names, and one for an unknown round is refused (reported
// in the event, no state change).
func TestFederatedRoundAgreementReachesTheModule(t *testing.T) {
	c := testutil.NewChainWith(t, testutil.ChainOptions{VoteExtensionsFrom: 1})
	testutil.FinalizeAndCommit(t, c.App, c.ValSet, 1)

	// A run whose first round waits for its aggregate.
	ctx := c.Context(t)
	k := c.App.FederatedKeeper
	client := testutil.Addr("client")
	require.NoError(t, k.Runs.Set(ctx, 1, federatedtypes.Run{Id: 1, Client: client.String(), State: federatedtypes.RUN_STATE_TRAINING, CurrentRound: 1,
		Spec: federatedtypes.RunSpec{Rounds: 2}}))
	require.NoError(t, k.Rounds.Set(ctx, collections.Join(uint64(1), uint32(1)),
		federatedtypes.Round{RunId: 1, Number: 1, State: federatedtypes.ROUND_STATE_AGGREGATING, DeadlineHeight: 100}))

	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	ve := types.VoteExtension{Height: 1, Attestations: []types.Attestation{
		{Kind: federatedtypes.AttestationKind, Subject: federatedtypes.Subject(1, 1), ResultHash: hash("aggregate")},
		{Kind: federatedtypes.AttestationKind, Subject: federatedtypes.Subject(9, 1), ResultHash: hash("other")},
	}}
	ext, err := ve.Marshal()
	require.NoError(t, err)
	val := c.ValSet.Validators[0]
	injected, err := voteext.EncodeInjectedTx(abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{{
		Validator: abci.Validator{Address: val.Address, Power: val.VotingPower}, VoteExtension: ext, BlockIdFlag: cmtproto.BlockIDFlagCommit,
	}}})
	require.NoError(t, err)
	res := testutil.Finalize(t, c.App, c.ValSet, 2, injected)
	_, err = c.App.Commit()
	require.NoError(t, err)

	var errs []string
	for _, e := range res.Events {
		if e.Type == voteext.EventTypeAgreement {
			errs = append(errs, attr(e, voteext.AttrHandlerError))
		}
	}
	// The unknown round has no committee to count: the router reports it
	// and hands it to no handler.
	require.Len(t, errs, 2)
	require.ElementsMatch(t, []string{"", "committee: round not found: run 9 round 1"}, errs)

	round, err := k.GetRound(c.App.NewContext(true), 1, 1)
	require.NoError(t, err)
	require.Equal(t, hash("aggregate"), round.ResultHash)
}

// TestFederatedRoundCommitteeDecides checks that a round with a committee
// is decided by its members only: the attestation of a validator outside
// the committee changes nothing, the same attestation from a member
// records the result.
func TestFederatedRoundCommitteeDecides(t *testing.T) {
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	val := func(c *testutil.Chain) abci.Validator {
		v := c.ValSet.Validators[0]
		return abci.Validator{Address: v.Address, Power: v.VotingPower}
	}
	for name, tc := range map[string]struct {
		member bool
		want   []byte
	}{
		"outside the committee": {false, nil},
		"on the committee":      {true, hash("aggregate")},
	} {
		t.Run(name, func(t *testing.T) {
			c := testutil.NewChainWith(t, testutil.ChainOptions{VoteExtensionsFrom: 1})
			testutil.FinalizeAndCommit(t, c.App, c.ValSet, 1)
			ctx := c.Context(t)
			k := c.App.FederatedKeeper
			member := federatedtypes.CommitteeMember{Operator: "other", ConsAddress: hash("another validator")[:20], Power: 10}
			if tc.member {
				member.ConsAddress = val(c).Address
			}
			require.NoError(t, k.Runs.Set(ctx, 1, federatedtypes.Run{Id: 1, Client: testutil.Addr("client").String(), State: federatedtypes.RUN_STATE_TRAINING, CurrentRound: 1,
				Spec: federatedtypes.RunSpec{Rounds: 2}}))
			require.NoError(t, k.Rounds.Set(ctx, collections.Join(uint64(1), uint32(1)),
				federatedtypes.Round{RunId: 1, Number: 1, State: federatedtypes.ROUND_STATE_AGGREGATING, DeadlineHeight: 100,
					Committee: []federatedtypes.CommitteeMember{member}}))
			ve := types.VoteExtension{Height: 1, Attestations: []types.Attestation{
				{Kind: federatedtypes.AttestationKind, Subject: federatedtypes.Subject(1, 1), ResultHash: hash("aggregate")},
			}}
			ext, err := ve.Marshal()
			require.NoError(t, err)
			injected, err := voteext.EncodeInjectedTx(abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{{
				Validator: val(c), VoteExtension: ext, BlockIdFlag: cmtproto.BlockIDFlagCommit,
			}}})
			require.NoError(t, err)
			testutil.Finalize(t, c.App, c.ValSet, 2, injected)
			_, err = c.App.Commit()
			require.NoError(t, err)
			round, err := k.GetRound(c.App.NewContext(true), 1, 1)
			require.NoError(t, err)
			require.Equal(t, tc.want, round.ResultHash)
		})
	}
}
