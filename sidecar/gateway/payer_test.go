package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmath "cosmossdk.io/math"

	"github.com/cosmos/cosmos-sdk/crypto/keys/secp256k1"
	cryptotypes "github.com/cosmos/cosmos-sdk/crypto/types"
	sdk "github.com/cosmos/cosmos-sdk/types"
	"google.golang.org/grpc"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/serve"
	markettypes "github.com/cohortchain/cohort/x/market/types"
	regtypes "github.com/cohortchain/cohort/x/registry/types"
)

const testChain = "cohort-test-1"

// leaseBook is the chain's view of leases, shared by the providers and the gateway.
type leaseBook struct {
	mu     sync.Mutex
	leases map[uint64]serve.Lease
}

func (b *leaseBook) Lease(_ context.Context, id uint64) (serve.Lease, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.leases[id]
	if !ok {
		return l, fmt.Errorf("no job %d", id)
	}
	return l, nil
}

func (b *leaseBook) ClientLeases(_ context.Context, client string) ([]serve.Lease, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []serve.Lease
	for _, l := range b.leases {
		if l.Client == client {
			out = append(out, l)
		}
	}
	return out, nil
}

// paidProvider is a provider that charges, with its own secp256k1 key.
type paidProvider struct {
	*testProvider
	Operator string
	Pay      *serve.Payments
}

func startPaidProvider(t *testing.T, st *blobstore.Store, src *serve.StaticSource, book *leaseBook, keys StaticPubKeys, corrupt func([]float32)) *paidProvider {
	t.Helper()
	signer := serve.NewSecp256k1Signer()
	pay := &serve.Payments{ChainID: testChain, Provider: signer.Address(), Leases: book, PubKeys: keys, TTL: time.Millisecond}
	if err := pay.Load(); err != nil {
		t.Fatal(err)
	}
	s, err := serve.NewServer(serve.Config{Models: []serve.Key{testKey}, Loader: &serve.Loader{Source: src, Store: st},
		Signer: signer, Corrupt: corrupt, Payments: pay, BatchWindow: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.Handler()}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Log(err)
		}
	}()
	t.Cleanup(func() { hs.Close(); s.Close() })
	return &paidProvider{testProvider: &testProvider{URL: "http://" + ln.Addr().String(), Server: s, http: hs}, Operator: signer.Address(), Pay: pay}
}

// fakeReporter records reports.
type fakeReporter struct {
	mu      sync.Mutex
	reports []serve.Receipt
	locs    []string
}

func (r *fakeReporter) Report(_ context.Context, rc serve.Receipt, loc, _ string) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports = append(r.reports, rc)
	r.locs = append(r.locs, loc)
	return uint64(len(r.reports)), nil
}

type paidSetup struct {
	client string
	key    *secp256k1.PrivKey
	book   *leaseBook
	ps     []*paidProvider
	g      *Gateway
	url    string
	model  *serve.Model
	rep    *fakeReporter
}

