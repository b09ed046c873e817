#!/usr/bin/env bash
# The main job: build strata and report the disk usage of this host's Docker data root
# (`strata df -v`, then `strata du`: who owns every byte). Where no Docker data root exists,
# it plants a sample store in a temp dir and reports that instead, so the command works on any
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo >/dev/null || { echo "strata: needs a Rust toolchain (https://rustup.rs)" >&2; exit 2; }
cargo build --release -q
STRATA=$PWD/target/release/strata
if "$STRATA" df >/dev/null 2>&1 || [ $? -eq 1 ]; then
  "$STRATA" df -v "$@" || true
  echo
  exec "$STRATA" du "$@"
fi
SAMPLE=$(mktemp -d /tmp/strata-sample.XXXXXX)
trap 'rm -rf "$SAMPLE"' EXIT
echo "No Docker data root here; reporting a sample store planted in $SAMPLE"
scripts/sample-store.sh "$SAMPLE"
"$STRATA" --root "$SAMPLE" df -v "$@"
echo
"$STRATA" --root "$SAMPLE" du "$@"
echo
"$STRATA" --root "$SAMPLE" df --format json | head -40
