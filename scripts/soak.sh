#!/usr/bin/env bash
# The whole suite N times in a row (default 3) while LOOPS CPU-bound loops (default 2) run
# beside it, as a loaded CI machine would: every run must pass. Prints each run's result and
# wall time, and the load average at its end.
# Usage: scripts/soak.sh [RUNS] [LOOPS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-3}
LOOPS=${2:-2}
export STRATA_TEST_NO_SKIP=${STRATA_TEST_NO_SKIP:-1}
cargo test --workspace --no-run -q
mkdir -p target
pids=()
for _ in $(seq "$LOOPS"); do
  sh -c 'while :; do :; done' &
  pids+=($!)
done
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
failed=0
for i in $(seq "$RUNS"); do
  start=$(date +%s)
  if cargo test --workspace -q >"target/soak-$i.log" 2>&1; then result=passed; else result=FAILED; failed=1; fi
  echo "run $i: $result in $(( $(date +%s) - start )) s (load average $(cut -d' ' -f1-3 /proc/loadavg)); log target/soak-$i.log"
done
exit "$failed"
