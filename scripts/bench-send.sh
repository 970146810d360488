#!/usr/bin/env bash
# Bank-send throughput on a 1-validator localnet from config.yml: starts the
# network in the background, runs scripts/loadgen against it, prints tx/s,
# and stops the network. SENDERS and TXS size the load.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/cohortd}
OUT=${OUT:-.bench-localnet}
[ -x "$BIN" ] || go build -o "$BIN" ./cmd/cohortd

rm -rf "$OUT"
"$BIN" testnet init-files --config config.yml --validators 1 --output-dir "$OUT" >/dev/null
"$BIN" start --home "$OUT/node0" >"$OUT/node0.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
  curl -s http://127.0.0.1:26657/status | grep -q '"latest_block_height":"[1-9]' && break
  sleep 1
done
go run ./scripts/loadgen --home "$OUT/node0" --senders "${SENDERS:-8}" --txs "${TXS:-250}"
