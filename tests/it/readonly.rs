//! strata never writes to the store it analyses: not a byte, not a mode, not even an atime.
//!
//! Every verb in [`VERBS`] runs on the stopped fixture of each driver; the whole tree (every file,
//! directory, link and node: mode, owner, size, inode, link count, times to the nanosecond,
//! content hash, link target) must be identical before and after. Other tests read this store
//! at the same time, through strata or with `O_NOATIME` (`tree::read_noatime`), never with a
//! plain read.

use std::path::Path;

use crate::fixture;
use crate::harness::{strata_on, strata_unprivileged, Driver};
use crate::tree::{age_atimes, TreeState};

/// Every strata verb, with the flags that change what it reads; each must exit 0 on the
/// fixture. Later verbs are added here.
const VERBS: &[&[&str]] = &[
    &["df"],
    &["df", "-v"],
    &["--format", "json", "df"],
    &["--format", "json", "df", "-v"],
    &["--bytes", "df"],
    &["--bytes", "df", "-v"],
    &["--format", "prometheus", "df"],
    &["du"],
    &["--format", "json", "du"],
    &["--format", "prometheus", "du", "--apparent-size"],
    &["du", "--by", "image", "-d", "3"],
    &["images"],
    &["--format", "json", "images"],
    &["layers"],
    &["--format", "json", "layers"],
    &["containers"],
    &["--format", "json", "containers"],
    &["volumes"],
    &["volumes", "--orphaned"],
    &["--format", "json", "volumes"],
    &["diff", "strata-cow"],
    &["--format", "json", "diff", "strata-running"],
    &["verify"],
    &["--format", "prometheus", "verify"],
    &["orphans"],
    &["--format", "json", "orphans"],
    &["advise"],
    &["--format", "json", "advise"],
    &["--format", "prometheus", "advise"],
    &["dupes"],
    &["--format", "json", "dupes"],
];

/// [`assert_untouched`] with every verb on the stopped `driver` fixture.
fn every_verb_leaves_untouched(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    assert_untouched(&store.data_root, &[], VERBS);
}

#[test]
fn every_verb_leaves_the_store_untouched() {
    every_verb_leaves_untouched(Driver::Overlay2);
}

#[test]
fn every_verb_leaves_the_overlay_store_untouched() {
    every_verb_leaves_untouched(Driver::Overlay);
}

#[test]
fn every_verb_leaves_the_fuse_overlayfs_store_untouched() {
    every_verb_leaves_untouched(Driver::FuseOverlayfs);
}

#[test]
fn every_verb_leaves_the_btrfs_store_untouched() {
    every_verb_leaves_untouched(Driver::Btrfs);
}

/// The state of the tree under `root` to compare a later capture with, atimes included: every
/// atime made old first, so that any read without `O_NOATIME` shows. The first capture may
/// still move symlink atimes (readlink; see `tree`), so the baseline is the second, and it must
/// equal the first in everything else. Hold [`crate::fixture::atime_checker`] meanwhile.
pub fn baseline(root: &Path) -> TreeState {
    age_atimes(root);
    let warm = TreeState::capture(root);
    let before = TreeState::capture(root);
    let noise = before
        .without_symlink_atimes()
        .changes_since(&warm.without_symlink_atimes(), 20);
    assert!(
        noise.is_empty(),
        "capturing the tree changed it:\n{}",
        noise.join("\n")
    );
    before
}

/// Runs `strata --root <root> <global...> <verb...>` for every verb of `verbs` and panics unless
/// each exited 0 without a panic and the whole tree under `root` (every directory below it
/// included: on a containerd store, the containerd root `<root>/containerd/daemon` too) is
/// identical before and after, atimes included.
pub fn assert_untouched(root: &Path, global: &[&str], verbs: &[&[&str]]) {
    // No other test's du or cp may read a store while this one compares atimes.
    let _alone = crate::fixture::atime_checker();
    let before = baseline(root);
    let mut failures = Vec::new();
    for verb in verbs {
        let args: Vec<&str> = global.iter().chain(verb.iter()).copied().collect();
        let run = strata_on(root, &args);
        if !run.success() || run.panicked() {
            failures.push(format!("{run}"));
        }
    }
    let after = TreeState::capture(root);
    let changes = after.changes_since(&before, 50);
    assert!(
        changes.is_empty() && failures.is_empty(),
        "the store changed under strata:\n{}\n\nfailed verbs:\n{}",
        changes.join("\n"),
        failures.join("\n")
    );
}

/// Unmounts a mount point when dropped (also when the test fails).
struct Unmount<'a>(&'a Path);

impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(self.0).status();
    }
}

/// Run by a user who owns none of the store's files (no `CAP_FOWNER`), strata cannot open
/// them with `O_NOATIME`, so its reads move access times and it says how many; on a read-only
/// bind mount of the same store no read moves one, and it warns of none (the DaemonSet and
/// systemd units of `deploy/` read the store so, with no capability beyond reading).
#[test]
fn a_read_only_mount_moves_no_access_time_and_strata_warns_of_none() {
    if !crate::harness::root_usable() {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crate::synth::SynthStore::plant_in(dir.path());
    let readable = std::process::Command::new("chmod")
        .arg("-R")
        .arg("a+rX")
        .arg(dir.path())
        .status()
        .expect("chmod");
    assert!(readable.success());
    let warning = "were read without O_NOATIME";

    let writable = strata_unprivileged(&store.root, &["df"]);
    assert!(writable.success(), "{writable}");
    assert!(writable.stderr.contains(warning), "{writable}");

    let mount_point = dir.path().join("ro");
    std::fs::create_dir(&mount_point).expect("mount point");
    let mount = |args: &[&str]| {
        let status = std::process::Command::new("mount")
            .args(args)
            .status()
            .expect("mount");
        assert!(status.success(), "mount {args:?}");
    };
    let (src, dst) = (
        store.root.to_str().expect("UTF-8 path"),
        mount_point.to_str().expect("UTF-8 path"),
    );
    mount(&["--bind", src, dst]);
    let _unmount = Unmount(&mount_point);
    mount(&["-o", "remount,bind,ro", dst]);
    // Old atimes everywhere; the first capture moves the symlinks' (readlink, under
    // relatime), so the baseline is the second.
    age_atimes(&store.root);
    TreeState::capture(&store.root);
    let before = TreeState::capture(&store.root);
    let read_only = strata_unprivileged(&mount_point, &["df"]);
    assert!(read_only.success(), "{read_only}");
    assert!(!read_only.stderr.contains(warning), "{read_only}");
    let changes = TreeState::capture(&store.root).changes_since(&before, 20);
    assert!(changes.is_empty(), "{}", changes.join("\n"));
}
