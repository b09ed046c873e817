//! Docker's naive diff: the changes between a layer's full tree and its parent's.
//!
//! Drivers that keep full copies (vfs) have no upper directory to read, so Docker compares the
//! two trees (moby `pkg/archive/changes.go`, `ChangesDirs`): a path only in the new tree is
//! added, one only in the old tree deleted, and one in both modified when its mode, owner,
//! rdev or `security.capability` differ or, for non-directories, its mtime or size.
//! [`changes_size`] then sums what Docker reports as the layer's size (`ChangesSize`), and
//! [`add_changed_parents`] adds what `docker diff` adds on top: every directory holding a
//! change is itself reported modified.

mod views;

pub use views::compare_views;

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use nix::sys::stat::FileStat;
use serde::Serialize;

use crate::fs::{Dir, Jail};
use crate::walk::{read_entries, WalkError};

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum ChangeKind {
    /// `A`: not in the parent.
    Added,
    /// `C`: in both, different.
    Modified,
    /// `D`: only in the parent.
    Deleted,
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Change {
    /// The path inside the layer, starting with `/`.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// What happened.
    pub kind: ChangeKind,
    /// True for a directory.
    pub is_dir: bool,
    /// Apparent bytes of the new entry (0 for deletions).
    pub size: u64,
    /// `(dev, ino)` of the new entry, to count hard links once.
    pub inode: (u64, u64),
    /// Link count of the new entry.
    pub nlink: u64,
}

impl Change {
    /// The deletion of `path` (a directory when `is_dir`): no new entry, no bytes.
    pub fn deleted(path: PathBuf, is_dir: bool) -> Change {
        Change {
            path,
            kind: ChangeKind::Deleted,
            is_dir,
            size: 0,
            inode: (0, 0),
            nlink: 0,
        }
    }
}

/// Compares the full tree `new` with `old` (both under `jail`'s root) and returns every
/// change, sorted by path. Both trees are descended by fd, never by path. Unreadable entries
/// are returned as errors beside the changes.
pub fn compare(jail: &Jail, new: &Path, old: &Path) -> (Vec<Change>, Vec<WalkError>) {
    let out = Mutex::new((Vec::new(), Vec::new()));
    let open = |p: &Path, errors: &mut Vec<WalkError>| match jail.dir(p) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(WalkError {
                path: p.to_path_buf(),
                detail: crate::fs::describe(&e),
            });
            None
        }
    };
    let mut errors = Vec::new();
    if let Some(new_dir) = open(new, &mut errors) {
        let old_dir = open(old, &mut errors);
        rayon::scope(|s| {
            let out = &out;
            s.spawn(move |s| compare_dir(s, out, new_dir, old_dir, PathBuf::from("/")));
        });
    }
    let (mut changes, mut found_errors) = out.into_inner().unwrap_or_else(|e| e.into_inner());
    found_errors.extend(errors);
    changes.sort();
    found_errors.sort();
    (changes, found_errors)
}

type Sink = Mutex<(Vec<Change>, Vec<WalkError>)>;

/// The entries of the directory `dir` (under `jail`'s root) with their stat; a failure to
/// read `dir` goes to `errors`.
pub(crate) fn list(
    jail: &Jail,
    dir: &Path,
    errors: &mut Vec<WalkError>,
) -> Vec<(OsString, FileStat)> {
    match jail.dir(dir) {
        Ok(d) => list_dir(&d, errors),
        Err(e) => {
            errors.push(WalkError {
                path: dir.to_path_buf(),
                detail: crate::fs::describe(&e),
            });
            Vec::new()
        }
    }
}

/// The entries of the open directory `dir` with their stat; a failure goes to `errors`.
fn list_dir(dir: &Dir, errors: &mut Vec<WalkError>) -> Vec<(OsString, FileStat)> {
    let mut entries = Vec::new();
    if let Err(e) = read_entries(dir, |name, st| entries.push((name.to_owned(), *st)), errors) {
        errors.push(WalkError {
            path: dir.path().to_path_buf(),
            detail: e.desc().to_owned(),
        });
    }
    entries
}

