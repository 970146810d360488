#!/usr/bin/env bash
# Throughput on a 1-validator localnet from config.yml: starts the network
# in the background, runs scripts/loadgen against it once per message kind
# (MSGS, default: bank sends, market CreateJob, market PlaceBid), prints tx/s
# for each and the ratio to bank sends, and stops the network. SENDERS and
# TXS size the load.
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
go build -o "$OUT/loadgen" ./scripts/loadgen
declare -A tps
for msg in ${MSGS:-send create-job bid}; do
  echo "== $msg"
  out=$("$OUT/loadgen" --home "$OUT/node0" --senders "${SENDERS:-8}" --txs "${TXS:-250}" --msg "$msg")
  echo "$out"
  tps[$msg]=$(echo "$out" | sed -n 's/.*=> \([0-9.]*\) tx\/s (.*/\1/p')
done
if [ -n "${tps[send]:-}" ]; then
  echo "== committed tx/s relative to bank sends in this run"
  for msg in "${!tps[@]}"; do
    awk -v m="$msg" -v t="${tps[$msg]}" -v b="${tps[send]}" 'BEGIN { printf "%-11s %8.1f tx/s  %.2fx\n", m, t, t / b }'
  done
fi
