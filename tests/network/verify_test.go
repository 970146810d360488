package network_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/hd"
	"github.com/cosmos/cosmos-sdk/crypto/keyring"
	sdk "github.com/cosmos/cosmos-sdk/types"
	banktypes "github.com/cosmos/cosmos-sdk/x/bank/types"

	"github.com/cohortchain/cohort/app"
	"github.com/cohortchain/cohort/app/voteext"
	"github.com/cohortchain/cohort/sidecar/chain"
	"github.com/cohortchain/cohort/sidecar/daemon"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	providertypes "github.com/cohortchain/cohort/x/provider/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
	verifytypes "github.com/cohortchain/cohort/x/verify/types"
)

// sidecar is a cohort-sidecar daemon run inside the test process, with
// its HTTP API on a loopback server.
type sidecar struct {
	d   *daemon.Daemon
	srv *httptest.Server
}

// url is where the sidecar's HTTP API answers.
func (s *sidecar) url() string { return "http://" + s.srv.Listener.Addr().String() }

// start builds the daemon on client c, serves it and polls the chain with
// it until the test ends.
func (s *sidecar) start(t *testing.T, cfg daemon.Config, c *chain.Client) {
	t.Helper()
	cfg.PublicURL, cfg.Dir, cfg.Poll = s.url(), t.TempDir(), 300*time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, nil)).With("sidecar", cfg.PublicURL)
	}
	d, err := daemon.New(cfg, c)
	require.NoError(t, err)
	s.d = d
	s.srv.Config.Handler = d.Handler()
	s.srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			_ = d.Step(ctx) // failures are retried on the next poll, as Run does
			select {
			case <-ctx.Done():
			case <-time.After(cfg.Poll):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; s.srv.Close() })
}

