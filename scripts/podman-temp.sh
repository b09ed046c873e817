#!/usr/bin/env bash
# A throw-away rootful podman on its own graphroot, runroot and config, for benchmarks and
# manual checks (the shell twin of tests/it/harness/podman.rs).
# Usage: source scripts/podman-temp.sh
# Sets DIR (temp dir), ROOT (graphroot), RUNROOT, PODMAN (podman with every store flag),
# PODMAN_BUILD (the same in a private mount namespace, for import and build), and functions
# start_service, api_get PATH, stop_podman, busybox_image, fixture_store, bench_store.
# Never touches /var/lib/containers, /run/containers or /run/libpod: tmp_dir, the locks
# (lock_type "file"), the events log and the network config live in DIR; the CNI backend keeps
# netavark's /run/containers/networks away; and the one write podman 4.3 makes outside its
# root whatever its flags (containers/image's blob-info cache in /var/lib/containers/cache)
# lands, for import and build, on a bind mount of DIR/host-cache in a mount namespace of
# their own (with DIR/var-tmp over /var/tmp, where podman build probes). Images are named in
# full (localhost/...): a short name makes containers/image create
# /var/cache/containers/short-name-aliases.conf.lock.
DIR=$(mktemp -d /tmp/strata-podman.XXXXXX)
ROOT=$DIR/root
RUNROOT=$DIR/runroot
mkdir -p "$ROOT" "$RUNROOT" "$DIR/tmp" "$DIR/net" "$DIR/copy-tmp" "$DIR/host-cache"
# runc keeps its state in /run/runc unless told otherwise, and podman passes it no --root.
printf '#!/bin/sh\nexec /usr/sbin/runc --root %s/runc "$@"\n' "$DIR" >"$DIR/runc.sh"
chmod +x "$DIR/runc.sh"
cat >"$DIR/containers.conf" <<CONF
[containers]
default_ulimits = []
[network]
default_network = "none"
network_backend = "cni"
network_config_dir = "$DIR/net"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$DIR/tmp/events.log"
image_copy_tmp_dir = "$DIR/copy-tmp"
lock_type = "file"
static_dir = "$ROOT/libpod"
tmp_dir = "$DIR/tmp"
volume_path = "$ROOT/volumes"
runtime = "runc"
[engine.runtimes]
runc = ["$DIR/runc.sh"]
CONF
printf '[storage]\ndriver = "overlay"\ngraphroot = "%s"\nrunroot = "%s"\n' "$ROOT" "$RUNROOT" \
  >"$DIR/storage.conf"
export CONTAINERS_CONF=$DIR/containers.conf CONTAINERS_STORAGE_CONF=$DIR/storage.conf
export CONTAINERS_REGISTRIES_CONF=$DIR/registries.conf TMPDIR=$DIR/copy-tmp
printf 'unqualified-search-registries = []\n' >"$DIR/registries.conf"
PODMAN="podman --root $ROOT --runroot $RUNROOT --storage-driver overlay --cgroup-manager cgroupfs --events-backend file --tmpdir $DIR/tmp"
# The deepest existing directory of /var/lib/containers/cache, hidden in the namespace.
for HOST_CACHE in /var/lib/containers/cache /var/lib/containers /var/lib; do
  [ -d "$HOST_CACHE" ] && break
done
mkdir -p "$DIR/var-tmp"
PODMAN_BUILD="/usr/bin/unshare --mount --propagation slave -- sh -c 'mount --bind \"\$0\" $HOST_CACHE && mount --bind $DIR/var-tmp /var/tmp && exec \"\$@\"' $DIR/host-cache $PODMAN"
podman_build() { eval "$PODMAN_BUILD" '"$@"'; }
SERVICE_PID=
# Starts the API (podman system service) on $DIR/podman.sock.
start_service() {
  $PODMAN system service --time 0 "unix://$DIR/podman.sock" >"$DIR/service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 100); do [ -S "$DIR/podman.sock" ] && break; sleep 0.1; done
}
# GET PATH on the API (start_service first).
api_get() {
  curl -sf --unix-socket "$DIR/podman.sock" "http://d$1"
}
# Stops every container, the API service, and unmounts whatever is left under DIR.
stop_podman() {
  $PODMAN stop -a -t 0 >/dev/null 2>&1 || true
  if [ -n "$SERVICE_PID" ]; then kill "$SERVICE_PID" 2>/dev/null; wait "$SERVICE_PID" 2>/dev/null || true; SERVICE_PID=; fi
  # conmon and the `podman container cleanup` it runs name our root: wait for them to go.
  for _ in $(seq 300); do pgrep -f -- "--root $ROOT " >/dev/null || break; sleep 0.1; done
  $PODMAN unmount -a >/dev/null 2>&1 || true
  findmnt -rn -o TARGET | grep -F "$DIR" | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}
