package network_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	dbm "github.com/cosmos/cosmos-db"

	pruningtypes "github.com/cosmos/cosmos-sdk/store/v2/pruning/types"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"

	"github.com/cosmos/cosmos-sdk/baseapp"
	"github.com/cosmos/cosmos-sdk/client/tx"
	servertypes "github.com/cosmos/cosmos-sdk/server/types"
	"github.com/cosmos/cosmos-sdk/testutil/network"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	consensustypes "github.com/cosmos/cosmos-sdk/x/consensus/types"
	govv1 "github.com/cosmos/cosmos-sdk/x/gov/types/v1"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/testutil"
)

// testChain is an in-process network whose validators' nodes ask the given
// attestation sources for their vote extensions, and whose governance
// votes in seconds, so that a test can turn vote extensions on the way a
// live chain does: a proposal to x/consensus.
type testChain struct {
	net  *network.Network
	cfg  network.Config
	conn *grpc.ClientConn // validator 0's gRPC, the only one served
}

// govVotingPeriod is how long a proposal of the test chains is voted on.
const govVotingPeriod = 20 * time.Second

// newChain starts n validators; validator i's node takes its attestations
// from sources[i] (nil: none).
func newChain(t *testing.T, n int, sources []voteext.AttestationSource) *testChain {
	t.Helper()
	cfg := testutil.NetworkConfig(n)
	// Enough for the validators' accounts to fund providers' collateral.
	cfg.StakingTokens = sdk.TokensFromConsensusPower(100_000, sdk.DefaultPowerReduction)
	var gov govv1.GenesisState
	cfg.Codec.MustUnmarshalJSON(cfg.GenesisState["gov"], &gov)
	voting, expedited := govVotingPeriod, govVotingPeriod/2
	gov.Params.VotingPeriod, gov.Params.ExpeditedVotingPeriod, gov.Params.MaxDepositPeriod = &voting, &expedited, &voting
	gov.Params.MinDeposit = sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 1_000))
	gov.Params.ExpeditedMinDeposit = sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 2_000))
	cfg.GenesisState["gov"] = cfg.Codec.MustMarshalJSON(&gov)
	cfg.AppConstructor = func(val network.ValidatorI) servertypes.Application {
		var opts app.Options
		var i int
		if _, err := fmt.Sscanf(val.GetCtx().Config.Moniker, "node%d", &i); err == nil && i < len(sources) && sources[i] != nil {
			opts.AttestationSource = sources[i]
		}
		appCfg := val.GetAppConfig()
		return app.New(val.GetCtx().Logger, dbm.NewMemDB(), true,
			simtestutil.NewAppOptionsWithFlagHome(val.GetCtx().Config.RootDir), opts,
			baseapp.SetPruning(pruningtypes.NewPruningOptionsFromString(appCfg.Pruning)),
			baseapp.SetMinGasPrices(appCfg.MinGasPrices),
			baseapp.SetChainID(testutil.ChainID),
		)
	}
	net, err := network.New(t, t.TempDir(), cfg)
	require.NoError(t, err)
	t.Cleanup(net.Cleanup)
	c := &testChain{net: net, cfg: cfg}
	c.conn, err = grpc.NewClient(net.Validators[0].AppConfig.GRPC.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { c.conn.Close() })
	_, err = net.WaitForHeightWithTimeout(2, time.Minute)
	require.NoError(t, err)
	return c
}

// broadcast signs msgs with validator i's account key, broadcasts them and
// waits until they are in a block; the transaction must succeed.
func (c *testChain) broadcast(t *testing.T, i int, msgs ...sdk.Msg) *sdk.TxResponse {
	t.Helper()
	res, err := c.tryBroadcast(i, msgs...)
	require.NoError(t, err)
	return res
}

