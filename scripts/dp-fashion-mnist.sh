#!/usr/bin/env bash
# Quality bar of DP-SGD: Fashion-MNIST with the deterministic engine under
# (ε = 8, δ = 1e-5) differential privacy, which must reach ≥ 80% test
# accuracy. σ is chosen by the RDP accountant so that the planned epochs
# spend at most ε, and the run stops before a step would spend more. Needs
# Debian's dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist).
# Prints each epoch's test accuracy, the ε spent so far, images/s at the
# current GOMAXPROCS, and the final weights hash (the same on every run and
# at every GOMAXPROCS).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/share/datasets/fashion-mnist ] || { echo "install dataset-fashion-mnist first" >&2; exit 1; }
go build -o build/cohort-sidecar ./cmd/cohort-sidecar
echo "== DP-SGD, MLP 784-128-10, Adam, expected batch 1024, clip 1, ε ≤ ${EPSILON:-8} at δ = 1e-5"
build/cohort-sidecar dp-train --epochs "${EPOCHS:-20}" --epsilon "${EPSILON:-8}" --delta 1e-5 \
	--batch 1024 --clip 1 --hidden 128 --optimizer adam --lr 0.002 --seed 1
