// Command loadgen measures the transaction throughput of a running Cohort
// node: it funds a set of fresh sender accounts from a keyring account,
// signs a batch of transactions per sender ahead of time, broadcasts them
// all, and reports the transactions per second the chain committed, from
// block timestamps.
//
//	go run ./scripts/loadgen --home .localnet/node0 --senders 8 --txs 250 --msg send
//
// --msg picks the message: send (bank send, the baseline), create-job
// (market jobs), or bid (market bids: the senders register as providers
// and bid on jobs the funder opens first).
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	dbm "github.com/cosmos/cosmos-db"

	"cosmossdk.io/log/v2"
	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/app/voteext"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
)

func main() {
	home := flag.String("home", ".localnet/node0", "client home holding the funder's key (keyring-backend test)")
	node := flag.String("node", "tcp://127.0.0.1:26657", "CometBFT RPC address")
	chainID := flag.String("chain-id", "cohort-local-1", "chain id")
	funder := flag.String("from", "alice", "key that funds the senders")
	senders := flag.Int("senders", 8, "number of sending accounts")
	perSender := flag.Int("txs", 250, "transactions per sender")
	fee := flag.String("fees", "1000"+app.BaseDenom, "fee per transaction")
	mode := flag.String("msg", "send", "message to load: send, create-job or bid")
	flag.Parse()
	if err := run(*home, *node, *chainID, *funder, *senders, *perSender, *fee, *mode); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type loadgen struct {
	ctx     context.Context
	client  client.Context
	rpc     *rpchttp.HTTP
	kr      keyring.Keyring
	chainID string
	fees    sdk.Coins
}

func run(home, node, chainID, funderName string, nSenders, perSender int, feeStr, mode string) error {
	if mode != "send" && mode != "create-job" && mode != "bid" {
		return fmt.Errorf("--msg %q: want send, create-job or bid", mode)
	}
	enc := app.New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.NewAppOptionsWithFlagHome(os.TempDir()), app.Options{})
	rpc, err := client.NewClientFromNode(node)
	if err != nil {
		return err
	}
	kr, err := keyring.New(sdk.KeyringServiceName(), keyring.BackendTest, home, nil, enc.AppCodec())
	if err != nil {
		return err
	}
	fees, err := sdk.ParseCoinsNormalized(feeStr)
	if err != nil {
		return err
	}
	g := &loadgen{
		ctx: context.Background(),
		client: client.Context{}.WithCodec(enc.AppCodec()).WithInterfaceRegistry(enc.InterfaceRegistry()).
			WithTxConfig(enc.TxConfig()).WithClient(rpc).WithChainID(chainID).WithAccountRetriever(authtypes.AccountRetriever{}),
		rpc: rpc, kr: kr, chainID: chainID, fees: fees,
	}

	// Fresh senders, funded in one transaction.
	funderRec, err := kr.Key(funderName)
	if err != nil {
		return fmt.Errorf("key %q in %s: %w", funderName, home, err)
	}
	funderAddr, _ := funderRec.GetAddress()
	mem := keyring.NewInMemory(enc.AppCodec())
	addrs := make([]sdk.AccAddress, nSenders)
	var fund []sdk.Msg
	// Fees, the messages' own amounts (budgets, bid deposits), and for bid
	// mode the provider collateral.
	perTx := fees.AmountOf(app.BaseDenom).Int64() + 1
	switch mode {
	case "create-job":
		perTx += jobBudget
	case "bid":
		perTx += bidDeposit
	}
	perSenderFunds := sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, int64(perSender)*perTx+collateral+1_000_000))
	for i := range addrs {
		rec, _, err := mem.NewMnemonic(fmt.Sprintf("sender%d", i), keyring.English, sdk.FullFundraiserPath, keyring.DefaultBIP39Passphrase, hd.Secp256k1)
		if err != nil {
			return err
		}
		addrs[i], _ = rec.GetAddress()
		fund = append(fund, banktypes.NewMsgSend(funderAddr, addrs[i], perSenderFunds))
	}
	num, seq, err := g.client.AccountRetriever.GetAccountNumberSequence(g.client, funderAddr)
	if err != nil {
		return err
	}
	fundTx, err := g.sign(kr, funderName, num, seq, uint64(100_000*nSenders), fees.MulInt(sdkIntOf(nSenders)), fund...)
	if err != nil {
		return err
	}
	if err := g.broadcast(fundTx); err != nil {
		return fmt.Errorf("funding senders: %w", err)
	}
	if _, err := g.waitTx(fundTx, time.Minute); err != nil {
		return fmt.Errorf("funding senders: %w", err)
	}
	fmt.Printf("funded %d senders\n", nSenders)

	var firstJob uint64
	if mode == "bid" {
		if firstJob, err = g.prepareBids(kr, funderName, funderAddr, mem, addrs, perSender); err != nil {
			return err
		}
	}

	// Sign everything before sending, so that signing is not measured.
	txs := make([][][]byte, nSenders)
	for i, addr := range addrs {
		num, _, err := g.client.AccountRetriever.GetAccountNumberSequence(g.client, addr)
		if err != nil {
			return err
		}
		for s := 0; s < perSender; s++ {
			seq := uint64(s)
			if mode == "bid" {
				seq++ // the provider registration came first
			}
			bz, err := g.sign(mem, fmt.Sprintf("sender%d", i), num, seq, 200_000, fees, loadMsg(mode, addr, funderAddr, firstJob, s))
			if err != nil {
				return err
			}
			txs[i] = append(txs[i], bz)
		}
	}
	total := nSenders * perSender
	fmt.Printf("signed %d transactions; broadcasting\n", total)

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, nSenders)
	for i := range txs {
		wg.Add(1)
		go func(batch [][]byte) {
			defer wg.Done()
			for _, bz := range batch {
				if err := g.broadcast(bz); err != nil {
					errs <- err
					return
				}
			}
		}(txs[i])
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	sent := time.Since(start)

	// The first and last blocks that hold the load.
	first, err := g.waitTx(txs[0][0], time.Minute)
	if err != nil {
		return err
	}
	last := first
	for i := range txs {
		h, err := g.waitTx(txs[i][len(txs[i])-1], 5*time.Minute)
		if err != nil {
			return err
		}
		last = max(last, h)
	}
	committed := time.Since(start)

	var count int
	var tStart, tEnd time.Time
	prev := first - 1
	if b, err := rpc.Block(g.ctx, &prev); err == nil {
		tStart = b.Block.Time
	}
	for h := first; h <= last; h++ {
		hh := h
		b, err := rpc.Block(g.ctx, &hh)
		if err != nil {
			return err
		}
		for _, t := range b.Block.Txs {
			if !voteext.IsInjectedTx(t) {
				count++
			}
		}
		tEnd = b.Block.Time
	}
	span := tEnd.Sub(tStart).Seconds()
	fmt.Printf("broadcast %d txs in %.2fs (%.0f tx/s accepted by CheckTx)\n", total, sent.Seconds(), float64(total)/sent.Seconds())
	fmt.Printf("committed in blocks %d..%d: %d txs in %.2fs of block time => %.1f tx/s (%.2fs per block)\n",
		first, last, count, span, float64(count)/span, span/float64(last-first+1))
	fmt.Printf("wall clock from first broadcast to last commit: %.2fs => %.1f tx/s\n", committed.Seconds(), float64(total)/committed.Seconds())
	return nil
}

