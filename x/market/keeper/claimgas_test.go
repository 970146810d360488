package keeper_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	clienttx "github.com/cosmos/cosmos-sdk/client/tx"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authsigning "github.com/cosmos/cosmos-sdk/x/auth/signing"

	"github.com/cohortchain/cohort/testutil"
)

// TestClaimTxGas reports the gas of whole claim transactions, ante
// handler included (the provider's signature, bytes, fee): one
// MsgClaimUsage, and n of them (one per lease) batched in one transaction,
// as the provider sidecar sends them.
func TestClaimTxGas(t *testing.T) {
	f := setup(t)
	spec := registerModel(t, f.c, f.ctx, f.other, "txgas", 1, true)
	const n = 10
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = f.meteredLeaseOn(t, spec, 500)
	}
	priv := keyOf(t, f.c, f.ctx, "provider")
	f.c.App.CommitMultiStore().Commit()
	txCfg := f.c.App.TxConfig()
	gas := func(ids []uint64) uint64 {
		msgs := make([]sdk.Msg, len(ids))
		for i, id := range ids {
			v, sig := f.voucher(t, id, f.cum[id]+5)
			msgs[i] = claimMsg(f.provider.String(), id, v, sig)
		}
		acc := f.c.App.AccountKeeper.GetAccount(f.ctx, f.provider)
		b := txCfg.NewTxBuilder()
		require.NoError(t, b.SetMsgs(msgs...))
		b.SetGasLimit(10_000_000)
		b.SetFeeAmount(sdk.NewCoins(coin(100_000)))
		sd := authsigning.SignerData{ChainID: testutil.ChainID, AccountNumber: acc.GetAccountNumber(), Sequence: acc.GetSequence(),
			PubKey: priv.PubKey(), Address: f.provider.String()}
		empty := signing.SignatureV2{PubKey: priv.PubKey(), Data: &signing.SingleSignatureData{SignMode: signing.SignMode_SIGN_MODE_DIRECT}, Sequence: acc.GetSequence()}
		require.NoError(t, b.SetSignatures(empty))
		sig, err := clienttx.SignWithPrivKey(context.Background(), signing.SignMode_SIGN_MODE_DIRECT, sd, b, priv, txCfg, acc.GetSequence())
		require.NoError(t, err)
		require.NoError(t, b.SetSignatures(sig))
		bz, err := txCfg.TxEncoder()(b.GetTx())
		require.NoError(t, err)
		info, _, err := f.c.App.Simulate(bz)
		require.NoError(t, err)
		return info.GasUsed
	}
	one := gas(ids[:1])
	all := gas(ids)
	t.Logf("claim transactions: 1 claim %d gas; %d claims batched %d gas (%d per claim, %.0f%% of a lone claim's)", one, n, all, all/n, 100*float64(all)/float64(n*one))
	require.Less(t, all, n*one)
}
