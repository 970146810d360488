// Package daemon is the long-running cohort-sidecar: it watches the chain
// over gRPC and does a validator's or a provider's part of every federated
// round (package federation), serving its blobs over HTTP.
//
//   - Validator (RoleValidator): for each round waiting for aggregation it
//     fetches and hash-checks the updates, aggregates them with the run's
//     rule, serves the new weights from its blob store and offers the
//     result's hash to its node (GET /v1/attestations, which the node's
//     ExtendVote reads; see app/voteext). Once more than 2/3 of the
//     validators' power agreed, it reveals the result (MsgFinalizeRound).
//   - Provider (RoleProvider): it joins the runs it serves, and in every
//     round it is selected for it trains on its local shard from the global
//     weights, stores the update and commits to it (MsgSubmitUpdate).
//
// Work survives restarts: blobs are fsynced into a content-addressed store
// and what has been done is recorded in state.json; since every step is
// deterministic, work redone after a crash gives the same bytes.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/cosmos/cosmos-sdk/types/bech32"
	querytypes "github.com/cosmos/cosmos-sdk/types/query"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/chain"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/secagg"
	fedtypes "github.com/cohortchain/cohort/x/federated/types"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// Roles.
const (
	RoleValidator = "validator"
	RoleProvider  = "provider"
)

// Config is one daemon.
type Config struct {
	Role string
	// Listen is the HTTP listen address (blobs, attestations, status);
	// PublicURL the base URL others reach it at, which goes on-chain in
	// the locations of this daemon's blobs.
	Listen, PublicURL string
	// Dir holds the blob store (Dir/blobs) and state.json.
	Dir string
	// Poll is how often the chain is read.
	Poll time.Duration
	// FetchTimeout bounds one blob download.
	FetchTimeout time.Duration
	// Mirrors are other blob servers (other validators' sidecars) tried for
	// global weights when the on-chain location does not answer.
	Mirrors []string
	// MaxWeightsSize bounds a global weights blob.
	MaxWeightsSize int64

	// Validator only. UnavailableGrace is how long an update that cannot be
	// fetched (its server down, not a hash mismatch) is waited for before
	// it is rejected as unavailable. FinalizeDelay is how long to wait,
	// after the agreement, before revealing the result oneself, so that
	// the validators of a network do not all send the same transaction
	// (give each a different delay).
	UnavailableGrace, FinalizeDelay time.Duration
	// Operator is the validator's operator address (cohortvaloper...):
	// rounds whose committee does not include it are left to the
	// committee. Empty: the operator address of the signing account.
	Operator string
	// ConsAddress is the validator's consensus address (cohortvalcons...),
	// whose x/verify committee tasks it re-executes (verify.go); empty: no
	// verification. VerifyConcurrency bounds the tasks re-executed at once.
	ConsAddress       string
	VerifyConcurrency int

	// TrainingDataDir is where Fashion-MNIST is read for market training
	// jobs that name it (training.DefaultFashionMNISTDir when empty).
	// SnapshotEvery is how often (in steps) a provider keeps a checkpoint
	// of a training lease, to regenerate any other from (lease.go).
	TrainingDataDir string
	SnapshotEvery   int

	// Provider only. Runs are the runs to join (empty: every open run
	// whose model spec this daemon holds). Data is the local shard. Attack,
	// when set, makes the provider Byzantine (see Attacks), for tests and
	// demonstrations.
	Runs   []uint64
	Data   engine.Dataset
	Attack string
	// Granter, when set, is the provider account this daemon acts for: it
	// signs with its own (hot) key and wraps every provider message in an
	// authz MsgExec, so the provider's operator key can stay offline. The
	// granter must have given the daemon's key a generic authorization for
	// each message it sends (GrantedMsgs).
	Granter string
	// HeartbeatEvery is how often a provider sends MsgHeartbeat.
	HeartbeatEvery time.Duration

	Logger *slog.Logger
}

// Daemon is a running sidecar.
type Daemon struct {
	cfg   Config
	chain *chain.Client
	fed   fedtypes.QueryClient
	reg   regtypes.QueryClient
	store *blobstore.Store
	state *state
	log   *slog.Logger

	mu sync.Mutex
	// attest is what the validator offers its node now, by subject.
	attest map[string]attestation
	// specs caches decoded model specs by hash.
	specs map[string]engine.Spec
	// seen, agreedAt and revealedAt time work in this process; logged
	// silences repeated warnings.
	seen, agreedAt, revealedAt map[string]time.Time
	logged                     map[string]bool
	// residuals are a provider's error-feedback memories of top-k runs.
	residuals *federation.Residuals
	// secagg holds a provider's secure-aggregation clients by round key
	// (in memory only: they hold private keys).
	secagg   map[string]*secagg.Client
	lastBeat time.Time
	// Market training leases and their verification (lease.go, verify.go).
	mkt      markettypes.QueryClient
	ver      verifytypes.QueryClient
	jobs     map[uint64]*execJob
	datasets map[string]engine.Dataset
	// rounds are a provider's verified federated rounds made executable
	// (rounds.go), by roundEvidenceKey; committed its data commitment's leaves.
	rounds    map[string]*execJob
	committed [][32]byte
	inflight  map[uint64]bool
	// trainingLease is the job whose lease trains in the background (0: none).
	trainingLease uint64
}

