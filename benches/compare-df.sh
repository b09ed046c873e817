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
busybox_image
CTX=$DIR/ctx
mkdir -p "$CTX"
# Two layers of N small files each, shared by three images.
cat >"$DIR/Dockerfile.base" <<DOCKERFILE
FROM bb:1
RUN mkdir -p /data/a && cd /data/a && i=0; while [ \$i -lt $N ]; do echo \$i > f\$i; i=\$((i+1)); done
RUN mkdir -p /data/b && cd /data/b && i=0; while [ \$i -lt $N ]; do echo \$i\$i > g\$i; i=\$((i+1)); done
DOCKERFILE
DOCKER_BUILDKIT=0 $DOCKER build -q --network none -t base:1 -f "$DIR/Dockerfile.base" "$CTX" >/dev/null
for app in 1 2 3; do
  printf 'FROM base:1\nRUN echo app%s > /app && dd if=/dev/zero of=/blob bs=1k count=%s 2>/dev/null\n' "$app" "$((app*500))" >"$DIR/Dockerfile.app$app"
  DOCKER_BUILDKIT=0 $DOCKER build -q --network none -t "app:$app" -f "$DIR/Dockerfile.app$app" "$CTX" >/dev/null
done
# Containers with copy-on-write churn, volumes with many files.
for c in 1 2 3 4; do
  $DOCKER run -d --network none --name "churn$c" -v "vol$c:/vol" "app:$((c%3+1))" sh -c \
    'for i in $(seq 2000); do echo x >> /data/a/f$i; echo n > /vol/n$i; done; rm -rf /data/b/g1*; sleep 100000' >/dev/null
done
sleep 8
echo "store: $(find "$ROOT" -xdev | wc -l) entries"
hyperfine -N -w 2 -r 10 --export-markdown "$DIR/df.md" \
  "$STRATA --root $ROOT df -v" \
  "$DOCKER system df -v"
cat "$DIR/df.md"
