//! strata's integration tests: the one test binary of the workspace (STYLE 10).
//!
//! - [`harness`] starts a real `dockerd` on a temporary data root, runs the Docker CLI and the
//!   strata binary, and owns the skip policy (root and Debian's `docker.io` are needed; with
//!   `STRATA_TEST_NO_SKIP=1`, as CI sets it, a missing prerequisite fails instead of skipping).
//! - [`fixture`] fills a daemon with the store the analyzer must understand (imports, classic
//!   and BuildKit builds, every kind of container and volume) and keeps one stopped copy per
//!   storage driver for the whole run; [`fixture::containerd`] does the same on trixie's
//!   dockerd 26.1 with the containerd image store.
//! - [`fixture::podman`] does the same with a rootful podman 4.3 on a temporary graphroot
//!   (the containers/storage store of Podman, Buildah and CRI-O).
//! - [`synth`] plants a small synthetic overlay2 store by hand, without any daemon, for the
//!   corrupt-input corpus; [`synth_drivers`] plants aufs, zfs and devicemapper stores from
//!   their documented layouts and checks them against hand-derived figures.
//! - [`dfjson`] compares strata's `df` JSON with dockerd's `GET /system/df`, field by field.
//! - [`devtools`] drives a headless Chromium over the DevTools protocol (clicks on a page).
//! - [`tree`] records the exact state of a directory tree (for the read-only guarantee).
//!
//! The tests themselves: [`parity`], [`readonly`], [`corrupt`], [`containerd`] (the
//! containerd image store under dockerd 26.1 and a plain `k8s.io` containerd: df, diff,
//! read-only, snapshots against `ctr`, a corrupt corpus), [`podman`] (containers/storage
//! roots: df against libpod's API, diff, read-only, a corrupt corpus), [`podman_rootless`]
//! (a throwaway user's rootless podman, native overlay and fuse-overlayfs, found by `--user`
//! and `--all-users`), [`containment`] (nothing
//! outside the data root is read, listed or counted, whatever the store holds), [`names`],
//! [`du`], [`du_interactive`] (`du -i` driven in tmux), [`du_html`] (the HTML report in a
//! headless Chromium), [`watch`],
//! [`forensics`] (inventories, `diff`, `verify`, `orphans`, `dupes`, `advise`, including the
//! prune-versus-prediction check), the facts about what dockerd writes in [`fixture::facts`],
//! and the engine's: [`engine_image`], [`engine_container`], [`engine_create`],
//! [`engine_volume`], [`engine_api`],
//! [`engine_demo`], [`engine_build`], [`engine_contain`] (helpers in
//! [`engine_common`]); [`exporter`] (`strata exporter` scraped by a real Prometheus, checked
//! by promtool, its textfile served by node_exporter); [`deploy`]: the recipes of `deploy/`
//! (image, systemd units, alert rules, dashboard) checked with the tools they are for.

mod containerd;
mod containment;
mod corrupt;
mod deploy;
mod devtools;
mod dfjson;
mod du;
mod du_html;
mod du_interactive;
mod engine_api;
mod engine_build;
mod engine_common;
mod engine_contain;
mod engine_container;
mod engine_create;
mod engine_demo;
mod engine_image;
mod engine_images;
mod engine_volume;
mod exporter;
mod fixture;
mod forensics;
mod harness;
mod host;
mod names;
mod parity;
mod podman;
mod podman_rootless;
mod podman_watch;
mod readonly;
mod synth;
mod synth_drivers;
mod tree;
mod watch;
