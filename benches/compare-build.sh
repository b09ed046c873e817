#!/usr/bin/env bash
# strata build against the classic builder (DOCKER_BUILDKIT=0 docker build) of the same small
# Dockerfile on the same busybox image, cold (--no-cache: every step runs) and fully cached,
# in one hyperfine run. Each builder has its own data root (strata refuses a root a running
# dockerd uses). Needs root, Debian's docker.io, busybox-static and hyperfine.
# Usage: benches/compare-build.sh [RUNS (default 10)]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q
STRATA=$CARGO_TARGET_DIR/release/strata
source scripts/dockerd-temp.sh overlay2
SROOT=$DIR/strata-root
trap 'stop_dockerd 2>/dev/null || true; rm -rf "$DIR"' EXIT
busybox_image
$STRATA --root "$SROOT" import "$DIR/rootfs.tar" bb:1 >/dev/null
CTX=$DIR/ctx
mkdir -p "$CTX/src"
for i in $(seq 50); do echo "module $i" >"$CTX/src/m$i.txt"; done
cat >"$CTX/Dockerfile" <<'DOCKERFILE'
FROM bb:1
ARG VERSION=1
ENV APP_HOME=/app
RUN mkdir -p /opt/deps && head -c 1000000 /dev/zero > /opt/deps/lib.bin && echo $VERSION > /opt/version
WORKDIR $APP_HOME
COPY src ./src
RUN ls src | wc -l > /app/count
LABEL org.example.app=demo
CMD ["cat", "/app/count"]
DOCKERFILE
SBUILD="$STRATA --root $SROOT build -t app:1 $CTX"
DBUILD="env DOCKER_BUILDKIT=0 $DOCKER build --network none -t app:1 $CTX"
# Prime both caches (their last lines show both built the image).
$SBUILD | tail -2
$DBUILD | tail -2
hyperfine -N -w 1 -r "$RUNS" --export-markdown "$DIR/build.md" \
  -n "strata build --no-cache" "$SBUILD --no-cache" \
  -n "docker build --no-cache (classic)" "$DBUILD --no-cache" \
  -n "strata build (cached)" "$SBUILD" \
  -n "docker build (cached, classic)" "$DBUILD"
cat "$DIR/build.md"
