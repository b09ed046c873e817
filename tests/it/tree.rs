//! The exact state of a directory tree, to prove a run changed nothing in it.
//!
//! [`TreeState::capture`] records, for every file, directory, link and node under a root:
//! type and mode, owner, size, link count, inode, device number, mtime, atime and ctime (to the
//! nanosecond), a regular file's content sha256 and a symlink's target. It reads without moving
//! atimes: files and directories are opened with `O_NOATIME` (the tests run as root, which may
//! use it on any file). Only `readlink` cannot avoid it: the kernel updates a symlink's atime
//! under `relatime` when the atime is not newer than its mtime/ctime, so the first capture of a
//! fresh tree moves symlink atimes once; capture twice and compare the second with a later one.
//! [`age_atimes`] first makes every other atime old enough that any non-`O_NOATIME` read moves
//! it.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{OFlag, AT_FDCWD};
use nix::sys::stat::{utimensat, Mode, UtimensatFlags};
use nix::sys::time::TimeSpec;
use sha2::{Digest, Sha256};

/// What is recorded of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryState {
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Apparent size in bytes.
    pub size: u64,
    /// Hard link count.
    pub nlink: u64,
    /// Inode number (a file replaced by a rename gets a new one).
    pub ino: u64,
    /// Device number of a device node (whiteouts are 0/0 character devices).
    pub rdev: u64,
    /// Modification time (seconds, nanoseconds).
    pub mtime: (i64, i64),
    /// Access time (seconds, nanoseconds).
    pub atime: (i64, i64),
    /// Change time (seconds, nanoseconds): moves on any metadata change, xattrs included.
    pub ctime: (i64, i64),
    /// A regular file's content sha256 (hex).
    pub sha256: Option<String>,
    /// A symlink's target.
    pub link: Option<PathBuf>,
}

/// Every entry under a root, by path relative to it (the root itself is `""`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeState {
    /// Relative path -> state.
    pub entries: BTreeMap<PathBuf, EntryState>,
}

impl TreeState {
    /// Records the tree under `root` (not following symlinks, not crossing into anything but
    /// what is there: run it on a store no daemon has mounted).
    pub fn capture(root: &Path) -> TreeState {
        let mut entries = BTreeMap::new();
        visit(root, Path::new(""), &mut entries);
        TreeState { entries }
    }

    /// The same tree with every symlink's atime set to zero (the one time a capture itself
    /// may move).
    pub fn without_symlink_atimes(&self) -> TreeState {
        let mut entries = self.entries.clone();
        for entry in entries.values_mut() {
            if entry.link.is_some() {
                entry.atime = (0, 0);
            }
        }
        TreeState { entries }
    }

    /// Human-readable differences from `before` to `self` (first `limit` of them, plus a
    /// count of the rest).
    pub fn changes_since(&self, before: &TreeState, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (path, old) in &before.entries {
            match self.entries.get(path) {
                None => out.push(format!("removed: {}", path.display())),
                Some(new) if new != old => {
                    out.push(format!(
                        "changed: {}: {}",
                        path.display(),
                        describe(old, new)
                    ));
                }
                Some(_) => {}
            }
        }
        for path in self.entries.keys() {
            if !before.entries.contains_key(path) {
                out.push(format!("created: {}", path.display()));
            }
        }
        let total = out.len();
        if total > limit {
            out.truncate(limit);
            out.push(format!("... and {} more", total - limit));
        }
        out
    }
}

fn describe(old: &EntryState, new: &EntryState) -> String {
    let mut parts = Vec::new();
    macro_rules! diff {
        ($($field:ident),*) => {$(
            if old.$field != new.$field {
                parts.push(format!(
                    "{} {:?} -> {:?}",
                    stringify!($field),
                    old.$field,
                    new.$field
                ));
            }
        )*};
    }
    diff!(mode, uid, gid, size, nlink, ino, rdev, mtime, atime, ctime, sha256, link);
    parts.join(", ")
}

fn visit(root: &Path, rel: &Path, entries: &mut BTreeMap<PathBuf, EntryState>) {
    let path = root.join(rel);
    let meta =
        fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()));
    let kind = meta.file_type();
    let sha256 = kind.is_file().then(|| hash_file(&path));
    let link = kind.is_symlink().then(|| {
        fs::read_link(&path).unwrap_or_else(|e| panic!("readlink {}: {e}", path.display()))
    });
    entries.insert(
        rel.to_owned(),
        EntryState {
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
            size: meta.size(),
            nlink: meta.nlink(),
            ino: meta.ino(),
            rdev: if kind.is_block_device() || kind.is_char_device() {
                meta.rdev()
            } else {
                0
            },
            mtime: (meta.mtime(), meta.mtime_nsec()),
            atime: (meta.atime(), meta.atime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            sha256,
            link,
        },
    );
    if kind.is_dir() {
        for name in list_dir(&path) {
            visit(root, &rel.join(name), entries);
        }
    }
}

/// The names in a directory (sorted), read with `O_NOATIME` so that listing it leaves its atime
/// alone.
pub fn list_dir(path: &Path) -> Vec<OsString> {
    let flags = OFlag::O_RDONLY
        | OFlag::O_DIRECTORY
        | OFlag::O_NOFOLLOW
        | OFlag::O_NOATIME
        | OFlag::O_CLOEXEC;
    let mut dir = Dir::open(path, flags, Mode::empty())
        .unwrap_or_else(|e| panic!("opendir {}: {e}", path.display()));
    let mut names: Vec<OsString> = dir
        .iter()
        .map(|entry| entry.unwrap_or_else(|e| panic!("readdir {}: {e}", path.display())))
        .map(|entry| OsStr::from_bytes(entry.file_name().to_bytes()).to_owned())
        .filter(|name| name != "." && name != "..")
        .collect();
    names.sort();
    names
}

/// Opens a file for reading with `O_NOATIME` (and without following a final symlink): a
/// read that leaves the file's atime alone. Test code that reads a shared fixture store uses
/// it, so that it never disturbs `readonly`'s checks running at the same time.
pub fn open_noatime(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NOATIME | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC).bits())
        .open(path)
}

/// The whole content of a file, read with [`open_noatime`].
pub fn read_noatime(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_noatime(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn hash_file(path: &Path) -> String {
    let mut file = open_noatime(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Sets the atime of every entry under `root` but symlinks (whose atime only `readlink` could
/// move, see the module doc) to 2000-01-01, leaving mtimes alone. After it, *any* read of a
/// file or listing of a directory without `O_NOATIME` moves an atime (relatime updates an
/// atime older than a day), so a later [`TreeState::capture`] catches it whatever the times
/// the daemon left.
pub fn age_atimes(root: &Path) {
    let old = TimeSpec::new(946_684_800, 0);
    let mut pending = vec![root.to_owned()];
    while let Some(path) = pending.pop() {
        let meta =
            fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()));
        if meta.file_type().is_symlink() {
            continue;
        }
        utimensat(
            AT_FDCWD,
            &path,
            &old,
            &TimeSpec::UTIME_OMIT,
            UtimensatFlags::NoFollowSymlink,
        )
        .unwrap_or_else(|e| panic!("utimensat {}: {e}", path.display()));
        if meta.is_dir() {
            pending.extend(list_dir(&path).into_iter().map(|name| path.join(name)));
        }
    }
}
