// Package chain is the chain client of the off-chain daemon cohort-sidecar:
// it reads Cohort state over a node's gRPC endpoint and signs and broadcasts
// transactions with a key from a Cosmos SDK keyring.
//
// All cryptography, transaction building and signing are the SDK's own
// (client/tx.Factory, crypto/keyring, the app's TxConfig); this package only
// adds gas estimation by simulation, a locally kept account sequence that
// survives concurrent use, and waiting until a transaction is in a block.
//
// Against `make localnet` (keys alice, bob, ... in node0's "test" keyring):
//
//	c, err := chain.Dial(ctx, chain.Config{
//		GRPC: "127.0.0.1:9090", Home: ".localnet/node0", From: "alice",
//	})
//	...
//	res, err := c.Broadcast(ctx, banktypes.NewMsgSend(c.Address(), to, coins))
//
// The codecs are those of a Cohort app (see Encoding), so every message of
// the chain can be signed and every Any in a query response decoded.
package chain

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	dbm "github.com/cosmos/cosmos-db"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"cosmossdk.io/log/v2"

	"github.com/cosmos/cosmos-sdk/client"
	"github.com/cosmos/cosmos-sdk/client/grpc/cmtservice"
	"github.com/cosmos/cosmos-sdk/client/tx"
	"github.com/cosmos/cosmos-sdk/codec"
	codectypes "github.com/cosmos/cosmos-sdk/codec/types"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	simtestutil "github.com/cosmos/cosmos-sdk/testutil/sims"
	sdk "github.com/cosmos/cosmos-sdk/types"
	sdkerrors "github.com/cosmos/cosmos-sdk/types/errors"
	txtypes "github.com/cosmos/cosmos-sdk/types/tx"
	"github.com/cosmos/cosmos-sdk/types/tx/signing"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"

	"github.com/cohortchain/cohort/app"
)

// Defaults applied by Dial to the zero fields of Config.
const (
	// DefaultKeyringBackend is the keyring backend used when Config.KeyringBackend is empty.
	DefaultKeyringBackend = keyring.BackendTest
	// DefaultGasPrices is the gas price used when Config.GasPrices is empty
	// (the chain's minimum gas price).
	DefaultGasPrices = app.DefaultMinGasPrices
	// DefaultGasAdjustment multiplies the simulated gas when Config.GasAdjustment is zero.
	DefaultGasAdjustment = 1.5
	// DefaultConfirmTimeout bounds the wait for a broadcast transaction to
	// be in a block when Config.ConfirmTimeout is zero (ctx may bound it sooner).
	DefaultConfirmTimeout = 2 * time.Minute
	// DefaultPollInterval is how often GetTx is polled when Config.PollInterval is zero.
	DefaultPollInterval = 300 * time.Millisecond
)

// ErrReadOnly is returned by Broadcast on a client dialled without a key (Config.From empty).
var ErrReadOnly = errors.New("chain: read-only client: no signing key configured (Config.From is empty)")

// Config names the node and the signing key.
type Config struct {
	// GRPC is the node's gRPC address host:port, e.g. "127.0.0.1:9090"
	// (insecure transport, meant for loopback).
	GRPC string
	// ChainID is the chain's id; empty: read from the node's latest block
	// header. When set it must match the node's.
	ChainID string
	// Home is the directory holding the keyring; the keyring itself is
	// Home/keyring-<backend>, as the SDK lays it out.
	Home string
	// KeyringBackend is "test" by default ("file", "os", "memory", ... as the SDK allows).
	KeyringBackend string
	// From is the key name in the keyring; empty makes a read-only client
	// (Broadcast returns ErrReadOnly).
	From string
	// GasPrices is the price per unit of gas, e.g. "0.0025ucohort" (the default).
	GasPrices string
	// GasAdjustment multiplies the simulated gas to get the gas limit; default 1.5.
	GasAdjustment float64

	// Gas, when non-zero, is a fixed gas limit: Broadcast then skips
	// simulation (and GasAdjustment), so a message that would fail is only
	// found out in the block, where it still pays its fee.
	Gas uint64
	// Keyring, when set, is used instead of opening Home/KeyringBackend
	// (tests, or a daemon that holds its keyring open itself).
	Keyring keyring.Keyring
	// KeyringInput answers passphrase prompts of the "file" backend;
	// default os.Stdin.
	KeyringInput io.Reader
	// ConfirmTimeout bounds how long Broadcast waits for the transaction to
	// be in a block, in addition to its ctx; default DefaultConfirmTimeout.
	ConfirmTimeout time.Duration
	// PollInterval is how often Broadcast polls GetTx; default DefaultPollInterval.
	PollInterval time.Duration
}

