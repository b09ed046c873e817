#!/usr/bin/env bash
# Debian trixie's dockerd 26.1 (package docker.io) and containerd 1.7 (package containerd),
# unpacked, not installed, for the containerd-store tests (tests/it/containerd.rs) and
# benches/compare-df-containerd.sh. Both run on bookworm's libc; bookworm's runc serves.
# Usage: scripts/trixie-daemons.sh [DIR]  (default /opt/strata-trixie). Prints DIR; the
# binaries are then DIR/x/usr/sbin/dockerd and DIR/x/usr/bin/{containerd,containerd-shim-runc-v2,ctr}.
# Idempotent: a second run finds them and only prints DIR. Needs deb.debian.org and root
# (apt-get's lock and sandbox); touches nothing of the host's apt state or packages.
set -euo pipefail
DIR=${1:-/opt/strata-trixie}
X=$DIR/x
have() {
  [ -x "$X/usr/sbin/dockerd" ] && [ -x "$X/usr/bin/containerd" ] \
    && [ -x "$X/usr/bin/containerd-shim-runc-v2" ] && [ -x "$X/usr/bin/ctr" ]
}
if have; then
  echo "$DIR"
  exit 0
fi
mkdir -p "$DIR/lists/partial" "$DIR/cache/archives/partial" "$DIR/debs"
# bookworm's debian-archive-keyring (2023.3+deb12u2) holds trixie's release key.
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' \
  >"$DIR/sources.list"
apt=(apt-get -q -o "Dir::Etc::sourcelist=$DIR/sources.list" -o Dir::Etc::sourceparts=-
  -o "Dir::State::Lists=$DIR/lists" -o "Dir::Cache=$DIR/cache" -o APT::Sandbox::User=root)
"${apt[@]}" update >&2
rm -f "$DIR"/debs/*.deb
(cd "$DIR/debs" && "${apt[@]}" download docker.io containerd >&2)
tmp=$(mktemp -d "$DIR/x.XXXXXX")
for deb in "$DIR"/debs/*.deb; do
  dpkg -x "$deb" "$tmp"
done
rm -rf "$X"
mv "$tmp" "$X"
chmod 755 "$X"
have || { echo "trixie-daemons: the unpacked packages lack a binary under $X" >&2; exit 1; }
echo "$DIR"
