package serve

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is a provider's inference server.
type Config struct {
	// Models are the versions this provider declared it serves; requests
	// for others are refused (404).
	Models []Key
	// Loader builds models on a cache miss.
	Loader *Loader
	// CacheBytes bounds the weights kept in memory (default 1 GiB).
	CacheBytes int64
	// MaxBatch and BatchWindow configure the batcher (defaults 64 rows, 200 µs).
	MaxBatch    int
	BatchWindow time.Duration
	// Signer signs every response and receipt.
	Signer *Signer
	// Receipts keeps the receipts (default: in memory).
	Receipts *ReceiptStore
	// MaxBody bounds a request body (default 16 MiB).
	MaxBody int64
	Logger  *slog.Logger
	// Tokens, when set, are the bearer tokens a predict call must carry
	// ("Authorization: Bearer <token>"): the gateways this provider takes
	// requests from, whose X-Cohort-Client header it then trusts. Without
	// tokens any caller may name any client.
	Tokens []string
	// Corrupt, when set, changes every output before it is signed: a
	// dishonest provider, for tests and demonstrations of redundancy checks.
	Corrupt func([]float32)
	// Payments, when set, makes every request pay: it must carry a client
	// voucher covering it (payment.go); without, requests are served free.
	Payments *Payments
	// Evidence, when set, keeps every paid request's receipt and input
	// for sampled verification of the usage claims (evidence.go), and
	// serves them at EvidencePath.
	Evidence *Evidence
}

// Server is a running inference server.
type Server struct {
	cfg      Config
	cache    *Cache
	batcher  *Batcher
	metrics  *Metrics
	receipts *ReceiptStore
	log      *slog.Logger
}

// NewServer starts the batcher; Close stops it.
func NewServer(cfg Config) (*Server, error) {
	if cfg.Signer == nil {
		return nil, errors.New("serve: a server needs a signer")
	}
	if cfg.Loader == nil {
		return nil, errors.New("serve: a server needs a loader")
	}
	if cfg.CacheBytes <= 0 {
		cfg.CacheBytes = 1 << 30
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 64
	}
	if cfg.BatchWindow == 0 {
		cfg.BatchWindow = 200 * time.Microsecond
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 16 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Receipts == nil {
		cfg.Receipts, _ = OpenReceipts("")
	}
	s := &Server{cfg: cfg, metrics: NewMetrics(), receipts: cfg.Receipts, log: cfg.Logger}
	s.cache = NewCache(cfg.CacheBytes, cfg.Loader.Load)
	s.cache.OnEvict = func(k Key) {
		s.metrics.Evictions.Inc()
		s.log.Info("model evicted from memory", "model", k.String())
	}
	s.batcher = NewBatcher(cfg.MaxBatch, cfg.BatchWindow)
	s.batcher.OnBatch = func(reqs, rows int) {
		s.metrics.BatchReqs.Observe(float64(reqs))
		s.metrics.BatchSize.Observe(float64(rows))
	}
	return s, nil
}

// Close stops the batcher (the receipt store is the caller's to close).
func (s *Server) Close() { s.batcher.Close() }

// Metrics returns the server's metrics.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Receipts returns the receipt store.
func (s *Server) Receipts() *ReceiptStore { return s.receipts }

// Cache returns the model cache.
func (s *Server) Cache() *Cache { return s.cache }

// Signer returns the provider's signer.
func (s *Server) Signer() *Signer { return s.cfg.Signer }

// Preload loads the declared models (errors are logged, not fatal: a model
// is loaded again on its first request).
func (s *Server) Preload(ctx context.Context) {
	for _, k := range s.cfg.Models {
		if _, _, err := s.cache.Get(ctx, k); err != nil {
			s.log.Warn("could not load a declared model", "model", k.String(), "err", err)
		} else {
			s.log.Info("model loaded", "model", k.String())
		}
	}
}

// PredictPath is the pattern of the predict endpoint (the version segment
// is "<v>:predict").
const PredictPath = "POST /v1/models/{id}/versions/{vp}"

// Handler serves the API described in the package documentation.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PredictPath, s.servePredict)
	mux.HandleFunc("GET /v1/receipts", s.serveReceipts)
	mux.HandleFunc("GET /v1/receipts/clients", s.serveClients)
	mux.HandleFunc("GET /v1/receipts/claim", s.serveClaim)
	mux.HandleFunc("GET /v1/serving", s.serveServing)
	if s.cfg.Evidence != nil {
		mux.Handle("GET "+EvidencePath, s.cfg.Evidence)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	return mux
}

// ParsePredictPath reads the model version of a predict URL's path values.
func ParsePredictPath(r *http.Request) (Key, error) {
	vs, ok := strings.CutSuffix(r.PathValue("vp"), ":predict")
	if !ok {
		return Key{}, errors.New("not a :predict call")
	}
	return ParseKey(r.PathValue("id") + "/" + vs)
}

// httpError is an error with its status.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func fail(code int, format string, args ...any) error {
	return &httpError{code, fmt.Sprintf(format, args...)}
}

