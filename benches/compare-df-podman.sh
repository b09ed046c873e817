#!/usr/bin/env bash
# strata df -v against podman system df on one large containers/storage store (Debian's
# rootful podman 4.3, native overlay), in one hyperfine run: 12 images (podman build) sharing
# the base image's layer of FILES_PER_LAYER files, 4 running containers that each copy up 2000
# files, delete ~1100 and write 2000 into a volume (scripts/podman-temp.sh bench_store). Needs
# root, Debian's podman and busybox-static; installs hyperfine when missing. Not part of the
# test suite.
# Usage: benches/compare-df-podman.sh [FILES_PER_LAYER (default 25000)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-25000}
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine
cargo build --release -q
STRATA=${CARGO_TARGET_DIR:-$PWD/target}/release/strata
source scripts/podman-temp.sh
trap 'stop_podman; rm -rf "$DIR"' EXIT
bench_store "$N" 2000 12
$PODMAN info --format '{{.Store.GraphDriverName}} {{json .Store.GraphStatus}}'
hyperfine -N -w 2 -r 10 --export-markdown "$DIR/df.md" --export-json "$DIR/df.json" \
  "$STRATA --root $ROOT df -v" \
  "$PODMAN system df"
cat "$DIR/df.md"
jq -r '.results | "speedup: strata df -v is \(.[1].mean / .[0].mean * 100 | round / 100)x as fast as podman system df"' "$DIR/df.json"
