package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sdkmath "cosmossdk.io/math"
	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/spf13/cobra"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/data"
	"github.com/cohortchain/cohort/sidecar/engine"
	"github.com/cohortchain/cohort/sidecar/federation"
	"github.com/cohortchain/cohort/sidecar/gateway"
	"github.com/cohortchain/cohort/sidecar/serve"
)

// loadtestCmd measures inference through the gateway against calling the
// model in-process, in one run, on loopback.
func loadtestCmd() *cobra.Command {
	var o loadOpts
	cmd := &cobra.Command{
		Use:   "loadtest",
		Short: "Measure inference latency and throughput: in-process engine calls against requests through a gateway to providers, on loopback",
		Long: `Starts --providers provider servers and a gateway in this process on 127.0.0.1 (random
ports), all serving the Fashion-MNIST MLP (784 → --hidden → 10, seeded weights: inference
costs the same as for trained ones), and measures for --duration each:

  direct-1    one goroutine calling the engine with one example at a time
  gateway-1   one client sending one example at a time through the gateway (binary form)
  direct-N    --clients goroutines calling the engine, one example each, no batching
  gateway-N   --clients clients through the gateway (the providers batch)

and prints p50/p99 latency and requests per second of each, and the gateway's overhead at p50
(gateway-1 minus direct-1). Inputs are Fashion-MNIST test images when --data-dir has them.
Everything shares this machine's cores: the clients too.`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLoadtest(cmd.OutOrStdout(), o) },
	}
	f := cmd.Flags()
	f.DurationVar(&o.duration, "duration", 3*time.Second, "length of each phase")
	f.IntVar(&o.clients, "clients", 64, "concurrent clients of the -N phases")
	f.IntVar(&o.providers, "providers", 2, "provider servers behind the gateway")
	f.IntVar(&o.hidden, "hidden", 128, "hidden units of the MLP")
	f.IntVar(&o.maxBatch, "max-batch", 64, "providers' batch size bound")
	f.DurationVar(&o.window, "batch-window", 200*time.Microsecond, "providers' batch window")
	f.BoolVar(&o.json, "json", false, "clients send JSON instead of the binary form")
	f.BoolVar(&o.noChecks, "no-checks", false, "turn the gateway's redundancy checks off")
	f.Uint64Var(&o.credit, "voucher-credit", 0, "with --pay: units a voucher covers beyond those sent (one signature per credit+1 units)")
	f.BoolVar(&o.pay, "pay", false, "providers charge: every request carries a payment voucher the gateway signs for the client, checked by the provider (serve/payment.go), and the provider keeps each paid request's receipt and input as claim evidence (serve/evidence.go)")
	f.BoolVar(&o.noEvidence, "no-evidence", false, "with --pay: providers keep no claim evidence (to measure what keeping it costs)")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the gateway-N phase to this file")
	f.StringVar(&o.dataDir, "data-dir", DefaultDataDir, "directory with the Fashion-MNIST IDX files (random inputs when absent)")
	return cmd
}

type loadOpts struct {
	duration                   time.Duration
	clients, providers, hidden int
	maxBatch                   int
	window                     time.Duration
	json, noChecks, pay        bool
	noEvidence                 bool
	credit                     uint64
	dataDir, cpuProfile        string
}

// phaseResult is one measured phase.
type phaseResult struct {
	name     string
	n        int
	errors   int64
	elapsed  time.Duration
	p50, p99 time.Duration
	cpu      time.Duration // CPU time (user + system) of this process during the phase
}

