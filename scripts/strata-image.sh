#!/usr/bin/env bash
# Builds the image of deploy/image with strata's own engine: the static release binary
# (scripts/static-binary.sh --release) in a FROM-scratch image, written into a Docker data
# root (as root; stop dockerd first, as for every engine verb writing its root).
#   scripts/strata-image.sh [--debug] ROOT [TAG]     (default tag strata:latest)
set -euo pipefail
cd "$(dirname "$0")/.."
build_flag=--release
if [ "${1:-}" = --debug ]; then
  build_flag=
  shift
fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: scripts/strata-image.sh [--debug] ROOT [TAG]" >&2
  exit 2
fi
root="$1"
tag="${2:-strata:latest}"
bin="$(scripts/static-binary.sh $build_flag)"
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp deploy/image/Dockerfile "$context/Dockerfile"
cp "$bin" "$context/strata"
"$bin" --root "$root" build -t "$tag" "$context"
