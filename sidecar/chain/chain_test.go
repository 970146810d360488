package chain_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/testutil/network"
	sdk "github.com/cosmos/cosmos-sdk/types"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/sidecar/chain"
	"github.com/cohortchain/cohort/testutil"
)

func TestDialBadAddress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	_, err := chain.Dial(ctx, chain.Config{GRPC: "127.0.0.1:1"})
	require.Error(t, err)
	require.Contains(t, err.Error(), "127.0.0.1:1")
	require.Contains(t, err.Error(), "does not answer")

	_, err = chain.Dial(ctx, chain.Config{})
	require.ErrorContains(t, err, "no gRPC address")

	_, err = chain.Dial(ctx, chain.Config{GRPC: "127.0.0.1:1", GasPrices: "cheap"})
	require.ErrorContains(t, err, "gas prices")
}

// TestClientAgainstNetwork starts one in-process validator and drives the
// client against it: reads, sends, concurrent sends, a stale sequence,
// failures in simulation and in the block, and a read-only client.
func TestClientAgainstNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an in-process validator")
	}
	cfg := testutil.NetworkConfig(1)
	net, err := network.New(t, t.TempDir(), cfg)
	require.NoError(t, err)
	t.Cleanup(net.Cleanup)
	_, err = net.WaitForHeightWithTimeout(2, time.Minute)
	require.NoError(t, err)

	val := net.Validators[0]
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The network keeps the validator's test-backend keyring in
	// <dir>/simcli/keyring-test, its key named after the moniker.
	dialCfg := chain.Config{
		GRPC:           val.AppConfig.GRPC.Address,
		Home:           filepath.Join(val.Dir, "simcli"),
		KeyringBackend: "test",
		From:           val.Moniker,
		PollInterval:   100 * time.Millisecond,
	}
	c, err := chain.Dial(ctx, dialCfg)
	require.NoError(t, err)
	defer c.Close()
	require.Equal(t, val.Address, c.Address())
	require.True(t, strings.HasPrefix(c.AddressString(), app.Bech32Prefix+"1"), c.AddressString())
	require.Equal(t, cfg.ChainID, c.ChainID())
	require.False(t, c.ReadOnly())

	h, err := c.LatestHeight(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, h, int64(2))

	bank := banktypes.NewQueryClient(c.Conn())
	balance := func(addr sdk.AccAddress) sdkmath.Int {
		t.Helper()
		res, err := bank.Balance(ctx, &banktypes.QueryBalanceRequest{Address: addr.String(), Denom: app.BaseDenom})
		require.NoError(t, err)
		return res.Balance.Amount
	}
	feeOf := func(res *sdk.TxResponse) sdkmath.Int {
		t.Helper()
		var tx txtypes.Tx
		require.NoError(t, c.Codec().Unmarshal(res.Tx.Value, &tx))
		return tx.AuthInfo.Fee.Amount.AmountOf(app.BaseDenom)
	}
	send := func(to sdk.AccAddress, amt int64) sdk.Msg {
		return banktypes.NewMsgSend(c.Address(), to, sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, amt)))
	}

	t.Run("send", func(t *testing.T) {
		to := sdk.AccAddress([]byte("sidecar-chain-test-1"))
		before, beforeFrom := balance(to), balance(c.Address())
		res, err := c.Broadcast(ctx, send(to, 123_456))
		require.NoError(t, err)
		require.Zero(t, res.Code)
		require.Positive(t, res.Height)
		require.NotEmpty(t, res.TxHash)
		require.Equal(t, int64(123_456), balance(to).Sub(before).Int64())
		fee := feeOf(res)
		require.True(t, fee.IsPositive())
		require.Equal(t, beforeFrom.Sub(sdkmath.NewInt(123_456)).Sub(fee).String(), balance(c.Address()).String())
	})

	t.Run("concurrent", func(t *testing.T) {
		to := sdk.AccAddress([]byte("sidecar-chain-test-2"))
		before := balance(to)
		const n = 4
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = c.Broadcast(ctx, send(to, int64(1000+i)))
			}()
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		require.Equal(t, int64(1000+1001+1002+1003), balance(to).Sub(before).Int64())
	})

	t.Run("stale sequence is corrected", func(t *testing.T) {
		// A second client with the same key moves the sequence on behind
		// the first one's back.
		other, err := chain.Dial(ctx, dialCfg)
		require.NoError(t, err)
		defer other.Close()
		to := sdk.AccAddress([]byte("sidecar-chain-test-3"))
		_, err = c.Broadcast(ctx, send(to, 6)) // c now holds a sequence
		require.NoError(t, err)
		_, err = other.Broadcast(ctx, send(to, 7))
		require.NoError(t, err)
		_, err = c.Broadcast(ctx, send(to, 8)) // c's sequence is stale
		require.NoError(t, err)
		require.Equal(t, int64(21), balance(to).Int64())
	})

	t.Run("fails in simulation", func(t *testing.T) {
		to := sdk.AccAddress([]byte("sidecar-chain-test-4"))
		beforeFrom := balance(c.Address())
		res, err := c.Broadcast(ctx, send(to, beforeFrom.AddRaw(1).Int64()))
		require.Error(t, err)
		require.Nil(t, res)
		var txErr *chain.TxError
		require.True(t, errors.As(err, &txErr), err)
		require.Equal(t, "simulate", txErr.Stage)
		require.Contains(t, err.Error(), "insufficient funds")
		require.Equal(t, beforeFrom.String(), balance(c.Address()).String())

		// The client is still usable.
		_, err = c.Broadcast(ctx, send(to, 1))
		require.NoError(t, err)
	})

	t.Run("fails in block", func(t *testing.T) {
		// A fixed gas limit skips simulation: CheckTx only runs the ante
		// handler, so the send fails in the block and pays its fee.
		fixed := dialCfg
		fixed.Gas = 200_000
		fc, err := chain.Dial(ctx, fixed)
		require.NoError(t, err)
		defer fc.Close()

		to := sdk.AccAddress([]byte("sidecar-chain-test-5"))
		beforeFrom := balance(c.Address())
		res, err := fc.Broadcast(ctx, send(to, beforeFrom.Int64()))
		require.Error(t, err)
		require.NotNil(t, res)
		var txErr *chain.TxError
		require.True(t, errors.As(err, &txErr), err)
		require.Equal(t, "deliver", txErr.Stage)
		require.NotZero(t, txErr.Code)
		require.Positive(t, txErr.Height)
		require.Contains(t, err.Error(), "insufficient funds")
		require.Contains(t, err.Error(), res.RawLog)

		fee := feeOf(res)
		require.Equal(t, int64(500), fee.Int64()) // ceil(200000 * 0.0025)
		require.Equal(t, beforeFrom.Sub(fee).String(), balance(c.Address()).String())
		require.True(t, balance(to).IsZero())
	})

	t.Run("read-only", func(t *testing.T) {
		ro, err := chain.Dial(ctx, chain.Config{GRPC: val.AppConfig.GRPC.Address})
		require.NoError(t, err)
		defer ro.Close()
		require.True(t, ro.ReadOnly())
		require.Nil(t, ro.Address())
		require.Empty(t, ro.AddressString())
		require.Equal(t, cfg.ChainID, ro.ChainID())
		_, err = ro.Broadcast(ctx, send(sdk.AccAddress([]byte("sidecar-chain-test-6")), 1))
		require.ErrorIs(t, err, chain.ErrReadOnly)
		require.Contains(t, err.Error(), "read-only")

		// Reads work, with the app's types.
		num, seq, err := ro.Account(ctx, val.Address)
		require.NoError(t, err)
		require.Positive(t, seq)
		_ = num
	})

	t.Run("wrong chain id", func(t *testing.T) {
		_, err := chain.Dial(ctx, chain.Config{GRPC: val.AppConfig.GRPC.Address, ChainID: "other-1"})
		require.ErrorContains(t, err, "not \"other-1\"")
	})

	t.Run("missing key", func(t *testing.T) {
		bad := dialCfg
		bad.From = "nobody"
		_, err := chain.Dial(ctx, bad)
		require.ErrorContains(t, err, "nobody")
	})
}
