#!/usr/bin/env bash
# The main job: federated training on a local chain with no trusted server.
# Starts 4 validators, each with its cohort-sidecar (aggregation and
# attestations through vote extensions), and PROVIDERS providers, each
# holding one non-IID (Dirichlet ALPHA) shard of Fashion-MNIST, the last
# BYZANTINE of them making ATTACK. carol registers a model, opens a run of
# ROUNDS rounds under RULE, and the table follows it round by round (test
# accuracy, participants, outliers rejected, tokens paid, time per phase,
# bytes written to chain state, and an in-process replay that must give the
# chain's hashes). The final model appears in the registry; a plot of
# accuracy per round is written to $OUT/accuracy.html.
#
# DATA=synthetic runs the same on small synthetic data (no dataset needed;
# used by the end-to-end test). ATTACKS="k:attack,..." gives provider k an
# attack (see cohort-sidecar run --help) instead of BYZANTINE/ATTACK;
# VALIDATOR_ATTACK="i:wrong-aggregate" makes validator i's sidecar lie;
# RESTART_SIDECAR=i kills validator i's sidecar once it has aggregated a
# round, and starts it again. Everything listens on loopback; Ctrl-C stops
# it all.
#
# PRIVACY=client-dp makes the run client-level differentially private:
# every provider clips its update to L2 norm DP_CLIP and adds Gaussian
# noise of standard deviation DP_NOISE x DP_CLIP from private randomness;
# validators average the noised updates unweighted (RULE defaults to
# fedavg, the only rule the chain allows) and the chain spends the budget
# (DP_EPSILON, DP_DELTA) round by round, ending the run when it is spent.
# The defaults afford the default 30 rounds (epsilon 94.9 of 100); the
# table shows the epsilon spent.
#
# TOPK=f makes providers send only the fraction f of their update's values
# of largest magnitude (top-k with error feedback; e.g. TOPK=0.01).
#
# GRANTED="k,..." runs provider k's sidecar with a hot key of its own: the
# provider account grants it (authz) the messages a provider sends, and
# the sidecar wraps them in MsgExec (cohort-sidecar run --granter).
#
# VERIFY_UPDATES=1 makes x/verify check every update: each provider joins
# with a commitment to its examples, and a committee re-executes sampled
# local steps from its checkpoints and the batches it reveals (at the
# maximum level: every local step); ATTACKS="k:skip-steps" fakes a quarter
# of provider k's steps, which the committee catches and slashes. The
# verdicts are listed per provider after the table.
#
# PRIVACY=secagg runs every round through secure aggregation: providers
# mask their updates and the validators unmask only their sum (RULE is
# fedavg; attacks such as drop-after-sharing show the drop-out recovery).
set -euo pipefail
cd "$(dirname "$0")/.."

PROVIDERS=${PROVIDERS:-10}
BYZANTINE=${BYZANTINE:-2}
ATTACK=${ATTACK:-sign-flip}
ROUNDS=${ROUNDS:-30}
PRIVACY=${PRIVACY:-}
GRANTED=${GRANTED:-}
TOPK=${TOPK:-}
VERIFY_UPDATES=${VERIFY_UPDATES:-}
granted() { echo ",$GRANTED," | grep -q ",$1,"; }
case "$PRIVACY" in
  "") RULE=${RULE:-'{"name":"geometric-median","max_iterations":10}'} ;;
  client-dp | secagg) RULE=${RULE:-'{"name":"fedavg"}'} ;;
  *) echo "demo: PRIVACY must be empty, client-dp or secagg, got $PRIVACY" >&2; exit 1 ;;
esac
DP_EPSILON=${DP_EPSILON:-100}
DP_DELTA=${DP_DELTA:-0.00001}
DP_CLIP=${DP_CLIP:-0.3}
DP_NOISE=${DP_NOISE:-0.6}
LOCAL_STEPS=${LOCAL_STEPS:-20}
BATCH=${BATCH:-64}
LR=${LR:-0.05}
ALPHA=${ALPHA:-0.5}
DATA=${DATA:-fashion-mnist}
HIDDEN=${HIDDEN:-128}
DEADLINE=${DEADLINE:-60}
ATTACKS=${ATTACKS:-}
VALIDATOR_ATTACK=${VALIDATOR_ATTACK:-}
RESTART_SIDECAR=${RESTART_SIDECAR:-}
if [ -z "$ATTACKS" ]; then
  for ((k = PROVIDERS - BYZANTINE; k < PROVIDERS; k++)); do ATTACKS+="${ATTACKS:+,}$k:$ATTACK"; done
