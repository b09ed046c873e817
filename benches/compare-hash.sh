#!/usr/bin/env bash
# strata verify and strata dupes against sha256sum of the same bytes, in one hyperfine run,
# on a large dockerd-made store. Needs root, Debian's docker.io, busybox-static and hyperfine.
# Usage: benches/compare-hash.sh [MB_PER_LAYER (default 200)]
# The store: two images, each with a layer of random data and a layer holding the same big file
# copied from the build context (a duplicate across layers that are not shared).
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-200}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -q
STRATA=$CARGO_TARGET_DIR/release/strata
source scripts/dockerd-temp.sh overlay2
trap 'stop_dockerd 2>/dev/null || true; rm -rf "$DIR"' EXIT
busybox_image
CTX=$DIR/ctx
mkdir -p "$CTX"
head -c "$((MB * 1000 * 1000))" /dev/urandom >"$CTX/big.bin"
for app in 1 2; do
  printf 'FROM bb:1\nRUN head -c %s /dev/urandom > /random%s.bin\nCOPY big.bin /big.bin\n' \
    "$((MB * 1000 * 1000 + app))" "$app" >"$DIR/Dockerfile.app$app"
  DOCKER_BUILDKIT=0 $DOCKER build -q --network none -t "app:$app" -f "$DIR/Dockerfile.app$app" "$CTX" >/dev/null
done
stop_dockerd
# The same bytes for the peer: every file of every layer (verify), the files dupes reads.
mapfile -t LAYER_FILES < <(find "$ROOT/overlay2" -path '*/diff/*' -type f)
VERIFY_BYTES=$($STRATA --root "$ROOT" --format json verify | sed -n 's/^  "Bytes": \([0-9]*\),$/\1/p')
DUPES_JSON=$($STRATA --root "$ROOT" --format json dupes)
DUPES_BYTES=$(printf '%s' "$DUPES_JSON" | sed -n 's/^  "HashedBytes": \([0-9]*\),$/\1/p')
mapfile -t DUPE_FILES < <(for f in "${LAYER_FILES[@]}"; do [ "$(basename "$f")" = big.bin ] && echo "$f"; done)
echo "verify hashes $VERIFY_BYTES bytes (tar streams); dupes hashes $DUPES_BYTES bytes"
hyperfine -N -w 1 -r 5 --export-json "$DIR/hash.json" \
  "$STRATA --root $ROOT verify" \
  "sha256sum ${LAYER_FILES[*]}" \
  "$STRATA --root $ROOT dupes" \
  "sha256sum ${DUPE_FILES[*]}" \
  "$STRATA --root $ROOT --threads 1 verify" \
  "$STRATA --root $ROOT --threads 1 dupes"
python3 - "$DIR/hash.json" "$VERIFY_BYTES" "$DUPES_BYTES" <<'PY'
import json, sys
runs = json.load(open(sys.argv[1]))["results"]
verify_b, dupes_b = int(sys.argv[2]), int(sys.argv[3])
sizes = [verify_b, verify_b, dupes_b, dupes_b, verify_b, dupes_b]
mbs = [b / 1e6 / r["mean"] for b, r in zip(sizes, runs)]
print(f"verify {mbs[0]:.0f} MB/s vs sha256sum {mbs[1]:.0f} MB/s: {mbs[0] / mbs[1]:.2f}x"
      f" (one thread: {mbs[4]:.0f} MB/s, {mbs[4] / mbs[1]:.2f}x)")
print(f"dupes  {mbs[2]:.0f} MB/s vs sha256sum {mbs[3]:.0f} MB/s: {mbs[2] / mbs[3]:.2f}x"
      f" (one thread: {mbs[5]:.0f} MB/s, {mbs[5] / mbs[3]:.2f}x)")
PY
