//! The parallel, inode-aware, mount-aware tree walker: the hot path.
//!
//! [`measure`] walks any number of roots in one pass and returns, for each, a [`TreeUsage`]:
//! entries, apparent bytes (split into directories and everything else) and allocated bytes,
//! with hard links counted once. It knows nothing of Docker; callers choose the roots.
//!
//! # Algorithm
//!
//! Every directory is one task on a rayon pool (work-stealing, depth-first on each thread).
//! A task opens its directory with `O_NOATIME` (so a scan does not even move access times),
//! reads it with `getdents64` and `fstatat`s each entry relative to the directory's fd, so no
//! path is resolved twice. Subdirectories become new tasks; with `one_file_system` a directory
//! on another device (a running container's `merged/` overlay, a bind-mounted volume) is counted
//! as an entry but not entered. Counts go to the running thread's own accumulator (one
//! uncontended lock per directory, never per file); entries with more than one link are set
//! aside as `(dev, ino)` and deduplicated after the walk, in sorted order, so the result is the
//! same whatever the thread count. Memory grows with the number of directories queued and of
//! multiply-linked files, not with the number of files.
//!
//! Entries that vanish or cannot be read are recorded in [`TreeUsage::errors`] and the walk
//! goes on; symlinks are never followed.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fstatat, lstat, FileStat};
use serde::Serialize;

use crate::fsread::open_dir;

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Worker threads; `None` uses rayon's global pool (one per core).
    pub threads: Option<usize>,
    /// Stay on each root's filesystem, like `du -x`.
    pub one_file_system: bool,
}

/// Sizes of one walked tree. The root directory itself is included, as `du` includes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TreeUsage {
    /// Entries of every kind (the root included), each hard link once.
    pub entries: u64,
    /// Directories among them.
    pub dirs: u64,
    /// Apparent bytes (`st_size`) of everything that is not a directory, each inode once:
    /// what Docker's `directory.Size` reports for a writable layer or a volume.
    pub files_apparent: u64,
    /// Apparent bytes of the directories themselves.
    pub dirs_apparent: u64,
    /// Allocated bytes (`st_blocks * 512`), each inode once: what `du -B1` reports.
    pub allocated: u64,
    /// Extra names of inodes already counted (hard links beyond the first).
    pub hardlinks: u64,
    /// Apparent bytes those extra names would have added without deduplication.
    pub hardlink_saved: u64,
    /// Directories on another filesystem that were not entered.
    pub skipped_mounts: u64,
    /// Entries that could not be read, and why.
    pub errors: Vec<WalkError>,
}

impl TreeUsage {
    /// Apparent bytes of everything, like `du -sb --apparent-size`.
    pub fn apparent(&self) -> u64 {
        self.files_apparent + self.dirs_apparent
    }

    /// True when the root itself could not be read (it is absent or not a directory).
    pub fn root_failed(&self) -> bool {
        self.entries == 0 && !self.errors.is_empty()
    }
}

/// An entry the walk could not read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WalkError {
    /// The entry.
    pub path: PathBuf,
    /// What went wrong (`vanished during the walk`, `Permission denied`...).
    pub detail: String,
}

/// A multiply-linked inode seen during the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Link {
    dev: u64,
    ino: u64,
    size: u64,
    blocks: u64,
}

/// One thread's counts for one root.
#[derive(Debug, Default)]
struct Tally {
    usage: TreeUsage,
    links: Vec<Link>,
}

impl Tally {
    fn add(&mut self, st: &FileStat) {
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let blocks = u64::try_from(st.st_blocks).unwrap_or(0) * 512;
        let is_dir = st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR;
        if !is_dir && st.st_nlink > 1 {
            self.links.push(Link {
                dev: st.st_dev,
                ino: st.st_ino,
                size,
                blocks,
            });
            return;
        }
        let u = &mut self.usage;
        u.entries += 1;
        u.allocated += blocks;
        if is_dir {
            u.dirs += 1;
            u.dirs_apparent += size;
        } else {
            u.files_apparent += size;
        }
    }

