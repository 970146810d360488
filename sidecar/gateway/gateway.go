package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/cohortchain/cohort/sidecar/blobstore"
	"github.com/cohortchain/cohort/sidecar/serve"
)

// Config is one gateway.
type Config struct {
	// Discovery lists the providers; Refresh is how often (default 30 s).
	Discovery Discovery
	Refresh   time.Duration
	// Auth authenticates clients (required); Limiter rate-limits them
	// (nil: no limit).
	Auth    *Authenticator
	Limiter *RateLimiter
	// TryTimeout bounds one provider request (default 2 s); MaxTries is
	// how many providers a request is tried on (default 3).
	TryTimeout time.Duration
	MaxTries   int
	// MinCheckRate and MaxCheckRate bound the redundancy sampling rate (see
	// redundancy.go; defaults 0.01 and 0.2; both 0 turns checks off with
	// NoChecks). CheckClient is the client id checks are billed to
	// (default "gateway-check").
	MinCheckRate, MaxCheckRate float64
	NoChecks                   bool
	CheckClient                string
	// MismatchLog, when set, is a file every mismatch is appended to (JSON lines).
	MismatchLog string
	// MaxBody bounds a request body (default 16 MiB).
	MaxBody int64
	// ProviderToken, when set, is sent to providers as a bearer token
	// (serve.Config.Tokens).
	ProviderToken string
	// Payers pay providers for the requests of their client accounts
	// (payer.go); a client without one is sent unpaid (providers that
	// charge refuse it with 402).
	Payers map[string]*Payer
	// Reporter, when set, reports the suspect of a redundancy mismatch on
	// chain (an x/verify challenge); the input is put in Blobs, which the
	// gateway serves under BlobURL (its public base URL).
	Reporter Reporter
	Blobs    *blobstore.Store
	BlobURL  string
	// Licences, when set, refuses clients a model's licence denies (403)
	// before any provider is asked.
	Licences *serve.Licences
	// Seed, when non-zero, seeds routing and sampling (tests).
	Seed   uint64
	Now    func() time.Time
	HTTP   *http.Client
	Logger *slog.Logger
}

// Gateway routes inference requests to providers.
type Gateway struct {
	cfg        Config
	table      *table
	metrics    *Metrics
	mismatches *mismatchLog
	http       *http.Client
	log        *slog.Logger

	rmu sync.Mutex
	rng *rand.Rand
	// widths are the input widths of models, learned from answers (a
	// binary request's rows, which vouchers count, need it).
	widths   sync.Map
	checkSem chan struct{}
	checks   sync.WaitGroup
}

