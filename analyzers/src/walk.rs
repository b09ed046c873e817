//! The parallel, inode-aware, mount-aware tree walker: the hot path.
//!
//! [`walk`] walks any number of roots in one pass and returns, for each, a [`TreeUsage`]:
//! entries, apparent bytes (split into directories and everything else) and allocated bytes,
//! with hard links counted once. It knows nothing of Docker; callers choose the roots. A root
//! may lie inside another: the outer walk then leaves it out entirely (the inner root counts
//! it), which is how a caller attributes every byte of a tree to exactly one owner.
//!
//! # Algorithm
//!
//! Every directory is one task on a rayon pool (work-stealing, depth-first on each thread).
//! A task opens its directory relative to its parent's fd (`openat(parent, name,
//! O_DIRECTORY|O_NOFOLLOW|O_NOATIME)`, through [`crate::fs::Dir`]; a walk's roots through the
//! store's [`Jail`]), reads it with `getdents64` and `fstatat`s each entry relative to the
//! directory's fd: no path is ever resolved, so no symlink (nor a directory swapped for one
//! during the walk) leads out of the tree, trees of any depth are walked (no `PATH_MAX`), and a
//! scan does not even move access times. A queued task holds its parent's fd until it has
//! opened its own, so open fds follow the breadth of the queue, not the number of directories. Subdirectories become new tasks; with `one_file_system` a directory
//! on another device (a running container's `merged/` overlay, a bind-mounted volume) is left
//! out, the mount point included, exactly as `du -x` leaves it out. Counts go to the running thread's own accumulator (one
//! uncontended lock per directory, never per file); entries with more than one link are set
//! aside as `(dev, ino, root)` and deduplicated after the walk, in sorted order, so the result
//! is the same whatever the thread count: once per root ([`Walked::per_root`], what Docker's
//! `directory.Size` does for one tree) and once across all roots, the first root in the
//! caller's order owning the inode ([`Walked::owned`], what `du` does for the whole tree). Memory grows with the number of directories queued and of
//! multiply-linked files, not with the number of files.
//!
//! Entries that vanish or cannot be read are recorded in [`TreeUsage::errors`] and the walk
//! goes on; symlinks are never followed.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use nix::errno::Errno;
use nix::sys::stat::FileStat;
use serde::Serialize;

use crate::fs::{Dir, Jail};

/// How to walk.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Worker threads; `None` uses rayon's global pool (one per core).
    pub threads: Option<usize>,
    /// Stay on each root's filesystem, like `du -x`: a directory on another device (and
    /// everything under it) is left out.
    pub one_file_system: bool,
    /// When set, the number of entries seen so far is added here as the walk goes (for a
    /// progress display; the walker itself never prints).
    pub progress: Option<Arc<AtomicU64>>,
}

/// The result of one walk over several roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walked {
    /// For each root, in the caller's order, its usage with hard links counted once within
    /// that root.
    pub per_root: Vec<TreeUsage>,
    /// For each root, its usage with every inode counted once across all roots, in the first
    /// root (in the caller's order) that holds a name for it; these add up to the usage of the
    /// union of the roots.
    pub owned: Vec<TreeUsage>,
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
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// What went wrong (`vanished during the walk`, `Permission denied`...).
    pub detail: String,
}

impl WalkError {
    /// The problem a report lists for it.
    pub fn problem(&self) -> crate::Problem {
        crate::Problem::new(
            &self.path,
            crate::error::ProblemKind::WalkIncomplete,
            &self.detail,
        )
    }
}

/// A multiply-linked inode seen during the walk, under root number `root`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Link {
    dev: u64,
    ino: u64,
    root: usize,
    size: u64,
    blocks: u64,
    nlink: u64,
}

/// One thread's counts for one root.
#[derive(Debug, Default)]
struct Tally {
    usage: TreeUsage,
    links: Vec<Link>,
}

