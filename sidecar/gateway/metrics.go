package gateway

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the gateway's Prometheus series, in their own registry.
type Metrics struct {
	Registry     *prometheus.Registry
	Requests     *prometheus.CounterVec   // cohort_gateway_requests_total{model,code}
	Latency      *prometheus.HistogramVec // cohort_gateway_request_seconds{model}
	Upstream     *prometheus.CounterVec   // cohort_gateway_upstream_requests_total{provider,outcome}
	UpstreamLat  *prometheus.HistogramVec // cohort_gateway_upstream_seconds{provider}
	Retries      prometheus.Counter       // cohort_gateway_retries_total
	Checks       *prometheus.CounterVec   // cohort_gateway_redundancy_checks_total{outcome}
	Mismatches   prometheus.Counter       // cohort_gateway_verification_mismatches_total
	RateLimited  prometheus.Counter       // cohort_gateway_rate_limited_total
	AuthFailures *prometheus.CounterVec   // cohort_gateway_auth_failures_total{reason}
	Vouchers     prometheus.Counter       // cohort_gateway_vouchers_signed_total
	Reports      *prometheus.CounterVec   // cohort_gateway_mismatch_reports_total{outcome}
}

// NewMetrics registers the series in a new registry.
func NewMetrics() *Metrics {
	lat := prometheus.ExponentialBuckets(50e-6, 2, 18)
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohort_gateway_requests_total",
			Help: "Predict requests by model version and HTTP status."}, []string{"model", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cohort_gateway_request_seconds",
			Help: "Time to answer a predict request, retries included.", Buckets: lat}, []string{"model"}),
		Upstream: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohort_gateway_upstream_requests_total",
			Help: "Requests to providers by outcome (ok, error, timeout, refused)."}, []string{"provider", "outcome"}),
		UpstreamLat: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cohort_gateway_upstream_seconds",
			Help: "Latency of successful provider requests.", Buckets: lat}, []string{"provider"}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_gateway_retries_total", Help: "Requests tried again on another provider."}),
		Checks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohort_gateway_redundancy_checks_total",
			Help: "Redundancy checks by outcome (match, mismatch, error, skipped)."}, []string{"outcome"}),
		Mismatches: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_gateway_verification_mismatches_total",
			Help: "Redundancy checks whose two providers' outputs differed."}),
		RateLimited: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_gateway_rate_limited_total", Help: "Requests refused by the rate limit."}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohort_gateway_auth_failures_total",
			Help: "Requests refused by authentication, by reason."}, []string{"reason"}),
		Vouchers: prometheus.NewCounter(prometheus.CounterOpts{Name: "cohort_gateway_vouchers_signed_total", Help: "Payment vouchers signed for provider requests."}),
		Reports: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cohort_gateway_mismatch_reports_total",
			Help: "Redundancy mismatches reported on chain, by outcome (ok, error)."}, []string{"outcome"}),
	}
	m.Registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}),
		m.Requests, m.Latency, m.Upstream, m.UpstreamLat, m.Retries, m.Checks, m.Mismatches, m.RateLimited, m.AuthFailures, m.Vouchers, m.Reports)
	return m
}
