package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	authtypes "github.com/cosmos/cosmos-sdk/x/auth/types"
	"github.com/cosmos/gogoproto/proto"
	"github.com/spf13/pflag"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/chain"
	"github.com/cohortchain/cohort/sidecar/gateway"
	"github.com/cohortchain/cohort/sidecar/serve"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
	reputationtypes "github.com/cohortchain/cohort/x/reputation/types"
)

// RoleGateway is the inference gateway's role (the others are the daemon's).
const RoleGateway = "gateway"

// servingFlags configure a provider's inference server and the gateway.
type servingFlags struct {
	// Provider.
	models      []string
	serveListen string
	cacheBytes  int64
	maxBatch    int
	batchWindow time.Duration
	receipts    string
	tokens      []string
	free        bool
	claimEvery  time.Duration
	serveAttack string
	serveURL    string
	keepProofs  time.Duration

	// Gateway.
	providers      []string
	apiKeys        string
	rate, burst    float64
	tryTimeout     time.Duration
	maxTries       int
	checkMin       float64
	checkMax       float64
	noChecks       bool
	mismatchLog    string
	refresh        time.Duration
	noSignedClient bool
	providerToken  string
	voucherCredit  uint64
}

func (s *servingFlags) register(f *pflag.FlagSet) {
	f.StringSliceVar(&s.models, "serve-models", nil, "provider: registry model versions to serve for inference (id/version, comma-separated); empty: no inference")
	f.StringVar(&s.serveListen, "serve-listen", "127.0.0.1:7100", "provider: inference API listen address (its URL is the endpoint to register); gateway: the gateway's listen address")
	f.Int64Var(&s.cacheBytes, "cache-bytes", 1<<30, "provider: bytes of model weights kept in memory (least recently used evicted)")
	f.IntVar(&s.maxBatch, "max-batch", 64, "provider: examples per batched forward pass")
	f.DurationVar(&s.batchWindow, "batch-window", 200*time.Microsecond, "provider: how long a batch under load waits to fill")
	f.StringVar(&s.receipts, "receipts", "", "provider: usage receipt log (default <dir>/receipts.jsonl)")
	f.StringSliceVar(&s.tokens, "serve-tokens", nil, "provider: bearer tokens of the gateways it takes requests from (empty: anyone, trusted to name the client)")
	f.BoolVar(&s.free, "serve-free", false, "provider: serve without payment (no vouchers asked; nothing to claim)")
	f.DurationVar(&s.claimEvery, "claim-every", 30*time.Second, "provider: how often to claim the usage the clients' vouchers cover (one transaction for every lease) and prune settled receipts")
	f.StringVar(&s.serveURL, "serve-url", "", "provider: base URL of the inference API others reach (validators fetch claim evidence there; default http://<serve-listen>)")
	f.DurationVar(&s.keepProofs, "evidence-keep", 24*time.Hour, "provider: how long a claim's receipts and inputs stay when its verification task is unknown here (otherwise they stay until x/verify passes over the claim or its check's challenge window closes)")
	f.StringVar(&s.serveAttack, "serve-attack", "", "provider: behave dishonestly when serving, for tests and demos: wrong-outputs (every output changed before it is signed)")
	f.StringVar(&s.providerToken, "provider-token", "", "gateway: bearer token sent to providers (their --serve-tokens)")
	f.StringArrayVar(&s.providers, "providers", nil, "gateway: static providers url=model/v+model[;rep=R;price=P;operator=ADDR], repeatable (default: read from the chain)")
	f.StringVar(&s.apiKeys, "api-keys", "", "gateway: JSON file of API key → account")
	f.Float64Var(&s.rate, "rate", 100, "gateway: requests per second per client (0: unlimited)")
	f.Float64Var(&s.burst, "burst", 200, "gateway: burst per client")
	f.DurationVar(&s.tryTimeout, "try-timeout", 2*time.Second, "gateway: bound on one provider request before failing over")
	f.IntVar(&s.maxTries, "max-tries", 3, "gateway: providers tried per request")
	f.Float64Var(&s.checkMin, "check-min", 0.01, "gateway: redundancy sampling rate for a provider of reputation 1")
	f.Float64Var(&s.checkMax, "check-max", 0.2, "gateway: redundancy sampling rate for a provider of reputation 0")
	f.BoolVar(&s.noChecks, "no-checks", false, "gateway: no redundancy checks")
	f.StringVar(&s.mismatchLog, "mismatch-log", "", "gateway: file to append redundancy mismatches to (default <dir>/mismatches.jsonl)")
	f.DurationVar(&s.refresh, "refresh", 30*time.Second, "gateway: how often to read the providers from the chain")
	f.Uint64Var(&s.voucherCredit, "voucher-credit", 0, "gateway: units a payment voucher covers beyond those sent (0: one voucher per request for exactly what was sent; c: one signature per c+1 units, up to c units a lease's provider may claim unserved)")
	f.BoolVar(&s.noSignedClient, "api-keys-only", false, "gateway: refuse signed requests (no chain look-ups of client keys)")
}

