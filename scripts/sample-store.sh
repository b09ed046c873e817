#!/usr/bin/env bash
# Plant a small but complete overlay2 Docker data root in DIR, without Docker: one image of two
# layers, a running-looking container whose writable layer copied up, deleted and added files,
# a named volume and a dangling one. Used by scripts/main.sh where no Docker store exists.
# Usage: scripts/sample-store.sh DIR
set -euo pipefail
ROOT=$1
mkdir -p "$ROOT"
img=$ROOT/image/overlay2
mkdir -p "$img/layerdb/sha256" "$img/layerdb/mounts" "$img/imagedb/content/sha256" \
  "$img/imagedb/metadata/sha256" "$ROOT/overlay2/l" "$ROOT/containers" "$ROOT/volumes"
now=$(date -u +%Y-%m-%dT%H:%M:%S.000000000Z)
parent_chain=""
diff_ids=()
lowers=""
# make_layer NAME: the layer's files are in $stage; writes layerdb + overlay2 dirs.
make_layer() {
  local cache diff chain size short
  cache=$(printf '%s-%s' "$1" "$RANDOM$RANDOM" | sha256sum | cut -c1-64)
  diff=sha256:$(tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner -cf - . | sha256sum | cut -c1-64)
  if [ -z "$parent_chain" ]; then chain=$diff; else
    chain=sha256:$(printf '%s %s' "$parent_chain" "$diff" | sha256sum | cut -c1-64); fi
  size=$(find "$stage" -type f -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  short=$(printf '%s' "$cache" | sha256sum | tr a-f A-F | cut -c1-26)
  mkdir -p "$ROOT/overlay2/$cache/work" "$img/layerdb/sha256/${chain#sha256:}"
  cp -a "$stage" "$ROOT/overlay2/$cache/diff"
  echo -n "$short" >"$ROOT/overlay2/$cache/link"
  ln -s "../$cache/diff" "$ROOT/overlay2/l/$short"
  [ -n "$lowers" ] && echo -n "$lowers" >"$ROOT/overlay2/$cache/lower"
  lowers="l/$short${lowers:+:$lowers}"
  rec=$img/layerdb/sha256/${chain#sha256:}
  echo -n "$diff" >"$rec/diff"; echo -n "$cache" >"$rec/cache-id"; echo -n "$size" >"$rec/size"
  [ -n "$parent_chain" ] && echo -n "$parent_chain" >"$rec/parent"
  parent_chain=$chain
  last_cache=$cache
  diff_ids+=("\"$diff\"")
}
stage=$(mktemp -d)
mkdir -p "$stage/bin" "$stage/etc"
if [ -x /bin/busybox ]; then cp /bin/busybox "$stage/bin/"; ln -s busybox "$stage/bin/sh"; fi
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
head -c 200000 /dev/urandom >"$stage/etc/blob"
make_layer base
rm -rf "$stage"; stage=$(mktemp -d)
mkdir -p "$stage/app"; seq 1 50000 >"$stage/app/data.txt"; echo 'echo hi' >"$stage/app/run.sh"
make_layer app
rm -rf "$stage"
config=$(printf '{"architecture":"amd64","os":"linux","created":"%s","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[{"created":"%s","created_by":"strata sample base"},{"created":"%s","created_by":"strata sample app"}]}' \
  "$now" "$(IFS=,; echo "${diff_ids[*]}")" "$now" "$now")
image_id=$(printf '%s' "$config" | sha256sum | cut -c1-64)
printf '%s' "$config" >"$img/imagedb/content/sha256/$image_id"
printf '{"Repositories":{"sample":{"sample:latest":"sha256:%s"}}}' "$image_id" >"$img/repositories.json"
# A container: init layer + writable layer with a copy-up, a new file and (as root) a whiteout.
cid=$(printf 'container %s' "$RANDOM" | sha256sum | cut -c1-64)
mount=$(printf 'mount %s' "$cid" | sha256sum | cut -c1-64)
mkdir -p "$ROOT/overlay2/$mount-init/diff/etc" "$ROOT/overlay2/$mount/diff/app" "$ROOT/overlay2/$mount/work"
touch "$ROOT/overlay2/$mount-init/diff/etc/hostname" "$ROOT/overlay2/$mount-init/diff/.dockerenv"
cp "$ROOT/overlay2/$last_cache/diff/app/data.txt" "$ROOT/overlay2/$mount/diff/app/data.txt"
echo 50001 >>"$ROOT/overlay2/$mount/diff/app/data.txt"
head -c 300000 /dev/urandom >"$ROOT/overlay2/$mount/diff/app/new.bin"
if [ "$(id -u)" = 0 ]; then mknod "$ROOT/overlay2/$mount/diff/app/run.sh" c 0 0; fi
mkdir -p "$img/layerdb/mounts/$cid" "$ROOT/containers/$cid"
echo -n "$mount" >"$img/layerdb/mounts/$cid/mount-id"
echo -n "$mount-init" >"$img/layerdb/mounts/$cid/init-id"
echo -n "$parent_chain" >"$img/layerdb/mounts/$cid/parent"
printf '{"ID":"%s","Created":"%s","Path":"/bin/sh","Args":["/app/run.sh"],"Config":{"Image":"sample:latest","Labels":{}},"State":{"Running":false,"ExitCode":0,"StartedAt":"%s","FinishedAt":"%s"},"Image":"sha256:%s","Name":"/sample","Driver":"overlay2","MountPoints":{"/data":{"Source":"","Destination":"/data","RW":true,"Name":"data","Driver":"local","Type":"volume"}},"LogPath":"%s"}' \
  "$cid" "$now" "$now" "$now" "$image_id" "$ROOT/containers/$cid/$cid-json.log" >"$ROOT/containers/$cid/config.v2.json"
printf '{"NetworkMode":"none"}' >"$ROOT/containers/$cid/hostconfig.json"
printf '{"log":"hi\\n","stream":"stdout","time":"%s"}\n' "$now" >"$ROOT/containers/$cid/$cid-json.log"
mkdir -p "$ROOT/volumes/data/_data" "$ROOT/volumes/leftover/_data"
seq 1 10000 >"$ROOT/volumes/data/_data/numbers"
head -c 50000 /dev/urandom >"$ROOT/volumes/leftover/_data/old.bin"