impl Tally {
    fn add(&mut self, root: usize, st: &FileStat) {
        let size = u64::try_from(st.st_size).unwrap_or(0);
        let blocks = u64::try_from(st.st_blocks).unwrap_or(0) * 512;
        let is_dir = st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR;
        if !is_dir && st.st_nlink > 1 {
            self.links.push(Link {
                dev: st.st_dev,
                ino: st.st_ino,
                root,
                size,
                blocks,
                nlink: st.st_nlink,
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
}

/// Adds the multiply-linked inodes to `usages`: each `(dev, ino)` is counted once per group,
/// where `group_of(link)` says which links are one group (one root, or all roots); the first
/// link of a group in sorted order carries the bytes, the others count as saved.
fn settle_links(
    usages: &mut [TreeUsage],
    links: &[Link],
    same_group: impl Fn(&Link, &Link) -> bool,
) {
    let mut prev: Option<&Link> = None;
    for l in links {
        let u = &mut usages[l.root];
        if prev.is_some_and(|p| p.dev == l.dev && p.ino == l.ino && same_group(p, l)) {
            u.hardlinks += 1;
            u.hardlink_saved += l.size;
            continue;
        }
        prev = Some(l);
        u.entries += 1;
        u.files_apparent += l.size;
        u.allocated += l.blocks;
    }
}

/// What every task of one walk shares: the options, the roots (to leave nested ones out of
/// outer walks) and the per-thread accumulators `slots[thread][root]`.
struct Shared<'a> {
    opts: &'a WalkOptions,
    roots: HashSet<&'a Path>,
    /// Directories that directly contain a root: only their entries need checking.
    root_parents: HashSet<&'a Path>,
    slots: Vec<Mutex<Vec<Tally>>>,
}

impl Shared<'_> {
    fn deposit(&self, root: usize, tally: Tally) {
        if let Some(p) = &self.opts.progress {
            p.fetch_add(
                tally.usage.entries + tally.links.len() as u64,
                Ordering::Relaxed,
            );
        }
        let slot = rayon::current_thread_index().unwrap_or(0) % self.slots.len();
        let mut guard = self.slots[slot].lock().unwrap_or_else(|e| e.into_inner());
        guard[root].merge(tally);
    }
}

/// Walks every root (each a path under `jail`'s root) in one parallel pass; `result[i]`
/// describes `roots[i]` with hard links counted once within it ([`Walked::per_root`]). A
/// root that does not exist (or is reached through a symlink) gives a usage with no entries
/// and one error.
pub fn measure(jail: &Jail, roots: &[PathBuf], opts: &WalkOptions) -> Vec<TreeUsage> {
    walk(jail, roots, opts).per_root
}

/// The allocated bytes that deleting each group of roots would free, from one parallel walk
/// of them all: every entry of the group's roots once, and a multiply-linked inode only when
/// the group holds every one of its names (`st_nlink`): a file hard-linked from elsewhere
/// stays (legacy overlay links every file of a layer's `root` into its children's).
pub fn freed_by(jail: &Jail, groups: &[Vec<PathBuf>], opts: &WalkOptions) -> Vec<u64> {
    let mut roots: Vec<PathBuf> = groups.iter().flatten().cloned().collect();
    roots.sort();
    roots.dedup();
    let (usages, mut links) = in_pool(opts, || tally_roots(jail, &roots, opts));
    links.sort_unstable_by_key(|l| (l.dev, l.ino, l.root));
    groups
        .iter()
        .map(|group| {
            let members: HashSet<usize> = group
                .iter()
                .filter_map(|p| roots.binary_search(p).ok())
                .collect();
            let plain: u64 = members.iter().map(|&i| usages[i].allocated).sum();
            let mut linked = 0;
            let mut names: HashMap<(u64, u64), (u64, u64, u64)> = HashMap::new();
            for l in links.iter().filter(|l| members.contains(&l.root)) {
                let e = names
                    .entry((l.dev, l.ino))
                    .or_insert((0, l.nlink, l.blocks));
                e.0 += 1;
            }
            for (seen, nlink, blocks) in names.into_values() {
                if seen >= nlink {
                    linked += blocks;
                }
            }
            plain + linked
        })
        .collect()
}

/// Walks every root (each a path under `jail`'s root) in one parallel pass. Roots must be
/// distinct; a root inside another is left out of the outer one.
pub fn walk(jail: &Jail, roots: &[PathBuf], opts: &WalkOptions) -> Walked {
    in_pool(opts, || walk_in_pool(jail, roots, opts))
}

/// Runs `work` on a pool of `opts.threads` threads when set, else on the global pool.
fn in_pool<T: Send>(opts: &WalkOptions, work: impl FnOnce() -> T + Send) -> T {
    match opts
        .threads
        .and_then(|n| rayon::ThreadPoolBuilder::new().num_threads(n).build().ok())
    {
        Some(pool) => pool.install(work),
        None => work(),
    }
}

/// Every root's usage without its multiply-linked inodes, and those inodes' names.
fn tally_roots(jail: &Jail, roots: &[PathBuf], opts: &WalkOptions) -> (Vec<TreeUsage>, Vec<Link>) {
    let threads = rayon::current_num_threads().max(1);
    let shared = Shared {
        opts,
        roots: roots.iter().map(PathBuf::as_path).collect(),
        root_parents: roots.iter().filter_map(|r| r.parent()).collect(),
        slots: (0..threads)
            .map(|_| Mutex::new((0..roots.len()).map(|_| Tally::default()).collect()))
            .collect(),
    };
    rayon::scope(|s| {
        for (i, root) in roots.iter().enumerate() {
            let shared = &shared;
            s.spawn(move |s| walk_root(s, shared, jail, i, root));
        }
    });
    let mut totals: Vec<Tally> = (0..roots.len()).map(|_| Tally::default()).collect();
    for slot in shared.slots {
        let per_root = slot.into_inner().unwrap_or_else(|e| e.into_inner());
        for (total, t) in totals.iter_mut().zip(per_root) {
            total.merge(t);
        }
    }
    let mut links: Vec<Link> = Vec::new();
    let mut base: Vec<TreeUsage> = Vec::with_capacity(totals.len());
    for mut t in totals {
        links.append(&mut t.links);
        t.usage.errors.sort();
        base.push(t.usage);
    }
    (base, links)
}

fn walk_in_pool(jail: &Jail, roots: &[PathBuf], opts: &WalkOptions) -> Walked {
    let (base, mut links) = tally_roots(jail, roots, opts);
    let mut owned = base.clone();
    links.sort_unstable_by_key(|l| (l.dev, l.ino, l.root));
    settle_links(&mut owned, &links, |_, _| true);
    let mut per_root = base;
    links.sort_unstable_by_key(|l| (l.root, l.dev, l.ino));
    settle_links(&mut per_root, &links, |a, b| a.root == b.root);
    Walked { per_root, owned }
}

fn walk_root<'s>(
    scope: &rayon::Scope<'s>,
    shared: &'s Shared<'s>,
    jail: &Jail,
    root: usize,
    path: &Path,
) {
    let mut tally = Tally::default();
    match jail.stat(path) {
        Ok(st) if crate::fs::is_dir_stat(&st) => match jail.dir(path) {
            Ok(dir) => {
                tally.add(root, &st);
                let dev = st.st_dev;
                scope.spawn(move |s| walk_dir(s, shared, root, dir, dev));
            }
            Err(e) => tally.usage.errors.push(io_walk_error(path, &e)),
        },
        Ok(st) => tally.add(root, &st),
        Err(e) => tally.usage.errors.push(io_walk_error(path, &e)),
    }
    shared.deposit(root, tally);
}

/// Opens `name` in `parent` and walks it; the parent's fd is released once the child's is
/// open.
fn walk_child<'s>(
    scope: &rayon::Scope<'s>,
    shared: &'s Shared<'s>,
    root: usize,
    parent: Arc<Dir>,
    name: OsString,
    dev: u64,
) {
    match parent.open_dir(&name) {
        Ok(dir) => {
            drop(parent);
            walk_dir(scope, shared, root, dir, dev);
        }
        Err(e) => {
            let mut tally = Tally::default();
            let path = parent.path().join(&name);
            tally.usage.errors.push(walk_error(&path, e));
            shared.deposit(root, tally);
        }
    }
}

