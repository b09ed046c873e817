#!/usr/bin/env bash
# Start a throw-away dockerd on its own data root, for benchmarks and manual checks.
# Usage: source scripts/dockerd-temp.sh [overlay2|vfs|containerd]
# overlay2 and vfs: Debian's docker.io (20.10) with that graphdriver. containerd: Debian
# trixie's dockerd 26.1 with the containerd image store (snapshotter overlayfs) over the
# containerd 1.7 it starts itself (root $ROOT/containerd/daemon), both unpacked by
# scripts/trixie-daemons.sh (run here when missing).
# Sets DIR (temp dir), ROOT (data root), DOCKER (the Debian CLI bound to the daemon) and a
# stop_dockerd function. Never touches /var/lib/docker; no bridge, no iptables.
DRIVER=${1:-overlay2}
DIR=$(mktemp -d /tmp/strata-dockerd.XXXXXX)
ROOT=$DIR/root
if [ "$DRIVER" = containerd ]; then
  TRIXIE=$("$(dirname "${BASH_SOURCE[0]}")/trixie-daemons.sh")
  echo '{"features": {"containerd-snapshotter": true}}' >"$DIR/daemon.json"
  PATH=$TRIXIE/x/usr/bin:$TRIXIE/x/usr/sbin:$PATH "$TRIXIE/x/usr/sbin/dockerd" \
    --config-file "$DIR/daemon.json" --data-root "$ROOT" --exec-root "$DIR/exec" \
    --pidfile "$DIR/pid" -H "unix://$DIR/sock" \
    --bridge=none --iptables=false --ip-masq=false >"$DIR/log" 2>&1 &
else
  echo '{}' >"$DIR/daemon.json"
  dockerd --config-file "$DIR/daemon.json" --data-root "$ROOT" --exec-root "$DIR/exec" \
    --pidfile "$DIR/pid" -H "unix://$DIR/sock" --storage-driver "$DRIVER" \
    --bridge=none --iptables=false --ip-masq=false >"$DIR/log" 2>&1 &
fi
DOCKER="/usr/bin/docker -H unix://$DIR/sock"
for _ in $(seq 100); do $DOCKER version >/dev/null 2>&1 && break; sleep 0.2; done
stop_dockerd() {
  kill "$(cat "$DIR/pid")" 2>/dev/null
  while [ -e "$DIR/pid" ]; do sleep 0.2; done
}
# A busybox image from busybox-static: bb:1
busybox_image() {
  local rootfs=$DIR/rootfs
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
  tar -C "$rootfs" -cf "$DIR/rootfs.tar" .
  $DOCKER import "$DIR/rootfs.tar" bb:1 >/dev/null
}
# The benchmark store: two layers of N small files shared by APPS app images (default 3;
# classic builder, which works on both stores), and four running containers that each copy up
# CHURN files of the shared layer, delete some, and write CHURN files into a volume of their
# own. Returns once all are done. Usage: bench_store N CHURN [APPS]
bench_store() {
  local n=$1 churn=$2 apps=${3:-3} ctx=$DIR/ctx
  busybox_image
  mkdir -p "$ctx"
  cat >"$DIR/Dockerfile.base" <<DOCKERFILE
FROM bb:1
RUN mkdir -p /data/a && cd /data/a && i=0; while [ \$i -lt $n ]; do echo \$i > f\$i; i=\$((i+1)); done
RUN mkdir -p /data/b && cd /data/b && i=0; while [ \$i -lt $n ]; do echo \$i\$i > g\$i; i=\$((i+1)); done
DOCKERFILE
  DOCKER_BUILDKIT=0 $DOCKER build -q --network none -t base:1 -f "$DIR/Dockerfile.base" "$ctx" >/dev/null
  for app in $(seq "$apps"); do
    printf 'FROM base:1\nRUN echo app%s > /app && dd if=/dev/zero of=/blob bs=1k count=%s 2>/dev/null\n' "$app" "$((app*500))" >"$DIR/Dockerfile.app$app"
    DOCKER_BUILDKIT=0 $DOCKER build -q --network none -t "app:$app" -f "$DIR/Dockerfile.app$app" "$ctx" >/dev/null
  done
  for c in 1 2 3 4; do
    $DOCKER run -d --network none --name "churn$c" -v "vol$c:/vol" "app:$((c % apps + 1))" sh -c \
      "i=0; while [ \$i -lt $churn ]; do echo x >> /data/a/f\$i; echo n > /vol/n\$i; i=\$((i+1)); done; rm -rf /data/b/g1*; touch /ready; sleep 100000" >/dev/null
  done
  for c in 1 2 3 4; do
    until $DOCKER exec "churn$c" test -e /ready 2>/dev/null; do sleep 1; done
  done
  echo "store: $(find "$ROOT" -xdev | wc -l) entries, $(du -sxh "$ROOT" | cut -f1)"
}
