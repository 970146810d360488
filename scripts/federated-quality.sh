#!/usr/bin/env bash
# Quality bars of federated training, in one process (cohort-sidecar
# simulate): 10 clients on a Dirichlet(0.5) non-IID split of Fashion-MNIST,
# the MLP 784-128-10. Prints
#   1. top-k 1% with error feedback against dense, plain FedAvg (accuracy and
#      bytes sent);
#   2. the rule x attack table with 2 of 10 clients attacking, FedAdam on the
#      server.
# Needs Debian's dataset-fashion-mnist. ROUNDS (default 100) sets the length;
# the full table is 48 runs (about 40 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/share/datasets/fashion-mnist ] || { echo "install dataset-fashion-mnist first" >&2; exit 1; }
go build -o build/cohort-sidecar ./cmd/cohort-sidecar
common=(--rounds "${ROUNDS:-100}" --local-steps 20 --batch 64 --lr 0.05 --lr-decay 0.98 --hidden 128)
echo "== dense, then top-k 1% with error feedback (FedAvg, no attack)"
build/cohort-sidecar simulate "${common[@]}" --rules fedavg --attacks none
build/cohort-sidecar simulate "${common[@]}" --rules fedavg --attacks none --topk 0.01
echo "== rule x attack, 2 of 10 clients attacking (FedAdam on the server)"
build/cohort-sidecar simulate "${common[@]}" --server fedadam ${RULES:+--rules "$RULES"}