// keyringSigner is the signer of ccfg's key (--from in --home's keyring).
func keyringSigner(ccfg chain.Config) (*serve.Signer, error) {
	enc, err := chain.Encoding()
	if err != nil {
		return nil, err
	}
	kr, err := keyring.New(sdk.KeyringServiceName(), ccfg.KeyringBackend, ccfg.Home, os.Stdin, enc.Codec)
	if err != nil {
		return nil, err
	}
	return serve.SignerFromKeyring(kr, ccfg.From)
}

// startProviderServing starts the inference API of a provider when
// --serve-models is set; it stops with ctx.
func startProviderServing(ctx context.Context, s servingFlags, ccfg chain.Config, c *chain.Client, store *blobstore.Store, dir string, log *slog.Logger) error {
	keys, err := serve.ParseKeys(s.models)
	if err != nil || len(keys) == 0 {
		return err
	}
	signer, err := keyringSigner(ccfg)
	if err != nil {
		return err
	}
	path := s.receipts
	if path == "" {
		path = filepath.Join(dir, "receipts.jsonl")
	}
	rs, err := serve.OpenReceipts(path)
	if err != nil {
		return err
	}
	var pay *serve.Payments
	if !s.free {
		pay = &serve.Payments{ChainID: c.ChainID(), Provider: signer.Address(), Leases: serve.ChainLeases{Q: markettypes.NewQueryClient(c.Conn())},
			PubKeys:  &gateway.ChainPubKeys{Auth: authtypes.NewQueryClient(c.Conn()), Registry: c.InterfaceRegistry()},
			Licences: &serve.Licences{Q: regtypes.NewQueryClient(c.Conn())}, Path: filepath.Join(dir, "vouchers.json")}
		if err := pay.Load(); err != nil {
			rs.Close()
			return err
		}
	}
	var corrupt func([]float32)
	switch s.serveAttack {
	case "":
	case "wrong-outputs":
		corrupt = func(v []float32) { v[0] += 1 }
		log.Warn("ATTACK: serving wrong outputs", "attack", s.serveAttack)
	default:
		rs.Close()
		return fmt.Errorf("unknown --serve-attack %q (wrong-outputs)", s.serveAttack)
	}
	var ev *serve.Evidence
	if pay != nil {
		if ev, err = serve.OpenEvidence(filepath.Join(dir, "evidence")); err != nil {
			rs.Close()
			return err
		}
	}
	closeStores := func() {
		rs.Close()
		if ev != nil {
			ev.Close()
		}
	}
	srv, err := serve.NewServer(serve.Config{Models: keys, Loader: &serve.Loader{Source: serve.RegistrySource{Q: regtypes.NewQueryClient(c.Conn())}, Store: store},
		CacheBytes: s.cacheBytes, MaxBatch: s.maxBatch, BatchWindow: s.batchWindow, Signer: signer, Receipts: rs, Tokens: s.tokens,
		Payments: pay, Evidence: ev, Corrupt: corrupt, Logger: log.With("part", "serve")})
	if err != nil {
		closeStores()
		return err
	}
	ln, err := net.Listen("tcp", s.serveListen)
	if err != nil {
		srv.Close()
		closeStores()
		return err
	}
	url := s.serveURL
	if url == "" {
		url = "http://" + ln.Addr().String()
		if a, ok := ln.Addr().(*net.TCPAddr); ok && a.IP.IsUnspecified() {
			url = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(a.Port))
			log.Warn("claim evidence is announced on the loopback address: give --serve-url to let other machines' validators fetch it", "url", url)
		}
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	go srv.Preload(ctx)
	if pay != nil {
		cl := &claimer{c: c, pay: pay, rs: rs, ev: ev, url: url, keep: s.keepProofs, log: log.With("part", "claims")}
		go cl.loop(ctx, s.claimEvery)
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
		srv.Close()
		if pay != nil {
			pay.Save()
		}
		closeStores()
	}()
	log.Info("serving inference", "listen", ln.Addr().String(), "models", s.models, "signer", signer.Address())
	return nil
}

// chainReporter reports redundancy mismatches on chain with the gateway's key.
type chainReporter struct{ c *chain.Client }

