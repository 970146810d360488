#!/usr/bin/env bash
# Prints what proof-of-compute costs and buys: the share of a 1,000-step
# job's compute that x/verify re-executes at the default and the highest
# level, and the probability of catching a provider that fakes 10% of its
# steps; then the simulated detection rate of the module's own step
# sampling against 1-(1-p)^k.
set -euo pipefail
cd "$(dirname "$0")/.."
go test ./x/verify/types/ -count=1 -v -run 'TestVerificationCost|TestDetectionSimulation' |
  grep -E 'level|dispute|caught|^(ok|FAIL|---)' | sed -E 's/^ +//'