// New builds a gateway and reads the providers once.
func New(ctx context.Context, cfg Config) (*Gateway, error) {
	if cfg.Discovery == nil || cfg.Auth == nil {
		return nil, errors.New("gateway: needs a discovery and an authenticator")
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = 30 * time.Second
	}
	if cfg.TryTimeout <= 0 {
		cfg.TryTimeout = 2 * time.Second
	}
	if cfg.MaxTries <= 0 {
		cfg.MaxTries = 3
	}
	if cfg.MinCheckRate == 0 && cfg.MaxCheckRate == 0 && !cfg.NoChecks {
		cfg.MinCheckRate, cfg.MaxCheckRate = 0.01, 0.2
	}
	if cfg.CheckClient == "" {
		cfg.CheckClient = "gateway-check"
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 16 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Auth.Now == nil {
		cfg.Auth.Now = cfg.Now
	}
	if cfg.Limiter != nil && cfg.Limiter.Now == nil {
		cfg.Limiter.Now = cfg.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTP == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 256
		tr.DialContext = (&net.Dialer{Timeout: time.Second, KeepAlive: 30 * time.Second}).DialContext
		cfg.HTTP = &http.Client{Transport: tr}
	}
	g := &Gateway{cfg: cfg, table: &table{rng: newRand(cfg.Seed), now: cfg.Now}, metrics: NewMetrics(),
		mismatches: &mismatchLog{keep: 1000, path: cfg.MismatchLog}, http: cfg.HTTP, log: cfg.Logger,
		rng: newRand(cfg.Seed + 1), checkSem: make(chan struct{}, 64)}
	if err := g.Refresh(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// Refresh reads the providers again.
func (g *Gateway) Refresh(ctx context.Context) error {
	list, err := g.cfg.Discovery.Providers(ctx)
	if err != nil {
		return err
	}
	g.table.set(list)
	for _, p := range g.cfg.Payers {
		if err := p.Refresh(ctx); err != nil {
			return fmt.Errorf("gateway: reading %s's leases: %w", p.Account, err)
		}
	}
	return nil
}

// Metrics returns the gateway's metrics.
func (g *Gateway) Metrics() *Metrics { return g.metrics }

// Mismatches returns the recorded mismatches, oldest first.
func (g *Gateway) Mismatches() []Mismatch { return g.mismatches.all() }

// Providers returns the provider table.
func (g *Gateway) Providers() []ProviderStatus { return g.table.status() }

// Wait waits for the redundancy checks in flight.
func (g *Gateway) Wait() { g.checks.Wait() }

// Run refreshes the providers every Config.Refresh until ctx ends.
func (g *Gateway) Run(ctx context.Context) {
	t := time.NewTicker(g.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := g.Refresh(ctx); err != nil && ctx.Err() == nil {
				g.log.Warn("refreshing providers failed; keeping the old list", "err", err)
			}
		}
	}
}

// Handler serves the API described in the package documentation.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(serve.PredictPath, g.servePredict)
	mux.HandleFunc("GET /v1/providers", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"providers": g.Providers()})
	})
	mux.HandleFunc("GET /v1/mismatches", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"mismatches": g.Mismatches()})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.metrics.Registry, promhttp.HandlerOpts{}))
	if g.cfg.Blobs != nil {
		mux.Handle(blobstore.BlobPath, blobstore.Handler(g.cfg.Blobs))
	}
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", serve.ContentJSON)
	json.NewEncoder(w).Encode(v)
}

// statusError is an answer to pass to the client as it is.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return e.msg }