fi
MIN_PARTICIPANTS=${MIN_PARTICIPANTS:-$((PROVIDERS - $(echo "$ATTACKS" | tr ',' '\n' | grep -c : || true) ))}
attack_of() { # attack_of LIST N: the attack LIST ("n:attack,...") gives N, if any
  echo "$1" | tr ',' '\n' | sed -n "s/^$2:\(.*\)/\1/p"
}
OUT=${OUT:-.demo}
BIN=build/cohortd
SC=build/cohort-sidecar

if [ "$DATA" = fashion-mnist ] && [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "demo: Fashion-MNIST is missing: apt-get install -y dataset-fashion-mnist (or DATA=synthetic)" >&2; exit 1
fi
WIDTH=784; [ "$DATA" = synthetic ] && WIDTH=32
datargs=(--data "$DATA" --shards "$PROVIDERS" --alpha "$ALPHA")

echo "==> building"
go build -o "$BIN" ./cmd/cohortd
go build -o "$SC" ./cmd/cohort-sidecar
rm -rf "$OUT"; mkdir -p "$OUT"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "==> stopping"
  all=("${pids[@]}")
  for f in "$OUT"/sidecar*.pid "$OUT/net/pids"; do
    if [ -f "$f" ]; then while read -r p; do all+=("$p"); done <"$f"; fi
  done
  for p in "${all[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  # The nodes are not this shell's children: wait until they have exited.
  for _ in $(seq 1 100); do
    alive=0
    for p in "${all[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
}
trap stop INT TERM EXIT

