package voteext_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/stretchr/testify/require"

	"cosmossdk.io/log/v2"

	sdk "github.com/cosmos/cosmos-sdk/types"

	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/app/voteext/types"
)

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func att(kind, subject, result string) types.Attestation {
	return types.Attestation{Kind: kind, Subject: []byte(subject), ResultHash: hash(result)}
}

func encode(t *testing.T, height int64, atts ...types.Attestation) []byte {
	t.Helper()
	ve := types.VoteExtension{Height: height, Attestations: atts}
	bz, err := ve.Marshal()
	require.NoError(t, err)
	return bz
}

func TestDecodeRejectsMalformed(t *testing.T) {
	good := att("verify/task", "t1", "ok")
	tooMany := make([]types.Attestation, types.MaxAttestations+1)
	for i := range tooMany {
		tooMany[i] = att("k", string(rune('a'+i%26))+string(rune(i)), "x")
	}
	cases := map[string][]byte{
		"garbage":          []byte{0xff, 0xff, 0xff},
		"wrong height":     encode(t, 6, good),
		"short hash":       encode(t, 5, types.Attestation{Kind: "k", Subject: []byte("s"), ResultHash: []byte{1, 2}}),
		"empty subject":    encode(t, 5, types.Attestation{Kind: "k", ResultHash: hash("x")}),
		"bad kind":         encode(t, 5, att("Upper Case", "s", "x")),
		"empty kind":       encode(t, 5, att("", "s", "x")),
		"duplicate":        encode(t, 5, good, att("verify/task", "t1", "other")),
		"too many":         encode(t, 5, tooMany...),
		"oversized":        make([]byte, types.MaxExtensionBytes+1),
		"subject too long": encode(t, 5, att("k", string(bytes.Repeat([]byte("s"), types.MaxSubjectLen+1)), "x")),
	}
	for name, bz := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := types.Decode(bz, 5)
			require.ErrorIs(t, err, types.ErrMalformed)
		})
	}
	ve, err := types.Decode(encode(t, 5, good), 5)
	require.NoError(t, err)
	require.Len(t, ve.Attestations, 1)
	ve, err = types.Decode(nil, 5)
	require.NoError(t, err)
	require.Empty(t, ve.Attestations)
}

func TestVerifyVoteExtension(t *testing.T) {
	h := voteext.NewExtendHandler(nil, 0, log.NewNopLogger())
	verify := h.VerifyVoteExtension()
	for name, tc := range map[string]struct {
		bz   []byte
		want abci.ResponseVerifyVoteExtension_VerifyStatus
	}{
		"empty":    {nil, abci.ResponseVerifyVoteExtension_ACCEPT},
		"valid":    {encode(t, 7, att("federated/round", "r1", "w")), abci.ResponseVerifyVoteExtension_ACCEPT},
		"garbage":  {[]byte("not a proto"), abci.ResponseVerifyVoteExtension_REJECT},
		"stale":    {encode(t, 6, att("federated/round", "r1", "w")), abci.ResponseVerifyVoteExtension_REJECT},
		"bad hash": {encode(t, 7, types.Attestation{Kind: "k", Subject: []byte("s"), ResultHash: []byte("short")}), abci.ResponseVerifyVoteExtension_REJECT},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := verify(sdk.Context{}, &abci.RequestVerifyVoteExtension{Height: 7, VoteExtension: tc.bz, ValidatorAddress: []byte{1}})
			require.NoError(t, err)
			require.Equal(t, tc.want, res.Status)
		})
	}
}

type sourceFunc func(ctx context.Context, height int64) ([]types.Attestation, error)

func (f sourceFunc) Attestations(ctx context.Context, height int64) ([]types.Attestation, error) {
	return f(ctx, height)
}

func TestExtendVote(t *testing.T) {
	t.Run("attestations from the source", func(t *testing.T) {
		called := 0
		src := sourceFunc(func(_ context.Context, height int64) ([]types.Attestation, error) {
			called++
			return []types.Attestation{att("verify/task", "t", "r")}, nil
		})
		res, err := voteext.NewExtendHandler(src, time.Second, log.NewNopLogger()).ExtendVote()(sdk.Context{}, &abci.RequestExtendVote{Height: 9})
		require.NoError(t, err)
		require.Equal(t, 1, called)
		ve, err := types.Decode(res.VoteExtension, 9)
		require.NoError(t, err)
		require.Len(t, ve.Attestations, 1)
	})
	t.Run("a source that hangs gives an empty extension in time", func(t *testing.T) {
		block := make(chan struct{})
		defer close(block)
		src := sourceFunc(func(context.Context, int64) ([]types.Attestation, error) {
			<-block // ignores its context on purpose
			return nil, nil
		})
		start := time.Now()
		res, err := voteext.NewExtendHandler(src, 50*time.Millisecond, log.NewNopLogger()).ExtendVote()(sdk.Context{}, &abci.RequestExtendVote{Height: 9})
		require.NoError(t, err)
		require.Empty(t, res.VoteExtension)
		require.Less(t, time.Since(start), 10*time.Second, "ExtendVote must not wait for a hung sidecar")
	})
	t.Run("a failing source gives an empty extension", func(t *testing.T) {
		src := sourceFunc(func(context.Context, int64) ([]types.Attestation, error) { return nil, errors.New("down") })
		res, err := voteext.NewExtendHandler(src, time.Second, log.NewNopLogger()).ExtendVote()(sdk.Context{}, &abci.RequestExtendVote{Height: 9})
		require.NoError(t, err)
		require.Empty(t, res.VoteExtension)
	})
	t.Run("invalid attestations are not sent", func(t *testing.T) {
		src := sourceFunc(func(context.Context, int64) ([]types.Attestation, error) {
			return []types.Attestation{{Kind: "k", Subject: []byte("s"), ResultHash: []byte("short")}}, nil
		})
		res, err := voteext.NewExtendHandler(src, time.Second, log.NewNopLogger()).ExtendVote()(sdk.Context{}, &abci.RequestExtendVote{Height: 9})
		require.NoError(t, err)
		require.Empty(t, res.VoteExtension)
	})
}