fn walk_dir<'s>(scope: &rayon::Scope<'s>, shared: &'s Shared<'s>, root: usize, dir: Dir, dev: u64) {
    let mut tally = Tally::default();
    let mut errors = Vec::new();
    let holds_roots = shared.root_parents.contains(dir.path());
    let dir = Arc::new(dir);
    if let Err(e) = read_entries(
        &dir,
        |name, st| {
            if holds_roots && shared.roots.contains(dir.path().join(name).as_path()) {
                return;
            }
            let is_dir = crate::fs::is_dir_stat(st);
            if is_dir && shared.opts.one_file_system && st.st_dev != dev {
                tally.usage.skipped_mounts += 1;
                return;
            }
            tally.add(root, st);
            if !is_dir {
                return;
            }
            let parent = Arc::clone(&dir);
            let name = name.to_os_string();
            let child_dev = st.st_dev;
            scope.spawn(move |s| walk_child(s, shared, root, parent, name, child_dev));
        },
        &mut errors,
    ) {
        errors.push(walk_error(dir.path(), e));
    }
    tally.usage.errors.extend(errors);
    shared.deposit(root, tally);
}

/// Calls `visit(name, stat)` for each entry of `dir` (not `.`/`..`); entries that vanish or
/// cannot be stat'ed go to `errors`. Fails only when `dir` itself cannot be read.
pub(crate) fn read_entries(
    dir: &Dir,
    mut visit: impl FnMut(&OsStr, &FileStat),
    errors: &mut Vec<WalkError>,
) -> nix::Result<()> {
    dir.for_each(|name, st| match st {
        Ok(st) => visit(name, &st),
        Err(e) => errors.push(walk_error(&dir.path().join(name), e)),
    })
}

fn io_walk_error(path: &Path, e: &std::io::Error) -> WalkError {
    match e.raw_os_error() {
        Some(nix::libc::ENOENT) => walk_error(path, Errno::ENOENT),
        _ => WalkError {
            path: path.to_path_buf(),
            detail: crate::fs::describe(e),
        },
    }
}