    fn merge(&mut self, other: Tally) {
        let (u, o) = (&mut self.usage, other.usage);
        u.entries += o.entries;
        u.dirs += o.dirs;
        u.files_apparent += o.files_apparent;
        u.dirs_apparent += o.dirs_apparent;
        u.allocated += o.allocated;
        u.skipped_mounts += o.skipped_mounts;
        u.errors.extend(o.errors);
        self.links.extend(other.links);
    }

    /// Counts each multiply-linked inode once, in a fixed order.
    fn finish(mut self) -> TreeUsage {
        self.links.sort_unstable();
        let mut u = self.usage;
        let mut prev: Option<(u64, u64)> = None;
        for l in self.links {
            if prev == Some((l.dev, l.ino)) {
                u.hardlinks += 1;
                u.hardlink_saved += l.size;
                continue;
            }
            prev = Some((l.dev, l.ino));
            u.entries += 1;
            u.files_apparent += l.size;
            u.allocated += l.blocks;
        }
        u.errors.sort();
        u
    }
}

/// Per-thread accumulators: `slots[thread][root]`.
struct Shared<'a> {
    opts: &'a WalkOptions,
    slots: Vec<Mutex<Vec<Tally>>>,
}

impl Shared<'_> {
    fn deposit(&self, root: usize, tally: Tally) {
        let slot = rayon::current_thread_index().unwrap_or(0) % self.slots.len();
        let mut guard = self.slots[slot].lock().unwrap_or_else(|e| e.into_inner());
        guard[root].merge(tally);
    }
}

/// Walks every root in one parallel pass; `result[i]` describes `roots[i]`. A root that does
/// not exist gives a usage with no entries and one error.
pub fn measure(roots: &[PathBuf], opts: &WalkOptions) -> Vec<TreeUsage> {
    match opts.threads {
        Some(n) => match rayon::ThreadPoolBuilder::new().num_threads(n).build() {
            Ok(pool) => pool.install(|| measure_in_pool(roots, opts)),
            Err(_) => measure_in_pool(roots, opts),
        },
        None => measure_in_pool(roots, opts),
    }
}

fn measure_in_pool(roots: &[PathBuf], opts: &WalkOptions) -> Vec<TreeUsage> {
    let threads = rayon::current_num_threads().max(1);
    let shared = Shared {
        opts,
        slots: (0..threads)
            .map(|_| Mutex::new((0..roots.len()).map(|_| Tally::default()).collect()))
            .collect(),
    };
    rayon::scope(|s| {
        for (i, root) in roots.iter().enumerate() {
            let shared = &shared;
            s.spawn(move |s| walk_root(s, shared, i, root));
        }
    });
    let mut totals: Vec<Tally> = (0..roots.len()).map(|_| Tally::default()).collect();
    for slot in shared.slots {
        let per_root = slot.into_inner().unwrap_or_else(|e| e.into_inner());
        for (total, t) in totals.iter_mut().zip(per_root) {
            total.merge(t);
        }
    }
    totals.into_iter().map(Tally::finish).collect()
}

fn walk_root<'s>(scope: &rayon::Scope<'s>, shared: &'s Shared<'s>, root: usize, path: &Path) {
    let mut tally = Tally::default();
    match lstat(path) {
        Ok(st) if st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR => {
            tally.add(&st);
            let dev = st.st_dev;
            let dir = path.to_path_buf();
            scope.spawn(move |s| walk_dir(s, shared, root, dir, dev));
        }
        Ok(st) => tally.add(&st),
        Err(e) => tally.usage.errors.push(walk_error(path, e)),
    }
    shared.deposit(root, tally);
}

