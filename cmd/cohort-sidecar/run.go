package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cohortchain/cohort/sidecar/chain"
	"github.com/cohortchain/cohort/sidecar/daemon"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
)

// runCmd is the long-running daemon: `cohort-sidecar run --role validator`
// next to a validator's node, `--role provider` at a compute provider.
func runCmd() *cobra.Command {
	var (
		cfg       daemon.Config
		ccfg      chain.Config
		imports   []string
		dataFlags shardFlags
		shard     int
		runs      []uint
		sf        servingFlags
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the sidecar daemon: a validator's aggregation and attestations, or a provider's training",
		Long: `Runs until interrupted. It reads the chain over gRPC every --poll, serves its blob store
and (validator) the attestations its node puts in vote extensions at --listen, and signs its
transactions with --from from the keyring in --home.

A validator's node finds it through app.toml:  [sidecar] address = "http://<listen>".
A provider needs its local data: --data fashion-mnist (optionally one non-IID shard of it:
--shard i --shards n) or --data synthetic (for tests). Models are known by their spec, imported
into the store with --import (cohort-sidecar init-model writes one).

A provider serves inference with --serve-models id/v,... at --serve-listen (package serve:
POST /v1/models/{id}/versions/{v}:predict, receipts at /v1/receipts), signing with --from.
--role gateway runs the inference gateway at --serve-listen instead (package gateway): providers
from the chain (x/provider, x/reputation) or --providers, clients by --api-keys or by request
signatures checked against their on-chain keys.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
			cfg.Logger = logger
			if cfg.Role == RoleGateway {
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return runGateway(ctx, sf, ccfg, cfg.Dir, logger)
			}
			if ccfg.From == "" {
				return fmt.Errorf("--from is required for the %s role", cfg.Role)
			}
			for _, r := range runs {
				cfg.Runs = append(cfg.Runs, uint64(r))
			}
			if cfg.Role == daemon.RoleProvider {
				d, err := dataFlags.shard(shard, cfg.Attack)
				if err != nil {
					return err
				}
				cfg.Data = d
				logger.Info("local data", "examples", len(d.Labels), "width", d.Width)
			}
			if cfg.Role == daemon.RoleValidator && cfg.ConsAddress == "" && ccfg.Home != "" {
				// The node's home names its consensus key: its committee tasks.
				if addr, err := daemon.ConsAddressFromKeyFile(filepath.Join(ccfg.Home, "config", "priv_validator_key.json")); err == nil {
					cfg.ConsAddress = addr
					logger.Info("verifying as", "cons_address", addr)
				} else {
					logger.Warn("no consensus key in --home: verification tasks are not re-executed (pass --cons-address)", "err", err)
				}
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			c, err := chain.Dial(ctx, ccfg)
			if err != nil {
				return err
			}
			defer c.Close()
			dm, err := daemon.New(cfg, c)
			if err != nil {
				return err
			}
			for _, path := range imports {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				ref, err := dm.Store().PutBytes(b)
				if err != nil {
					return err
				}
				logger.Info("imported blob", "file", path, "blob", ref.String())
			}
			if cfg.Role == daemon.RoleProvider {
				if err := startProviderServing(ctx, sf, ccfg, c, dm.Store(), cfg.Dir, logger); err != nil {
					return err
				}
			}
			return dm.Run(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Role, "role", "", "validator, provider or gateway (inference)")
	f.StringVar(&cfg.Listen, "listen", "127.0.0.1:7000", "HTTP listen address (blobs, attestations, status)")
	f.StringVar(&cfg.PublicURL, "public-url", "", "base URL others reach this sidecar at (default http://<listen>)")
	f.StringVar(&cfg.Dir, "dir", "sidecar-data", "directory of the blob store and state.json")
	f.DurationVar(&cfg.Poll, "poll", time.Second, "how often to read the chain")
	f.DurationVar(&cfg.FetchTimeout, "fetch-timeout", 30*time.Second, "bound on one blob download")
	f.DurationVar(&cfg.UnavailableGrace, "unavailable-grace", 20*time.Second, "validator: how long to wait for an update whose server does not answer")
	f.StringVar(&cfg.Granter, "granter", "", "provider: act for this provider account through authz grants to the --from key (it must grant each of: "+strings.Join(daemon.GrantedMsgs, ", ")+")")
	f.StringVar(&cfg.Operator, "operator", "", "validator: its operator address, to find its rounds' committees (default: that of the --from account)")
	f.DurationVar(&cfg.FinalizeDelay, "finalize-delay", 0, "validator: wait this long after agreement before revealing the result (stagger validators)")
	f.StringVar(&cfg.ConsAddress, "cons-address", "", "validator: its consensus address (cohortvalcons...), whose verification tasks it re-executes (default: from --home's config/priv_validator_key.json)")
	f.IntVar(&cfg.VerifyConcurrency, "verify-concurrency", 2, "validator: verification tasks re-executed at once")
	f.IntVar(&cfg.SnapshotEvery, "snapshot-every", 10, "provider: keep a checkpoint of a training lease every this many steps (others are regenerated from them)")
	f.StringVar(&cfg.TrainingDataDir, "training-data-dir", "", "directory of the Fashion-MNIST files for market training jobs (default "+DefaultDataDir+")")
	f.StringSliceVar(&cfg.Mirrors, "mirrors", nil, "other blob servers to fetch global weights from (comma-separated base URLs)")
	f.DurationVar(&cfg.HeartbeatEvery, "heartbeat", 30*time.Second, "provider: how often to send a heartbeat")
	f.StringArrayVar(&imports, "import", nil, "file to put into the blob store at start (model spec, initial weights); repeatable")
	f.UintSliceVar(&runs, "runs", nil, "provider: runs to join (default: every open run whose spec is in the store)")
	f.StringVar(&cfg.Attack, "attack", "", fmt.Sprintf("behave Byzantine, for tests and demos: a provider %v, a validator %v", daemon.Attacks, daemon.ValidatorAttacks))
	f.IntVar(&shard, "shard", 0, "provider: which shard of the data to hold (with --shards)")
	dataFlags.register(f)
	f.StringVar(&ccfg.GRPC, "grpc", "127.0.0.1:9090", "node gRPC address")
	f.StringVar(&ccfg.ChainID, "chain-id", "", "chain id (default: the node's)")
	f.StringVar(&ccfg.Home, "home", "", "directory of the keyring (e.g. the node's home)")
	f.StringVar(&ccfg.KeyringBackend, "keyring-backend", "test", "keyring backend")
	f.StringVar(&ccfg.From, "from", "", "key that signs this sidecar's transactions")
	f.StringVar(&ccfg.GasPrices, "gas-prices", "0.0025ucohort", "gas price")
	sf.register(f)
	cmd.MarkFlagRequired("role")
	cmd.PreRunE = func(*cobra.Command, []string) error {
		if cfg.PublicURL == "" {
			cfg.PublicURL = "http://" + cfg.Listen
		}
		return nil
	}
	return cmd
}

// Synthetic data: SyntheticWidth values per example in SyntheticClasses
// separable clusters (data.Clusters).
const (
	SyntheticWidth   = 32
	SyntheticClasses = 4
)

// SyntheticTest is the size of the synthetic test set: the examples drawn
// after the training examples from the same clusters.
const SyntheticTest = 1000

// localData loads a training and a test set.
func localData(src, dir string, limit, synthetic int, seed uint64) (train, test engine.Dataset, err error) {
	switch src {
	case "fashion-mnist":
		return loadFashionMNIST(dir, limit)
	case "synthetic":
		all := data.Clusters(synthetic+SyntheticTest, SyntheticWidth, SyntheticClasses, 2, seed)
		w := all.Width
		train = engine.Dataset{Inputs: all.Inputs[:synthetic*w], Labels: all.Labels[:synthetic], Width: w}
		test = engine.Dataset{Inputs: all.Inputs[synthetic*w:], Labels: all.Labels[synthetic:], Width: w}
		return train, test, nil
	}
	return train, test, fmt.Errorf("unknown --data %q (fashion-mnist or synthetic)", src)
}

// shardFlags say where a provider's data comes from; the watch command
// takes the same flags to rebuild every provider's shard for its replay.
type shardFlags struct {
	src, dir                     string
	limit, synthetic, shards     int
	alpha                        float64
	partitionSeed, syntheticSeed uint64
}

func (s *shardFlags) register(f *pflag.FlagSet) {
	f.StringVar(&s.src, "data", "fashion-mnist", "local data: fashion-mnist or synthetic")
	f.StringVar(&s.dir, "data-dir", DefaultDataDir, "directory with the Fashion-MNIST IDX files")
	f.IntVar(&s.limit, "limit", 0, "use the first N training images only (0: all)")
	f.IntVar(&s.shards, "shards", 0, "split the data into this many non-IID shards (0: one shard, all of it)")
	f.Float64Var(&s.alpha, "alpha", 0.5, "Dirichlet concentration of the non-IID split")
	f.Uint64Var(&s.partitionSeed, "partition-seed", 1, "seed of the split (the same for every provider)")
	f.IntVar(&s.synthetic, "synthetic-examples", 2000, "training examples of --data synthetic")
	f.Uint64Var(&s.syntheticSeed, "synthetic-seed", 1, "seed of --data synthetic")
}

// load returns the training and test sets.
func (s *shardFlags) load() (train, test engine.Dataset, err error) {
	return localData(s.src, s.dir, s.limit, s.synthetic, s.syntheticSeed)
}

// split returns the shards of train (one, all of it, without --shards).
func (s *shardFlags) split(train engine.Dataset) ([]engine.Dataset, error) {
	if s.shards <= 0 {
		return []engine.Dataset{train}, nil
	}
	parts, err := data.PartitionDirichlet(train.Labels, classesOf(train), s.shards, s.alpha, s.partitionSeed)
	if err != nil {
		return nil, err
	}
	out := make([]engine.Dataset, len(parts))
	for i, p := range parts {
		out[i] = data.Subset(train, p)
	}
	return out, nil
}

// shard returns shard i of the training data as a provider holds it, with
// its labels flipped for the label-flip attack.
func (s *shardFlags) shard(i int, attack string) (engine.Dataset, error) {
	train, _, err := s.load()
	if err != nil {
		return engine.Dataset{}, err
	}
	shards, err := s.split(train)
	if err != nil {
		return engine.Dataset{}, err
	}
	if i < 0 || i >= len(shards) {
		return engine.Dataset{}, fmt.Errorf("shard %d outside [0, %d)", i, len(shards))
	}
	d := shards[i]
	if attack == daemon.AttackLabelFlip {
		d = data.FlipLabels(d, classesOf(train))
	}
	return d, nil
}

// classesOf is one more than the largest label.
func classesOf(d engine.Dataset) int {
	c := 0
	for _, y := range d.Labels {
		c = max(c, y+1)
	}
	return c
}