func sdkIntOf(n int) sdkmath.Int { return sdkmath.NewInt(int64(n)) }

// Amounts of the loaded messages.
const (
	jobBudget  = 1_000
	bidDeposit = 1_000_000
	collateral = 1_000_000_000
)

// loadMsg is the s-th message of the sender at addr.
func loadMsg(mode string, addr, funder sdk.AccAddress, firstJob uint64, s int) sdk.Msg {
	switch mode {
	case "create-job":
		return &markettypes.MsgCreateJob{Client: addr.String(), Kind: markettypes.JOB_KIND_TRAINING,
			Spec:  markettypes.JobSpec{ModelId: "loadgen", DataRequirement: "synthetic"},
			Units: 10, MaxPrice: sdk.NewInt64Coin(app.BaseDenom, 100), Budget: sdk.NewInt64Coin(app.BaseDenom, jobBudget), DeadlineBlocks: 1_000}
	case "bid":
		return &markettypes.MsgPlaceBid{Provider: addr.String(), JobId: firstJob + uint64(s),
			Price: sdk.NewInt64Coin(app.BaseDenom, 1), Deposit: sdk.NewInt64Coin(app.BaseDenom, bidDeposit)}
	default:
		return banktypes.NewMsgSend(addr, funder, sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 1)))
	}
}

