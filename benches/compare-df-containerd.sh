#!/usr/bin/env bash
# strata df -v against docker system df -v on one large store of the containerd image store
# (Debian trixie's dockerd 26.1 with "containerd-snapshotter", its own containerd 1.7), in one
# hyperfine run: 12 images (classic builds) sharing the base image's two layers of
# FILES_PER_LAYER files, 4 running containers that each copy up 2000 files, delete ~1100
# and write 2000 into a volume (scripts/dockerd-temp.sh bench_store). Needs root, Debian's
# docker.io and busybox-static; fetches the trixie daemons (scripts/trixie-daemons.sh) and
# installs hyperfine when missing. Not part of the test suite.
# Usage: benches/compare-df-containerd.sh [FILES_PER_LAYER (default 25000)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-25000}
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine
cargo build --release -q
STRATA=${CARGO_TARGET_DIR:-$PWD/target}/release/strata
source scripts/dockerd-temp.sh containerd
trap 'stop_dockerd; rm -rf "$DIR"' EXIT
bench_store "$N" 2000 12
$DOCKER info --format '{{.Driver}} {{json .DriverStatus}}'
hyperfine -N -w 2 -r 10 --export-markdown "$DIR/df.md" \
  "$STRATA --root $ROOT df -v" \
  "$DOCKER system df -v"
cat "$DIR/df.md"
