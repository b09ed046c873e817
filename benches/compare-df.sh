#!/usr/bin/env bash
# strata df -v against docker system df -v on one large dockerd-made store, in one hyperfine
# run. Needs root, Debian's docker.io, busybox-static and hyperfine (apt-get install hyperfine).
# Usage: benches/compare-df.sh [FILES_PER_LAYER (default 20000)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-20000}
cargo build --release -q
STRATA=$PWD/target/release/strata
source scripts/dockerd-temp.sh overlay2
trap 'stop_dockerd; rm -rf "$DIR"' EXIT
bench_store "$N" 2000
hyperfine -N -w 2 -r 10 --export-markdown "$DIR/df.md" \
  "$STRATA --root $ROOT df -v" \
  "$DOCKER system df -v"
cat "$DIR/df.md"