// tryBroadcast is broadcast that reports a refusal or failure as an error.
func (c *testChain) tryBroadcast(i int, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	// Only validator 0 serves RPC and gRPC; the others sign with their keys.
	val := c.net.Validators[i]
	ctx := c.net.Validators[0].ClientCtx.WithKeyring(val.ClientCtx.Keyring)
	acc, err := ctx.AccountRetriever.GetAccount(ctx, val.Address)
	if err != nil {
		return nil, err
	}
	txf := tx.Factory{}.
		WithChainID(c.cfg.ChainID).
		WithKeybase(ctx.Keyring).
		WithTxConfig(ctx.TxConfig).
		WithAccountNumber(acc.GetAccountNumber()).
		WithSequence(acc.GetSequence()).
		WithGas(2_000_000).
		WithFees("10000" + app.BaseDenom).
		WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	builder, err := txf.BuildUnsignedTx(msgs...)
	if err != nil {
		return nil, err
	}
	rec, err := ctx.Keyring.KeyByAddress(val.Address)
	if err != nil {
		return nil, err
	}
	if err := tx.Sign(context.Background(), txf, rec.Name, builder, true); err != nil {
		return nil, err
	}
	bz, err := ctx.TxConfig.TxEncoder()(builder.GetTx())
	if err != nil {
		return nil, err
	}
	res, err := ctx.WithBroadcastMode("sync").BroadcastTx(bz)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return res, fmt.Errorf("refused (code %d): %s", res.Code, res.RawLog)
	}
	txs := txtypes.NewServiceClient(c.conn)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		got, err := txs.GetTx(context.Background(), &txtypes.GetTxRequest{Hash: res.TxHash})
		if err == nil {
			if got.TxResponse.Code != 0 {
				return got.TxResponse, fmt.Errorf("failed (code %d): %s", got.TxResponse.Code, got.TxResponse.RawLog)
			}
			return got.TxResponse, nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return res, fmt.Errorf("transaction %s not included within a minute", res.TxHash)
}

// enableVoteExtensions turns vote extensions on through governance, as an
// operator of a live chain would: an expedited proposal to x/consensus
// that every validator votes for. It returns the height they are enabled
// from, once the chain has passed it.
func (c *testChain) enableVoteExtensions(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	cons := consensustypes.NewQueryClient(c.conn)
	cur, err := cons.Params(ctx, &consensustypes.QueryParamsRequest{})
	require.NoError(t, err)
	h, err := c.net.LatestHeight()
	require.NoError(t, err)
	// An expedited proposal is tallied when its voting period (half of
	// govVotingPeriod) ends; a margin of blocks past that leaves time.
	enable := h + int64(govVotingPeriod/c.cfg.TimeoutCommit) + 5
	authority := authtypes.NewModuleAddress("gov").String()
	update := &consensustypes.MsgUpdateParams{
		Authority: authority, Block: cur.Params.Block, Evidence: cur.Params.Evidence, Validator: cur.Params.Validator,
		Abci: &cmtproto.ABCIParams{VoteExtensionsEnableHeight: enable},
	}
	gp, err := govv1.NewQueryClient(c.conn).Params(ctx, &govv1.QueryParamsRequest{})
	require.NoError(t, err)
	proposer := c.net.Validators[0].Address.String()
	prop, err := govv1.NewMsgSubmitProposal([]sdk.Msg{update}, gp.Params.ExpeditedMinDeposit, proposer, "", "Enable vote extensions", "Sidecar attestations from height "+fmt.Sprint(enable), true)
	require.NoError(t, err)
	res := c.broadcast(t, 0, prop)
	var id uint64
	for _, e := range res.Events {
		for _, a := range e.Attributes {
			if e.Type == "submit_proposal" && a.Key == "proposal_id" {
				fmt.Sscan(strings.Trim(a.Value, `"`), &id)
			}
		}
	}
	require.NotZero(t, id, "no proposal id in the submit events")
	// All vote at once, so the votes land within the voting period.
	errs := make(chan error, len(c.net.Validators))
	for i, v := range c.net.Validators {
		go func() {
			_, err := c.tryBroadcast(i, govv1.NewMsgVote(v.Address, id, govv1.OptionYes, ""))
			errs <- err
		}()
	}
	for range c.net.Validators {
		require.NoError(t, <-errs)
	}
	require.Eventually(t, func() bool {
		p, err := govv1.NewQueryClient(c.conn).Proposal(ctx, &govv1.QueryProposalRequest{ProposalId: id})
		return err == nil && p.Proposal.Status == govv1.StatusPassed
	}, time.Minute, 500*time.Millisecond, "the proposal to enable vote extensions did not pass")
	got, err := cons.Params(ctx, &consensustypes.QueryParamsRequest{})
	require.NoError(t, err)
	require.Equal(t, enable, got.Params.Abci.VoteExtensionsEnableHeight)
	_, err = c.net.WaitForHeightWithTimeout(enable+1, 2*time.Minute)
	require.NoError(t, err)
	return enable
}

// TestVoteExtensionsByGovernance turns vote extensions on in a running
// in-process network and checks that the chain keeps committing past the
// height they start at, with extensions carried into the blocks.
func TestVoteExtensionsByGovernance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	c := newChain(t, 4, nil)
	enable := c.enableVoteExtensions(t)
	_, err := c.net.WaitForHeightWithTimeout(enable+3, time.Minute)
	require.NoError(t, err)
}
