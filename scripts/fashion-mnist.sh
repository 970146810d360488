#!/usr/bin/env bash
# Quality bar of the engine: centralized Fashion-MNIST with the deterministic
# engine. Needs Debian's dataset-fashion-mnist (apt-get install -y
# dataset-fashion-mnist). Prints each epoch's test accuracy, images/s at the
# current GOMAXPROCS, and the final weights hash (the same on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/share/datasets/fashion-mnist ] || { echo "install dataset-fashion-mnist first" >&2; exit 1; }
go build -o build/cohort-sidecar ./cmd/cohort-sidecar
echo "== MLP 784-256-10, Adam"
build/cohort-sidecar train --epochs "${EPOCHS:-8}" --hidden 256 --optimizer adam --lr 0.001