// Client is a connection to a Cohort node and, unless read-only, a signing
// key. It is safe for concurrent use.
type Client struct {
	cfg     Config
	conn    *grpc.ClientConn
	enc     app.EncodingConfig
	chainID string

	kr      keyring.Keyring
	keyName string
	addr    sdk.AccAddress

	txSvc   txtypes.ServiceClient
	cmtSvc  cmtservice.ServiceClient
	authSvc authtypes.QueryClient

	// mu serialises building, signing and handing transactions to the
	// node, and guards the account number and sequence below.
	mu       sync.Mutex
	accNum   uint64
	seq      uint64
	seqKnown bool
}

var (
	encOnce sync.Once
	encCfg  app.EncodingConfig
	encErr  error
)

// Encoding returns the codecs of a Cohort app with every module's types
// registered (built once, by constructing a throw-away app in memory, as
// cohortd's CLI does).
func Encoding() (app.EncodingConfig, error) {
	encOnce.Do(func() {
		encCfg, encErr = buildEncoding()
	})
	return encCfg, encErr
}

func buildEncoding() (enc app.EncodingConfig, err error) {
	home, err := os.MkdirTemp("", "cohort-sidecar-chain-")
	if err != nil {
		return enc, fmt.Errorf("chain: temporary app home: %w", err)
	}
	defer os.RemoveAll(home)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("chain: building the app's codecs: %v", r)
		}
	}()
	tmp := app.New(log.NewNopLogger(), dbm.NewMemDB(), false, simtestutil.NewAppOptionsWithFlagHome(home), app.Options{})
	return app.EncodingConfig{
		InterfaceRegistry: tmp.InterfaceRegistry(),
		Codec:             tmp.AppCodec(),
		TxConfig:          tmp.TxConfig(),
		Amino:             tmp.LegacyAmino(),
	}, nil
}

// Dial connects to the node at cfg.GRPC, checks that it answers (and that
// its chain id matches cfg.ChainID when set) and, when cfg.From is set,
// opens the keyring and finds the signing key.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.GRPC == "" {
		return nil, errors.New("chain: no gRPC address (Config.GRPC)")
	}
	if cfg.KeyringBackend == "" {
		cfg.KeyringBackend = DefaultKeyringBackend
	}
	if cfg.GasPrices == "" {
		cfg.GasPrices = DefaultGasPrices
	}
	if cfg.GasAdjustment == 0 {
		cfg.GasAdjustment = DefaultGasAdjustment
	}
	if cfg.GasAdjustment < 1 {
		return nil, fmt.Errorf("chain: gas adjustment %v is below 1", cfg.GasAdjustment)
	}
	if cfg.ConfirmTimeout <= 0 {
		cfg.ConfirmTimeout = DefaultConfirmTimeout
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.KeyringInput == nil {
		cfg.KeyringInput = os.Stdin
	}
	prices, err := sdk.ParseDecCoins(cfg.GasPrices)
	if err != nil {
		return nil, fmt.Errorf("chain: gas prices %q: %w", cfg.GasPrices, err)
	}
	if prices.IsZero() {
		return nil, fmt.Errorf("chain: gas prices %q are zero", cfg.GasPrices)
	}

	enc, err := Encoding()
	if err != nil {
		return nil, err
	}

	c := &Client{cfg: cfg, enc: enc}
	if cfg.From != "" {
		if err := c.openKey(); err != nil {
			return nil, err
		}
	}

	protoCodec, ok := enc.Codec.(*codec.ProtoCodec)
	if !ok {
		return nil, fmt.Errorf("chain: app codec is %T, not a *codec.ProtoCodec", enc.Codec)
	}
	conn, err := grpc.NewClient(cfg.GRPC,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(protoCodec.GRPCCodec())),
	)
	if err != nil {
		return nil, fmt.Errorf("chain: gRPC address %q: %w", cfg.GRPC, err)
	}
	c.conn = conn
	c.txSvc = txtypes.NewServiceClient(conn)
	c.cmtSvc = cmtservice.NewServiceClient(conn)
	c.authSvc = authtypes.NewQueryClient(conn)

	// grpc.NewClient connects lazily: ask for the latest block so that a
	// wrong address fails here, not at the first use.
	blk, err := c.cmtSvc.GetLatestBlock(ctx, &cmtservice.GetLatestBlockRequest{})
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("chain: node at %s does not answer over gRPC: %w", cfg.GRPC, err)
	}
	nodeChainID := blockChainID(blk)
	switch {
	case cfg.ChainID == "" && nodeChainID == "":
		conn.Close()
		return nil, fmt.Errorf("chain: node at %s reports no chain id and Config.ChainID is empty", cfg.GRPC)
	case cfg.ChainID == "":
		c.chainID = nodeChainID
	case nodeChainID != "" && nodeChainID != cfg.ChainID:
		conn.Close()
		return nil, fmt.Errorf("chain: node at %s is on chain %q, not %q", cfg.GRPC, nodeChainID, cfg.ChainID)
	default:
		c.chainID = cfg.ChainID
	}
	return c, nil
}