func (g *Gateway) servePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	k, err := serve.ParsePredictPath(r)
	label, code := k.String(), http.StatusOK
	defer func() {
		if code != http.StatusOK && len(g.table.candidates(k, nil)) == 0 {
			label = "unknown" // no series per made-up model id
		}
		g.metrics.Requests.WithLabelValues(label, strconv.Itoa(code)).Inc()
		if code == http.StatusOK {
			g.metrics.Latency.WithLabelValues(label).Observe(time.Since(start).Seconds())
		}
	}()
	answer := func(c int, msg string) {
		code = c
		http.Error(w, msg, c)
	}
	if err != nil {
		label = "unknown"
		answer(http.StatusNotFound, err.Error())
		return
	}
	body, err := serve.ReadBody(r.Body, r.ContentLength, g.cfg.MaxBody)
	if err != nil {
		answer(http.StatusBadRequest, "reading body: "+err.Error())
		return
	}
	if int64(len(body)) > g.cfg.MaxBody {
		answer(http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	client, reason, err := g.cfg.Auth.Authenticate(r.Context(), r, body)
	if err != nil {
		g.metrics.AuthFailures.WithLabelValues(reason).Inc()
		answer(http.StatusUnauthorized, err.Error())
		return
	}
	if !g.cfg.Limiter.Allow(client) {
		g.metrics.RateLimited.Inc()
		w.Header().Set("Retry-After", "1")
		answer(http.StatusTooManyRequests, "rate limit")
		return
	}
	if g.cfg.Licences != nil {
		ok, why, err := g.cfg.Licences.Allowed(r.Context(), k, client)
		if err != nil {
			answer(http.StatusServiceUnavailable, "checking the licence: "+err.Error())
			return
		}
		if !ok {
			answer(http.StatusForbidden, fmt.Sprintf("the licence of model %s denies %s: %s", k, client, why))
			return
		}
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	binaryIn := strings.TrimSpace(ct) == serve.ContentBinary
	var flat []byte
	var rows int
	if binaryIn {
		if len(body) == 0 || len(body)%4 != 0 {
			answer(http.StatusBadRequest, "binary body is not float32 values")
			return
		}
		flat = body
		if rows, err = strconv.Atoi(r.Header.Get(serve.HeaderRows)); err != nil || rows <= 0 {
			rows = 0
			if w, ok := g.widths.Load(k); ok && len(flat)/4%w.(int) == 0 {
				rows = len(flat) / 4 / w.(int)
			}
		}
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
		x, n, err := serve.ReadInputs(r, 0, g.cfg.MaxBody)
		if err != nil {
			answer(http.StatusBadRequest, err.Error())
			return
		}
		flat, rows = serve.EncodeFloats(x), n
	}
	if g.cfg.Payers[client] != nil && rows == 0 {
		answer(http.StatusBadRequest, "a binary request needs "+serve.HeaderRows+" (the rows its vouchers pay for)")
		return
	}
	reqID := r.Header.Get(serve.HeaderRequestID)
	if reqID == "" {
		reqID = serve.NewRequestID()
	}
	res, first, err := g.forward(r.Context(), k, flat, client, reqID, uint64(rows))
	if err != nil {
		var se *statusError
		if errors.As(err, &se) {
			answer(se.code, se.msg)
			return
		}
		answer(http.StatusServiceUnavailable, err.Error())
		return
	}
	if !g.cfg.NoChecks {
		g.maybeCheck(k, flat, first, res.receipt, client)
	}
	if binaryIn {
		h := w.Header()
		h.Set("Content-Type", serve.ContentBinary)
		h.Set(serve.HeaderReceipt, res.receiptHeader)
		h.Set(serve.HeaderSignature, base64.StdEncoding.EncodeToString(res.receipt.Signature))
		h.Set(serve.HeaderProvider, res.receipt.Provider)
		h.Set(serve.HeaderRows, strconv.FormatUint(res.receipt.Units, 10))
		w.Write(res.body)
		return
	}
	out, err := serve.DecodeFloats(res.body)
	if err != nil {
		answer(http.StatusBadGateway, err.Error())
		return
	}
	rows = int(res.receipt.Units)
	writeJSON(w, serve.PredictResponse{Outputs: serve.Rows(out, rows), Argmax: serve.Argmax(out, rows),
		Provider: res.receipt.Provider, Signature: res.receipt.Signature, Receipt: res.receipt})
}

// result is a provider's answer.
type result struct {
	body          []byte
	receipt       serve.Receipt
	receiptHeader string
}

// errSkip marks a provider that does not serve the model (no back-off).
var errSkip = errors.New("gateway: provider does not serve the model")

// unpaid returns the providers client cannot pay for k (none when the
// gateway does not pay for client).
func (g *Gateway) unpaid(k serve.Key, client string) map[*provider]bool {
	out := map[*provider]bool{}
	payer := g.cfg.Payers[client]
	if payer == nil {
		return out
	}
	for _, p := range g.table.candidates(k, nil) {
		p.mu.Lock()
		op := p.Operator
		p.mu.Unlock()
		if !payer.Pays(op, k) {
			out[p] = true
		}
	}
	return out
}

// forward tries providers by the routing rule until one answers, at most
// MaxTries of them. A provider that wants payment (402) is passed over;
// when no other answers, its refusal is the answer.
func (g *Gateway) forward(ctx context.Context, k serve.Key, flat []byte, client, reqID string, units uint64) (result, *provider, error) {
	tried := g.unpaid(k, client)
	if len(tried) > 0 && len(g.table.candidates(k, tried)) == 0 {
		return result{}, nil, &statusError{http.StatusPaymentRequired, fmt.Sprintf(
			"payment required: %s holds no inference lease of model %s with a provider serving it (open one: tx market create-job inference)", client, k)}
	}
	var errs []error
	var refused *statusError
	for try := 0; try < g.cfg.MaxTries; try++ {
		p := g.table.pick(g.table.candidates(k, tried))
		if p == nil {
			break
		}
		if try > 0 {
			g.metrics.Retries.Inc()
		}
		tried[p] = true
		tctx, cancel := context.WithTimeout(ctx, g.cfg.TryTimeout)
		res, err := g.call(tctx, p, k, flat, client, reqID, units)
		cancel()
		if err == nil {
			return res, p, nil
		}
		var se *statusError
		if errors.As(err, &se) {
			if se.code == http.StatusPaymentRequired {
				refused = se
				try-- // a refusal to serve unpaid is not a failed try
				continue
			}
			return result{}, nil, err
		}
		if ctx.Err() != nil {
			return result{}, nil, ctx.Err()
		}
		errs = append(errs, fmt.Errorf("%s: %w", p.URL, err))
	}
	if refused != nil {
		// The providers that answered want payment: that is the client's
		// problem to fix (the others being down is not).
		return result{}, nil, refused
	}
	if len(errs) == 0 {
		return result{}, nil, &statusError{http.StatusNotFound, fmt.Sprintf("no provider serves model version %s", k)}
	}
	return result{}, nil, fmt.Errorf("gateway: no provider answered: %w", errors.Join(errs...))
}

// call sends one binary request to p and checks the answer's receipt
// against the request.
func (g *Gateway) call(ctx context.Context, p *provider, k serve.Key, flat []byte, client, reqID string, units uint64) (result, error) {
	url := fmt.Sprintf("%s/v1/models/%d/versions/%d:predict", p.URL, k.Model, k.Version)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(flat))
	if err != nil {
		return result{}, err
	}
	payer := g.cfg.Payers[client]
	var vh serve.VoucherHeader
	if payer != nil {
		p.mu.Lock()
		op := p.Operator
		p.mu.Unlock()
		v, h, err := payer.voucher(op, k, units)
		if err != nil {
			return result{}, errSkip
		}
		req.Header.Set(serve.HeaderVoucher, v)
		g.metrics.Vouchers.Inc()
		vh = h
	}
	req.Header.Set("Content-Type", serve.ContentBinary)
	req.Header.Set(serve.HeaderClient, client)
	req.Header.Set(serve.HeaderRequestID, reqID)
	if g.cfg.ProviderToken != "" {
		req.Header.Set("Authorization", "Bearer "+g.cfg.ProviderToken)
	}
	p.start()
	t0 := time.Now()
	res, outcome, err := g.roundTrip(req, k, client, reqID)
	d := time.Since(t0)
	var se *statusError
	switch {
	case err == nil:
		p.done(outcomeOK, d, g.cfg.Now())
	case errors.Is(err, errSkip) || errors.As(err, &se):
		p.done(outcomeNeutral, d, g.cfg.Now())
	default:
		p.done(outcomeFail, d, g.cfg.Now())
	}
	var se2 *statusError
	if payer != nil && errors.As(err, &se2) && se2.code == http.StatusPaymentRequired {
		payer.Refused(vh.JobID, units)
	}
	g.metrics.Upstream.WithLabelValues(p.URL, outcome).Inc()
	if err == nil {
		g.metrics.UpstreamLat.WithLabelValues(p.URL).Observe(d.Seconds())
		if res.receipt.Units > 0 && len(flat)/4%int(res.receipt.Units) == 0 {
			g.widths.Store(k, len(flat)/4/int(res.receipt.Units))
		}
	}
	return res, err
}

func (g *Gateway) roundTrip(req *http.Request, k serve.Key, client, reqID string) (result, string, error) {
	resp, err := g.http.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return result{}, "timeout", err
		}
		return result{}, "refused", err
	}
	defer resp.Body.Close()
	body, err := serve.ReadBody(resp.Body, resp.ContentLength, 64<<20)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return result{}, "timeout", err
		}
		return result{}, "error", err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusUnauthorized:
		return result{}, "not_served", errSkip
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		return result{}, "client_error", &statusError{resp.StatusCode, strings.TrimSpace(string(body))}
	default:
		return result{}, "error", fmt.Errorf("status %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	rh := resp.Header.Get(serve.HeaderReceipt)
	rc, err := serve.DecodeReceiptHeader(resp.Header)
	if err != nil {
		return result{}, "error", err
	}
	// The receipt must be for this request; its signature is checked when
	// it matters (redundancy mismatches), not on every answer.
	if rc.ModelID != k.Model || rc.Number != k.Version || rc.RequestID != reqID || rc.Client != client ||
		uint64(len(body)) != 0 && rc.Units == 0 {
		return result{}, "error", fmt.Errorf("receipt does not match the request")
	}
	return result{body: body, receipt: rc, receiptHeader: rh}, "ok", nil
}
