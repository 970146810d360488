// Package gateway is the inference gateway (cohort-sidecar run --role
// gateway): clients call one HTTP API and the gateway authenticates them,
// rate-limits them, routes each request to a provider serving the model
// (package serve), retries elsewhere when a provider is slow or down, and
// sends a sampled share of requests to a second provider to compare the
// outputs by hash.
//
// HTTP API (Gateway.Handler):
//
//	POST /v1/models/{id}/versions/{v}:predict   JSON {"inputs": [[...], ...]} or a binary
//	     float32 little-endian body (application/octet-stream); the answer is the
//	     provider's (serve.PredictResponse, or binary with X-Cohort-Receipt), signed
//	     by the provider. Authentication: "Authorization: Bearer <api key>", or a
//	     request signature (see auth.go). 401 unauthenticated, 429 over the rate
//	     limit, 503 when no provider could answer.
//	GET  /v1/providers    the provider table: health, latency, reputation, price, score
//	GET  /v1/mismatches   redundancy checks whose outputs differed, with both signed receipts
//	GET  /metrics         Prometheus
//
// The routing rule is in route.go, the redundancy rule in redundancy.go.
package gateway
