#!/usr/bin/env bash
# A podman 4.3 store for reading by hand: the fixture of tests/it/fixture/podman.rs (the same
# images, containers and volumes, the same names), made on a temporary root, then copied with
# its containers stopped to OUT (default /work/podman-sample): OUT/root is the graphroot,
# OUT/runroot the runroot, beside podman's own answers (api-df-running.json and
# api-df-stopped.json from GET /v4.0.0/libpod/system/df, podman-system-df-v.txt,
# podman-images.json, podman-ps.json, podman-diff.json, podman-volume-ls.json) and a README
# naming every object. Needs root, Debian's podman and busybox-static. Never touches the host's
# /var/lib/containers or /run/containers: see tests/it/harness/podman.rs for how.
# Usage: scripts/podman-sample.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-/work/podman-sample}
source scripts/podman-temp.sh
trap 'stop_podman; rm -rf "$DIR"' EXIT

fixture_store
$PODMAN images -a --format json >"$DIR/podman-images.json"
$PODMAN ps -a --format json --size >"$DIR/podman-ps.json"
$PODMAN diff --format json strata-exited >"$DIR/podman-diff.json"
$PODMAN volume ls --format json >"$DIR/podman-volume-ls.json"
$PODMAN system df -v >"$DIR/podman-system-df-v.txt"
start_service
api_get /v4.0.0/libpod/system/df | jq . >"$DIR/api-df-running.json"
$PODMAN stop -a -t 0 >/dev/null
api_get /v4.0.0/libpod/system/df | jq . >"$DIR/api-df-stopped.json"
$PODMAN ps -a --format json --size >"$DIR/podman-ps-stopped.json"
stop_podman

rm -rf "$OUT"
mkdir -p "$OUT"
cp -a "$DIR/root" "$DIR/runroot" "$OUT/"
cp "$DIR"/*.json "$DIR/podman-system-df-v.txt" "$OUT/"
id_of() { jq -r --arg n "$1" '.[] | select(.Names[0] == $n) | .Id' "$DIR/podman-ps.json"; }
image_of() { jq -r --arg t "localhost/$1" '.[] | select((.Names // []) | index($t)) | .Id' "$DIR/podman-images.json" | sort -u; }
cat >"$OUT/README" <<README
A podman $(podman --version | cut -d' ' -f3) store made by scripts/podman-sample.sh (the fixture
of tests/it/fixture/podman.rs) on $(date -u +%FT%TZ), copied with cp -a after \`podman stop -a\`.

root/     the graphroot (--root), storage driver overlay, libpod state root/libpod/bolt_state.db
runroot/  the runroot (--runroot; on a real host a tmpfs, gone at reboot)
api-df-running.json   GET /v4.0.0/libpod/system/df with strata-running running
api-df-stopped.json   the same after \`podman stop -a\`
podman-system-df-v.txt  \`podman system df -v\` (running), podman-images.json
\`podman images -a --format json\`, podman-ps.json \`podman ps -a --format json --size\`
(running; podman-ps-stopped.json after the stop), podman-diff.json \`podman diff --format json
strata-exited\`, podman-volume-ls.json \`podman volume ls --format json\`.

The store was made in $DIR and copied: absolute paths inside it (bolt_state.db, the volumes'
Mountpoint, the containers' userdata paths) still name $DIR, which no longer exists.
\`podman diff\` leaves out the paths podman itself mounts over (/etc/hosts, /etc/resolv.conf,
/etc/hostname, /run/.containerenv, /dev, /proc, /sys, /run...), but lists their parents.

Images (full ids):
  strata/base:1        $(image_of strata/base:1)  podman import of a busybox rootfs tar
  strata/app:1 (+ strata/app:alias)
                       $(image_of strata/app:1)  base + shared RUN layer (~100 KB) + own layer
  strata/app:2         $(image_of strata/app:2)  base + the same shared layer (build cache) + own
  strata/dangling:1    $(image_of strata/dangling:1)  the second build; the first is <none>:
  dangling             $(jq -r '.[] | select(.Dangling == true and (.Names // []) == []) | .Id' "$DIR/podman-images.json" | tr '\n' ' ')
  (podman build --layers also leaves untagged intermediate images: see podman-images.json)
Containers:
  strata-running  $(id_of strata-running)  sleep on strata/app:1, -v strata-named:/named, wrote /running.txt
  strata-exited   $(id_of strata-exited)  exited 0 on strata/app:2, -v /data (anonymous):
                  appended to /shared/lower.txt (copy-up), rm /shared/remove-me (whiteout),
                  new /new.txt, new dir /newdir with /newdir/x, wrote /data/anon.txt
  strata-created  $(id_of strata-created)  created on strata/base:1, never started
Volumes: strata-named (data written by strata-running), the anonymous one of strata-exited
  ($(jq -r '.[] | select(.Name | test("^[0-9a-f]{64}$")) | .Name' "$DIR/podman-volume-ls.json")), strata-orphan (created, never mounted, filled from the host)
README
echo "sample in $OUT"
