#!/usr/bin/env bash
# Everything the tests need on a fresh Debian machine, then the tests. Run as root for the
# real-dockerd tests (they skip with a message otherwise, and fail when STRATA_TEST_NO_SKIP=1).
set -euo pipefail
cd "$(dirname "$0")/.."
# strace: containment::every_open_is_beneath_the_root lists every file strata opens.
# podman and runc (named: apt would pick crun for podman's `crun | runc`): tests/it/podman.rs
# runs a rootful podman with native overlay; tests/it/podman_rootless.rs a throwaway user's
# rootless podman, which needs uidmap (newuidmap), and fuse-overlayfs for its mount-program
# store (slirp4netns is rootless podman's network helper; the tests use --network none).
# btrfs-progs: mkfs.btrfs makes the loop-mounted btrfs the btrfs graphdriver's dockerd runs on;
# fuse-overlayfs also serves dockerd's fuse-overlayfs graphdriver.
# tmux: tests/it/du_interactive.rs drives `strata du -i` in a tmux pane.
if [ "$(id -u)" = 0 ] && { ! command -v dockerd >/dev/null || [ ! -x /bin/busybox ] \
  || ! command -v strace >/dev/null || ! command -v podman >/dev/null \
  || [ ! -x /usr/bin/newuidmap ] || [ ! -x /usr/bin/fuse-overlayfs ] \
  || [ ! -x /sbin/mkfs.btrfs ] || ! command -v tmux >/dev/null; }; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends docker.io busybox-static strace btrfs-progs \
    tmux
  # podman with its recommends (buildah, netavark, uidmap, fuse-overlayfs, slirp4netns), as on
  # the machines the podman tests were written on; runc named besides.
  apt-get install -y -q podman runc uidmap fuse-overlayfs slirp4netns
fi
# Debian trixie's dockerd 26.1 and containerd 1.7, unpacked into /opt/strata-trixie (not
# installed): the containerd-store tests (tests/it/containerd.rs) run them.
if [ "$(id -u)" = 0 ]; then
  scripts/trixie-daemons.sh >/dev/null
fi
cargo test --workspace
