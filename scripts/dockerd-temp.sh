#!/usr/bin/env bash
# Start a throw-away dockerd (Debian's docker.io) on its own data root, for benchmarks and
# manual checks. Usage: source scripts/dockerd-temp.sh [overlay2|vfs]
# Sets DIR (temp dir), ROOT (data root), DOCKER (the Debian CLI bound to the daemon) and a
# stop_dockerd function. Never touches /var/lib/docker; no bridge, no iptables.
DRIVER=${1:-overlay2}
DIR=$(mktemp -d /tmp/strata-dockerd.XXXXXX)
ROOT=$DIR/root
dockerd --data-root "$ROOT" --exec-root "$DIR/exec" --pidfile "$DIR/pid" \
  -H "unix://$DIR/sock" --storage-driver "$DRIVER" \
  --bridge=none --iptables=false --ip-masq=false >"$DIR/log" 2>&1 &
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
