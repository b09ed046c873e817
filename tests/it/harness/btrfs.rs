//! A btrfs filesystem of a test's own, for a dockerd with the btrfs graphdriver (which refuses a
//! data root on any other filesystem): a sparse file formatted with `mkfs.btrfs` and mounted
//! with `mount -o loop`, both in the daemon's temporary directory.
//!
//! Dropping a [`BtrfsFs`] unmounts it and frees its loop device, so a failing test leaves
//! neither behind; a store kept for the whole run is handed over mounted
//! ([`BtrfsFs::leave_mounted`]) and released at exit by [`super::remove_at_exit`], which detaches
//! the loop devices backed by files in the directory it removes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::cleanup::{detach_loops_backed_under, loops_backed_under, mount_points_under};
use super::run::run_with_timeout;
use super::{file_missing, kernel_lacks};

/// btrfs-progs' mkfs (Debian package `btrfs-progs`).
pub const MKFS_BTRFS: &str = "/sbin/mkfs.btrfs";
/// The size of the sparse image file: room for the fixture many times over; only the blocks
/// btrfs writes take disk space (some 20 MB for the fixture, metadata included).
const IMAGE_BYTES: u64 = 4 << 30;
/// How long `mkfs.btrfs`, `mount` or `umount` may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a btrfs filesystem cannot be made here, or `None` when it can: btrfs-progs' mkfs, the
/// kernel's btrfs and its loop devices.
pub fn missing() -> Option<String> {
    file_missing(&[MKFS_BTRFS, "/dev/loop-control"]).or_else(|| kernel_lacks("btrfs"))
}

/// A mounted btrfs on a loop device over a sparse file.
#[derive(Debug)]
pub struct BtrfsFs {
    image: PathBuf,
    mount_point: PathBuf,
    /// Whether dropping it unmounts it and frees its loop device.
    owned: bool,
}

impl BtrfsFs {
    /// Makes `<dir>/btrfs.img` (sparse), formats it and mounts it on `<dir>/btrfs`. Panics
    /// (having released whatever it made) if a step fails.
    pub fn make(dir: &Path) -> BtrfsFs {
        let fs = BtrfsFs {
            image: dir.join("btrfs.img"),
            mount_point: dir.join("btrfs"),
            owned: true,
        };
        let file = fs::File::create(&fs.image).expect("creating the btrfs image file");
        file.set_len(IMAGE_BYTES)
            .expect("sizing the btrfs image file (sparse)");
        drop(file);
        fs::create_dir_all(&fs.mount_point).expect("creating the btrfs mount point");
        let mut mkfs = Command::new(MKFS_BTRFS);
        mkfs.arg("-q").arg(&fs.image);
        tool(mkfs);
        let mut mount = Command::new("mount");
        mount
            .args(["-o", "loop"])
            .arg(&fs.image)
            .arg(&fs.mount_point);
        tool(mount);
        fs
    }

    /// Where it is mounted.
    pub fn mount_point(&self) -> &Path {
        &self.mount_point
    }

    /// The loop devices backed by its image file (one while it is mounted, none after
    /// [`BtrfsFs::release`]).
    pub fn loop_devices(&self) -> Vec<PathBuf> {
        loops_backed_under(&self.image)
    }

    /// Unmounts it (and whatever is still mounted below it) and detaches its loop device.
    /// Idempotent; errors are ignored, as in all cleanup.
    pub fn release(&mut self) {
        let mut points = mount_points_under(&self.mount_point);
        points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for point in points {
            // A plain unmount first, so the loop device is free when it returns; lazily if busy.
            let plain = Command::new("umount").arg(&point).status();
            if !plain.is_ok_and(|s| s.success()) {
                let _ = Command::new("umount").arg("-l").arg(&point).status();
            }
        }
        detach_loops_backed_under(&self.image);
    }

    /// Gives up ownership, leaving it mounted: the directory holding it is handed over (see
    /// [`super::Dockerd::into_dir`]) and its new owner releases it.
    pub fn leave_mounted(mut self) {
        self.owned = false;
    }
}

impl Drop for BtrfsFs {
    fn drop(&mut self) {
        if self.owned {
            self.release();
        }
    }
}

/// Runs `cmd`, panicking with what it said unless it exits 0.
fn tool(cmd: Command) {
    let run = run_with_timeout(cmd, TOOL_TIMEOUT);
    assert!(run.success(), "{run}");
}

/// The filesystem is released when its owner panics: nothing stays mounted, no loop device
/// stays attached.
#[test]
fn a_failing_test_leaves_no_mount_and_no_loop_device() {
    if !super::driver_usable(super::Driver::Btrfs) {
        return;
    }
    let dir = tempfile::Builder::new()
        .prefix("strata-it-btrfs-")
        .tempdir()
        .expect("a temporary directory");
    let mount_point = dir.path().join("btrfs");
    let image = dir.path().join("btrfs.img");
    let outcome = std::panic::catch_unwind(|| {
        let fs = BtrfsFs::make(dir.path());
        assert_eq!(fs.loop_devices().len(), 1, "one loop device while mounted");
        fs::write(fs.mount_point().join("file"), b"x").expect("writing on the btrfs");
        panic!("the test fails");
    });
    assert!(outcome.is_err());
    assert!(
        mount_points_under(&mount_point).is_empty(),
        "{} is still mounted",
        mount_point.display()
    );
    assert!(
        loops_backed_under(&image).is_empty(),
        "a loop device still backs {}",
        image.display()
    );
}