func (c *Client) openKey() error {
	kr := c.cfg.Keyring
	if kr == nil {
		if c.cfg.Home == "" && c.cfg.KeyringBackend != keyring.BackendMemory {
			return errors.New("chain: Config.From is set but Config.Home (the keyring's directory) is empty")
		}
		var err error
		kr, err = keyring.New(sdk.KeyringServiceName(), c.cfg.KeyringBackend, c.cfg.Home, c.cfg.KeyringInput, c.enc.Codec)
		if err != nil {
			return fmt.Errorf("chain: open keyring (backend %q, home %q): %w", c.cfg.KeyringBackend, c.cfg.Home, err)
		}
	}
	rec, err := kr.Key(c.cfg.From)
	if err != nil {
		return fmt.Errorf("chain: key %q in keyring (backend %q, home %q): %w", c.cfg.From, c.cfg.KeyringBackend, c.cfg.Home, err)
	}
	addr, err := rec.GetAddress()
	if err != nil {
		return fmt.Errorf("chain: key %q: %w", c.cfg.From, err)
	}
	c.kr, c.keyName, c.addr = kr, c.cfg.From, addr
	return nil
}

func blockChainID(res *cmtservice.GetLatestBlockResponse) string {
	if res.SdkBlock != nil && res.SdkBlock.Header.ChainID != "" {
		return res.SdkBlock.Header.ChainID
	}
	if res.Block != nil {
		return res.Block.Header.ChainID
	}
	return ""
}

func blockHeight(res *cmtservice.GetLatestBlockResponse) int64 {
	if res.SdkBlock != nil && res.SdkBlock.Header.Height != 0 {
		return res.SdkBlock.Header.Height
	}
	if res.Block != nil {
		return res.Block.Header.Height
	}
	return 0
}

// Close closes the gRPC connection.
func (c *Client) Close() error { return c.conn.Close() }

// Conn returns the gRPC connection, for generated query clients, e.g.
// federatedtypes.NewQueryClient(c.Conn()). It uses the app's codec, so Any
// fields in responses are unpacked against the app's interface registry.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Address returns the signer's address (nil when read-only).
func (c *Client) Address() sdk.AccAddress { return c.addr }

// AddressString returns the signer's address in bech32 with the chain's
// prefix ("" when read-only).
func (c *Client) AddressString() string {
	if c.addr == nil {
		return ""
	}
	return c.addr.String()
}

// ChainID returns the chain id transactions are signed for.
func (c *Client) ChainID() string { return c.chainID }

// ReadOnly reports whether the client has no signing key.
func (c *Client) ReadOnly() bool { return c.kr == nil }

// Codec returns the app's codec (every Cohort message and type registered).
func (c *Client) Codec() codec.Codec { return c.enc.Codec }

// InterfaceRegistry returns the app's interface registry.
func (c *Client) InterfaceRegistry() codectypes.InterfaceRegistry { return c.enc.InterfaceRegistry }

// TxConfig returns the app's transaction configuration (encoders, builders, sign modes).
func (c *Client) TxConfig() client.TxConfig { return c.enc.TxConfig }

// LatestHeight returns the height of the node's latest block.
func (c *Client) LatestHeight(ctx context.Context) (int64, error) {
	res, err := c.cmtSvc.GetLatestBlock(ctx, &cmtservice.GetLatestBlockRequest{})
	if err != nil {
		return 0, fmt.Errorf("chain: latest block: %w", err)
	}
	return blockHeight(res), nil
}

// Account returns the account number and the committed sequence of addr.
func (c *Client) Account(ctx context.Context, addr sdk.AccAddress) (accountNumber, sequence uint64, err error) {
	res, err := c.authSvc.Account(ctx, &authtypes.QueryAccountRequest{Address: addr.String()})
	if err != nil {
		if status.Code(err) == codes.NotFound {
			return 0, 0, fmt.Errorf("chain: account %s not found on chain (it has never received funds): %w", addr, err)
		}
		return 0, 0, fmt.Errorf("chain: query account %s: %w", addr, err)
	}
	var acc sdk.AccountI
	if err := c.enc.InterfaceRegistry.UnpackAny(res.Account, &acc); err != nil {
		return 0, 0, fmt.Errorf("chain: decode account %s: %w", addr, err)
	}
	return acc.GetAccountNumber(), acc.GetSequence(), nil
}

