#!/usr/bin/env bash
# Measures what re-execution costs a verifier: a 1,000-step job of the
# demo's MLP (784 -> 128 -> 10, batch 64, Adam) trained in full against
# re-executing the 44, 66 and 100 sampled steps of x/verify's levels
# (fetched checkpoint decoded and hash-checked, step run, result hashed).
# With scripts/verify-cost.sh's detection figures this gives the compute
# each level costs for the detection it buys. STEPS=, OPTIMIZER=sgd, BATCH= override.
set -euo pipefail
cd "$(dirname "$0")/.."
COHORT_COST=1 go test ./sidecar/training/ -count=1 -v -run TestReexecutionCost |
  grep -E 'job:|re-executing|^(ok|FAIL|---)' | sed -E 's/^ +//'