OUT="$OUT/net" VALIDATORS=4 SIDECAR_BASE_PORT=7100 DETACH=1 SKIP_BUILD=1 bash scripts/localnet.sh >"$OUT/localnet.log"
C=("$BIN" --home "$OUT/net/node0")
CHAIN=$(sed -n 's/^chain-id = "\(.*\)"/\1/p' "$OUT/net/node0/config/client.toml")
K=("$BIN" --home "$OUT/providers" --keyring-backend test)
P=("${K[@]}" --chain-id "$CHAIN" --node tcp://127.0.0.1:26657)
# tx sends a transaction and prints its hash; one refused at once (CheckTx)
# is reported with its log, and prints nothing.
tx() {
  local out
  out=$("$@" --fees 20000ucohort --gas 400000 -y -o json 2>&1) || true
  if ! echo "$out" | grep -q '"code":0'; then echo "demo: transaction refused: $* -> $out" >&2; return 0; fi
  echo "$out" | sed -n 's/.*"txhash":"\([0-9A-F]*\)".*/\1/p'
}
# wait_tx waits until each transaction is in a block, by polling (q
# wait-tx can miss a transaction included while it subscribes).
wait_tx() {
  local h i
  for h in "$@"; do
    [ -n "$h" ] || { echo "demo: a transaction was refused (see above)" >&2; return 1; }
    for ((i = 0; i < 240; i++)); do
      "${C[@]}" q tx "$h" -o json >/dev/null 2>&1 && continue 2
      sleep 0.25
    done
    echo "demo: transaction $h was not included within 60 s" >&2; return 1
  done
}

model=$("$SC" init-model --model mlp --width $WIDTH --hidden "$HIDDEN" --seed 1 --out "$OUT/model" | tr -d '\n ')
echo "==> model: $model"
field() { echo "$model" | sed -n 's/.*"'"$1"'":"\{0,1\}\([^",}]*\).*/\1/p'; }
W_HASH=$(field weights_hash) W_SIZE=$(field weights_size)

echo "==> validators' sidecars"
mirrors=http://127.0.0.1:7100,http://127.0.0.1:7101,http://127.0.0.1:7102,http://127.0.0.1:7103
validator_sidecar() { # validator_sidecar I: start validator I's sidecar in the background
  local i=$1 key=alice attack=()
  [ "$i" -gt 0 ] && key=validator$i
  a=$(attack_of "$VALIDATOR_ATTACK" "$i"); [ -n "$a" ] && attack=(--attack "$a")
  "$SC" run --role validator --listen 127.0.0.1:$((7100 + i)) --dir "$OUT/sidecar$i" --home "$OUT/net/node$i" --from "$key" \
    --grpc 127.0.0.1:$((9090 + 2 * i)) --import "$OUT/model/spec.json" --import "$OUT/model/weights.safetensors" \
    --mirrors "$mirrors" --finalize-delay $((3 * i))s "${attack[@]}" >>"$OUT/sidecar$i.log" 2>&1 &
  pids+=($!)
  sidecar_pid[$i]=$!
  echo $! >"$OUT/sidecar$i.pid"
}
declare -A sidecar_pid
for i in 0 1 2 3; do validator_sidecar "$i"; done

echo "==> $PROVIDERS providers (attacks: ${ATTACKS:-none})"
addrs=()
for ((k = 0; k < PROVIDERS; k++)); do
  "${K[@]}" keys add "provider$k" --output json >/dev/null
  addrs+=("$("${K[@]}" keys show "provider$k" -a)")
done
hot=()
for ((k = 0; k < PROVIDERS; k++)); do
  granted "$k" || continue
  "${K[@]}" keys add "hot$k" --output json >/dev/null
  hot+=("$("${K[@]}" keys show "hot$k" -a)")
done
wait_tx "$(tx "${C[@]}" tx bank multi-send alice "${addrs[@]}" "${hot[@]}" 5000000000ucohort)"
hashes=()
for ((k = 0; k < PROVIDERS; k++)); do
  info='{"moniker":"provider'$k'","hardware":{"gpu_model":"cpu","gpu_count":1,"gpu_memory_gib":1,"cpu_cores":2,"ram_gib":4},"region":"local","endpoints":["http://127.0.0.1:'$((7200 + k))'"],"prices":{"training_per_step":{"denom":"ucohort","amount":"1"}}}'
  hashes+=("$(tx "${P[@]}" tx provider register "$info" 1000000000ucohort --from "provider$k")")
done
wait_tx "${hashes[@]}"
for ((k = 0; k < PROVIDERS; k++)); do
  granted "$k" || continue
  for t in /cohort.provider.v1.MsgHeartbeat /cohort.federated.v1.MsgJoinRun /cohort.federated.v1.MsgSubmitUpdate /cohort.federated.v1.MsgSubmitSecAggMessage; do
    wait_tx "$(tx "${P[@]}" tx authz grant "$("${K[@]}" keys show "hot$k" -a)" generic --msg-type "$t" --from "provider$k")"
  done
  echo "    provider$k's sidecar signs with hot$k under authz grants"
done
parts=()
for ((k = 0; k < PROVIDERS; k++)); do
  attack=(); tag=$k
  a=$(attack_of "$ATTACKS" "$k"); if [ -n "$a" ]; then attack=(--attack "$a"); tag="$k:$a"; fi
  parts+=("${addrs[$k]}=$tag")
  signer=(--from "provider$k"); granted "$k" && signer=(--from "hot$k" --granter "${addrs[$k]}")
  "$SC" run --role provider --listen 127.0.0.1:$((7200 + k)) --dir "$OUT/provider$k" --home "$OUT/providers" "${signer[@]}" \
    --import "$OUT/model/spec.json" --mirrors "$mirrors" --shard "$k" "${datargs[@]}" "${attack[@]}" >"$OUT/provider$k.log" 2>&1 &
  pids+=($!)
done

echo "==> carol registers the model and opens the run"
arch='{"layers":[{"kind":"dense","inputs":'$WIDTH',"outputs":'$HIDDEN',"activation":"relu"},{"kind":"dense","inputs":'$HIDDEN',"outputs":10}],"spec_format":"cohort-engine-spec/v1","spec_hash":"'$(field spec_hash_base64)'"}'
wait_tx "$(tx "${C[@]}" tx registry register-model fashion-mlp classification "$arch" '{"spdx_id":"Apache-2.0"}' --public --from carol)"
wait_tx "$(tx "${C[@]}" tx registry publish-version 1 "$W_HASH" "$W_SIZE" safetensors "http://127.0.0.1:7100/v1/blobs/sha256/$W_HASH" --semver 1.0.0 --from carol)"
spec='{"model":{"registry_model_id":"1","registry_version":"1"},"initial_weights_hash":"'$(field weights_hash_base64)'","initial_weights_location":"http://127.0.0.1:7100/v1/blobs/sha256/'$W_HASH'","rounds":'$ROUNDS',"local_steps":'$LOCAL_STEPS',"batch_size":'$BATCH',"learning_rate":"'$LR'","aggregation":'$RULE',"min_participants":'$MIN_PARTICIPANTS',"max_participants":'$PROVIDERS',"round_deadline_blocks":'$DEADLINE',"reward_per_update":{"denom":"ucohort","amount":"1000"}}'
if [ "$PRIVACY" = client-dp ]; then
  spec=${spec%\}}',"privacy":{"mode":"PRIVACY_MODE_CLIENT_DP","epsilon":"'$DP_EPSILON'","delta":"'$DP_DELTA'","clip_norm":"'$DP_CLIP'","noise_multiplier":"'$DP_NOISE'"}}'
  echo "==> client-dp: clip $DP_CLIP, noise multiplier $DP_NOISE, budget epsilon $DP_EPSILON at delta $DP_DELTA"