// prepareBids registers every sender as a provider and has the funder open
// perSender jobs for them to bid on; it returns the first job's id.
func (g *loadgen) prepareBids(kr keyring.Keyring, funderName string, funder sdk.AccAddress, mem keyring.Keyring, senders []sdk.AccAddress, perSender int) (uint64, error) {
	var regs [][]byte
	for i, addr := range senders {
		num, _, err := g.client.AccountRetriever.GetAccountNumberSequence(g.client, addr)
		if err != nil {
			return 0, err
		}
		bz, err := g.sign(mem, fmt.Sprintf("sender%d", i), num, 0, 300_000, g.fees, &providertypes.MsgRegisterProvider{
			Operator:   addr.String(),
			Info:       providertypes.ProviderInfo{Moniker: fmt.Sprintf("loadgen-%d", i), Hardware: providertypes.Hardware{CpuCores: 8}, Endpoints: []string{"http://127.0.0.1:1"}},
			Collateral: sdk.NewInt64Coin(app.BaseDenom, collateral),
		})
		if err != nil {
			return 0, err
		}
		if err := g.broadcast(bz); err != nil {
			return 0, fmt.Errorf("registering provider %d: %w", i, err)
		}
		regs = append(regs, bz)
	}
	// The jobs, a batch of messages per transaction.
	num, seq, err := g.client.AccountRetriever.GetAccountNumberSequence(g.client, funder)
	if err != nil {
		return 0, err
	}
	var last []byte
	for done := 0; done < perSender; {
		var msgs []sdk.Msg
		for ; done < perSender && len(msgs) < 100; done++ {
			msgs = append(msgs, loadMsg("create-job", funder, funder, 0, done))
		}
		bz, err := g.sign(kr, funderName, num, seq, uint64(150_000*len(msgs)), g.fees.MulInt(sdkIntOf(len(msgs))), msgs...)
		if err != nil {
			return 0, err
		}
		if err := g.broadcast(bz); err != nil {
			return 0, fmt.Errorf("opening jobs: %w", err)
		}
		seq++
		last = bz
	}
	for _, bz := range append(regs, last) {
		if _, err := g.waitTx(bz, time.Minute); err != nil {
			return 0, err
		}
	}
	res, err := g.rpc.Tx(g.ctx, sumTx(last), false)
	if err != nil {
		return 0, err
	}
	var resp sdk.TxMsgData
	if err := resp.Unmarshal(res.TxResult.Data); err != nil {
		return 0, err
	}
	var created markettypes.MsgCreateJobResponse
	if err := created.Unmarshal(resp.MsgResponses[len(resp.MsgResponses)-1].Value); err != nil {
		return 0, err
	}
	lastID := created.JobId
	fmt.Printf("registered %d providers; opened jobs %d..%d\n", len(senders), lastID-uint64(perSender)+1, lastID)
	return lastID - uint64(perSender) + 1, nil
}

func (g *loadgen) sign(kr keyring.Keyring, name string, num, seq, gas uint64, fees sdk.Coins, msgs ...sdk.Msg) ([]byte, error) {
	txf := tx.Factory{}.WithChainID(g.chainID).WithKeybase(kr).WithTxConfig(g.client.TxConfig).
		WithAccountNumber(num).WithSequence(seq).WithGas(gas).WithFees(fees.String()).
		WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)
	b, err := txf.BuildUnsignedTx(msgs...)
	if err != nil {
		return nil, err
	}
	if err := tx.Sign(g.ctx, txf, name, b, true); err != nil {
		return nil, err
	}
	return g.client.TxConfig.TxEncoder()(b.GetTx())
}

// broadcast submits bz, retrying while the mempool is full.
func (g *loadgen) broadcast(bz []byte) error {
	for attempt := 0; ; attempt++ {
		res, err := g.rpc.BroadcastTxSync(g.ctx, bz)
		if err == nil && res.Code == 0 {
			return nil
		}
		msg := ""
		if err != nil {
			msg = err.Error()
		} else {
			msg = res.Log
		}
		if attempt < 100 && strings.Contains(strings.ToLower(msg), "mempool is full") {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return errors.New(msg)
	}
}

// waitTx returns the height of the block that holds bz.
func (g *loadgen) waitTx(bz []byte, timeout time.Duration) (int64, error) {
	hash := sumTx(bz)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		res, err := g.rpc.Tx(g.ctx, hash, false)
		if err == nil {
			if res.TxResult.Code != 0 {
				return 0, fmt.Errorf("tx %X failed: %s", hash, res.TxResult.Log)
			}
			return res.Height, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, fmt.Errorf("tx %s not committed within %s", strings.ToUpper(hex.EncodeToString(hash)), timeout)
}
