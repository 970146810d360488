package serve

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the provider's Prometheus series, in their own registry
// (served at /metrics).
type Metrics struct {
	Registry  *prometheus.Registry
	Requests  *prometheus.CounterVec   // cohort_serve_requests_total{model,code}
	Latency   *prometheus.HistogramVec // cohort_serve_request_seconds{model}
	BatchSize prometheus.Histogram     // cohort_serve_batch_rows
	BatchReqs prometheus.Histogram     // cohort_serve_batch_requests
	CacheHits prometheus.Counter       // cohort_serve_cache_hits_total
	CacheMiss prometheus.Counter       // cohort_serve_cache_misses_total
	Evictions prometheus.Counter       // cohort_serve_cache_evictions_total
	Receipts  prometheus.Counter       // cohort_serve_receipts_total
	Refused   prometheus.Counter       // cohort_serve_payment_refusals_total
}

// NewMetrics registers the series in a new registry (with the Go and
// process collectors).
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohort_serve_requests_total",
			Help: "Predict requests by model version and HTTP status."}, []string{"model", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cohort_serve_request_seconds",
			Help:    "Time to answer a predict request (decode, batch wait, forward, sign).",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)}, []string{"model"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cohort_serve_batch_rows",
			Help: "Examples per forward pass.", Buckets: prometheus.ExponentialBuckets(1, 2, 12)}),
		BatchReqs: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cohort_serve_batch_requests",
			Help: "Requests per forward pass.", Buckets: prometheus.ExponentialBuckets(1, 2, 10)}),
		CacheHits: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_serve_cache_hits_total", Help: "Model cache hits."}),
		CacheMiss: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_serve_cache_misses_total", Help: "Model cache misses (loads)."}),
		Evictions: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_serve_cache_evictions_total", Help: "Models evicted from memory."}),
		Receipts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_serve_receipts_total", Help: "Usage receipts signed."}),
		Refused:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_serve_payment_refusals_total", Help: "Requests refused for want of a covering voucher, units or escrow."}),
	}
	m.Registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		m.Requests, m.Latency, m.BatchSize, m.BatchReqs, m.CacheHits, m.CacheMiss, m.Evictions, m.Receipts, m.Refused)
	return m
}