# strata/base:1: a busybox rootfs from busybox-static, by podman import.
busybox_image() {
  local rootfs=$DIR/rootfs
  mkdir -p "$rootfs/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/root"
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$rootfs/etc/passwd"
  echo 'strata test image' >"$rootfs/etc/motd"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
  done
  tar --numeric-owner -C "$rootfs" -cf "$DIR/rootfs.tar" .
  podman_build import -q "$DIR/rootfs.tar" localhost/strata/base:1 >/dev/null
}
# build TAG CONTAINERFILE-TEXT: podman build with no network and no pull.
build() {
  mkdir -p "$DIR/ctx"
  printf '%s' "$2" >"$DIR/ctx/Containerfile"
  podman_build build -q --pull=never --network none -t "$1" -f "$DIR/ctx/Containerfile" "$DIR/ctx" >/dev/null
}
SHARED_RUN='RUN mkdir /shared && head -c 100000 /bin/busybox > /shared/chunk.bin && echo lower > /shared/lower.txt && echo "remove me" > /shared/remove-me && ln /shared/lower.txt /shared/lower-link && ln -s chunk.bin /shared/chunk-link'
# The fixture of tests/it/fixture/podman.rs (keep the two alike).
fixture_store() {
  busybox_image
  build localhost/strata/app:1 "FROM localhost/strata/base:1
$SHARED_RUN
RUN echo one > /app1.txt && head -c 20000 /bin/busybox > /app1.bin
"
  build localhost/strata/app:2 "FROM localhost/strata/base:1
$SHARED_RUN
RUN echo two > /app2.txt && head -c 40000 /bin/busybox > /app2.bin
LABEL org.strata.fixture=app2
"
  build localhost/strata/dangling:1 "FROM localhost/strata/base:1
RUN echo one > /version
"
  build localhost/strata/dangling:1 "FROM localhost/strata/base:1
RUN echo two, longer > /version
"
  $PODMAN tag localhost/strata/app:1 localhost/strata/app:alias
  $PODMAN run -d --pull never --network none --name strata-running -v strata-named:/named \
    localhost/strata/app:1 sleep 1000 >/dev/null
  $PODMAN exec strata-running sh -c 'echo named > /named/data && echo running > /running.txt'
  $PODMAN run --pull never --network none --name strata-exited -v /data localhost/strata/app:2 sh -c \
    'echo appended >> /shared/lower.txt && rm /shared/remove-me && echo new > /new.txt && mkdir /newdir && echo x > /newdir/x && echo anon > /data/anon.txt'
  $PODMAN create --pull never --network none --name strata-created localhost/strata/base:1 true >/dev/null
  $PODMAN volume create strata-orphan >/dev/null
  printf 'left behind\n' >"$ROOT/volumes/strata-orphan/_data/orphan.txt"
  head -c 10000 /dev/zero >"$ROOT/volumes/strata-orphan/_data/block.bin"
}
# The benchmark store: a base image whose one layer holds N small files, shared by APPS app
# images (default 12) of a layer each, and four running containers that each copy up CHURN
# files of the shared layer, delete some, and write CHURN files into a volume of their own.
# Returns once all are done. Usage: bench_store N CHURN [APPS]
bench_store() {
  local n=$1 churn=$2 apps=${3:-12}
  busybox_image
  build localhost/bench/base:1 "FROM localhost/strata/base:1
RUN mkdir -p /data/a && cd /data/a && i=0; while [ \$i -lt $n ]; do echo \$i > f\$i; i=\$((i+1)); done
"
  for app in $(seq "$apps"); do
    build "localhost/bench/app:$app" "FROM localhost/bench/base:1
RUN echo app$app > /app && dd if=/dev/zero of=/blob bs=1k count=$((app * 500)) 2>/dev/null
"
  done
  for c in 1 2 3 4; do
    $PODMAN run -d --pull never --network none --name "churn$c" -v "vol$c:/vol" \
      "localhost/bench/app:$((c % apps + 1))" sh -c \
      "i=0; while [ \$i -lt $churn ]; do echo x >> /data/a/f\$i; echo n > /vol/n\$i; i=\$((i+1)); done; rm -rf /data/a/f1*; touch /ready; sleep 100000" >/dev/null
  done
  for c in 1 2 3 4; do
    until $PODMAN exec "churn$c" test -e /ready 2>/dev/null; do sleep 1; done
  done
  echo "store: $(find "$ROOT" -xdev | wc -l) entries, $(du -sxh "$ROOT" | cut -f1)"
}