// ReadInputs reads a predict body of either content type, checking that it
// is rows × width values (width 0: any), and returns the flat matrix.
func ReadInputs(r *http.Request, width int, maxBody int64) (x []float32, rows int, err error) {
	body, err := ReadBody(r.Body, r.ContentLength, maxBody)
	if err != nil {
		return nil, 0, fail(http.StatusBadRequest, "reading body: %v", err)
	}
	if int64(len(body)) > maxBody {
		return nil, 0, fail(http.StatusRequestEntityTooLarge, "body over %d bytes", maxBody)
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	switch strings.TrimSpace(ct) {
	case ContentBinary:
		if x, err = DecodeFloats(body); err != nil {
			return nil, 0, fail(http.StatusBadRequest, "%v", err)
		}
		if width == 0 {
			if rows, err = strconv.Atoi(r.Header.Get(HeaderRows)); err != nil || rows <= 0 || len(x)%rows != 0 {
				return nil, 0, fail(http.StatusBadRequest, "binary body needs %s dividing its values", HeaderRows)
			}
		} else {
			if len(x) == 0 || len(x)%width != 0 {
				return nil, 0, fail(http.StatusBadRequest, "%d values are not rows of %d", len(x), width)
			}
			rows = len(x) / width
		}
	case ContentJSON, "":
		var req PredictRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, 0, fail(http.StatusBadRequest, "body is not {\"inputs\": [[...], ...]}: %v", err)
		}
		if len(req.Inputs) == 0 {
			return nil, 0, fail(http.StatusBadRequest, "no inputs")
		}
		rows = len(req.Inputs)
		w := len(req.Inputs[0])
		if width != 0 && w != width {
			return nil, 0, fail(http.StatusBadRequest, "inputs of %d values, the model takes %d", w, width)
		}
		x = make([]float32, 0, rows*w)
		for i, row := range req.Inputs {
			if len(row) != w || w == 0 {
				return nil, 0, fail(http.StatusBadRequest, "input %d has %d values, not %d", i, len(row), w)
			}
			x = append(x, row...)
		}
	default:
		return nil, 0, fail(http.StatusUnsupportedMediaType, "content type %q (use %s or %s)", ct, ContentJSON, ContentBinary)
	}
	if rows > MaxRows {
		return nil, 0, fail(http.StatusRequestEntityTooLarge, "%d rows, more than %d", rows, MaxRows)
	}
	for i, v := range x {
		if v-v != 0 { // NaN or ±Inf
			return nil, 0, fail(http.StatusBadRequest, "input value %d is not finite", i)
		}
	}
	return x, rows, nil
}

// NewRequestID is 16 random bytes in hex.
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validID accepts request ids and client names that fit on one line of
// the sign bytes.
func validID(s string) bool {
	return len(s) > 0 && len(s) <= 128 && !strings.ContainsAny(s, "\n\r")
}

func (s *Server) servePredict(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	k, err := ParsePredictPath(r)
	label := k.String()
	code := http.StatusOK
	defer func() {
		s.metrics.Requests.WithLabelValues(label, strconv.Itoa(code)).Inc()
		if code == http.StatusOK {
			s.metrics.Latency.WithLabelValues(label).Observe(time.Since(start).Seconds())
		}
	}()
	if err != nil {
		code, label = http.StatusNotFound, "unknown"
		http.Error(w, err.Error(), code)
		return
	}
	if err := s.predict(w, r, k); err != nil {
		code = http.StatusInternalServerError
		var he *httpError
		if errors.As(err, &he) {
			code = he.code
		}
		if code == http.StatusNotFound {
			label = "unknown"
		}
		http.Error(w, err.Error(), code)
	}
}