/// Opens the subdirectory `name` of `parent`, noting a failure in `errors`.
fn open_child(parent: &Dir, name: &OsStr, errors: &mut Vec<WalkError>) -> Option<Dir> {
    match parent.open_dir(name) {
        Ok(d) => Some(d),
        Err(e) => {
            errors.push(WalkError {
                path: parent.path().join(name),
                detail: e.desc().to_owned(),
            });
            None
        }
    }
}

fn compare_dir<'s>(
    scope: &rayon::Scope<'s>,
    out: &'s Sink,
    new_dir: Dir,
    old_dir: Option<Dir>,
    rel: PathBuf,
) {
    let mut errors = Vec::new();
    let mut changes = Vec::new();
    let new_entries = list_dir(&new_dir, &mut errors);
    let mut old_entries: HashMap<OsString, FileStat> = old_dir
        .as_ref()
        .map(|d| list_dir(d, &mut errors).into_iter().collect())
        .unwrap_or_default();
    let new_dir = Arc::new(new_dir);
    let old_dir = old_dir.map(Arc::new);
    for (name, st) in new_entries {
        let old = old_entries.remove(&name);
        let kind = match (&old, &old_dir) {
            (None, _) => Some(ChangeKind::Added),
            (Some(o), Some(od)) => {
                let caps_differ = od.capability(&name, o) != new_dir.capability(&name, &st);
                (stat_differs(o, &st) || caps_differ).then_some(ChangeKind::Modified)
            }
            (Some(_), None) => Some(ChangeKind::Added),
        };
        let is_dir = is_dir(&st);
        if let Some(kind) = kind {
            changes.push(new_change(rel.join(&name), kind, &st));
        }
        if is_dir {
            let old_parent = match (&old, &old_dir) {
                (Some(o), Some(d)) if self::is_dir(o) => Some(Arc::clone(d)),
                _ => None,
            };
            let new_parent = Arc::clone(&new_dir);
            let child_rel = rel.join(&name);
            scope.spawn(move |s| {
                let mut errors = Vec::new();
                let Some(new_child) = open_child(&new_parent, &name, &mut errors) else {
                    out.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .1
                        .extend(errors);
                    return;
                };
                drop(new_parent);
                let old_child = old_parent.and_then(|p| open_child(&p, &name, &mut errors));
                if !errors.is_empty() {
                    out.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .1
                        .extend(errors);
                }
                compare_dir(s, out, new_child, old_child, child_rel);
            });
        }
    }
    for (name, st) in old_entries {
        changes.push(Change::deleted(rel.join(&name), is_dir(&st)));
    }
    let mut guard = out.lock().unwrap_or_else(|e| e.into_inner());
    guard.0.extend(changes);
    guard.1.extend(errors);
}

/// moby's rule in `addChanges`: a directory with changes inside it is reported modified
/// itself (unless it is the root, or already reported), so that a tar of the changes restores
/// its permissions. Keeps `changes` sorted by path.
pub fn add_changed_parents(changes: &mut Vec<Change>) {
    let reported: std::collections::HashSet<PathBuf> =
        changes.iter().map(|c| c.path.clone()).collect();
    let mut parents = std::collections::BTreeSet::new();
    for c in changes.iter() {
        for dir in c.path.ancestors().skip(1) {
            if dir == Path::new("/") || dir.as_os_str().is_empty() || reported.contains(dir) {
                continue;
            }
            parents.insert(dir.to_path_buf());
        }
    }
    changes.extend(parents.into_iter().map(|path| Change {
        path,
        kind: ChangeKind::Modified,
        is_dir: true,
        size: 0,
        inode: (0, 0),
        nlink: 0,
    }));
    changes.sort();
}