fn walk_dir<'s>(
    scope: &rayon::Scope<'s>,
    shared: &'s Shared<'s>,
    root: usize,
    path: PathBuf,
    dev: u64,
) {
    let mut tally = Tally::default();
    let mut errors = Vec::new();
    if let Err(e) = read_entries(
        &path,
        |name, st| {
            tally.add(st);
            if st.st_mode & nix::libc::S_IFMT != nix::libc::S_IFDIR {
                return;
            }
            if shared.opts.one_file_system && st.st_dev != dev {
                tally.usage.skipped_mounts += 1;
                return;
            }
            let child = path.join(name);
            let child_dev = st.st_dev;
            scope.spawn(move |s| walk_dir(s, shared, root, child, child_dev));
        },
        &mut errors,
    ) {
        errors.push(walk_error(&path, e));
    }
    tally.usage.errors.extend(errors);
    shared.deposit(root, tally);
}

/// Calls `visit(name, stat)` for each entry of `dir` (not `.`/`..`); entries that vanish or
/// cannot be stat'ed go to `errors`. Fails only when `dir` itself cannot be read.
pub(crate) fn read_entries(
    dir: &Path,
    mut visit: impl FnMut(&OsStr, &FileStat),
    errors: &mut Vec<WalkError>,
) -> nix::Result<()> {
    let fd: OwnedFd = open_dir(dir)?;
    let stat_fd = fd
        .try_clone()
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    let mut handle = nix::dir::Dir::from_fd(fd)?;
    for entry in handle.iter() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                errors.push(walk_error(dir, e));
                break;
            }
        };
        let cname = entry.file_name();
        let bytes = cname.to_bytes();
        if bytes == b"." || bytes == b".." {
            continue;
        }
        match fstatat(&stat_fd, cname, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => visit(OsStr::from_bytes(bytes), &st),
            Err(e) => errors.push(walk_error(&dir.join(OsStr::from_bytes(bytes)), e)),
        }
    }
    Ok(())
}

fn walk_error(path: &Path, e: Errno) -> WalkError {
    let detail = if e == Errno::ENOENT {
        "vanished during the walk".to_owned()
    } else {
        e.desc().to_owned()
    };
    WalkError {
        path: path.to_path_buf(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn sample() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::create_dir_all(p.join("a/b/c")).unwrap();
        fs::write(p.join("a/f1"), vec![1u8; 1000]).unwrap();
        fs::write(p.join("a/b/f2"), vec![2u8; 3000]).unwrap();
        fs::hard_link(p.join("a/b/f2"), p.join("a/b/c/f2link")).unwrap();
        fs::write(p.join("empty"), b"").unwrap();
        std::os::unix::fs::symlink("a/f1", p.join("sym")).unwrap();
        let sparse = fs::File::create(p.join("sparse")).unwrap();
        sparse.set_len(10 << 20).unwrap();
        dir
    }

    #[test]
    fn counts_hard_links_once_and_same_with_any_thread_count() {
        let dir = sample();
        let roots = vec![dir.path().to_path_buf(), dir.path().join("a/b")];
        let one = measure(
            &roots,
            &WalkOptions {
                threads: Some(1),
                one_file_system: true,
            },
        );
        let many = measure(
            &roots,
            &WalkOptions {
                threads: Some(4),
                one_file_system: true,
            },
        );
        assert_eq!(one, many);
        let top = &one[0];
        // f1 + f2 (once) + symlink target length + sparse apparent size.
        assert_eq!(top.files_apparent, 1000 + 3000 + 4 + (10 << 20));
        assert_eq!(top.hardlinks, 1);
        assert_eq!(top.hardlink_saved, 3000);
        assert_eq!(top.dirs, 4);
        assert!(top.allocated < 1 << 20, "sparse file allocates little");
        assert_eq!(one[1].files_apparent, 3000);
        assert!(top.errors.is_empty());
    }

    #[test]
    fn missing_root_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let u = &measure(&[dir.path().join("nope")], &WalkOptions::default())[0];
        assert!(u.root_failed());
    }
}
