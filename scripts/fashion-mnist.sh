#!/usr/bin/env bash
# Quality bars of the engine: centralized Fashion-MNIST with the
# deterministic engine, an MLP (bar: >= 88% test accuracy) and a CNN of two
# conv layers under 120k weights (bar: >= 91%). Needs Debian's
# dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist). Prints
# each epoch's test accuracy, images/s at the current GOMAXPROCS, and the
# final weights hash (the same on every run). MODELS=mlp or MODELS=cnn runs
# one of them.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/share/datasets/fashion-mnist ] || { echo "install dataset-fashion-mnist first" >&2; exit 1; }
go build -o build/cohort-sidecar ./cmd/cohort-sidecar
for m in ${MODELS:-mlp cnn}; do
  case $m in
    mlp) echo "== MLP 784-256-10, Adam"
         build/cohort-sidecar train --model mlp --epochs "${EPOCHS:-8}" --hidden 256 --optimizer adam --lr 0.001 ;;
    cnn) echo "== CNN conv16-pool-conv32-pool-64-10, Adam"
         build/cohort-sidecar train --model cnn --epochs "${EPOCHS:-15}" --hidden 64 --optimizer adam --lr 0.001 ;;
  esac
done
