#!/usr/bin/env bash
# strata du against du, dua, dust, ncdu, docker system df -v and the bare parallel walk
# (../shared/bench/limit-walk) on one large dockerd-made store, warm and cold cache, in one
# hyperfine run each; then peak memory (/usr/bin/time -v). Needs root, Debian's docker.io,
# busybox-static, hyperfine, ncdu and time (apt-get install hyperfine ncdu time); installs
# dust and dua with cargo when missing.
# Usage: benches/compare-du.sh [FILES_PER_LAYER (default 100000)]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
command -v dust >/dev/null || cargo install du-dust
command -v dua >/dev/null || cargo install dua-cli --no-default-features
LIMIT_WALK_SRC=$(cd ../shared/bench/limit-walk 2>/dev/null && pwd || true)
if [ -n "$LIMIT_WALK_SRC" ]; then
  CARGO_TARGET_DIR=/tmp/strata-limit-walk cargo build -q --release --manifest-path "$LIMIT_WALK_SRC/Cargo.toml"
  LIMIT_WALK=/tmp/strata-limit-walk/release/limit-walk
fi
cargo build --release -q
STRATA=$PWD/target/release/strata
source scripts/dockerd-temp.sh overlay2
trap 'stop_dockerd; rm -rf "$DIR"' EXIT
bench_store "$N" 10000
echo "strata du total: $("$STRATA" --root "$ROOT" --bytes du --flat -d 0 | tail -1)"
echo "du -sxB1:        $(du -sxB1 "$ROOT")"
CMDS=(
  "$STRATA --root $ROOT du --flat -d 1"
  "du -sx $ROOT"
  "du -sbx --apparent-size $ROOT"
  "dua -x aggregate $ROOT"
  "dust -x -n 0 $ROOT"
  "ncdu -x -o /dev/null $ROOT"
  "$DOCKER system df -v"
)
[ -n "${LIMIT_WALK:-}" ] && CMDS+=("$LIMIT_WALK $ROOT")
OUT=${BENCH_OUT:-$PWD/target/bench-du}
mkdir -p "$OUT"
hyperfine -N -w 2 -r 10 --export-markdown "$OUT/warm.md" --export-json "$OUT/warm.json" "${CMDS[@]}"
hyperfine -N -r 5 --prepare "sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'" \
  --export-markdown "$OUT/cold.md" --export-json "$OUT/cold.json" "${CMDS[@]}"
echo "## peak memory (max RSS, KiB)" >"$OUT/memory.md"
for cmd in "${CMDS[@]}"; do
  rss=$(/usr/bin/time -v $cmd 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}')
  echo "| \`${cmd% *}\` | $rss |" >>"$OUT/memory.md"
done
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
for run in ("warm", "cold"):
    res = json.load(open(os.path.join(out, run + ".json")))["results"]
    def label(cmd):
        words = cmd.split()
        name = words[0].rsplit("/", 1)[-1]
        return name if name != "du" else " ".join(w for w in words[:-1])
    base = {label(r["command"]): r["mean"] for r in res}
    strata = base["strata"]
    floor = base.get("limit-walk")
    print(f"## {run} cache: mean seconds, and ratio to strata")
    for name, mean in base.items():
        extra = f"  (strata / limit-walk = {strata / floor:.2f})" if name == "limit-walk" and floor else ""
        print(f"| {name} | {mean:.3f} | {mean / strata:.2f}x |{extra}")
PY
cat "$OUT/memory.md"