/// The change entry for a path whose new state is `st`.
pub fn new_change(path: PathBuf, kind: ChangeKind, st: &FileStat) -> Change {
    Change {
        path,
        kind,
        is_dir: is_dir(st),
        size: u64::try_from(st.st_size).unwrap_or(0),
        inode: (st.st_dev, st.st_ino),
        nlink: st.st_nlink,
    }
}

/// True when `st` is a directory.
pub fn is_dir(st: &FileStat) -> bool {
    st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR
}

/// moby `statDifferent`: mode, owner, rdev; for non-directories also mtime and size.
pub fn stat_differs(old: &FileStat, new: &FileStat) -> bool {
    old.st_mode != new.st_mode
        || old.st_uid != new.st_uid
        || old.st_gid != new.st_gid
        || old.st_rdev != new.st_rdev
        || (!is_dir(old) && (!same_time(old, new) || old.st_size != new.st_size))
}

/// moby `sameFsTimeSpec`: equal seconds, and equal nanoseconds unless either is zero.
pub(crate) fn same_time(a: &FileStat, b: &FileStat) -> bool {
    a.st_mtime == b.st_mtime
        && (a.st_mtime_nsec == b.st_mtime_nsec || a.st_mtime_nsec == 0 || b.st_mtime_nsec == 0)
}

/// The bytes Docker reports for these changes (`ChangesSize`): the apparent size of added and
/// modified non-directories, a multiply-linked inode once.
pub fn changes_size(changes: &[Change]) -> u64 {
    let mut seen = std::collections::HashSet::new();
    changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Deleted && !c.is_dir)
        .filter(|c| c.nlink <= 1 || seen.insert(c.inode))
        .map(|c| c.size)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn finds_added_modified_deleted_like_docker() {
        let old = tempfile::tempdir().unwrap();
        let new = tempfile::tempdir().unwrap();
        for d in [old.path(), new.path()] {
            fs::create_dir(d.join("etc")).unwrap();
        }
        fs::write(old.path().join("etc/keep"), b"same").unwrap();
        fs::write(old.path().join("etc/gone"), b"x").unwrap();
        fs::write(old.path().join("etc/grow"), b"1").unwrap();
        let keep_mtime = fs::metadata(old.path().join("etc/keep"))
            .unwrap()
            .modified()
            .unwrap();
        fs::write(new.path().join("etc/keep"), b"same").unwrap();
        fs::File::options()
            .write(true)
            .open(new.path().join("etc/keep"))
            .unwrap()
            .set_modified(keep_mtime)
            .unwrap();
        fs::write(new.path().join("etc/grow"), b"12345").unwrap();
        fs::write(new.path().join("new"), b"abc").unwrap();
        fs::hard_link(new.path().join("new"), new.path().join("new2")).unwrap();
        let top = tempfile::tempdir().unwrap();
        let (old_path, new_path) = (top.path().join("old"), top.path().join("new"));
        std::fs::rename(old.path(), &old_path).unwrap();
        std::fs::rename(new.path(), &new_path).unwrap();
        let jail = Jail::open(top.path()).unwrap();
        let (changes, errors) = compare(&jail, &new_path, &old_path);
        assert!(errors.is_empty());
        let kinds: Vec<(String, ChangeKind)> = changes
            .iter()
            .map(|c| (c.path.display().to_string(), c.kind))
            .collect();
        assert!(kinds.contains(&("/etc/gone".into(), ChangeKind::Deleted)));
        assert!(kinds.contains(&("/etc/grow".into(), ChangeKind::Modified)));
        assert!(kinds.contains(&("/new".into(), ChangeKind::Added)));
        assert!(!kinds.iter().any(|(p, _)| p == "/etc/keep"));
        assert_eq!(changes_size(&changes), 5 + 3);
        let mut with_parents = changes.clone();
        add_changed_parents(&mut with_parents);
        let etc = with_parents
            .iter()
            .find(|c| c.path == Path::new("/etc"))
            .expect("/etc holds changes, so it is reported");
        assert_eq!(etc.kind, ChangeKind::Modified);
        assert_eq!(with_parents.len(), changes.len() + 1);
    }
}