fi
if [ -n "$TOPK" ]; then
  spec=${spec%\}}',"compression":{"mode":"COMPRESSION_MODE_TOPK","topk_fraction":"'$TOPK'"}}'
  echo "==> top-k compression: providers send $TOPK of their update's values, with error feedback"
fi
if [ "$PRIVACY" = secagg ]; then
  spec=${spec%\}}',"privacy":{"mode":"PRIVACY_MODE_SECURE_AGGREGATION"}}'
  echo "==> secure aggregation: no validator sees an update, only their sum"
fi
if [ -n "$VERIFY_UPDATES" ]; then
  spec=${spec%\}}',"verify_updates":true,"verification_level":90}'
  echo "==> verified updates: committees re-execute the providers' local steps from revealed batches"
fi
wait_tx "$(tx "${C[@]}" tx federated create-run "$spec" --from carol)"
echo "==> run 1: providers join for 20 blocks, then $ROUNDS rounds (logs in $OUT/*.log)"

if [ -n "$RESTART_SIDECAR" ]; then
  ( until grep -q "aggregated round" "$OUT/sidecar$RESTART_SIDECAR.log" 2>/dev/null; do sleep 0.5; done
    kill "${sidecar_pid[$RESTART_SIDECAR]}"; echo "==> killed validator $RESTART_SIDECAR's sidecar after its first aggregate" >&2
    sleep 3; validator_sidecar "$RESTART_SIDECAR"; echo "==> restarted it (pid $!)" >&2; wait ) &
  pids+=($!)
fi

IFS=,; participants="${parts[*]}"; unset IFS
"$SC" watch --run 1 --spec "$OUT/model/spec.json" --html "$OUT/accuracy.html" --participants "$participants" "${datargs[@]}"
if [ -n "$VERIFY_UPDATES" ]; then
  echo "==> verification of the updates (waiting for the last committees' verdicts)"
  for _ in $(seq 1 120); do
    busy=0
    for st in pending open; do
      "${C[@]}" q verify tasks-by-state "$st" -o json | grep -q '"id"' && busy=1
    done
    [ "$busy" = 0 ] && break
    sleep 1
  done
  for k in "${!addrs[@]}"; do
    h=$("${C[@]}" q verify provider-history "${addrs[$k]}" -o json 2>/dev/null | tr -d ' \n' || true)
    num() { v=$(echo "$h" | sed -n 's/.*"'"$1"'":"\{0,1\}\([0-9]*\).*/\1/p'); echo "${v:-0}"; }
    c=$("${C[@]}" q provider provider "${addrs[$k]}" -o json | tr -d ' \n' | sed -n 's/.*"collateral":{[^}]*"amount":"\([0-9]*\)".*/\1/p')
    echo "verify: provider $k passed=$(num passed) failed=$(num failed) unavailable=$(num unavailable) collateral=$c"
  done
fi
echo "==> the model in the registry"
"${C[@]}" q registry version-by-run 1 -o json | head -c 2000; echo
echo "==> accuracy plot: $OUT/accuracy.html"
