// Package network_test runs in-process multi-validator Cohort networks
// (the SDK's testutil/network) to test consensus paths end to end.
package network_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/testutil/network"
	sdk "github.com/cosmos/cosmos-sdk/types"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/testutil"
)

// TestFourValidatorsBankSend starts four validators in one process, checks
// that they produce blocks, sends tokens with a signed transaction and reads
// the result back over gRPC and REST.
func TestFourValidatorsBankSend(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network")
	}
	cfg := testutil.NetworkConfig(4)
	net, err := network.New(t, t.TempDir(), cfg)
	require.NoError(t, err)
	t.Cleanup(net.Cleanup)

	h, err := net.WaitForHeightWithTimeout(3, time.Minute)
	require.NoError(t, err)
	require.GreaterOrEqual(t, h, int64(3))

	val := net.Validators[0]
	to := sdk.AccAddress([]byte("cohort-network-test1"))
	amount := sdk.NewInt64Coin(app.BaseDenom, 123_456)

	// Sign and broadcast a bank send from validator 0's account.
	clientCtx := val.ClientCtx
	acc, err := clientCtx.AccountRetriever.GetAccount(clientCtx, val.Address)
	require.NoError(t, err)
	txf := tx.Factory{}.
		WithChainID(cfg.ChainID).
		WithKeybase(clientCtx.Keyring).
		WithTxConfig(clientCtx.TxConfig).
		WithAccountNumber(acc.GetAccountNumber()).
		WithSequence(acc.GetSequence()).
		WithGas(200_000).
		WithFees("1000" + app.BaseDenom).
		WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	builder, err := txf.BuildUnsignedTx(banktypes.NewMsgSend(val.Address, to, sdk.NewCoins(amount)))
	require.NoError(t, err)
	rec, err := clientCtx.Keyring.KeyByAddress(val.Address)
	require.NoError(t, err)
	require.NoError(t, tx.Sign(context.Background(), txf, rec.Name, builder, true))
	txBytes, err := clientCtx.TxConfig.TxEncoder()(builder.GetTx())
	require.NoError(t, err)
	res, err := clientCtx.WithBroadcastMode("sync").BroadcastTx(txBytes)
	require.NoError(t, err)
	require.Zero(t, res.Code, res.RawLog)

	// Wait for it to be committed, then read it over gRPC.
	conn, err := grpc.NewClient(val.AppConfig.GRPC.Address, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	txClient := txtypes.NewServiceClient(conn)
	var got *txtypes.GetTxResponse
	require.Eventually(t, func() bool {
		got, err = txClient.GetTx(context.Background(), &txtypes.GetTxRequest{Hash: res.TxHash})
		return err == nil
	}, time.Minute, 500*time.Millisecond)
	require.Zero(t, got.TxResponse.Code, got.TxResponse.RawLog)

	bank := banktypes.NewQueryClient(conn)
	bal, err := bank.Balance(context.Background(), &banktypes.QueryBalanceRequest{Address: to.String(), Denom: app.BaseDenom})
	require.NoError(t, err)
	require.Equal(t, amount.String(), bal.Balance.String())

	// And over REST.
	resp, err := http.Get(fmt.Sprintf("%s/cosmos/bank/v1beta1/balances/%s/by_denom?denom=%s", val.APIAddress, to, app.BaseDenom))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var rest struct {
		Balance struct{ Denom, Amount string } `json:"balance"`
	}
	require.NoError(t, json.Unmarshal(body, &rest))
	require.Equal(t, "123456", rest.Balance.Amount)

	resp2, err := http.Get(fmt.Sprintf("%s/cosmos/tx/v1beta1/txs/%s", val.APIAddress, res.TxHash))
	require.NoError(t, err)
	defer resp2.Body.Close()
	require.Equal(t, http.StatusOK, resp2.StatusCode)

	// All four validators keep committing.
	h0, err := net.LatestHeight()
	require.NoError(t, err)
	_, err = net.WaitForHeightWithTimeout(h0+2, time.Minute)
	require.NoError(t, err)
}
