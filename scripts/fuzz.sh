#!/usr/bin/env bash
# scripts/fuzz.sh SECONDS [TARGET...]: builds the fuzz crate (fuzz/) and runs each target, or
# the named ones, for SECONDS each, one after the other, with libFuzzer's memory (512 MiB RSS)
# and per-input time (10 s) limits. Prints each target's executions and crashes, and exits
# non-zero if any target crashed, hung or ran out of memory; the input that did is left in
# fuzz/artifacts/<target>/ and named in the output.
#
# Works with the stable toolchain alone: cargo-fuzz passes nightly-only flags (-Z, sanitizer
# coverage), which stable rustc accepts under RUSTC_BOOTSTRAP=1. Targets are built without a
# sanitizer: analyzers is `#![deny(unsafe_code)]` and the promises checked are "no panic, no
# hang, no unbounded memory", which libFuzzer sees without ASan, at about twice the speed.
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/, never written) plus
# what earlier runs found ($FUZZ_TARGET_DIR/corpus/<target>/, kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  echo "usage: $0 SECONDS [TARGET...]" >&2
  exit 2
fi
seconds=$1
shift

# libfuzzer-sys compiles libFuzzer itself, which needs a C++ compiler.
if [ "$(id -u)" = 0 ] && ! command -v c++ >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends g++
fi
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

target_dir=${FUZZ_TARGET_DIR:-$PWD/fuzz/target}
# cargo-fuzz's default build: optimised, with debug assertions and overflow checks, so that
# arithmetic on untrusted sizes that would wrap in the release binary fails here.
flags=(--sanitizer none --target-dir "$target_dir")
cd fuzz
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
started=$(date +%s)
if [ $# -gt 0 ]; then
  for t in "${targets[@]}"; do
    cargo fuzz build "${flags[@]}" "$t"
  done
else
  cargo fuzz build "${flags[@]}"
fi
echo "fuzz: built ${#targets[@]} targets in $(($(date +%s) - started)) s"

host=$(rustc -vV | sed -n 's/^host: //p')
failed=()
summary=()
for t in "${targets[@]}"; do
  bin=$target_dir/$host/release/$t
  work=$target_dir/corpus/$t
  artifacts=$PWD/artifacts/$t/
  mkdir -p "$work" "$artifacts"
  log=$target_dir/logs/$t.log
  mkdir -p "$(dirname "$log")"
  echo "fuzz: $t for $seconds s"
  status=0
  "$bin" "$work" "corpus/$t" \
    -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  found=$(grep -oE "(crash|timeout|oom|leak|slow-unit)-[0-9a-f]+" "$log" | sort -u || true)
  crashes=$(grep -cE "Test unit written to .*(crash|timeout|oom|leak)-" "$log" || true)
  if [ "$status" -ne 0 ]; then
    tail -n 60 "$log"
    echo "fuzz: $t failed; its whole log is $log"
    failed+=("$t")
    crashes=$((crashes > 0 ? crashes : 1))
  fi
  summary+=("$(printf '%-24s %6s s %12s execs %3s crashes %s' \
    "$t" "$seconds" "${execs:-?}" "$crashes" "$(echo "$found" | tr '\n' ' ')")")
done

echo "fuzz: results"
printf '  %s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