// Report sends MsgReportMismatch and returns the x/verify task it opened.
func (r chainReporter) Report(ctx context.Context, rc serve.Receipt, loc, other string) (uint64, error) {
	res, err := r.c.Broadcast(ctx, &markettypes.MsgReportMismatch{Reporter: r.c.AddressString(), Receipt: rc.Proto(), Signature: rc.Signature,
		InputLocation: loc, OtherOutputHash: other})
	if err != nil {
		return 0, err
	}
	for _, ev := range typedEvents(res, &markettypes.EventMismatchReported{}) {
		if id, ok := ev["verify_task_id"]; ok {
			return strconv.ParseUint(id, 10, 64)
		}
	}
	return 0, fmt.Errorf("gateway: no %s event in tx %s", proto.MessageName(&markettypes.EventMismatchReported{}), res.TxHash)
}

// typedEvents are the attributes (values unquoted) of res's events of
// msg's type, in order.
func typedEvents(res *sdk.TxResponse, msg proto.Message) []map[string]string {
	name := proto.MessageName(msg)
	var out []map[string]string
	for _, ev := range res.Events {
		if ev.Type != name {
			continue
		}
		m := make(map[string]string, len(ev.Attributes))
		for _, a := range ev.Attributes {
			m[a.Key] = strings.Trim(a.Value, `"`)
		}
		out = append(out, m)
	}
	return out
}

// runGateway runs the inference gateway until ctx ends.
func runGateway(ctx context.Context, s servingFlags, ccfg chain.Config, dir string, log *slog.Logger) error {
	var c *chain.Client
	if len(s.providers) == 0 || !s.noSignedClient || ccfg.From != "" {
		// With --from the gateway pays for that account (vouchers) and
		// reports mismatches with its key; without, it signs nothing.
		var err error
		if c, err = chain.Dial(ctx, ccfg); err != nil {
			return err
		}
		defer c.Close()
	}
	auth := &gateway.Authenticator{}
	if s.apiKeys != "" {
		keys, err := gateway.LoadAPIKeys(s.apiKeys)
		if err != nil {
			return err
		}
		auth.APIKeys = keys
	}
	if !s.noSignedClient {
		auth.PubKeys = &gateway.ChainPubKeys{Auth: authtypes.NewQueryClient(c.Conn()), Registry: c.InterfaceRegistry()}
	}
	if auth.APIKeys == nil && auth.PubKeys == nil {
		return errors.New("gateway: no way to authenticate clients (give --api-keys, or allow signed requests)")
	}
	var disc gateway.Discovery
	if len(s.providers) > 0 {
		d, err := gateway.ParseStatic(s.providers)
		if err != nil {
			return err
		}
		disc = d
	} else {
		disc = gateway.ChainDiscovery{Providers_: providertypes.NewQueryClient(c.Conn()), Reputation: reputationtypes.NewQueryClient(c.Conn())}
	}
	mlog := s.mismatchLog
	if mlog == "" && dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		mlog = filepath.Join(dir, "mismatches.jsonl")
	}
	var payers map[string]*gateway.Payer
	var reporter gateway.Reporter
	var blobs *blobstore.Store
	if ccfg.From != "" {
		signer, err := keyringSigner(ccfg)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		p := &gateway.Payer{ChainID: c.ChainID(), Account: signer.Address(), Key: signer.PrivKey(),
			Leases: gateway.ChainLeases{Q: markettypes.NewQueryClient(c.Conn())}, Path: filepath.Join(dir, "gateway-vouchers.json"), Credit: s.voucherCredit}
		if err := p.Load(); err != nil {
			return err
		}
		defer p.Save()
		payers = map[string]*gateway.Payer{p.Account: p}
		reporter = chainReporter{c}
		if blobs, err = blobstore.New(filepath.Join(dir, "gateway-blobs")); err != nil {
			return err
		}
		log.Info("gateway pays for its account's requests", "account", p.Account)
	}
	var licences *serve.Licences
	if c != nil {
		licences = &serve.Licences{Q: regtypes.NewQueryClient(c.Conn())}
	}
	var lim *gateway.RateLimiter
	if s.rate > 0 {
		lim = &gateway.RateLimiter{Rate: s.rate, Burst: max(s.burst, 1)}
	}
	g, err := gateway.New(ctx, gateway.Config{Discovery: disc, Refresh: s.refresh, Auth: auth, Limiter: lim, TryTimeout: s.tryTimeout,
		MaxTries: s.maxTries, MinCheckRate: s.checkMin, MaxCheckRate: s.checkMax, NoChecks: s.noChecks, MismatchLog: mlog, ProviderToken: s.providerToken,
		Payers: payers, Reporter: reporter, Blobs: blobs, BlobURL: "http://" + s.serveListen, Licences: licences,
		Logger: log.With("role", RoleGateway)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.serveListen)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: g.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	go g.Run(ctx)
	log.Info("gateway running", "listen", ln.Addr().String(), "providers", len(g.Providers()))
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("gateway: %w", err)
	}
	g.Wait()
	return nil
}