func vote(addr byte, power int64, flag cmtproto.BlockIDFlag, ext []byte) abci.ExtendedVoteInfo {
	return abci.ExtendedVoteInfo{Validator: abci.Validator{Address: []byte{addr}, Power: power}, BlockIdFlag: flag, VoteExtension: ext}
}

func TestTally(t *testing.T) {
	const h = 10
	a := att("verify/task", "t1", "pass")
	b := att("verify/task", "t1", "fail")
	other := att("federated/round", "r1", "w1")
	commit := cmtproto.BlockIDFlagCommit

	t.Run("more than two thirds agree", func(t *testing.T) {
		info := abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{
			vote(1, 10, commit, encode(t, h, a, other)),
			vote(2, 10, commit, encode(t, h, a)),
			vote(3, 10, commit, encode(t, h, a, other)),
			vote(4, 10, commit, encode(t, h, b)),
		}}
		agreements, extended, total := voteext.Tally(info, h)
		require.Equal(t, 4, extended)
		require.EqualValues(t, 40, total)
		require.Len(t, agreements, 1, "r1 has only half the power")
		got := agreements[0]
		require.Equal(t, "verify/task", got.Kind)
		require.Equal(t, a.ResultHash, got.ResultHash)
		require.EqualValues(t, 30, got.Power)
		require.Equal(t, []sdk.ConsAddress{{1}, {2}, {3}}, got.Voters)
		require.Equal(t, []sdk.ConsAddress{{4}}, got.Dissenters)
	})
	t.Run("exactly two thirds is not enough", func(t *testing.T) {
		info := abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{
			vote(1, 10, commit, encode(t, h, a)),
			vote(2, 10, commit, encode(t, h, a)),
			vote(3, 10, commit, nil),
		}}
		agreements, extended, _ := voteext.Tally(info, h)
		require.Empty(t, agreements)
		require.Equal(t, 2, extended)
	})
	t.Run("absent, nil and malformed votes count against quorum", func(t *testing.T) {
		info := abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{
			vote(1, 30, commit, encode(t, h, a)),
			vote(2, 30, commit, encode(t, h, a)),
			vote(3, 20, cmtproto.BlockIDFlagAbsent, encode(t, h, a)),
			vote(4, 20, commit, []byte("junk")),
		}}
		agreements, extended, total := voteext.Tally(info, h)
		require.Empty(t, agreements, "60 of 100 is not a quorum")
		require.Equal(t, 2, extended)
		require.EqualValues(t, 100, total)
	})
	t.Run("order of agreements is deterministic", func(t *testing.T) {
		x, y := att("z/kind", "s", "r"), att("a/kind", "s", "r")
		info := abci.ExtendedCommitInfo{Votes: []abci.ExtendedVoteInfo{vote(1, 1, commit, encode(t, h, x, y))}}
		agreements, _, _ := voteext.Tally(info, h)
		require.Len(t, agreements, 2)
		require.Equal(t, "a/kind", agreements[0].Kind)
		require.Equal(t, "z/kind", agreements[1].Kind)
	})
}

func TestHasQuorum(t *testing.T) {
	require.False(t, voteext.HasQuorum(0, 0))
	require.False(t, voteext.HasQuorum(2, 3))
	require.True(t, voteext.HasQuorum(3, 4))
	require.True(t, voteext.HasQuorum(67, 100))
	require.False(t, voteext.HasQuorum(66, 99))
}

func TestInjectedTxRoundTrip(t *testing.T) {
	info := abci.ExtendedCommitInfo{Round: 2, Votes: []abci.ExtendedVoteInfo{vote(1, 5, cmtproto.BlockIDFlagCommit, []byte{1})}}
	tx, err := voteext.EncodeInjectedTx(info)
	require.NoError(t, err)
	require.True(t, voteext.IsInjectedTx(tx))
	got, err := voteext.DecodeInjectedTx(tx)
	require.NoError(t, err)
	require.Equal(t, info.Round, got.Round)
	require.Len(t, got.Votes, 1)
	_, err = voteext.DecodeInjectedTx([]byte("plain tx"))
	require.Error(t, err)
	_, err = voteext.DecodeInjectedTx(append(append([]byte{}, voteext.InjectedTxPrefix...), 0xff, 0xff))
	require.Error(t, err)
}

func TestRouterRejectsBadRoutes(t *testing.T) {
	r := voteext.NewRouter()
	r.Register("verify/task", voteext.HandlerFunc(func(sdk.Context, voteext.Agreement) error { return nil }))
	require.Panics(t, func() { r.Register("verify/task", nil) })
	require.Panics(t, func() { r.Register("Bad Kind", nil) })
	require.Equal(t, []string{"verify/task"}, r.Kinds())
}