// New opens the daemon's store and state. The chain client must sign with
// the daemon's account (the provider's operator key, or any funded key of
// the validator's for revealing results).
func New(cfg Config, c *chain.Client) (*Daemon, error) {
	if cfg.Role != RoleValidator && cfg.Role != RoleProvider {
		return nil, fmt.Errorf("daemon: role %q is neither %q nor %q", cfg.Role, RoleValidator, RoleProvider)
	}
	if cfg.Role == RoleProvider && len(cfg.Data.Labels) == 0 {
		return nil, errors.New("daemon: a provider needs a local data shard")
	}
	if cfg.Attack != "" && !validAttack(cfg.Role, cfg.Attack) {
		return nil, fmt.Errorf("daemon: %s attack %q is not one of %v (providers) or %v (validators)", cfg.Role, cfg.Attack, Attacks, ValidatorAttacks)
	}
	if !strings.HasPrefix(cfg.PublicURL, "http://") && !strings.HasPrefix(cfg.PublicURL, "https://") {
		return nil, fmt.Errorf("daemon: public URL %q must be http(s)", cfg.PublicURL)
	}
	if cfg.Granter != "" {
		if cfg.Role != RoleProvider {
			return nil, errors.New("daemon: only a provider acts for a granter")
		}
		if _, err := sdk.AccAddressFromBech32(cfg.Granter); err != nil {
			return nil, fmt.Errorf("daemon: granter %q: %w", cfg.Granter, err)
		}
	}
	setDefaults(&cfg)
	if cfg.Role == RoleValidator && cfg.Operator == "" {
		op, err := bech32.ConvertAndEncode(app.Bech32PrefixValAddr, c.Address())
		if err != nil {
			return nil, err
		}
		cfg.Operator = op
	}
	store, err := blobstore.New(cfg.Dir + "/blobs")
	if err != nil {
		return nil, err
	}
	st, err := loadState(cfg.Dir + "/state.json")
	if err != nil {
		return nil, err
	}
	return &Daemon{cfg: cfg, chain: c, fed: fedtypes.NewQueryClient(c.Conn()), reg: regtypes.NewQueryClient(c.Conn()),
		store: store, state: st, residuals: federation.NewResiduals(cfg.Dir + "/residuals"), log: cfg.Logger.With("role", cfg.Role),
		attest: map[string]attestation{}, specs: map[string]engine.Spec{},
		mkt: markettypes.NewQueryClient(c.Conn()), ver: verifytypes.NewQueryClient(c.Conn()),
		jobs: map[uint64]*execJob{}, datasets: map[string]engine.Dataset{}, inflight: map[uint64]bool{}, rounds: map[string]*execJob{}}, nil
}

func setDefaults(cfg *Config) {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.UnavailableGrace <= 0 {
		cfg.UnavailableGrace = 20 * time.Second
	}
	if cfg.HeartbeatEvery <= 0 {
		cfg.HeartbeatEvery = 30 * time.Second
	}
	if cfg.MaxWeightsSize <= 0 {
		cfg.MaxWeightsSize = 1 << 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.VerifyConcurrency <= 0 {
		cfg.VerifyConcurrency = 2
	}
	if cfg.SnapshotEvery <= 0 {
		cfg.SnapshotEvery = 10
	}
}

// Store is the daemon's blob store.
func (d *Daemon) Store() *blobstore.Store { return d.store }

// Handler serves the daemon's HTTP API: the blob store (GET
// /v1/blobs/sha256/<hex>), the attestations for the node (GET
// /v1/attestations?height=H) and GET /v1/status.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(blobstore.BlobPath, blobstore.Handler(d.store))
	mux.HandleFunc(attestationsPath, d.serveAttestations)
	mux.HandleFunc("/v1/status", d.serveStatus)
	mux.HandleFunc(trainingPath, d.serveTraining)
	mux.HandleFunc(federatedPath, d.serveFederated)
	return mux
}

// Run serves HTTP and works until ctx ends.
func (d *Daemon) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: d.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			d.log.Error("http server stopped", "err", err)
		}
	}()
	d.log.Info("sidecar running", "listen", ln.Addr().String(), "public", d.cfg.PublicURL, "account", d.chain.AddressString())
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		if err := d.Step(ctx); err != nil && ctx.Err() == nil {
			d.log.Warn("step failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step reads the chain once and does what is due.
func (d *Daemon) Step(ctx context.Context) error {
	if d.cfg.Role == RoleValidator {
		return errors.Join(d.validatorStep(ctx), d.verifyStep(ctx))
	}
	return d.providerStep(ctx)
}

// activeRuns lists the runs in the given states.
func (d *Daemon) activeRuns(ctx context.Context, states ...fedtypes.RunState) ([]fedtypes.Run, error) {
	var out []fedtypes.Run
	req := &fedtypes.QueryRunsRequest{}
	for {
		resp, err := d.fed.Runs(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, r := range resp.Runs {
			for _, s := range states {
				if r.State == s {
					out = append(out, r)
				}
			}
		}
		if resp.Pagination == nil || len(resp.Pagination.NextKey) == 0 {
			return out, nil
		}
		req.Pagination = &querytypes.PageRequest{Key: resp.Pagination.NextKey}
	}
}
