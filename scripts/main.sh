#!/usr/bin/env bash
# The main job: build strata and report the disk usage of this host's Docker data root
# (`strata df -v`, then `strata du`: who owns every byte). Where no Docker data root exists,
# it runs `strata demo` (as root: the engine builds a sample store in a temporary root, runs
# containers that write, copy up and delete, shows df -v, du and diff, and removes it); as a
# non-root user it plants a sample store with scripts/sample-store.sh and reports that. So the
# command works on any machine, Docker or not.
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
if [ "$(id -u)" = 0 ]; then
  echo "No Docker data root here; strata's engine makes one to show"
  exec "$STRATA" demo "$@"
fi
SAMPLE=$(mktemp -d /tmp/strata-sample.XXXXXX)
trap 'rm -rf "$SAMPLE"' EXIT
echo "No Docker data root here; reporting a sample store planted in $SAMPLE"
scripts/sample-store.sh "$SAMPLE"
"$STRATA" --root "$SAMPLE" df -v "$@"
echo
"$STRATA" --root "$SAMPLE" du "$@"