// TxError is the error Broadcast returns when the node refuses a
// transaction (CheckTx) or the block executes it with a failure.
type TxError struct {
	// Stage is "simulate", "check" (CheckTx refused it) or "deliver"
	// (it is in a block but failed; the fee was charged).
	Stage     string
	TxHash    string
	Height    int64
	Codespace string
	Code      uint32
	RawLog    string
}

// Error reports the stage, code and raw log.
func (e *TxError) Error() string {
	where := map[string]string{
		"simulate": "simulation failed",
		"check":    "refused by CheckTx",
		"deliver":  "failed in block",
	}[e.Stage]
	if where == "" {
		where = e.Stage
	}
	s := fmt.Sprintf("chain: tx %s", where)
	if e.TxHash != "" {
		s += " " + e.TxHash
	}
	if e.Height > 0 {
		s += fmt.Sprintf(" at height %d", e.Height)
	}
	if e.Code != 0 {
		s += fmt.Sprintf(" (codespace %q code %d)", e.Codespace, e.Code)
	}
	return s + ": " + e.RawLog
}

var seqMismatch = regexp.MustCompile(`account sequence mismatch, expected (\d+)`)

// isSeqMismatch reports whether msg (a raw log or error text) is an
// account-sequence mismatch, and the sequence the node expects if it says.
func isSeqMismatch(codespace string, code uint32, msg string) (bool, uint64, bool) {
	hit := strings.Contains(msg, "account sequence mismatch") ||
		(codespace == sdkerrors.ErrWrongSequence.Codespace() && code == sdkerrors.ErrWrongSequence.ABCICode())
	if !hit {
		return false, 0, false
	}
	if m := seqMismatch.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.ParseUint(m[1], 10, 64); err == nil {
			return true, n, true
		}
	}
	return true, 0, false
}

// Broadcast simulates msgs for gas, signs them with SIGN_MODE_DIRECT,
// broadcasts the transaction in sync mode and waits until it is in a block
// (polling GetTx, bounded by ctx and Config.ConfirmTimeout).
//
// It returns a *TxError carrying the code and raw log when simulation,
// CheckTx or the block execution fails; in the last case the returned
// TxResponse is non-nil too (the fee was charged). Signing is serialised;
// the account sequence is kept locally and, on an "account sequence
// mismatch", corrected (from the node's message or by refetching the
// account) and the transaction retried once. A read-only client returns
// ErrReadOnly.
func (c *Client) Broadcast(ctx context.Context, msgs ...sdk.Msg) (*sdk.TxResponse, error) {
	if c.kr == nil {
		return nil, ErrReadOnly
	}
	if len(msgs) == 0 {
		return nil, errors.New("chain: Broadcast with no messages")
	}
	hash, err := c.signAndSubmit(ctx, msgs)
	if err != nil {
		return nil, err
	}
	return c.waitForTx(ctx, hash)
}

// signAndSubmit builds, signs and hands the transaction to the node under
// c.mu, retrying once after a sequence mismatch; it returns the hash of a
// transaction that CheckTx accepted.
func (c *Client) signAndSubmit(ctx context.Context, msgs []sdk.Msg) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	for attempt := 0; ; attempt++ {
		if !c.seqKnown {
			num, seq, err := c.Account(ctx, c.addr)
			if err != nil {
				return "", err
			}
			c.accNum, c.seq, c.seqKnown = num, seq, true
		}
		hash, resync, err := c.submitOnce(ctx, msgs)
		if err == nil {
			c.seq++
			return hash, nil
		}
		if resync == nil || attempt > 0 {
			return "", err
		}
		if resync.known {
			c.seq = resync.seq
		} else {
			c.seqKnown = false
		}
	}
}

type resyncHint struct {
	seq   uint64
	known bool
}

