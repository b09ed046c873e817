#!/usr/bin/env bash
# strata's engine against dockerd, release build, one hyperfine run each:
#  1. `strata run --rm bb:1 true` vs `docker run --rm --network none bb:1 true`, the same
#     busybox image imported into each store (container start to exit and removal);
#  2. `strata import` vs `docker import` of the same 200 MB root filesystem tar (the busybox
#     rootfs and 200 files of 1 MB of random bytes).
# Needs root, Debian's docker.io, busybox-static and hyperfine. Never touches /var/lib/docker.
# Usage: benches/compare-run.sh [RUNS (default 20)]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-20}
cargo build --release -q
STRATA=${CARGO_TARGET_DIR:-$PWD/target}/release/strata
source scripts/dockerd-temp.sh overlay2
SROOT=$DIR/strata-root
cleanup() {
  stop_dockerd
  grep -o " $DIR[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$DIR"
}
trap cleanup EXIT
busybox_image
$STRATA --root "$SROOT" import "$DIR/rootfs.tar" bb:1 >/dev/null

hyperfine -N -w 3 -r "$RUNS" --export-markdown "$DIR/run.md" \
  -n "strata run --rm" "$STRATA --root $SROOT run --rm bb:1 true" \
  -n "docker run --rm" "$DOCKER run --rm --network none bb:1 true"

BIG=$DIR/big
mkdir -p "$BIG"
cp -a "$DIR/rootfs/." "$BIG/"
for i in $(seq 200); do head -c 1048576 /dev/urandom >"$BIG/f$i"; done
tar -C "$BIG" -cf "$DIR/big.tar" .
echo "rootfs tar: $(du -h "$DIR/big.tar" | cut -f1)"
hyperfine -N -w 1 -r 5 --export-markdown "$DIR/import.md" \
  -n "strata import" "$STRATA --root $SROOT import $DIR/big.tar big:1" \
  -n "docker import" "$DOCKER import $DIR/big.tar big:1"
cat "$DIR/run.md" "$DIR/import.md"
