#!/usr/bin/env bash
# Inference load test on loopback, bounded: starts PROVIDERS provider servers and a gateway
# inside one cohort-sidecar process, all serving the Fashion-MNIST MLP, and measures for
# DURATION each: in-process engine calls (one at a time, and CLIENTS at once) against requests
# through the gateway (one client, and CLIENTS clients, the providers batching). Prints p50/p99
# latency, requests per second, CPU per request, the gateway's overhead at p50 and the
# CPU-bound ceiling on this machine's cores. Extra arguments go to `cohort-sidecar loadtest`
# (--json for the JSON form, --no-checks without redundancy checks, --help for the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/cohort-sidecar}
go build -o "$BIN" ./cmd/cohort-sidecar
exec "$BIN" loadtest --duration "${DURATION:-3s}" --clients "${CLIENTS:-64}" --providers "${PROVIDERS:-2}" "$@"
