//! An incremental size tracker for one directory tree, driven by inotify.
//!
//! [`TreeTracker::new`] walks the tree once, remembering every entry's inode and apparent size
//! and putting an inotify watch on every directory. [`TreeTracker::refresh`] then reads only
//! the events queued since the last call and `lstat`s only the paths they name (a new
//! directory is walked, being new): its cost grows with what changed, not with the tree. If the
//! kernel's event queue overflowed, it walks the whole tree again, so the figures stay exact.
//!
//! Sizes follow Docker's `directory.Size`: the apparent size of every non-directory, each inode
//! once. Nothing is written; watches are read-only and vanish with the tracker.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use nix::sys::stat::FileStat;

use crate::fs::Jail;
use crate::walk::{read_entries, WalkError};

/// What a tracked path is, for the caller's breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A directory (counted for nothing).
    Dir,
    /// A file, link or device the caller's classifier calls new.
    Added,
    /// A file that also exists below (an overlay copy-up).
    CopiedUp,
    /// An overlay whiteout (a character device 0/0): a deletion.
    Whiteout,
    /// A file the parent's view holds as it is (a naive-diff driver's full copy, a copy of
    /// its parent's upper, a driver's bookkeeping): no change, counted for nothing.
    Unchanged,
}

impl Kind {
    /// True when the entry's bytes count in the tree's size (Docker's `SizeRw`).
    fn counts(self) -> bool {
        !matches!(self, Kind::Dir | Kind::Unchanged)
    }
}

/// One tracked path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// `(dev, ino)`.
    pub inode: (u64, u64),
    /// Apparent bytes (0 for directories).
    pub size: u64,
    /// Its kind.
    pub kind: Kind,
    /// Its size when first seen, to tell growth.
    pub first_size: u64,
}

/// Decides whether a new non-directory path (relative, starting with `/`) is added or copied
/// up; trees without lower layers call everything added.
pub trait Classify {
    /// The kind of `rel`, given its stat.
    fn classify(&self, rel: &Path, st: &FileStat) -> Kind;

    /// The kind of the non-directory `rel`: by default a character device 0/0 is an overlay
    /// whiteout, anything else what [`Classify::classify`] says.
    fn kind(&self, rel: &Path, st: &FileStat) -> Kind {
        if st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFCHR && st.st_rdev == 0 {
            Kind::Whiteout
        } else {
            self.classify(rel, st)
        }
    }

    /// True when `rel` going away is itself a deletion of the container's view, to count as
    /// a whiteout (drivers that keep full copies record a deletion as an absence).
    fn absence_deletes(&self, _rel: &Path) -> bool {
        false
    }
}

/// Everything is new.
pub struct AllAdded;

impl Classify for AllAdded {
    fn classify(&self, _rel: &Path, _st: &FileStat) -> Kind {
        Kind::Added
    }
}

/// Running figures of a tracked tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Apparent bytes of non-directories, each inode once (Docker's size).
    pub bytes: u64,
    /// Apparent bytes of added paths (each name).
    pub added_bytes: u64,
    /// Added paths.
    pub added: u64,
    /// Apparent bytes of copied-up paths (each name).
    pub copied_up_bytes: u64,
    /// Copied-up paths.
    pub copied_up: u64,
    /// Whiteouts.
    pub whiteouts: u64,
}

/// Tracks one tree.
pub struct TreeTracker {
    jail: Jail,
    root: PathBuf,
    inotify: Inotify,
    watches: HashMap<WatchDescriptor, PathBuf>,
    entries: BTreeMap<PathBuf, Entry>,
    inodes: HashMap<(u64, u64), (u64, u32)>,
    totals: Totals,
    /// Events read over the tracker's life.
    pub events: u64,
    /// Paths re-examined by the last refresh.
    pub last_touched: usize,
    /// Full rescans forced by a queue overflow.
    pub rescans: u64,
    /// Paths the last refresh re-examined.
    touched: Vec<PathBuf>,
    /// False during the first walk: paths seen later start from size 0 (all their bytes are
    /// growth).
    started: bool,
}

const WATCH_MASK: AddWatchFlags = AddWatchFlags::IN_CREATE
    .union(AddWatchFlags::IN_DELETE)
    .union(AddWatchFlags::IN_MODIFY)
    .union(AddWatchFlags::IN_ATTRIB)
    .union(AddWatchFlags::IN_MOVED_FROM)
    .union(AddWatchFlags::IN_MOVED_TO)
    .union(AddWatchFlags::IN_CLOSE_WRITE)
    .union(AddWatchFlags::IN_ONLYDIR);

impl TreeTracker {
    /// Walks `root` once and starts watching it.
    pub fn new(jail: &Jail, root: &Path, classify: &dyn Classify) -> std::io::Result<TreeTracker> {
        let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
        let mut t = TreeTracker {
            jail: jail.clone(),
            root: root.to_path_buf(),
            inotify,
            watches: HashMap::new(),
            entries: BTreeMap::new(),
            inodes: HashMap::new(),
            totals: Totals::default(),
            events: 0,
            last_touched: 0,
            rescans: 0,
            touched: Vec::new(),
            started: false,
        };
        t.scan_dir(Path::new("/"), classify)?;
        t.started = true;
        Ok(t)
    }

