//! Leaving nothing behind: unmounting what a daemon left mounted, and removing at process exit
//! the stores that live for the whole test run.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
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

/// The mount points of this mount namespace at or under `prefix`.
pub fn mount_points_under(prefix: &Path) -> Vec<PathBuf> {
    let Ok(table) = fs::read_to_string("/proc/self/mountinfo") else {
        return Vec::new();
    };
    table
        .lines()
        .filter_map(|line| line.split(' ').nth(4))
        .map(|escaped| PathBuf::from(unescape_mountinfo(escaped)))
        .filter(|point| point.starts_with(prefix))
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo` octal escapes.
fn unescape_mountinfo(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            std::str::from_utf8(d)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 8).ok())
        });
        match (bytes[i], octal) {
            (b'\\', Some(b)) => {
                out.push(b);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn mountinfo_escapes_are_decoded() {
    assert_eq!(unescape_mountinfo(r"/tmp/a\040b\134c"), r"/tmp/a b\c");
    assert_eq!(unescape_mountinfo("/plain"), "/plain");
}