// submitOnce builds, simulates, signs and broadcasts with the current
// sequence. A non-nil resyncHint means the failure was a sequence mismatch.
func (c *Client) submitOnce(ctx context.Context, msgs []sdk.Msg) (string, *resyncHint, error) {
	txf := tx.Factory{}.
		WithTxConfig(c.enc.TxConfig).
		WithChainID(c.chainID).
		WithKeybase(c.kr).
		WithFromName(c.keyName).
		WithAccountNumber(c.accNum).
		WithSequence(c.seq).
		WithGasAdjustment(c.cfg.GasAdjustment).
		WithGasPrices(c.cfg.GasPrices).
		WithSimulateAndExecute(true).
		WithSignMode(signing.SignMode_SIGN_MODE_DIRECT)

	gas, resync, err := c.estimateGas(ctx, txf, msgs)
	if err != nil {
		return "", resync, err
	}
	txf = txf.WithGas(gas)

	// Build and sign.
	builder, err := txf.BuildUnsignedTx(msgs...)
	if err != nil {
		return "", nil, fmt.Errorf("chain: build tx: %w", err)
	}
	if err := tx.Sign(ctx, txf, c.keyName, builder, true); err != nil {
		return "", nil, fmt.Errorf("chain: sign tx: %w", err)
	}
	txBytes, err := c.enc.TxConfig.TxEncoder()(builder.GetTx())
	if err != nil {
		return "", nil, fmt.Errorf("chain: encode tx: %w", err)
	}

	// Hand it to the node.
	res, err := c.txSvc.BroadcastTx(ctx, &txtypes.BroadcastTxRequest{TxBytes: txBytes, Mode: txtypes.BroadcastMode_BROADCAST_MODE_SYNC})
	if err != nil {
		// Whether the node took it is unknown: refetch the sequence next time.
		c.seqKnown = false
		return "", nil, fmt.Errorf("chain: broadcast: %w", err)
	}
	r := res.TxResponse
	if r == nil {
		c.seqKnown = false
		return "", nil, errors.New("chain: broadcast: empty response")
	}
	if r.Code != 0 {
		txErr := &TxError{Stage: "check", TxHash: r.TxHash, Codespace: r.Codespace, Code: r.Code, RawLog: r.RawLog}
		if mis, seq, known := isSeqMismatch(r.Codespace, r.Code, r.RawLog); mis {
			return "", &resyncHint{seq: seq, known: known}, txErr
		}
		return "", nil, txErr
	}
	return r.TxHash, nil, nil
}

// estimateGas returns Config.Gas when set, else the simulated gas times
// Config.GasAdjustment.
func (c *Client) estimateGas(ctx context.Context, txf tx.Factory, msgs []sdk.Msg) (uint64, *resyncHint, error) {
	if c.cfg.Gas > 0 {
		return c.cfg.Gas, nil, nil
	}
	simBytes, err := txf.BuildSimTx(msgs...)
	if err != nil {
		return 0, nil, fmt.Errorf("chain: build simulation tx: %w", err)
	}
	sim, err := c.txSvc.Simulate(ctx, &txtypes.SimulateRequest{TxBytes: simBytes})
	if err != nil {
		// The node answers a failed simulation with codes.Unknown and the
		// error's text (which carries the failure log).
		msg := status.Convert(err).Message()
		if mis, seq, known := isSeqMismatch("", 0, msg); mis {
			return 0, &resyncHint{seq: seq, known: known}, &TxError{Stage: "simulate", RawLog: msg}
		}
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			return 0, nil, fmt.Errorf("chain: simulate: %w", err)
		}
		return 0, nil, &TxError{Stage: "simulate", RawLog: msg}
	}
	if sim.GasInfo == nil {
		return 0, nil, errors.New("chain: simulate: no gas info in the response")
	}
	return uint64(c.cfg.GasAdjustment * float64(sim.GasInfo.GasUsed)), nil, nil
}

// waitForTx polls GetTx until the transaction is in a block.
func (c *Client) waitForTx(ctx context.Context, hash string) (*sdk.TxResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConfirmTimeout)
	defer cancel()
	tick := time.NewTicker(c.cfg.PollInterval)
	defer tick.Stop()
	var lastErr error
	for {
		res, err := c.txSvc.GetTx(ctx, &txtypes.GetTxRequest{Hash: hash})
		if err == nil && res.TxResponse != nil {
			r := res.TxResponse
			if r.Code != 0 {
				return r, &TxError{Stage: "deliver", TxHash: r.TxHash, Height: r.Height, Codespace: r.Codespace, Code: r.Code, RawLog: r.RawLog}
			}
			return r, nil
		}
		if err != nil && status.Code(err) != codes.NotFound {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			if lastErr != nil {
				return nil, fmt.Errorf("chain: tx %s accepted but not seen in a block: %w (last error: %v)", hash, ctx.Err(), lastErr)
			}
			return nil, fmt.Errorf("chain: tx %s accepted but not seen in a block: %w", hash, ctx.Err())
		case <-tick.C:
		}
	}
}
