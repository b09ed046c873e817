#!/usr/bin/env bash
# strata exporter's resident memory over 1,000 scrapes of a ~300k-entry store, and its scrape
# latency while a walk runs (goal: under 100 ms). Plants the store without Docker
# (scripts/sample-store.sh, then N small files in its volume and its container's writable
# layer), starts the release exporter with walks back to back (--walk-interval 10ms), scrapes
# with curl, and reads VmRSS from /proc/PID/status after 10, 100, 500 and 1000 scrapes.
# Needs curl and python3.
# Usage: benches/exporter-memory.sh [FILES (default 300000)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300000}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q --bin strata
STRATA=$TARGET/release/strata
# On a tmpfs when there is one: planting 300k files on a busy disk takes minutes.
DIR=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
PID=
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT
ROOT=$DIR/root
scripts/sample-store.sh "$ROOT" >/dev/null
python3 - "$ROOT" "$N" <<'PY'
import os, sys, glob
root, n = sys.argv[1], int(sys.argv[2])
volume = os.path.join(root, "volumes", "data", "_data")
mounts = glob.glob(os.path.join(root, "image", "overlay2", "layerdb", "mounts", "*", "mount-id"))
rw = [os.path.join(root, "overlay2", open(m).read().strip(), "diff") for m in mounts]
targets = [volume] + rw
for i in range(n):
    base = targets[i % len(targets)]
    sub = os.path.join(base, "planted", f"d{i // 1000}")
    if i % 1000 < len(targets):
        os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"f{i}"), "wb") as f:
        f.write(b"x" * (i % 200))
PY
echo "store: $(find "$ROOT" | wc -l) entries"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=http://127.0.0.1:$PORT/metrics
"$STRATA" --root "$ROOT" exporter --listen "127.0.0.1:$PORT" --walk-interval 10ms &
PID=$!
until curl -sf -o /dev/null "$URL"; do sleep 0.1; done
until curl -s "$URL" | grep -q '^strata_scans_total{.*phase="walk"} [1-9]'; do sleep 0.2; done
echo "first walk: $(curl -s "$URL" | grep '^strata_scan_duration_seconds{.*walk' | awk '{print $2}') s"
rss() { awk '/VmRSS/ {print $2 " " $3}' "/proc/$PID/status"; }
echo "RSS after the first walk: $(rss)"
for i in $(seq 1 1000); do
  curl -s -o /dev/null "$URL"
  case $i in 10 | 100 | 500 | 1000) echo "RSS after $i scrapes: $(rss)" ;; esac
done
echo "walks completed: $(curl -s "$URL" | grep '^strata_scans_total{.*walk' | awk '{print $2}')"
# Latency of scrapes answered while a walk was running (the body says so).
LAT=$DIR/latency
: >"$LAT"
while [ "$(wc -l <"$LAT")" -lt 100 ]; do
  t=$(curl -s -o "$DIR/body" -w '%{time_total}' "$URL")
  grep -q '^strata_scan_in_progress{.*} 1$' "$DIR/body" && echo "$t" >>"$LAT"
done
python3 - "$LAT" <<'PY'
import sys
t = sorted(float(x) * 1000 for x in open(sys.argv[1]))
p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
print(f"scrape latency during a walk, {len(t)} scrapes: min {t[0]:.1f} ms, median {p(0.5):.1f} ms, "
      f"p95 {p(0.95):.1f} ms, max {t[-1]:.1f} ms (goal: < 100 ms): "
      + ("met" if p(0.95) < 100 else "NOT met"))
PY