// processCPU is the CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r phaseResult) String() string {
	perReq := 0.0
	if r.n > 0 {
		perReq = float64(r.cpu.Microseconds()) / float64(r.n)
	}
	return fmt.Sprintf("%-10s %8d req  %9.0f req/s  p50 %7.3f ms  p99 %8.3f ms  CPU %6.1f µs/req (%.2f cores busy)  errors %d", r.name, r.n,
		float64(r.n)/r.elapsed.Seconds(), ms(r.p50), ms(r.p99), perReq, r.cpu.Seconds()/r.elapsed.Seconds(), r.errors)
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// measure runs workers goroutines calling fn until d has passed.
func measure(name string, workers int, d time.Duration, fn func(worker, i int) error) phaseResult {
	lats := make([][]time.Duration, workers)
	var errs atomic.Int64
	var wg sync.WaitGroup
	start, cpu0 := time.Now(), processCPU()
	deadline := start.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				t0 := time.Now()
				if t0.After(deadline) {
					return
				}
				if err := fn(w, i); err != nil {
					if errs.Add(1) == 1 {
						fmt.Fprintln(os.Stderr, name+":", err)
					}
					continue
				}
				lats[w] = append(lats[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	all := slices.Concat(lats...)
	slices.Sort(all)
	r := phaseResult{name: name, n: len(all), errors: errs.Load(), elapsed: elapsed, cpu: cpu}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

func runLoadtest(out io.Writer, o loadOpts) error {
	spec := mlpSpec(784, o.hidden)
	w, err := engine.Init(spec, 1)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "cohort-loadtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := blobstore.New(filepath.Join(dir, "blobs"))
	if err != nil {
		return err
	}
	sb, _ := spec.Encode()
	sref, err := st.PutBytes(sb)
	if err != nil {
		return err
	}
	blob, err := federation.EncodeWeights(w)
	if err != nil {
		return err
	}
	wref, err := st.PutBytes(blob)
	if err != nil {
		return err
	}
	key := serve.Key{Model: 1, Version: 1}
	src := &serve.StaticSource{}
	src.Put(serve.VersionInfo{Key: key, SpecHash: sref.Hash[:], WeightsHash: wref.Hash[:], Size: uint64(wref.Size), Format: "safetensors", Price: "1ucohort"})
	loader := &serve.Loader{Source: src, Store: st}
	model, err := loader.Load(context.Background(), key)
	if err != nil {
		return err
	}

	// Inputs: test images, or uniform noise.
	var inputs [][]float32
	if test, err := data.LoadImages(filepath.Join(o.dataDir, "t10k-images-idx3-ubyte.gz"), filepath.Join(o.dataDir, "t10k-labels-idx1-ubyte.gz")); err == nil {
		for i := range min(1000, len(test.Labels)) {
			inputs = append(inputs, test.Inputs[i*784:(i+1)*784])
		}
	} else {
		g := engine.NewRNG(1, 1)
		for range 1000 {
			x := make([]float32, 784)
			for j := range x {
				x[j] = g.Float32()
			}
			inputs = append(inputs, x)
		}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Providers and the gateway, on loopback.
	var closers []func()
	defer func() {
		for _, c := range slices.Backward(closers) {
			c()
		}
	}()
	var disc gateway.StaticDiscovery
	// With --pay: a client account with a lease of every provider.
	clientKey := secp256k1.GenPrivKey()
	clientAddr, _ := sdk.Bech32ifyAddressBytes(serve.AddressPrefix, clientKey.PubKey().Address())
	var leases gateway.StaticLeases
	for i := range o.providers {
		signer := serve.NewSecp256k1Signer()
		var pay *serve.Payments
		var ev *serve.Evidence
		if o.pay && !o.noEvidence {
			dir, err := os.MkdirTemp("", "cohort-loadtest-evidence-")
			if err != nil {
				return err
			}
			if ev, err = serve.OpenEvidence(dir); err != nil {
				return err
			}
			closers = append(closers, func() { ev.Close(); os.RemoveAll(dir) })
		}
		if o.pay {
			leases = append(leases, serve.Lease{JobID: uint64(i + 1), Client: clientAddr, Provider: signer.Address(), Model: key,
				State: "JOB_STATE_LEASED", Units: 1 << 50, Escrow: sdkmath.NewInt(1 << 60), UnitCost: sdkmath.NewInt(11)})
			pay = &serve.Payments{ChainID: "loadtest", Provider: signer.Address(), Leases: staticLeaseSource(leases),
				PubKeys: gateway.StaticPubKeys{clientAddr: clientKey.PubKey()}, TTL: time.Hour}
		}
		s, err := serve.NewServer(serve.Config{Models: []serve.Key{key}, Loader: loader, Signer: signer,
			MaxBatch: o.maxBatch, BatchWindow: o.window, Logger: quiet, Payments: pay, Evidence: ev})
		if err != nil {
			return err
		}
		url, stop, err := listenLoopback(s.Handler())
		if err != nil {
			return err
		}
		closers = append(closers, stop, s.Close)
		s.Preload(context.Background())
		disc = append(disc, gateway.ProviderInfo{Operator: s.Signer().Address(), URL: url, Models: []serve.Key{key}, Reputation: 0.9, Price: 1})
		_ = i
	}
	const apiKey = "loadtest-api-key-0123456789"
	var payers map[string]*gateway.Payer
	if o.pay {
		payers = map[string]*gateway.Payer{clientAddr: {ChainID: "loadtest", Account: clientAddr, Key: clientKey, Leases: leases, Credit: o.credit}}
	}
	gw, err := gateway.New(context.Background(), gateway.Config{Discovery: disc, NoChecks: o.noChecks, Logger: quiet, Payers: payers,
		Auth: &gateway.Authenticator{APIKeys: map[string]string{apiKey: clientAddr}}})
	if err != nil {
		return err
	}
	gwURL, stop, err := listenLoopback(gw.Handler())
	if err != nil {
		return err
	}
	closers = append(closers, stop)

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 2*o.clients, 2*o.clients
	client := &http.Client{Transport: tr}
	predictURL := gwURL + "/v1/models/1/versions/1:predict"
	bodies := make([][]byte, len(inputs))
	for i, x := range inputs {
		if o.json {
			bodies[i] = []byte(jsonInputs(x))
		} else {
			bodies[i] = serve.EncodeFloats(x)
		}
	}
	ctype := serve.ContentBinary
	if o.json {
		ctype = serve.ContentJSON
	}
	viaGateway := func(worker, i int) error {
		idx := (worker*7919 + i) % len(bodies)
		req, _ := http.NewRequest(http.MethodPost, predictURL, bytes.NewReader(bodies[idx]))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set(serve.HeaderRows, "1")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %s", resp.Status)
		}
		return err
	}
	direct := func(worker, i int) error {
		_, err := model.Predict(inputs[(worker*7919+i)%len(inputs)], 1)
		return err
	}
	// Warm up connections and code paths.
	measure("warm-up", o.clients, 300*time.Millisecond, viaGateway)

	fmt.Fprintf(out, "inference load test: Fashion-MNIST MLP 784-%d-10, %d providers behind a gateway, loopback, GOMAXPROCS %d, %s %s, %d CPUs, %s form, redundancy checks %v, payment vouchers %v (credit %d), claim evidence %v\n",
		o.hidden, o.providers, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), ctype, !o.noChecks, o.pay, o.credit, o.pay && !o.noEvidence)
	d1 := measure("direct-1", 1, o.duration, direct)
	g1 := measure("gateway-1", 1, o.duration, viaGateway)
	dN := measure(fmt.Sprintf("direct-%d", o.clients), o.clients, o.duration, direct)
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer f.Close()
	}
	gN := measure(fmt.Sprintf("gateway-%d", o.clients), o.clients, o.duration, viaGateway)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	for _, r := range []phaseResult{d1, g1, dN, gN} {
		fmt.Fprintln(out, r)
	}
	fmt.Fprintf(out, "gateway overhead at p50 (gateway-1 − direct-1): %.3f ms (target ≤ 2 ms)\n", ms(g1.p50-d1.p50))
	fmt.Fprintf(out, "throughput through the gateway with batching: %.0f req/s (target ≥ 5000)\n", float64(gN.n)/gN.elapsed.Seconds())
	if gN.n > 0 && gN.cpu > 0 {
		// What the same work would reach with every core to itself: a
		// shared machine (other builds running) gives the process less.
		fmt.Fprintf(out, "CPU-bound ceiling at %d cores: %.0f req/s (%.1f µs of CPU per request, clients included)\n",
			runtime.NumCPU(), float64(runtime.NumCPU())*float64(gN.n)/gN.cpu.Seconds(), float64(gN.cpu.Microseconds())/float64(gN.n))
	}
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Fprintf(out, "machine load average during the run: %s", load)
	}
	gw.Wait()
	if mm := gw.Mismatches(); len(mm) > 0 {
		return fmt.Errorf("%d redundancy mismatches between honest providers", len(mm))
	}
	if g1.errors+gN.errors > 0 {
		return errors.New("requests through the gateway failed")
	}
	return nil
}

// staticLeaseSource finds leases in a list (the load test's chain).
type staticLeaseSource []serve.Lease

func (s staticLeaseSource) Lease(_ context.Context, id uint64) (serve.Lease, error) {
	for _, l := range s {
		if l.JobID == id {
			return l, nil
		}
	}
	return serve.Lease{}, fmt.Errorf("no job %d", id)
}

// jsonInputs is {"inputs": [x]}.
func jsonInputs(x []float32) string {
	var b bytes.Buffer
	b.WriteString(`{"inputs":[[`)
	for i, v := range x {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, v)
	}
	b.WriteString(`]]}`)
	return b.String()
}

// listenLoopback serves h on a random loopback port.
func listenLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
