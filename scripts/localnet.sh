#!/usr/bin/env bash
# Builds cohortd, writes a local network from config.yml and runs it in the
# foreground until Ctrl-C. VALIDATORS=N runs N validators as separate
# processes on loopback. CONFIG, OUT and BIN may be overridden.
# SIDECAR_BASE_PORT=P points node i at a cohort-sidecar on
# http://127.0.0.1:(P+i) ([sidecar] address in app.toml). DETACH=1 returns
# once the first blocks are made, leaving the nodes running; their process
# ids are in $OUT/pids (scripts/demo.sh uses both).
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${CONFIG:-config.yml}
OUT=${OUT:-.localnet}
BIN=${BIN:-build/cohortd}
VALIDATORS=${VALIDATORS:-}

[ -f "$CONFIG" ] || { echo "localnet: $CONFIG not found" >&2; exit 1; }
if [ "${SKIP_BUILD:-}" != 1 ]; then
  echo "==> building cohortd"
  go build -o "$BIN" ./cmd/cohortd
fi

rm -rf "$OUT"
args=(testnet init-files --config "$CONFIG" --output-dir "$OUT")
[ -n "$VALIDATORS" ] && args+=(--validators "$VALIDATORS")
echo "==> writing the network from $CONFIG"
"$BIN" "${args[@]}"
n=$(find "$OUT" -maxdepth 1 -name 'node*' -type d | wc -l)
if [ -n "${SIDECAR_BASE_PORT:-}" ]; then
  for ((i = 0; i < n; i++)); do
    sed -i "/^\[sidecar\]/,/^\[/ s|^address = .*|address = \"http://127.0.0.1:$((SIDECAR_BASE_PORT + i))\"|" "$OUT/node$i/config/app.toml"
  done
fi

# Refuse to start over another node on the same ports.
for ((i = 0; i < n; i++)); do
  port=$((26657 + 10 * i))
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "localnet: port $port is in use; stop what listens there first" >&2; exit 1
  fi
done

# height prints node0's latest block height, or nothing while it is down.
height() {
  curl -s http://127.0.0.1:26657/status | sed -n 's/.*"latest_block_height":"\([0-9]*\)".*/\1/p' || true
}

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "==> stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

for ((i = 0; i < n; i++)); do
  "$BIN" start --home "$OUT/node$i" >"$OUT/node$i.log" 2>&1 &
  pids+=($!)
done

# Wait for the first blocks.
for _ in $(seq 1 60); do
  h=$(height)
  [ -n "$h" ] && [ "$h" -ge 2 ] && break
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a node exited; see $OUT/node*.log" >&2; tail -n 20 "$OUT"/node*.log >&2; exit 1; }; done
  sleep 1
done

if [ "${DETACH:-}" = 1 ]; then
  printf '%s\n' "${pids[@]}" >"$OUT/pids"
  trap - INT TERM EXIT
  echo "==> $n node(s) running; process ids in $OUT/pids"
  exit 0
fi

cat <<MSG

Cohort localnet is running: $n validator(s), chain $(sed -n 's/^chain-id = "\(.*\)"/\1/p' "$OUT/node0/config/client.toml").
  CometBFT RPC  http://127.0.0.1:26657   (status: curl -s localhost:26657/status)
  REST API      http://127.0.0.1:1317    (OpenAPI: http://127.0.0.1:1317/swagger/)
  gRPC          127.0.0.1:9090
  Logs          $OUT/node*.log
  Client home   $OUT/node0   (keys: alice, bob, ...; keyring-backend test)

Try:
  $BIN --home $OUT/node0 tx bank send alice \$($BIN --home $OUT/node0 keys show bob -a) 1000ucohort --fees 500ucohort -y
  $BIN --home $OUT/node0 q bank balances \$($BIN --home $OUT/node0 keys show bob -a)

Ctrl-C stops the network.
MSG

# Follow node0's block heights; stop when any node dies.
last=0
while true; do
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || { echo "a node exited; see $OUT/node*.log" >&2; exit 1; }; done
  h=$(height)
  if [ -n "$h" ] && [ "$h" != "$last" ] && [ $((h % 10)) -eq 0 ]; then echo "height $h"; fi
  last=${h:-$last}
  sleep 1
done