fn walk_error(path: &Path, e: Errno) -> WalkError {
    let detail = match e {
        Errno::ENOENT => "vanished during the walk".to_owned(),
        Errno::ELOOP | Errno::ENOTDIR => {
            "replaced by a symlink or a file during the walk: not followed".to_owned()
        }
        _ => e.desc().to_owned(),
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
        let jail = Jail::open(dir.path()).unwrap();
        let roots = vec![dir.path().to_path_buf(), dir.path().join("a/b")];
        let one = walk(
            &jail,
            &roots,
            &WalkOptions {
                threads: Some(1),
                one_file_system: true,
                progress: None,
            },
        );
        let many = walk(
            &jail,
            &roots,
            &WalkOptions {
                threads: Some(4),
                one_file_system: true,
                progress: None,
            },
        );
        assert_eq!(one, many);
        let whole = measure(&jail, &[dir.path().to_path_buf()], &WalkOptions::default());
        let top = &whole[0];
        // f1 + f2 (once) + symlink target length + sparse apparent size.
        assert_eq!(top.files_apparent, 1000 + 3000 + 4 + (10 << 20));
        assert_eq!(top.hardlinks, 1);
        assert_eq!(top.hardlink_saved, 3000);
        assert_eq!(top.dirs, 4);
        assert!(top.allocated < 1 << 20, "sparse file allocates little");
        assert!(top.errors.is_empty());
        // a/b is its own root: the outer walk leaves it out, and the pair adds up to the whole.
        let (outer, inner) = (&one.per_root[0], &one.per_root[1]);
        assert_eq!(inner.files_apparent, 3000);
        assert_eq!(inner.dirs, 2);
        assert_eq!(outer.dirs + inner.dirs, top.dirs);
        // f2's second name (a/b/c/f2link) is inside a/b too: counted there once.
        assert_eq!(
            outer.files_apparent + inner.files_apparent,
            top.files_apparent
        );
        assert_eq!(one.owned, one.per_root);
    }

    #[test]
    fn a_hard_link_across_roots_is_owned_by_the_first_root() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("f"), vec![0u8; 5000]).unwrap();
        fs::hard_link(a.join("f"), b.join("g")).unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let w = walk(&jail, &[a.clone(), b.clone()], &WalkOptions::default());
        assert_eq!(w.per_root[0].files_apparent, 5000);
        assert_eq!(w.per_root[1].files_apparent, 5000);
        assert_eq!(w.owned[0].files_apparent, 5000);
        assert_eq!(w.owned[1].files_apparent, 0);
        assert_eq!(w.owned[1].hardlink_saved, 5000);
    }

    #[test]
    fn missing_root_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let u = &measure(&jail, &[dir.path().join("nope")], &WalkOptions::default())[0];
        assert!(u.root_failed());
    }

    #[test]
    fn symlinked_roots_and_dirs_are_not_followed_and_deep_trees_are_walked() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("big"), vec![0u8; 100_000]).unwrap();
        let inner = dir.path().join("inner");
        fs::create_dir(&inner).unwrap();
        std::os::unix::fs::symlink(outside.path(), inner.join("out")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("rootlink")).unwrap();
        // Deeper than PATH_MAX allows by name: 3000 levels of 4-byte names.
        let deep = dir.path().join("deep");
        fs::create_dir(&deep).unwrap();
        let mut d = fs::File::open(&deep).unwrap();
        for _ in 0..3000 {
            nix::sys::stat::mkdirat(&d, "abc", nix::sys::stat::Mode::S_IRWXU).unwrap();
            d = nix::fcntl::openat(
                &d,
                "abc",
                nix::fcntl::OFlag::O_DIRECTORY,
                nix::sys::stat::Mode::empty(),
            )
            .map(fs::File::from)
            .unwrap();
        }
        nix::unistd::write(
            nix::fcntl::openat(
                &d,
                "f",
                nix::fcntl::OFlag::O_CREAT | nix::fcntl::OFlag::O_WRONLY,
                nix::sys::stat::Mode::S_IRWXU,
            )
            .unwrap(),
            b"12345",
        )
        .unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let w = measure(
            &jail,
            &[
                inner.clone(),
                dir.path().join("rootlink"),
                dir.path().join("deep"),
            ],
            &WalkOptions::default(),
        );
        assert!(
            w[0].files_apparent < 1000,
            "the symlink is counted, not followed"
        );
        assert!(
            w[1].files_apparent < 1000,
            "a symlinked root is the link itself"
        );
        assert_eq!(w[2].dirs, 3001);
        assert_eq!(w[2].files_apparent, 5);
        assert!(w[2].errors.is_empty(), "{:?}", w[2].errors.first());
    }
}
