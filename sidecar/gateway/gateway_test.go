package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cohortchain/cohort/sidecar/serve"
)

const apiKey = "test-api-key-0123456789"

func newGateway(t *testing.T, cfg Config, providers ...*testProvider) (*Gateway, *httptest.Server) {
	t.Helper()
	var list StaticDiscovery
	for i, p := range providers {
		list = append(list, ProviderInfo{Operator: fmt.Sprint("p", i), URL: p.URL, Models: []serve.Key{testKey}, Reputation: 0.9})
	}
	cfg.Discovery = list
	if cfg.Auth == nil {
		cfg.Auth = &Authenticator{APIKeys: map[string]string{apiKey: "cohort1client"}}
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	g, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return g, srv
}

// predict posts x in binary through the gateway with the API key.
func predict(c *http.Client, url string, x []float32) ([]float32, serve.Receipt, int, error) {
	req, _ := http.NewRequest("POST", url+"/v1/models/1/versions/1:predict", bytes.NewReader(serve.EncodeFloats(x)))
	req.Header.Set("Content-Type", serve.ContentBinary)
	req.Header.Set(serve.HeaderRows, fmt.Sprint(len(x)/testWidth))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := c.Do(req)
	if err != nil {
		return nil, serve.Receipt{}, 0, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		return nil, serve.Receipt{}, resp.StatusCode, fmt.Errorf("status %d: %s", resp.StatusCode, b.String())
	}
	out, err := serve.DecodeFloats(b.Bytes())
	if err != nil {
		return nil, serve.Receipt{}, resp.StatusCode, err
	}
	rc, err := serve.DecodeReceiptHeader(resp.Header)
	return out, rc, resp.StatusCode, err
}

func TestGatewayJSONAndBinary(t *testing.T) {
	st, src, m := testModel(t)
	p := startProvider(t, st, src, nil)
	_, srv := newGateway(t, Config{NoChecks: true}, p)
	x := testInputs(2, 1)
	want, _ := m.Predict(x, 2)
	out, rc, _, err := predict(http.DefaultClient, srv.URL, x)
	if err != nil || !slices.Equal(out, want) || serve.VerifyReceipt(&rc) != nil || rc.Client != "cohort1client" || rc.Units != 2 {
		t.Fatalf("binary: %v %+v %v", out, rc, err)
	}
	body, _ := json.Marshal(serve.PredictRequest{Inputs: serve.Rows(x, 2)})
	req, _ := http.NewRequest("POST", srv.URL+"/v1/models/1/versions/1:predict", bytes.NewReader(body))
	req.Header.Set("Content-Type", serve.ContentJSON)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pr serve.PredictResponse
	json.NewDecoder(resp.Body).Decode(&pr)
	resp.Body.Close()
	if resp.StatusCode != 200 || !slices.Equal(slices.Concat(pr.Outputs...), want) || !slices.Equal(pr.Argmax, serve.Argmax(want, 2)) || serve.VerifyReceipt(&pr.Receipt) != nil {
		t.Fatalf("JSON: %d %+v", resp.StatusCode, pr)
	}
	// A model nobody serves.
	req, _ = http.NewRequest("POST", srv.URL+"/v1/models/9/versions/1:predict", bytes.NewReader(serve.EncodeFloats(x)))
	req.Header.Set("Content-Type", serve.ContentBinary)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unserved model: %d", resp.StatusCode)
	}
}