// newPaidSetup starts n charging providers (those in liars corrupt their
// outputs), one lease of the client with each (job i+1, 1,000 units at 10
// with escrow escrow), and a gateway paying for the client.
func newPaidSetup(t *testing.T, n int, escrow int64, cfg Config, liars ...int) *paidSetup {
	t.Helper()
	st, src, m := testModel(t)
	key := secp256k1.GenPrivKey()
	client, _ := sdk.Bech32ifyAddressBytes(serve.AddressPrefix, key.PubKey().Address())
	keys := StaticPubKeys{client: key.PubKey()}
	book := &leaseBook{leases: map[uint64]serve.Lease{}}
	s := &paidSetup{client: client, key: key, book: book, model: m, rep: &fakeReporter{}}
	var list StaticDiscovery
	for i := 0; i < n; i++ {
		var corrupt func([]float32)
		if slices.Contains(liars, i) {
			corrupt = func(v []float32) { v[0] += 1 }
		}
		p := startPaidProvider(t, st, src, book, keys, corrupt)
		s.ps = append(s.ps, p)
		id := uint64(i + 1)
		book.leases[id] = serve.Lease{JobID: id, Client: client, Provider: p.Operator, Model: testKey, State: "JOB_STATE_LEASED",
			Units: 1000, Escrow: sdkmath.NewInt(escrow), UnitCost: sdkmath.NewInt(10)}
		list = append(list, ProviderInfo{Operator: p.Operator, URL: p.URL, Models: []serve.Key{testKey}, Reputation: 0.9})
	}
	bs, err := blobstore.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Discovery = list
	cfg.Auth = &Authenticator{APIKeys: map[string]string{apiKey: client}}
	cfg.Payers = map[string]*Payer{client: {ChainID: testChain, Account: client, Key: key, Leases: book}}
	cfg.Seed, cfg.Reporter, cfg.Blobs = 1, s.rep, bs
	g, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg.BlobURL = "http://" + ln.Addr().String()
	g.cfg.BlobURL = cfg.BlobURL
	hs := &http.Server{Handler: g.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	s.g, s.url = g, cfg.BlobURL
	return s
}

func TestPaidRequestsAreCoveredByVouchers(t *testing.T) {
	s := newPaidSetup(t, 2, 1_000_000, Config{NoChecks: true})
	for i := 0; i < 40; i++ {
		x := testInputs(1+i%3, uint64(i))
		out, rc, _, err := predict(http.DefaultClient, s.url, x)
		if err != nil {
			t.Fatal(err)
		}
		if want, _ := s.model.Predict(x, 1+i%3); !slices.Equal(out, want) || rc.JobID == 0 {
			t.Fatalf("request %d: wrong output or no job (%d)", i, rc.JobID)
		}
	}
	// The providers' highest vouchers add up to the rows sent, and verify
	// against the client's key as the chain checks them.
	var total uint64
	for _, p := range s.ps {
		for _, c := range p.Pay.Claims() {
			if err := markettypes.VerifyVoucher(c.Voucher, c.Signature, s.key.PubKey()); err != nil {
				t.Fatal(err)
			}
			total += c.Voucher.CumulativeUnits
		}
	}
	want := uint64(0)
	for i := 0; i < 40; i++ {
		want += uint64(1 + i%3)
	}
	if total != want {
		t.Fatalf("vouchers cover %d units, %d were sent", total, want)
	}
}

func TestUnpaidAndForgedRequestsAreRefused(t *testing.T) {
	s := newPaidSetup(t, 1, 1_000_000, Config{NoChecks: true})
	p := s.ps[0]
	post := func(voucher string) (int, string) {
		req, _ := http.NewRequest("POST", p.URL+"/v1/models/1/versions/1:predict", strings.NewReader(string(serve.EncodeFloats(testInputs(1, 1)))))
		req.Header.Set("Content-Type", serve.ContentBinary)
		req.Header.Set(serve.HeaderClient, s.client)
		if voucher != "" {
			req.Header.Set(serve.HeaderVoucher, voucher)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 512)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	if code, msg := post(""); code != http.StatusPaymentRequired || !strings.Contains(msg, "payment required") {
		t.Fatalf("no voucher: %d %s", code, msg)
	}
	var other cryptotypes.PrivKey = secp256k1.GenPrivKey()
	sig, _ := other.Sign(markettypes.VoucherSignBytes(testChain, 1, p.Operator, 5, nil))
	if code, msg := post(serve.VoucherHeader{JobID: 1, CumulativeUnits: 5, Signature: sig}.Encode()); code != http.StatusForbidden {
		t.Fatalf("forged voucher: %d %s", code, msg)
	}
	sig, _ = s.key.Sign(markettypes.VoucherSignBytes(testChain, 1, p.Operator, 1, nil))
	if code, msg := post(serve.VoucherHeader{JobID: 1, CumulativeUnits: 1, Signature: sig}.Encode()); code != 200 {
		t.Fatalf("good voucher: %d %s", code, msg)
	}
	if code, msg := post(serve.VoucherHeader{JobID: 1, CumulativeUnits: 1, Signature: sig}.Encode()); code != http.StatusPaymentRequired {
		t.Fatalf("the same voucher again: %d %s", code, msg)
	}
}

func TestOutOfFundsIsRefusedWithAClearError(t *testing.T) {
	s := newPaidSetup(t, 1, 50, Config{NoChecks: true}) // 5 units at 10
	for i := 0; i < 5; i++ {
		if _, _, _, err := predict(http.DefaultClient, s.url, testInputs(1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	_, _, code, err := predict(http.DefaultClient, s.url, testInputs(1, 9))
	if code != http.StatusPaymentRequired || !strings.Contains(err.Error(), "out of funds: top up job 1") {
		t.Fatalf("out of funds: %d %v", code, err)
	}
	// A top-up (seen at the next lease read) lets it serve again.
	s.book.mu.Lock()
	l := s.book.leases[1]
	l.Escrow = sdkmath.NewInt(1_000)
	s.book.leases[1] = l
	s.book.mu.Unlock()
	if _, _, _, err := predict(http.DefaultClient, s.url, testInputs(1, 10)); err != nil {
		t.Fatal(err)
	}
	// A paused lease is refused too.
	s.book.mu.Lock()
	l.State = "JOB_STATE_PAUSED"
	s.book.leases[1] = l
	s.book.mu.Unlock()
	time.Sleep(2 * time.Millisecond)
	if _, _, code, err := predict(http.DefaultClient, s.url, testInputs(1, 11)); code != http.StatusPaymentRequired || !strings.Contains(err.Error(), "top up job 1") {
		t.Fatalf("paused: %d %v", code, err)
	}
}

func TestPaidFailoverLosesNoRequests(t *testing.T) {
	s := newPaidSetup(t, 3, 1_000_000, Config{NoChecks: true, MaxTries: 3})
	var done atomic.Int64
	var once sync.Once
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				if done.Load() >= 50 {
					once.Do(s.ps[0].kill)
				}
				if _, _, _, err := predict(http.DefaultClient, s.url, testInputs(1, uint64(w*100+i))); err != nil {
					errs <- err
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
}

func TestMismatchIsReportedWithTheInput(t *testing.T) {
	s := newPaidSetup(t, 3, 1_000_000, Config{MinCheckRate: 1, MaxCheckRate: 1}, 2)
	for i := 0; i < 6; i++ {
		predict(http.DefaultClient, s.url, testInputs(1, uint64(i)))
	}
	s.g.Wait()
	s.rep.mu.Lock()
	defer s.rep.mu.Unlock()
	if len(s.rep.reports) == 0 {
		t.Fatal("no mismatch reported")
	}
	for i, rc := range s.rep.reports {
		if rc.Provider != s.ps[2].Operator || rc.JobID != 3 || serve.VerifyReceipt(&rc) != nil {
			t.Fatalf("reported %s's receipt on job %d, want the liar's", rc.Provider, rc.JobID)
		}
		resp, err := http.Get(s.rep.locs[i])
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("input blob at %s: %v", s.rep.locs[i], err)
		}
		var b []byte
		buf := make([]byte, 1<<16)
		for {
			n, err := resp.Body.Read(buf)
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		x, _ := serve.DecodeFloats(b)
		if h := serve.HashFloats(x); hex.EncodeToString(h[:]) != rc.InputHash {
			t.Fatal("the served input is not the one the receipt names")
		}
	}
}

// denyAll is a registry whose licences deny everyone.
type denyAll struct{ regtypes.QueryClient }

func (denyAll) CanUse(context.Context, *regtypes.QueryCanUseRequest, ...grpc.CallOption) (*regtypes.QueryCanUseResponse, error) {
	return &regtypes.QueryCanUseResponse{Allowed: false, Reason: "the model is restricted and the account is not on its allow list"}, nil
}

func TestLicenceDeniedIsRefused(t *testing.T) {
	s := newPaidSetup(t, 1, 1_000_000, Config{NoChecks: true, Licences: &serve.Licences{Q: denyAll{}}})
	_, _, code, err := predict(http.DefaultClient, s.url, testInputs(1, 1))
	if code != http.StatusForbidden || !strings.Contains(err.Error(), "licence") {
		t.Fatalf("denied client: %d %v", code, err)
	}
	// The provider refuses it too, whoever forwards it.
	s.ps[0].Pay.Licences = &serve.Licences{Q: denyAll{}}
	sig, _ := s.key.Sign(markettypes.VoucherSignBytes(testChain, 1, s.ps[0].Operator, 1, nil))
	req, _ := http.NewRequest("POST", s.ps[0].URL+"/v1/models/1/versions/1:predict", strings.NewReader(string(serve.EncodeFloats(testInputs(1, 1)))))
	req.Header.Set("Content-Type", serve.ContentBinary)
	req.Header.Set(serve.HeaderClient, s.client)
	req.Header.Set(serve.HeaderVoucher, serve.VoucherHeader{JobID: 1, CumulativeUnits: 1, Signature: sig}.Encode())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("provider: %d", resp.StatusCode)
	}
}

// With credit, a voucher covers units ahead and is sent again until they
// are used: the provider's best voucher is at most Credit above the units
// it served.
func TestVoucherCredit(t *testing.T) {
	s := newPaidSetup(t, 1, 1_000_000, Config{NoChecks: true})
	s.g.cfg.Payers[s.client].Credit = 4
	for i := 0; i < 10; i++ {
		if _, _, _, err := predict(http.DefaultClient, s.url, testInputs(1, uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	c := s.ps[0].Pay.Claims()
	if len(c) != 1 || c[0].Voucher.CumulativeUnits < 10 || c[0].Voucher.CumulativeUnits > 14 {
		t.Fatalf("claims %+v: want one voucher of 10 to 14 units", c)
	}
	if err := markettypes.VerifyVoucher(c[0].Voucher, c[0].Signature, s.key.PubKey()); err != nil {
		t.Fatal(err)
	}
}