// testWriter sends a sidecar's log lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestProofOfComputeInProcess runs proof-of-compute on a 4-validator
// in-process network whose validators' nodes take their vote extensions
// from real sidecar daemons (in this process): four providers each lease a
// training job and execute it through their own sidecar, one honestly and
// three cheating (skipping steps, training on other data, submitting a
// stale checkpoint); x/verify samples steps of each, the validators'
// sidecars re-execute them and attest through vote extensions. The honest
// provider passes and is paid; each cheat is caught, its collateral
// slashed and its client refunded; validator 3, whose sidecar attests a
// wrong verdict, is outvoted and penalised.
func TestProofOfComputeInProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 4-validator network with sidecars")
	}
	const validators = 4
	cars := make([]*sidecar, validators)
	sources := make([]voteext.AttestationSource, validators)
	for i := range cars {
		cars[i] = &sidecar{srv: httptest.NewUnstartedServer(nil)}
		src, err := voteext.NewHTTPSource(cars[i].url())
		require.NoError(t, err)
		sources[i] = src
	}
	c := newChain(t, validators, sources)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	grpcAddr := c.net.Validators[0].AppConfig.GRPC.Address

	// Each validator's sidecar signs with the validator's account and
	// re-executes the tasks of its consensus address.
	valClients := make([]*chain.Client, validators)
	for i, v := range c.net.Validators {
		cl, err := chain.Dial(ctx, chain.Config{GRPC: grpcAddr, Home: filepath.Join(v.Dir, "simcli"),
			KeyringBackend: "test", From: v.Moniker, PollInterval: 200 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(func() { cl.Close() })
		valClients[i] = cl
		cfg := daemon.Config{Role: daemon.RoleValidator, ConsAddress: sdk.ConsAddress(v.PubKey.Address()).String(),
			FetchTimeout: 10 * time.Second}
		if i == validators-1 {
			cfg.Attack = daemon.AttackWrongVerdict
		}
		cars[i].start(t, cfg, cl)
	}
	c.enableVoteExtensions(t)

	// The model: a small MLP over synthetic data anyone can rebuild from
	// the job's data_requirement, registered by the client (validator 0's
	// account), its initial weights served by validator 0's sidecar.
	client := valClients[0]
	spec := engine.Spec{Layers: []engine.LayerSpec{
		{Kind: engine.KindDense, Inputs: 16, Outputs: 32}, {Kind: engine.KindReLU}, {Kind: engine.KindDense, Inputs: 32, Outputs: 4},
	}}
	specBlob, err := spec.Encode()
	require.NoError(t, err)
	specHash, err := spec.SpecHash()
	require.NoError(t, err)
	w0, err := engine.Init(spec, 1)
	require.NoError(t, err)
	weights, err := federation.EncodeWeights(w0)
	require.NoError(t, err)
	wref, err := cars[0].d.Store().PutBytes(weights)
	require.NoError(t, err)
	// The validators never import the spec: each fetches it from the
	// provider whose work it re-executes, checked against the registry's
	// spec hash.
	_, err = client.Broadcast(ctx, &regtypes.MsgRegisterModel{Owner: client.AddressString(), Name: "poc-mlp", Task: "classification",
		Architecture: regtypes.Architecture{SpecFormat: engine.SpecFormat, SpecHash: specHash[:]},
		License:      regtypes.License{SpdxId: "Apache-2.0"}, Public: true})
	require.NoError(t, err)
	_, err = client.Broadcast(ctx, &regtypes.MsgPublishVersion{Owner: client.AddressString(), ModelId: 1, Semver: "1.0.0",
		WeightsHash: wref.Hash[:], Size_: uint64(wref.Size), Format: "safetensors",
		Locations: []string{fmt.Sprintf("%s/v1/blobs/sha256/%x", cars[0].url(), wref.Hash)}})
	require.NoError(t, err)

	// Four providers, each with its own key and sidecar; provider k leases
	// job k+1.
	attacks := []string{"", daemon.AttackSkipSteps, daemon.AttackWrongData, daemon.AttackStale}
	kr := keyring.NewInMemory(client.Codec())
	provClients := make([]*chain.Client, len(attacks))
	collateral := sdk.NewInt64Coin(app.BaseDenom, 1_000_000_000)
	for k := range attacks {
		name := fmt.Sprintf("provider%d", k)
		rec, _, err := kr.NewMnemonic(name, keyring.English, sdk.FullFundraiserPath, "", hd.Secp256k1)
		require.NoError(t, err)
		addr, err := rec.GetAddress()
		require.NoError(t, err)
		_, err = client.Broadcast(ctx, banktypes.NewMsgSend(client.Address(), addr, sdk.NewCoins(sdk.NewInt64Coin(app.BaseDenom, 2_000_000_000))))
		require.NoError(t, err)
		pc, err := chain.Dial(ctx, chain.Config{GRPC: grpcAddr, Keyring: kr, From: name, PollInterval: 200 * time.Millisecond})
		require.NoError(t, err)
		t.Cleanup(func() { pc.Close() })
		provClients[k] = pc
		car := &sidecar{srv: httptest.NewUnstartedServer(nil)}
		_, err = pc.Broadcast(ctx, &providertypes.MsgRegisterProvider{Operator: pc.AddressString(), Collateral: collateral,
			Info: providertypes.ProviderInfo{Moniker: name, Region: "local", Endpoints: []string{car.url()},
				Hardware: providertypes.Hardware{GpuModel: "cpu", GpuCount: 1, GpuMemoryGib: 1, CpuCores: 2, RamGib: 4},
				Prices:   providertypes.PriceList{TrainingPerStep: sdk.NewInt64Coin(app.BaseDenom, 5)}}})
		require.NoError(t, err)
		car.start(t, daemon.Config{Role: daemon.RoleProvider, Attack: attacks[k], Data: data.Clusters(64, 16, 4, 2, uint64(k))}, pc)
		_, err = car.d.Store().PutBytes(specBlob) // the provider knows the model's spec
		require.NoError(t, err)
	}

	// The client opens a 200-step job per provider and accepts its bid.
	const steps, price = 200, 5
	jobSpec := markettypes.JobSpec{ModelId: "1", ModelVersion: "1", DataRequirement: "synthetic:n=512,classes=4,seed=7",
		Hyperparameters: markettypes.Hyperparameters{LearningRate: "0.05", BatchSize: 32, Seed: 11}}
	budget := sdk.NewInt64Coin(app.BaseDenom, steps*price+1_000_000) // the headroom pays the verifier fee
	for k, pc := range provClients {
		job := uint64(k + 1)
		_, err = client.Broadcast(ctx, &markettypes.MsgCreateJob{Client: client.AddressString(), Kind: markettypes.JOB_KIND_TRAINING,
			Spec: jobSpec, Units: steps, MaxPrice: sdk.NewInt64Coin(app.BaseDenom, 10), Budget: budget, DeadlineBlocks: 300, VerificationLevel: 10})
		require.NoError(t, err)
		_, err = pc.Broadcast(ctx, &markettypes.MsgPlaceBid{Provider: pc.AddressString(), JobId: job,
			Price: sdk.NewInt64Coin(app.BaseDenom, price), Deposit: sdk.NewInt64Coin(app.BaseDenom, 1_000_000)})
		require.NoError(t, err)
		_, err = client.Broadcast(ctx, &markettypes.MsgAcceptBid{Client: client.AddressString(), JobId: job, Provider: pc.AddressString()})
		require.NoError(t, err)
	}

	// Every job's result gets a verification task that the committee decides.
	mkt := markettypes.NewQueryClient(client.Conn())
	ver := verifytypes.NewQueryClient(client.Conn())
	tasks := make([]verifytypes.Task, len(attacks))
	require.Eventually(t, func() bool {
		for k := range attacks {
			j, err := mkt.Job(ctx, &markettypes.QueryJobRequest{Id: uint64(k + 1)})
			if err != nil || j.Job.Lease == nil || j.Job.Lease.VerifyTaskId == 0 {
				return false
			}
			r, err := ver.Task(ctx, &verifytypes.QueryTaskRequest{Id: j.Job.Lease.VerifyTaskId})
			if err != nil || !r.Task.State.Terminal() {
				return false
			}
			tasks[k] = r.Task
		}
		return true
	}, 5*time.Minute, time.Second, "the verification tasks were not all decided")

	for k, task := range tasks {
		t.Logf("provider %d (%q): task %d %s, %d steps sampled, verdict %v", k, attacks[k], task.Id, task.State, len(task.SampledSteps), task.Verdict)
	}
	for k, task := range tasks {
		require.NotEmpty(t, task.SampledSteps, "task %d sampled no steps", task.Id)
		if attacks[k] == "" {
			require.Equal(t, verifytypes.TASK_STATE_PASSED, task.State, "the honest provider's task %d", task.Id)
			continue
		}
		require.Equal(t, verifytypes.TASK_STATE_FAILED, task.State, "provider %d (%s): task %d", k, attacks[k], task.Id)
		require.NotNil(t, task.Verdict)
		require.Contains(t, task.SampledSteps, task.Verdict.FirstDivergentStep)
		require.True(t, task.Slashed.IsPositive(), "provider %d (%s) was not slashed", k, attacks[k])
		t.Logf("%s caught at step %d of %d sampled; slashed %s", attacks[k], task.Verdict.FirstDivergentStep, len(task.SampledSteps), task.Slashed)
	}

	// Consequences: cheats lose 10% of their collateral and their jobs fail
	// (the client refunded); the honest job settles and pays its provider.
	prov := providertypes.NewQueryClient(client.Conn())
	for k, pc := range provClients {
		p, err := prov.Provider(ctx, &providertypes.QueryProviderRequest{Operator: pc.AddressString()})
		require.NoError(t, err)
		want := collateral
		if attacks[k] != "" {
			want = collateral.Sub(sdk.NewCoin(app.BaseDenom, collateral.Amount.Quo(sdkmath.NewInt(10))))
		}
		require.Equal(t, want.String(), p.Provider.Collateral.String(), "provider %d (%s)", k, attacks[k])
	}
	require.Eventually(t, func() bool {
		for k := range attacks {
			j, err := mkt.Job(ctx, &markettypes.QueryJobRequest{Id: uint64(k + 1)})
			if err != nil {
				return false
			}
			want := markettypes.JOB_STATE_FAILED
			if attacks[k] == "" {
				want = markettypes.JOB_STATE_COMPLETED
			}
			if j.Job.State != want {
				return false
			}
		}
		return true
	}, 3*time.Minute, time.Second, "the jobs did not settle as their verdicts say")
	j, err := mkt.Job(ctx, &markettypes.QueryJobRequest{Id: 1})
	require.NoError(t, err)
	require.Equal(t, sdk.NewInt64Coin(app.BaseDenom, steps*price).Amount.String(), j.Job.Paid.Amount.Add(feeOf(t, ctx, mkt, steps*price)).String())

	// Validator 3 attested against the quorum on every task.
	cons := sdk.ConsAddress(c.net.Validators[validators-1].PubKey.Address()).String()
	rec, err := ver.ValidatorRecord(ctx, &verifytypes.QueryValidatorRecordRequest{ConsAddress: cons})
	require.NoError(t, err)
	require.GreaterOrEqual(t, rec.Record.Dissented, uint64(1), "the wrong-verdict validator was not found dissenting")
	require.GreaterOrEqual(t, rec.Record.Strikes, uint32(1))
	honest := sdk.ConsAddress(c.net.Validators[0].PubKey.Address()).String()
	rec0, err := ver.ValidatorRecord(ctx, &verifytypes.QueryValidatorRecordRequest{ConsAddress: honest})
	require.NoError(t, err)
	require.Zero(t, rec0.Record.Dissented)
	require.EqualValues(t, len(attacks), rec0.Record.Agreed)
}

// feeOf is the market's protocol fee on a payout of amount.
func feeOf(t *testing.T, ctx context.Context, mkt markettypes.QueryClient, amount int64) sdkmath.Int {
	t.Helper()
	p, err := mkt.Params(ctx, &markettypes.QueryParamsRequest{})
	require.NoError(t, err)
	return p.Params.FeeRate.MulInt64(amount).TruncateInt()
}