func TestFailoverLosesNoRequests(t *testing.T) {
	st, src, m := testModel(t)
	ps := []*testProvider{startProvider(t, st, src, nil), startProvider(t, st, src, nil), startProvider(t, st, src, nil)}
	g, srv := newGateway(t, Config{NoChecks: true, MaxTries: 3}, ps...)
	const workers, each = 8, 60
	var done atomic.Int64
	var killOnce sync.Once
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if done.Load() >= workers*each/3 {
					killOnce.Do(ps[0].kill) // mid-traffic
				}
				x := testInputs(1, uint64(w*1000+i))
				out, _, _, err := predict(http.DefaultClient, srv.URL, x)
				if err != nil {
					errs <- err
					continue
				}
				if want, _ := m.Predict(x, 1); !slices.Equal(out, want) {
					errs <- fmt.Errorf("wrong output")
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if done.Load() != workers*each {
		t.Fatalf("%d of %d requests answered", done.Load(), workers*each)
	}
	// The killed provider is marked down; the others served the rest.
	var healthy int
	for _, s := range g.Providers() {
		if s.Healthy {
			healthy++
		}
	}
	if healthy != 2 {
		t.Fatalf("providers after the kill: %+v", g.Providers())
	}
}

func TestSlowProviderTimesOutAndFailsOver(t *testing.T) {
	st, src, _ := testModel(t)
	good := startProvider(t, st, src, nil)
	block := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer slow.Close()
	defer close(block)
	g, srv := newGateway(t, Config{NoChecks: true, TryTimeout: 100 * time.Millisecond}, good, &testProvider{URL: slow.URL})
	for i := range 10 {
		if _, _, _, err := predict(http.DefaultClient, srv.URL, testInputs(1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	if n := counter(g.Metrics().Upstream.WithLabelValues(slow.URL, "timeout")); n < 1 {
		t.Fatalf("the slow provider was never tried (or never timed out): %v", n)
	}
}

func TestRedundancyCatchesWrongOutputs(t *testing.T) {
	st, src, _ := testModel(t)
	honest := startProvider(t, st, src, nil)
	liar := startProvider(t, st, src, func(out []float32) { out[0] += 0.5 })
	g, srv := newGateway(t, Config{MinCheckRate: 1, MaxCheckRate: 1}, honest, liar)
	const n = 12
	for i := range n {
		if _, _, _, err := predict(http.DefaultClient, srv.URL, testInputs(1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	g.Wait()
	mm := g.Mismatches()
	if len(mm) != n {
		t.Fatalf("%d mismatches recorded, want %d", len(mm), n)
	}
	liarAddr := liar.Server.Signer().Address()
	for _, m := range mm {
		if !m.PrimaryValid || !m.SecondaryValid || m.Primary.OutputHash == m.Secondary.OutputHash ||
			(m.Primary.Provider != liarAddr && m.Secondary.Provider != liarAddr) || m.Secondary.Client != "gateway-check" {
			t.Fatalf("mismatch %+v", m)
		}
	}
	if v := counter(g.Metrics().Mismatches); v != n {
		t.Fatalf("mismatch metric %v", v)
	}
	resp, err := http.Get(srv.URL + "/v1/mismatches")
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Mismatches []Mismatch }
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if len(got.Mismatches) != n {
		t.Fatalf("/v1/mismatches lists %d", len(got.Mismatches))
	}

	// With a third provider, the liar is named.
	honest3 := startProvider(t, st, src, nil)
	g3, srv3 := newGateway(t, Config{MinCheckRate: 1, MaxCheckRate: 1}, honest, liar, honest3)
	for i := range n {
		if _, _, _, err := predict(http.DefaultClient, srv3.URL, testInputs(1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	g3.Wait()
	if len(g3.Mismatches()) == 0 {
		t.Fatal("no mismatch with a liar among three")
	}
	for _, m := range g3.Mismatches() {
		if m.Suspect != liarAddr || m.Arbiter == nil {
			t.Fatalf("suspect %q, want the liar %s", m.Suspect, liarAddr)
		}
	}

	// Two honest providers always agree.
	honest2 := startProvider(t, st, src, nil)
	g2, srv2 := newGateway(t, Config{MinCheckRate: 1, MaxCheckRate: 1}, honest, honest2)
	for i := range n {
		if _, _, _, err := predict(http.DefaultClient, srv2.URL, testInputs(1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	g2.Wait()
	if len(g2.Mismatches()) != 0 || counter(g2.Metrics().Checks.WithLabelValues("match")) != n {
		t.Fatalf("honest providers: %d mismatches", len(g2.Mismatches()))
	}
}

func TestCheckRateFallsWithReputation(t *testing.T) {
	if r := checkRate(0.01, 0.2, 1); r != 0.01 {
		t.Fatal(r)
	}
	if r := checkRate(0.01, 0.2, 0); r != 0.2 {
		t.Fatal(r)
	}
	if checkRate(0.01, 0.2, 0.3) <= checkRate(0.01, 0.2, 0.8) {
		t.Fatal("rate does not fall with reputation")
	}
}

func TestAuth(t *testing.T) {
	st, src, _ := testModel(t)
	p := startProvider(t, st, src, nil)
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	priv := secp256k1.GenPrivKey()
	acc, _ := sdk.Bech32ifyAddressBytes(serve.AddressPrefix, priv.PubKey().Address())
	other := secp256k1.GenPrivKey()
	auth := &Authenticator{APIKeys: map[string]string{apiKey: "cohort1client"}, PubKeys: StaticPubKeys{acc: priv.PubKey()}}
	g, srv := newGateway(t, Config{NoChecks: true, Auth: auth, Now: clock.now}, p)
	body := serve.EncodeFloats(testInputs(1, 1))
	send := func(mod func(*http.Request)) int {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/models/1/versions/1:predict", bytes.NewReader(body))
		req.Header.Set("Content-Type", serve.ContentBinary)
		mod(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	sign := func(key *secp256k1.PrivKey, id string, at time.Time) func(*http.Request) {
		return func(r *http.Request) { SignRequest(r, acc, key, id, body, at) }
	}
	cases := []struct {
		name string
		mod  func(*http.Request)
		want int
	}{
		{"signed", sign(priv, "n1", clock.t), 200},
		{"replay", sign(priv, "n1", clock.t), 401},
		{"other key", sign(other, "n2", clock.t), 401},
		{"stale", sign(priv, "n3", clock.t.Add(-10*time.Minute)), 401},
		{"body changed", func(r *http.Request) {
			SignRequest(r, acc, priv, "n4", []byte("other"), clock.t)
		}, 401},
		{"api key", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+apiKey) }, 200},
		{"unknown key", func(r *http.Request) { r.Header.Set("Authorization", "Bearer not-a-key-0123456789") }, 401},
		{"nothing", func(*http.Request) {}, 401},
	}
	for _, c := range cases {
		if got := send(c.mod); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	if v := counter(g.Metrics().AuthFailures.WithLabelValues("bad_signature")); v != 2 {
		t.Errorf("bad_signature failures %v, want 2", v)
	}
}

func TestRateLimit(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	l := &RateLimiter{Rate: 2, Burst: 3, Now: clock.now}
	for i := range 3 {
		if !l.Allow("a") {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if l.Allow("a") {
		t.Fatal("request over the burst allowed")
	}
	if !l.Allow("b") {
		t.Fatal("another client limited")
	}
	clock.t = clock.t.Add(time.Second) // 2 tokens back
	if !l.Allow("a") || !l.Allow("a") || l.Allow("a") {
		t.Fatal("refill is not 2 a second")
	}

	st, src, _ := testModel(t)
	p := startProvider(t, st, src, nil)
	g, srv := newGateway(t, Config{NoChecks: true, Now: clock.now, Limiter: &RateLimiter{Rate: 1, Burst: 2}}, p)
	var codes []int
	for i := range 3 {
		_, _, code, _ := predict(http.DefaultClient, srv.URL, testInputs(1, uint64(i)))
		codes = append(codes, code)
	}
	if !slices.Equal(codes, []int{200, 200, 429}) || counter(g.Metrics().RateLimited) != 1 {
		t.Fatalf("codes %v", codes)
	}
}

func TestRoutingRule(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tb := &table{rng: newRand(1), now: clock.now}
	tb.set([]ProviderInfo{
		{URL: "fast", Models: []serve.Key{{Model: 1}}, Reputation: 0.9},
		{URL: "slow", Models: []serve.Key{testKey}, Reputation: 0.9},
		{URL: "shady", Models: []serve.Key{testKey}, Reputation: 0.05},
		{URL: "other", Models: []serve.Key{{Model: 2, Version: 1}}, Reputation: 1},
	})
	byURL := map[string]*provider{}
	for _, p := range tb.list {
		byURL[p.URL] = p
	}
	byURL["fast"].ewma, byURL["slow"].ewma, byURL["shady"].ewma = 0.001, 0.004, 0.001
	for _, p := range byURL {
		p.measured = clock.t
	}
	picks := map[string]int{}
	for range 3000 {
		picks[tb.pick(tb.candidates(testKey, nil)).URL]++
	}
	if picks["other"] != 0 || picks["fast"] <= picks["slow"] || picks["fast"] <= picks["shady"] || picks["slow"] == 0 {
		t.Fatalf("picks %v", picks)
	}
	// A failed provider is skipped until its back-off ends.
	byURL["fast"].start()
	byURL["fast"].done(outcomeFail, 0, clock.t)
	for range 100 {
		if tb.pick(tb.candidates(testKey, nil)).URL == "fast" {
			t.Fatal("a provider backing off was picked")
		}
	}
	clock.t = clock.t.Add(BackoffBase)
	seen := false
	for range 100 {
		seen = seen || tb.pick(tb.candidates(testKey, nil)).URL == "fast"
	}
	if !seen {
		t.Fatal("a provider whose back-off ended is never picked")
	}
}

// TestSlowAnswerAges: under concurrent traffic, a provider measured slow
// once (a cold start) loses every comparison at first, but its stale
// measurement ages toward the fresh providers' latency, so it takes its
// share of the load again and is measured anew.
func TestSlowAnswerAges(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	tb := &table{rng: newRand(2), now: clock.now}
	tb.set([]ProviderInfo{{URL: "warm", Models: []serve.Key{testKey}, Reputation: 0.9}, {URL: "cold", Models: []serve.Key{testKey}, Reputation: 0.9}})
	warm, cold := tb.list[0], tb.list[1]
	serveOne := func(p *provider, d time.Duration) {
		p.start()
		p.done(outcomeOK, d, clock.t)
	}
	serveOne(cold, 2*time.Second)
	serveOne(warm, time.Millisecond)
	warm.start() // concurrent traffic: warm always has a request in flight
	share := func() float64 {
		n := 0
		for range 1000 {
			p := tb.pick(tb.candidates(testKey, nil))
			if p == cold {
				n++
				serveOne(cold, time.Millisecond) // it is warm now
			} else {
				serveOne(warm, time.Millisecond)
			}
			clock.t = clock.t.Add(10 * time.Millisecond)
		}
		return float64(n) / 1000
	}
	if s := share(); s > 0.01 {
		t.Fatalf("the provider measured slow a moment ago got %.1f%% of the requests", 100*s)
	}
	clock.t = clock.t.Add(20 * LatencyHalfLife) // only warm answered meanwhile
	warm.measured = clock.t
	if s := share(); s < 0.3 {
		t.Fatalf("a provider measured slow long ago never comes back: %.1f%% of the requests", 100*s)
	}
}

func TestParseStatic(t *testing.T) {
	d, err := ParseStatic([]string{"http://127.0.0.1:7101=1/1+2;rep=0.8;price=10;operator=cohort1x"})
	if err != nil || len(d) != 1 || !d[0].Serves(serve.Key{Model: 2, Version: 5}) || !d[0].Serves(testKey) || d[0].Serves(serve.Key{Model: 1, Version: 2}) ||
		d[0].Reputation != 0.8 || d[0].Price != 10 || d[0].Operator != "cohort1x" {
		t.Fatalf("%+v %v", d, err)
	}
	for _, bad := range []string{"127.0.0.1:1=1/1", "http://x=1/0", "http://x=1;rep=2"} {
		if _, err := ParseStatic([]string{bad}); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// counter reads a counter's value.
func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestProviderTakesTokenHoldersOnly(t *testing.T) {
	st, src, _ := testModel(t)
	p := startProvider(t, st, src, nil, "gw-secret")
	// Direct, without the token: refused.
	resp, err := http.Post(p.URL+"/v1/models/1/versions/1:predict", serve.ContentBinary, bytes.NewReader(serve.EncodeFloats(testInputs(1, 1))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	_, srv := newGateway(t, Config{NoChecks: true, ProviderToken: "gw-secret"}, p)
	if _, _, _, err := predict(http.DefaultClient, srv.URL, testInputs(1, 1)); err != nil {
		t.Fatal(err)
	}
	_, srv2 := newGateway(t, Config{NoChecks: true, ProviderToken: "wrong"}, p)
	if _, _, code, _ := predict(http.DefaultClient, srv2.URL, testInputs(1, 1)); code != http.StatusServiceUnavailable {
		t.Fatalf("wrong token: %d", code)
	}
}
