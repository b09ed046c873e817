//! Leaving nothing behind: unmounting what a daemon left mounted, detaching the loop devices of
//! the filesystems the tests made, and removing at process exit the stores that live for the
//! whole test run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use engine::daemon::reconcile::mount_points_under;
use std::sync::{Mutex, Once};

/// Directories to remove when the test process exits (the shared per-driver fixtures, which
/// every test may read, so none of them can remove them).
static AT_EXIT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static REGISTER: Once = Once::new();

/// Removes `dir` (after unmounting anything under it and detaching the loop devices backed by
/// files in it) when the test process exits normally.
///
/// libtest ends the process with `exit`, which runs `atexit` handlers; a process killed by a
/// signal leaves the directory behind, as it would leave any temporary directory.
pub fn remove_at_exit(dir: PathBuf) {
    REGISTER.call_once(|| {
        // SAFETY: `remove_registered` is a plain `extern "C" fn()` that neither unwinds (every
        // error is ignored, and a poisoned lock is recovered) nor touches thread-locals.
        let rc = unsafe { nix::libc::atexit(remove_registered) };
        assert_eq!(rc, 0, "atexit failed");
    });
    AT_EXIT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(dir);
}

extern "C" fn remove_registered() {
    let dirs = std::mem::take(
        &mut *AT_EXIT
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    for dir in dirs {
        unmount_under(&dir);
        detach_loops_backed_under(&dir);
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Lazily unmounts every mount point at or under `prefix`, deepest first (a daemon killed
/// before its clean shutdown leaves its data root, `overlay2/*/merged`, `containers/*/mounts/shm`
/// and network namespaces mounted). Errors are ignored: this is cleanup.
pub fn unmount_under(prefix: &Path) {
    unmount_under_except(prefix, None);
}

/// [`unmount_under`], but for the mount point `keep` itself (a filesystem the store lives on,
/// such as the btrfs of [`super::btrfs::BtrfsFs`]; what is mounted below it is unmounted).
pub fn unmount_under_except(prefix: &Path, keep: Option<&Path>) {
    let mut points: Vec<PathBuf> = mount_points_under(prefix)
        .into_iter()
        .filter(|point| Some(point.as_path()) != keep)
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        let _ = Command::new("umount").arg("-l").arg(&point).status();
    }
}

/// The loop devices (`/dev/loopN`) whose backing file is at or under `prefix`, from
/// `/sys/block/loop*/loop/backing_file` (which says `<path> (deleted)` once the file is gone).
pub fn loops_backed_under(prefix: &Path) -> Vec<PathBuf> {
    let Ok(blocks) = fs::read_dir("/sys/block") else {
        return Vec::new();
    };
    blocks
        .flatten()
        .filter_map(|block| {
            let backing = fs::read_to_string(block.path().join("loop/backing_file")).ok()?;
            let backing = backing.trim_end_matches('\n');
            let backing = backing.strip_suffix(" (deleted)").unwrap_or(backing);
            Path::new(backing)
                .starts_with(prefix)
                .then(|| Path::new("/dev").join(block.file_name()))
        })
        .collect()
}

/// Detaches every loop device backed by a file at or under `prefix` (`losetup -d`). A device
/// `mount -o loop` attached is freed by the kernel when its filesystem is unmounted (autoclear);
/// this frees the ones left when that did not happen. Errors are ignored: this is cleanup.
pub fn detach_loops_backed_under(prefix: &Path) {
    for device in loops_backed_under(prefix) {
        let _ = Command::new("losetup").arg("-d").arg(&device).status();
    }
}
