#!/usr/bin/env bash
# Builds strata as one static executable (glibc linked in: `-C target-feature=+crt-static`),
# the binary the FROM-scratch image of deploy/image holds, and prints its path.
#   scripts/static-binary.sh            a debug build without debug info (what the tests use)
#   scripts/static-binary.sh --release  the release build, for deployment
# The target is named (`--target`), so build scripts and proc macros stay dynamic (rustc
# cannot build a proc macro with crt-static) while the binary is static; its own target
# directory (target/static) keeps the normal builds' artifacts untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=debug
flags=()
if [ "${1:-}" = --release ]; then
  profile=release
  flags=(--release)
elif [ -n "${1:-}" ]; then
  echo "static-binary.sh: unknown argument '$1' (only --release)" >&2
  exit 2
fi
triple="$(rustc -vV | sed -n 's/^host: //p')"
export CARGO_TARGET_DIR="$PWD/target/static"
CARGO_PROFILE_DEV_DEBUG=false \
  RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build -q "${flags[@]}" --target "$triple" --bin strata >&2
bin="$CARGO_TARGET_DIR/$triple/$profile/strata"
if readelf -d "$bin" | grep -q '(NEEDED)'; then
  echo "static-binary.sh: $bin needs shared libraries" >&2
  exit 1
fi
echo "$bin"