    /// The current figures.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The paths the last [`TreeTracker::refresh`] re-examined.
    pub fn recently_touched(&self) -> Vec<PathBuf> {
        self.touched.clone()
    }

    /// Every tracked path (relative to the root, starting with `/`).
    pub fn entries(&self) -> &BTreeMap<PathBuf, Entry> {
        &self.entries
    }

    /// Applies the changes queued since the last call; returns the entries it could not read.
    pub fn refresh(&mut self, classify: &dyn Classify) -> Vec<WalkError> {
        let mut dirty: Vec<PathBuf> = Vec::new();
        let mut overflow = false;
        loop {
            match self.inotify.read_events() {
                Ok(events) if !events.is_empty() => {
                    for ev in events {
                        self.events += 1;
                        if ev.mask.contains(AddWatchFlags::IN_Q_OVERFLOW) {
                            overflow = true;
                            continue;
                        }
                        if ev.mask.contains(AddWatchFlags::IN_IGNORED) {
                            self.watches.remove(&ev.wd);
                            continue;
                        }
                        let (Some(dir), Some(name)) = (self.watches.get(&ev.wd), ev.name) else {
                            continue;
                        };
                        dirty.push(dir.join(OsStr::from_bytes(name.as_bytes())));
                    }
                }
                Ok(_) | Err(Errno::EAGAIN) => break,
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        let mut errors = Vec::new();
        if overflow {
            self.rescans += 1;
            self.clear();
            if let Err(e) = self.scan_dir(Path::new("/"), classify) {
                errors.push(WalkError {
                    path: self.root.clone(),
                    detail: e.to_string(),
                });
            }
            self.last_touched = self.entries.len();
            return errors;
        }
        dirty.sort();
        dirty.dedup();
        self.last_touched = dirty.len();
        for rel in &dirty {
            self.update(rel, classify, &mut errors);
        }
        self.touched = dirty;
        errors
    }

    fn clear(&mut self) {
        for wd in std::mem::take(&mut self.watches).into_keys() {
            let _ = self.inotify.rm_watch(wd);
        }
        self.entries.clear();
        self.inodes.clear();
        self.totals = Totals::default();
    }

    fn abs(&self, rel: &Path) -> PathBuf {
        self.root.join(rel.strip_prefix("/").unwrap_or(rel))
    }

    /// Re-examines one path named by an event.
    fn update(&mut self, rel: &Path, classify: &dyn Classify, errors: &mut Vec<WalkError>) {
        let abs = self.abs(rel);
        match self.jail.stat(&abs) {
            Ok(st) => {
                let was_dir = self.entries.get(rel).is_some_and(|e| e.kind == Kind::Dir);
                if is_dir(&st) {
                    if !was_dir {
                        self.forget(rel);
                        self.insert(rel.to_path_buf(), &st, Kind::Dir);
                        if let Err(e) = self.scan_dir(rel, classify) {
                            errors.push(WalkError {
                                path: abs,
                                detail: e.to_string(),
                            });
                        }
                    }
                    return;
                }
                if was_dir {
                    self.forget(rel);
                }
                // A file keeps its kind while it is the same inode, unless it was no change: a
                // write may make it one.
                let kind = match self.entries.get(rel) {
                    Some(e)
                        if e.inode == (st.st_dev, st.st_ino)
                            && !matches!(e.kind, Kind::Whiteout | Kind::Unchanged) =>
                    {
                        e.kind
                    }
                    _ => classify.kind(rel, &st),
                };
                self.remove_one(rel);
                self.insert(rel.to_path_buf(), &st, kind);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let was_whiteout = self.entries.get(rel).map(|e| e.kind) == Some(Kind::Whiteout);
                self.forget(rel);
                if !was_whiteout && classify.absence_deletes(rel) {
                    self.insert_entry(rel.to_path_buf(), (0, 0), 0, Kind::Whiteout);
                }
            }
            Err(e) => errors.push(WalkError {
                path: abs,
                detail: crate::fs::describe(&e),
            }),
        }
    }

    /// Walks the directory `rel` (already tracked or the root), watching it and everything
    /// under it.
    fn scan_dir(&mut self, rel: &Path, classify: &dyn Classify) -> std::io::Result<()> {
        let mut stack = vec![rel.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let abs = self.abs(&dir);
            // Opened inside the jail, then watched through its fd's magic link: the watch is
            // on exactly the directory opened, never on where a swapped-in symlink points.
            let opened = match self.jail.dir(&abs) {
                Ok(d) => d,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(std::io::Error::other(crate::fs::describe(&e))),
            };
            let by_fd = PathBuf::from(format!("/proc/self/fd/{}", opened.as_fd().as_raw_fd()));
            match self.inotify.add_watch(&by_fd, WATCH_MASK) {
                Ok(wd) => {
                    self.watches.insert(wd, dir.clone());
                }
                Err(Errno::ENOENT) => continue,
                Err(e) => return Err(e.into()),
            }
            let mut found: Vec<(PathBuf, FileStat)> = Vec::new();
            let mut errors = Vec::new();
            let listed = read_entries(
                &opened,
                |name, st| found.push((dir.join(name), *st)),
                &mut errors,
            );
            if let Err(e) = listed {
                if e == Errno::ENOENT {
                    continue;
                }
                return Err(e.into());
            }
            for (child, st) in found {
                if is_dir(&st) {
                    self.insert(child.clone(), &st, Kind::Dir);
                    stack.push(child);
                } else {
                    let kind = classify.kind(&child, &st);
                    self.insert(child, &st, kind);
                }
            }
        }
        Ok(())
    }

    fn insert(&mut self, rel: PathBuf, st: &FileStat, kind: Kind) {
        let size = if kind.counts() {
            u64::try_from(st.st_size).unwrap_or(0)
        } else {
            0
        };
        self.insert_entry(rel, (st.st_dev, st.st_ino), size, kind);
    }

    /// Tracks `rel` as inode `inode` of `size` apparent bytes (0 unless `kind` counts).
    fn insert_entry(&mut self, rel: PathBuf, inode: (u64, u64), size: u64, kind: Kind) {
        let first_size = match self.entries.get(&rel) {
            Some(e) => e.first_size,
            None if self.started => 0,
            None => size,
        };
        if kind.counts() {
            let slot = self.inodes.entry(inode).or_insert((0, 0));
            if slot.1 == 0 {
                self.totals.bytes += size;
            } else {
                self.totals.bytes = self.totals.bytes + size - slot.0;
            }
            *slot = (size, slot.1 + 1);
            self.count(kind, size, true);
        }
        self.entries.insert(
            rel,
            Entry {
                inode,
                size,
                kind,
                first_size,
            },
        );
    }

    /// Removes one path's contribution (not its descendants), keeping its first size.
    fn remove_one(&mut self, rel: &Path) {
        let Some(e) = self.entries.get(rel).copied() else {
            return;
        };
        if e.kind.counts() {
            if let Some(slot) = self.inodes.get_mut(&e.inode) {
                slot.1 -= 1;
                if slot.1 == 0 {
                    self.totals.bytes -= slot.0;
                    self.inodes.remove(&e.inode);
                }
            }
            self.count(e.kind, e.size, false);
        }
    }

    /// Forgets `rel` and everything under it.
    fn forget(&mut self, rel: &Path) {
        let gone: Vec<PathBuf> = self
            .entries
            .range(rel.to_path_buf()..)
            .take_while(|(p, _)| p.starts_with(rel))
            .map(|(p, _)| p.clone())
            .collect();
        for p in gone {
            self.remove_one(&p);
            self.entries.remove(&p);
        }
    }

    fn count(&mut self, kind: Kind, size: u64, add: bool) {
        let t = &mut self.totals;
        let (bytes, n) = match kind {
            Kind::Added => (&mut t.added_bytes, &mut t.added),
            Kind::CopiedUp => (&mut t.copied_up_bytes, &mut t.copied_up),
            Kind::Whiteout => {
                if add {
                    t.whiteouts += 1;
                } else {
                    t.whiteouts -= 1;
                }
                return;
            }
            Kind::Dir | Kind::Unchanged => return,
        };
        if add {
            *bytes += size;
            *n += 1;
        } else {
            *bytes -= size;
            *n -= 1;
        }
    }
}

fn is_dir(st: &FileStat) -> bool {
    st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR
}

/// `lstat` of `rel` in the directory `dir`, under `jail`'s root (for classifiers).
pub fn stat_in(jail: &Jail, dir: &Path, rel: &Path) -> Option<FileStat> {
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    jail.stat(&dir.join(rel)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn follows_creates_appends_links_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), vec![0u8; 100]).unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let mut t = TreeTracker::new(&jail, dir.path(), &AllAdded).unwrap();
        assert_eq!(t.totals().bytes, 100);
        fs::create_dir_all(dir.path().join("d/e")).unwrap();
        fs::write(dir.path().join("d/e/b"), vec![0u8; 50]).unwrap();
        fs::hard_link(dir.path().join("a"), dir.path().join("d/a2")).unwrap();
        let mut f = fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("a"))
            .unwrap();
        std::io::Write::write_all(&mut f, &[1u8; 10]).unwrap();
        drop(f);
        assert!(t.refresh(&AllAdded).is_empty());
        assert_eq!(t.totals().bytes, 110 + 50, "the hard link counts once");
        assert_eq!(t.entries()[Path::new("/a")].first_size, 100);
        fs::remove_dir_all(dir.path().join("d")).unwrap();
        t.refresh(&AllAdded);
        assert_eq!(t.totals().bytes, 110);
        assert_eq!(t.totals().added, 1);
    }
}
