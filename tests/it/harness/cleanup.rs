//! Leaving nothing behind: unmounting what a daemon left mounted, and removing at process exit
//! the stores that live for the whole test run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use engine::daemon::reconcile::mount_points_under;
use std::sync::{Mutex, Once};

/// Directories to remove when the test process exits (the shared per-driver fixtures, which
/// every test may read, so none of them can remove them).
static AT_EXIT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
static REGISTER: Once = Once::new();

/// Removes `dir` (after unmounting anything under it) when the test process exits normally.
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
        let _ = fs::remove_dir_all(&dir);
    }
}

/// Lazily unmounts every mount point at or under `prefix`, deepest first (a daemon killed
/// before its clean shutdown leaves its data root, `overlay2/*/merged`, `containers/*/mounts/shm`
/// and network namespaces mounted). Errors are ignored: this is cleanup.
pub fn unmount_under(prefix: &Path) {
    let mut points = mount_points_under(prefix);
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        let _ = Command::new("umount").arg("-l").arg(&point).status();
    }
}
