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
# prometheus (the server and promtool) and prometheus-node-exporter: tests/it/exporter.rs has a
# real Prometheus scrape `strata exporter`, promtool check its output, and node_exporter's
# textfile collector serve its `--textfile` file; tests/it/deploy.rs checks the alert rules and
# the dashboard's queries with promtool and the systemd units of deploy/ with systemd-analyze.
# chromium: tests/it/du_html.rs opens `du --format html`'s page in headless Chromium.
# tmux: tests/it/du_interactive.rs drives `strata du -i` in a tmux pane.
if [ "$(id -u)" = 0 ] && { ! command -v dockerd >/dev/null || [ ! -x /bin/busybox ] \
  || ! command -v strace >/dev/null || ! command -v podman >/dev/null \
  || [ ! -x /usr/bin/newuidmap ] || [ ! -x /usr/bin/fuse-overlayfs ] \
  || [ ! -x /sbin/mkfs.btrfs ] || ! command -v prometheus >/dev/null \
  || ! command -v promtool >/dev/null || ! command -v prometheus-node-exporter >/dev/null \
  || [ ! -x /usr/bin/systemd-analyze ] || ! command -v chromium >/dev/null \
  || ! command -v tmux >/dev/null; }; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends docker.io busybox-static strace btrfs-progs \
    prometheus prometheus-node-exporter systemd chromium tmux
  # podman with its recommends (buildah, netavark, uidmap, fuse-overlayfs, slirp4netns), as on
  # the machines the podman tests were written on; runc named besides.
  apt-get install -y -q podman runc uidmap fuse-overlayfs slirp4netns
fi
# Debian trixie's dockerd 26.1 and containerd 1.7, unpacked into /opt/strata-trixie (not
# installed): the containerd-store tests (tests/it/containerd.rs) run them.
if [ "$(id -u)" = 0 ]; then
  scripts/trixie-daemons.sh >/dev/null
fi
# The static binary of the FROM-scratch image (deploy/image) that tests/it/deploy.rs builds
# with strata and runs under dockerd.
scripts/static-binary.sh >/dev/null
cargo test --workspace