func (s *Server) predict(w http.ResponseWriter, r *http.Request, k Key) error {
	if len(s.cfg.Tokens) > 0 {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !slices.Contains(s.cfg.Tokens, tok) {
			return fail(http.StatusUnauthorized, "this provider takes requests from its gateways only")
		}
	}
	if !slices.Contains(s.cfg.Models, k) {
		return fail(http.StatusNotFound, "model version %s is not served here", k)
	}
	client := r.Header.Get(HeaderClient)
	if client == "" {
		client = "anonymous"
	}
	reqID := r.Header.Get(HeaderRequestID)
	if reqID == "" {
		reqID = NewRequestID()
	}
	if !validID(client) || !validID(reqID) {
		return fail(http.StatusBadRequest, "bad %s or %s", HeaderClient, HeaderRequestID)
	}
	m, hit, err := s.cache.Get(r.Context(), k)
	if hit {
		s.metrics.CacheHits.Inc()
	} else {
		s.metrics.CacheMiss.Inc()
	}
	if err != nil {
		if errors.Is(err, ErrNotServable) {
			return fail(http.StatusGone, "%v", err)
		}
		return fail(http.StatusServiceUnavailable, "loading %s: %v", k, err)
	}
	x, rows, err := ReadInputs(r, m.Width, s.cfg.MaxBody)
	if err != nil {
		return err
	}
	var jobID uint64
	if s.cfg.Payments != nil {
		if jobID, err = s.cfg.Payments.Authorize(r.Context(), client, k, r.Header.Get(HeaderVoucher), uint64(rows)); err != nil {
			s.metrics.Refused.Inc()
			var pe *PaymentError
			if errors.As(err, &pe) {
				return fail(http.StatusPaymentRequired, "%s", pe.Msg)
			}
			return err
		}
	}
	out, err := s.batcher.Predict(r.Context(), m, x, rows)
	if err != nil {
		if jobID != 0 {
			s.cfg.Payments.Release(jobID, uint64(rows))
		}
		return fail(http.StatusInternalServerError, "inference: %v", err)
	}
	if s.cfg.Corrupt != nil {
		out = slices.Clone(out)
		s.cfg.Corrupt(out)
	}
	rc := Receipt{Version: ReceiptVersion, Provider: s.cfg.Signer.Address(), Algo: s.cfg.Signer.Algo(), PubKey: s.cfg.Signer.PubKey(),
		Client: client, ModelID: k.Model, Number: k.Version, RequestID: reqID,
		InputHash: hexHash(HashFloats(x)), OutputHash: hexHash(HashFloats(out)), Units: uint64(rows),
		Price: m.Info.Price, TimeUnixMs: time.Now().UnixMilli(), JobID: jobID}
	rc.Seq = s.receipts.NextSeq(client)
	if rc.Signature, err = s.cfg.Signer.Sign(rc.SignBytes()); err != nil {
		return fail(http.StatusInternalServerError, "signing: %v", err)
	}
	if err := s.receipts.Add(rc); err != nil {
		s.log.Error("storing a receipt", "err", err)
	}
	// Record copies x (EncodeFloats) before it returns, so what the
	// batcher or engine does with x later cannot change the evidence.
	if jobID != 0 && s.cfg.Evidence != nil {
		if err := s.cfg.Evidence.Record(rc, x); err != nil {
			s.log.Error("keeping a request's evidence", "job", jobID, "err", err)
		}
	}
	s.metrics.Receipts.Inc()

	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if strings.TrimSpace(ct) == ContentBinary {
		rj, _ := json.Marshal(rc)
		h := w.Header()
		h.Set("Content-Type", ContentBinary)
		h.Set(HeaderReceipt, base64.StdEncoding.EncodeToString(rj))
		h.Set(HeaderSignature, base64.StdEncoding.EncodeToString(rc.Signature))
		h.Set(HeaderProvider, rc.Provider)
		h.Set(HeaderRows, strconv.Itoa(rows))
		w.Write(EncodeFloats(out))
		return nil
	}
	w.Header().Set("Content-Type", ContentJSON)
	return json.NewEncoder(w).Encode(PredictResponse{Outputs: Rows(out, rows), Argmax: Argmax(out, rows),
		Provider: rc.Provider, Signature: rc.Signature, Receipt: rc})
}

// DecodeReceiptHeader reads the X-Cohort-Receipt header of a binary answer.
func DecodeReceiptHeader(h http.Header) (Receipt, error) {
	var rc Receipt
	b, err := base64.StdEncoding.DecodeString(h.Get(HeaderReceipt))
	if err != nil {
		return rc, fmt.Errorf("serve: receipt header: %w", err)
	}
	if err := json.Unmarshal(b, &rc); err != nil {
		return rc, fmt.Errorf("serve: receipt header: %w", err)
	}
	return rc, nil
}

func (s *Server) serveReceipts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := q.Get("client")
	if client == "" {
		http.Error(w, "client is required", http.StatusBadRequest)
		return
	}
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	list := s.receipts.List(client, after, limit)
	w.Header().Set("Content-Type", ContentJSON)
	json.NewEncoder(w).Encode(map[string]any{"receipts": list})
}

func (s *Server) serveClaim(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	client := q.Get("client")
	if client == "" {
		http.Error(w, "client is required", http.StatusBadRequest)
		return
	}
	after, _ := strconv.ParseUint(q.Get("after"), 10, 64)
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	c, list := s.receipts.Claim(client, after, limit)
	w.Header().Set("Content-Type", ContentJSON)
	json.NewEncoder(w).Encode(map[string]any{"claim": c, "receipts": list})
}

func (s *Server) serveClients(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentJSON)
	json.NewEncoder(w).Encode(map[string]any{"clients": s.receipts.Clients()})
}

func (s *Server) serveServing(w http.ResponseWriter, _ *http.Request) {
	keys := make([]string, len(s.cfg.Models))
	for i, k := range s.cfg.Models {
		keys[i] = k.String()
	}
	st := s.cache.Stats()
	w.Header().Set("Content-Type", ContentJSON)
	json.NewEncoder(w).Encode(map[string]any{"provider": s.cfg.Signer.Address(), "declared": keys, "cached": st.Models,
		"cache_bytes": st.Bytes, "hits": st.Hits, "misses": st.Misses, "evictions": st.Evictions})
}
