//! `strata diff CONTAINER`: a container's copy-on-write changes from the files alone, the
//! same set and letters `docker diff` prints, with what Docker does not say: for a changed
//! file whether its content or only its metadata changed, the bytes each change adds to the
//! writable layer, and totals per top-level directory.
//!
//! # What Docker compares
//!
//! dockerd 20.10 answers `docker diff` with moby's naive `ChangesDirs`: it mounts the
//! container's layer and its init layer and compares the two full views (`overlay2` has
//! "Native Overlay Diff" but its `Changes` takes the naive path too; `vfs` keeps full copies
//! anyway). A path in both views is changed (`C`) when its mode, owner, rdev or
//! `security.capability` differ or, for a non-directory, its mtime (seconds, and nanoseconds
//! unless either is 0) or size; a directory with a change inside it is `C` as well.
//!
//! - vfs: the two views are the directories themselves ([`crate::changes::compare`]).
//! - overlay2: the two views differ only where the writable layer's `diff/` has entries, so
//!   only that directory is walked. Each entry is compared with the same path in the union
//!   of the lower layers ([`Union`]): a whiteout is `D` when the lower view has the path; an
//!   entry missing below is `A` (and everything under it); an opaque directory hides every
//!   lower child it does not hold itself, each a `D`.
//! - containers/storage's overlay with a mount program (fuse-overlayfs): podman's `diff` is
//!   naive there too (`useNaiveDiff`), and the views are those fuse-overlayfs shows: the
//!   same walk, with its whiteouts ([`Whiteouts::Fuse`]: `.wh.` names as well, never listed
//!   themselves; a whiteout over a name no lower layer has is no change, as fuse-overlayfs
//!   writes such ones when it renames and removes directories).
//! - containers/storage's overlay without one: podman's `diff` is containers/storage's own
//!   walk of the writable layer's directory against each lower one
//!   ([`OverlayDiff::Layers`], in [`super::layer_changes`]), which lists some changes
//!   otherwise: an opaque directory is deleted and its new entries added, and every copied-up
//!   file is changed.

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::FileStat;
use serde::Serialize;

use super::union::{is_opaque, role, Union};
use crate::backend::Backend;
use crate::changes::{self, is_dir, new_change, stat_differs, Change, ChangeKind};
use crate::driver::{DiffMeasure, Driver};
use crate::error::{Problem, ProblemKind};
use crate::format::whiteout::{Role, Whiteouts};
use crate::fs::Jail;
use crate::graph::{Container, Store};
use crate::walk::WalkError;

/// `docker diff`'s letter for a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Letter {
    /// Added.
    A,
    /// Changed.
    C,
    /// Deleted.
    D,
}

/// For a changed non-directory: what changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alteration {
    /// The bytes differ (or the size, or the file type, or a symlink was re-made).
    Content,
    /// Copied up with the same bytes: only mode, owner, times or capabilities changed.
    Metadata,
}

/// One change, as `docker diff` prints it plus strata's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiffEntry {
    /// The path inside the container, starting with `/`.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// `A`, `C` or `D`.
    pub kind: Letter,
    /// True for a directory.
    pub is_dir: bool,
    /// For `C` on a non-directory: content or metadata only.
    pub alteration: Option<Alteration>,
    /// Apparent bytes the change keeps in the writable layer: the new file's size for `A`
    /// and `C` on non-directories (a hard-linked inode counted at its first name only), 0 for
    /// directories and deletions.
    pub bytes: u64,
}

/// Changes under one top-level directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DirTotal {
    /// The top-level path (`/app`), or the entry itself for a top-level file.
    #[serde(flatten, serialize_with = "crate::text::json::dir")]
    pub dir: PathBuf,
    /// Entries added.
    pub added: u64,
    /// Entries changed.
    pub changed: u64,
    /// Entries deleted.
    pub deleted: u64,
    /// Sum of the entries' `Bytes`.
    pub bytes: u64,
}

/// `strata diff`'s report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DiffReport {
    /// The container's full id.
    pub id: String,
    /// Its name, without the leading `/`.
    pub name: String,
    /// The storage driver.
    pub driver: String,
    /// The changes, sorted by path.
    pub changes: Vec<DiffEntry>,
    /// Per top-level directory, sorted by path.
    pub totals: Vec<DirTotal>,
    /// Sum of every change's `Bytes`.
    pub bytes: u64,
    /// overlay2: files in the writable layer that are no change to Docker (copied up, then
    /// left with the same mode, owner, size and mtime second, e.g. by `touch` within the
    /// second) but still take space there; `Bytes` as for changes.
    pub unlisted: Vec<DiffEntry>,
    /// Sum of the unlisted files' `Bytes`; with `Bytes` this is the container's `SizeRw`.
    pub unlisted_bytes: u64,
    /// What could not be read (a missing writable layer, unreadable entries).
    pub problems: Vec<Problem>,
}

/// How the store's owner lists the changes of an overlay layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayDiff {
    /// Comparing the two mounted views, as moby's naive `ChangesDirs` does (dockerd; podman
    /// with a mount program): the layer's own directory over the union of the lower ones.
    Views,
    /// containers/storage's native `OverlayChanges`: the layer's own directory against each
    /// lower layer directory ([`super::layer_changes`]).
    Layers,
    /// moby's aufs `Changes` with a direct parent (`archive.Changes`): the layer's own
    /// directory walked, each entry looked up in the lower layer directories in turn.
    Aufs,
}

/// The two sides of the comparison: where a path's new and old state live.
enum Views {
    /// Full copies (vfs): two whole trees.
    Trees { new: PathBuf, old: PathBuf },
    /// Two stacks compared naively (legacy overlay's `upper` over its base's `root`, against
    /// its parent's).
    Unions { new: Union, old: Union },
    /// The writable layer's own directory (overlay2 `diff/`) over its lower layers, compared
    /// as `rules` says.
    Overlay {
        upper: PathBuf,
        lower: Union,
        rules: OverlayDiff,
    },
    /// The files cannot be read (a layer whose pool is not mounted): why.
    Unknown(Problem),
}

impl Views {
    fn of(store: &Store, c: &Container) -> Views {
        let rw = &c.rw_layer;
        let below = store.rw_below(rw);
        match store.driver.layer_view(&store.jail, &rw.mount_id, &below) {
            DiffMeasure::Compare { layer, parent } => Views::Trees {
                new: layer,
                old: parent,
            },
            DiffMeasure::Views {
                layer,
                parent,
                whiteouts,
            } => Views::Unions {
                new: layer.union(&store.jail, whiteouts),
                old: parent.union(&store.jail, whiteouts),
            },
            DiffMeasure::Unknown(problem) => Views::Unknown(problem),
            view @ (DiffMeasure::Tree(_) | DiffMeasure::Usage(_)) => Views::Overlay {
                upper: view.dir().to_path_buf(),
                lower: Union::new(
                    &store.jail,
                    store.driver.whiteouts().unwrap_or(Whiteouts::Kernel),
                    below.iter().map(|l| store.driver.content_dir(l)).collect(),
                ),
                rules: store.backend.overlay_diff(&store.driver),
            },
        }
    }

    /// The directory the writable layer's own entries are in.
    fn new_root(&self) -> &Path {
        match self {
            Views::Trees { new, .. } => new,
            Views::Unions { new, .. } => new.layers().first().map_or(Path::new("/"), |p| p),
            Views::Overlay { upper, .. } => upper,
            Views::Unknown(problem) => &problem.path,
        }
    }

    /// The file holding `rel`'s old state, if the old view has it.
    fn old_file(&self, rel: &Path) -> Option<PathBuf> {
        match self {
            Views::Trees { old, .. } => Some(old.join(strip_root(rel))),
            Views::Unions { old, .. } => old.lookup(rel).map(|f| f.path),
            Views::Overlay { lower, .. } => lower.lookup(rel).map(|f| f.path),
            Views::Unknown(_) => None,
        }
    }

    fn changes(&self, jail: &Jail) -> Found {
        match self {
            Views::Trees { new, old } => {
                let (mut changes, errors) = changes::compare(jail, new, old);
                changes::add_changed_parents(&mut changes);
                Found {
                    changes,
                    errors,
                    ..Found::default()
                }
            }
            Views::Unions { new, old } => {
                let (mut changes, errors) = changes::compare_views(jail, new, old);
                changes::add_changed_parents(&mut changes);
                Found {
                    changes,
                    errors,
                    ..Found::default()
                }
            }
            Views::Overlay {
                upper,
                lower,
                rules: OverlayDiff::Views,
            } => {
                let mut found = Found::default();
                overlay_dir(jail, upper, lower, Path::new("/"), true, &mut found);
                // A fuse-overlayfs deletion may be recorded in both forms.
                found.changes.sort();
                found.changes.dedup();
                changes::add_changed_parents(&mut found.changes);
                found.unlisted.sort();
                found
            }
            Views::Overlay {
                upper,
                lower,
                rules: OverlayDiff::Layers,
            } => {
                let (mut changes, errors) =
                    super::layer_changes::changes(jail, upper, lower.layers());
                changes.sort();
                Found {
                    changes,
                    errors,
                    ..Found::default()
                }
            }
            Views::Overlay {
                upper,
                lower,
                rules: OverlayDiff::Aufs,
            } => {
                let mut found = Found::default();
                let mut changed_dirs = HashSet::new();
                aufs_dir(
                    jail,
                    upper,
                    lower.layers(),
                    Path::new("/"),
                    &mut changed_dirs,
                    &mut found,
                );
                found.changes.sort();
                found.changes.dedup();
                found
            }
            Views::Unknown(_) => Found::default(),
        }
    }
}

/// What a comparison found.
#[derive(Default)]
struct Found {
    /// Docker's changes.
    changes: Vec<Change>,
    /// Non-directories of the writable layer that are no change (overlay2 only).
    unlisted: Vec<Change>,
    /// What could not be read.
    errors: Vec<WalkError>,
    /// Whiteouts that hide nothing: overlayfs only writes one over a lower entry.
    stray_whiteouts: Vec<PathBuf>,
}

fn strip_root(rel: &Path) -> &Path {
    rel.strip_prefix("/").unwrap_or(rel)
}

/// Compares the upper directory `rel` with the lower view; `old_is_dir` says whether the
/// lower view has `rel` as a directory (else everything below is added).
fn overlay_dir(
    jail: &Jail,
    upper: &Path,
    lower: &Union,
    rel: &Path,
    old_is_dir: bool,
    out: &mut Found,
) {
    let whiteouts = lower.whiteouts();
    let dir = upper.join(strip_root(rel));
    let entries = changes::list(jail, &dir, &mut out.errors);
    // fuse-overlayfs: a `.wh.<name>` beside `<name>` deletes it all the same.
    let deleted_here: HashSet<&std::ffi::OsStr> = entries
        .iter()
        .filter_map(|(n, st)| match role(whiteouts, n, st) {
            Role::Deletes(target) if target != n.as_os_str() => Some(target),
            _ => None,
        })
        .collect();
    let present: HashSet<&std::ffi::OsStr> = entries
        .iter()
        .filter(|(n, st)| role(whiteouts, n, st) == Role::Entry)
        .map(|(n, _)| n.as_os_str())
        .filter(|n| !deleted_here.contains(n))
        .collect();
    let opaque = old_is_dir && rel != Path::new("/") && is_opaque(jail, whiteouts, &dir);
    if opaque {
        for name in lower.children(rel) {
            if !present.contains(name.as_os_str()) {
                out.changes.push(Change::deleted(rel.join(&name), false));
            }
        }
    }
    for (name, st) in &entries {
        match role(whiteouts, name, st) {
            Role::Hidden => continue,
            Role::Deletes(target) => {
                let path = rel.join(target);
                let old = if old_is_dir {
                    lower.lookup(&path)
                } else {
                    None
                };
                match (&old, opaque) {
                    (Some(_), false) => out.changes.push(Change::deleted(path, false)),
                    (Some(_), true) => {}
                    (None, _) if whiteouts == Whiteouts::Kernel => {
                        out.stray_whiteouts.push(dir.join(name));
                    }
                    (None, _) => {}
                }
                continue;
            }
            Role::Entry if deleted_here.contains(name.as_os_str()) => continue,
            Role::Entry => {}
        }
        let path = rel.join(name);
        let old = if old_is_dir {
            lower.lookup(&path)
        } else {
            None
        };
        let kind = match &old {
            None => Some(ChangeKind::Added),
            Some(o) => {
                let caps = jail.capability(&o.path) != jail.capability(&dir.join(name));
                (stat_differs(&o.stat, st) || caps).then_some(ChangeKind::Modified)
            }
        };
        match kind {
            Some(kind) => out.changes.push(new_change(path.clone(), kind, st)),
            None if !is_dir(st) => {
                out.unlisted
                    .push(new_change(path.clone(), ChangeKind::Modified, st))
            }
            None => {}
        }
        if is_dir(st) {
            let below_is_dir = old.as_ref().is_some_and(|o| is_dir(&o.stat));
            overlay_dir(jail, upper, lower, &path, below_is_dir, out);
        }
    }
}

/// moby's `changes(layers, rw, aufsDeletedFile, aufsMetadataSkip)` over the directory `rel`
/// of the aufs layer directory `upper`, its entries in name order (`filepath.Walk`):
/// - a top-level `.wh..wh.*` entry (aufs' bookkeeping) is skipped, but what is under it is
///   still walked (the skip returns nil, not `SkipDir`);
/// - any other `.wh.<name>` deletes `<name>` of its directory: so a `.wh..wh..opq` below the
///   top reads as the deletion of `.wh..opq`, as dockerd lists it;
/// - an entry found in none of `layers` is added; one found in some is changed, unless both
///   are directories of the same size, mode and mtime (then it is no change); no whiteout or
///   opaque marker of a lower layer is considered;
/// - an addition or deletion whose directory was not itself listed adds the directory as
///   changed, once.
///
/// moby looks a path up in a lower layer with `os.Stat`, following symlinks; the jail never
/// follows one, so a lower symlink counts as present whatever it points at.
fn aufs_dir(
    jail: &Jail,
    upper: &Path,
    layers: &[PathBuf],
    rel: &Path,
    changed_dirs: &mut HashSet<PathBuf>,
    out: &mut Found,
) {
    use std::os::unix::ffi::OsStrExt;
    let dir = upper.join(strip_root(rel));
    let mut entries = changes::list(jail, &dir, &mut out.errors);
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, st) in entries {
        let path = rel.join(&name);
        let bookkeeping = rel == Path::new("/")
            && name
                .as_bytes()
                .starts_with(crate::format::whiteout::WHITEOUT_META_PREFIX.as_bytes());
        if !bookkeeping {
            aufs_entry(jail, layers, &dir, &path, &st, changed_dirs, out);
        }
        if is_dir(&st) {
            aufs_dir(jail, upper, layers, &path, changed_dirs, out);
        }
    }
}

/// One entry `path` (stat `st`, in the directory `dir` of the upper layer) of [`aufs_dir`].
fn aufs_entry(
    jail: &Jail,
    layers: &[PathBuf],
    dir: &Path,
    path: &Path,
    st: &FileStat,
    changed_dirs: &mut HashSet<PathBuf>,
    out: &mut Found,
) {
    use std::os::unix::ffi::OsStrExt;
    let name = path.file_name().unwrap_or_default();
    let parent = path.parent().unwrap_or(Path::new("/"));
    let target = name
        .as_bytes()
        .strip_prefix(crate::format::whiteout::WHITEOUT_PREFIX.as_bytes());
    let change = match target {
        Some(b"" | b"." | b"..") => {
            out.errors.push(WalkError {
                path: dir.join(name),
                detail: "an AUFS whiteout that names no entry of its directory: ignored".into(),
            });
            return;
        }
        Some(target) => Change::deleted(parent.join(std::ffi::OsStr::from_bytes(target)), false),
        None => {
            let mut kind = ChangeKind::Added;
            for layer in layers {
                let lower = match jail.stat(&layer.join(strip_root(path))) {
                    Ok(lower) => lower,
                    Err(e) if is_absence(&e) => continue,
                    Err(e) => {
                        out.errors.push(WalkError {
                            path: layer.join(strip_root(path)),
                            detail: crate::fs::describe(&e),
                        });
                        continue;
                    }
                };
                let same_dir = is_dir(&lower)
                    && is_dir(st)
                    && lower.st_size == st.st_size
                    && lower.st_mode == st.st_mode
                    && changes::same_time(&lower, st);
                if same_dir {
                    return;
                }
                kind = ChangeKind::Modified;
                break;
            }
            new_change(path.to_path_buf(), kind, st)
        }
    };
    if is_dir(st) {
        changed_dirs.insert(path.to_path_buf());
    }
    if change.kind != ChangeKind::Modified
        && parent != Path::new("/")
        && changed_dirs.insert(parent.to_path_buf())
    {
        out.changes.push(Change {
            path: parent.to_path_buf(),
            kind: ChangeKind::Modified,
            is_dir: true,
            size: 0,
            inode: (0, 0),
            nlink: 0,
        });
    }
    out.changes.push(change);
}

/// True when a lookup failed because the path is not there (a component missing, or not a
/// directory).
fn is_absence(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(nix::libc::ENOTDIR)
}

/// Computes `strata diff` for container `c`.
pub fn diff(store: &Store, c: &Container) -> DiffReport {
    let views = Views::of(store, c);
    // The load's problems too: a damaged lower layer record changes what counts as a change.
    let mut problems = store.problems.clone();
    let root = views.new_root();
    let mut found = match store.jail.stat(root) {
        _ if matches!(views, Views::Unknown(_)) => Found::default(),
        Ok(st) if is_dir(&st) => views.changes(&store.jail),
        Ok(st) => {
            problems.push(Problem::new(
                root,
                ProblemKind::Unreadable,
                format!(
                    "the container's writable layer is {}, not a directory: not followed",
                    crate::fs::kind_of(&st)
                ),
            ));
            Found::default()
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            problems.push(Problem::new(
                root,
                ProblemKind::Missing,
                "the container's writable layer is gone; no changes can be listed",
            ));
            Found::default()
        }
        Err(e) => {
            problems.push(crate::fs::io_problem(root, &e));
            Found::default()
        }
    };
    match &views {
        Views::Overlay { lower, .. } => problems.extend(lower.problems()),
        Views::Unknown(problem) => problems.push(problem.clone()),
        _ => {}
    }
    for e in std::mem::take(&mut found.errors) {
        problems.push(e.problem());
    }
    for path in std::mem::take(&mut found.stray_whiteouts) {
        problems.push(Problem::new(
            path,
            ProblemKind::InvalidValue,
            "whiteout over a path no lower layer has (overlayfs never writes one); ignored",
        ));
    }
    let hidden = store.backend.diff_hidden_paths();
    let (shown, hidden): (Vec<Change>, Vec<Change>) = std::mem::take(&mut found.changes)
        .into_iter()
        .partition(|ch| !hidden.iter().any(|h| ch.path == Path::new(h)));
    found.changes = shown;
    found
        .unlisted
        .extend(hidden.into_iter().filter(|ch| !ch.is_dir));
    found.unlisted.sort();
    let mut seen_inodes = HashSet::new();
    let mut to_entries = |list: &[Change]| -> Vec<DiffEntry> {
        list.iter()
            .map(|ch| entry(&store.jail, &views, root, ch, &mut seen_inodes))
            .collect()
    };
    let entries = to_entries(&found.changes);
    let unlisted = to_entries(&found.unlisted);
    let totals = totals(&entries);
    problems.sort();
    problems.dedup();
    DiffReport {
        id: c.id.0.clone(),
        name: c.name.trim_start_matches('/').to_owned(),
        driver: store.driver.name().to_owned(),
        bytes: entries.iter().map(|e| e.bytes).sum(),
        unlisted_bytes: unlisted.iter().map(|e| e.bytes).sum(),
        changes: entries,
        unlisted,
        totals,
        problems,
    }
}

fn entry(
    jail: &Jail,
    views: &Views,
    root: &Path,
    ch: &Change,
    seen_inodes: &mut HashSet<(u64, u64)>,
) -> DiffEntry {
    let kind = match ch.kind {
        ChangeKind::Added => Letter::A,
        ChangeKind::Modified => Letter::C,
        ChangeKind::Deleted => Letter::D,
    };
    let counts = kind != Letter::D && !ch.is_dir && (ch.nlink <= 1 || seen_inodes.insert(ch.inode));
    let new_path = root.join(strip_root(&ch.path));
    let alteration = (kind == Letter::C && !ch.is_dir).then(|| match views.old_file(&ch.path) {
        Some(old) => alteration(jail, &old, &new_path),
        None => Alteration::Content,
    });
    DiffEntry {
        path: ch.path.clone(),
        kind,
        is_dir: ch.is_dir,
        alteration,
        bytes: if counts { ch.size } else { 0 },
    }
}

/// Content or metadata: regular files of equal size are compared byte for byte; a symlink
/// cannot be rewritten in place, so one with the same length and mtime is the same link
/// (reading link targets would move their access times); anything else of a different type
/// or size has new content.
fn alteration(jail: &Jail, old: &Path, new: &Path) -> Alteration {
    let (Ok(o), Ok(n)) = (jail.stat(old), jail.stat(new)) else {
        return Alteration::Content;
    };
    let fmt = |st: &FileStat| st.st_mode & nix::libc::S_IFMT;
    if fmt(&o) != fmt(&n) || o.st_size != n.st_size {
        return Alteration::Content;
    }
    let same = match fmt(&n) {
        nix::libc::S_IFREG => same_bytes(jail, old, new).unwrap_or(false),
        nix::libc::S_IFLNK => o.st_mtime == n.st_mtime && o.st_mtime_nsec == n.st_mtime_nsec,
        _ => true,
    };
    if same {
        Alteration::Metadata
    } else {
        Alteration::Content
    }
}

/// Streams both files and compares them chunk by chunk.
fn same_bytes(jail: &Jail, a: &Path, b: &Path) -> std::io::Result<bool> {
    const CHUNK: usize = 64 * 1024;
    let (mut fa, mut fb) = (jail.file(a)?, jail.file(b)?);
    let (mut ba, mut bb) = (vec![0u8; CHUNK], vec![0u8; CHUNK]);
    loop {
        let na = read_full(&mut fa, &mut ba)?;
        let nb = read_full(&mut fb, &mut bb)?;
        if na != nb || ba[..na] != bb[..nb] {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

/// Reads until `buf` is full or the file ends; the count read.
pub(crate) fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn totals(entries: &[DiffEntry]) -> Vec<DirTotal> {
    let mut by_dir: BTreeMap<PathBuf, DirTotal> = BTreeMap::new();
    for e in entries {
        let top = e
            .path
            .components()
            .find(|c| matches!(c, Component::Normal(_)))
            .map_or_else(|| PathBuf::from("/"), |c| Path::new("/").join(c));
        let t = by_dir.entry(top.clone()).or_insert_with(|| DirTotal {
            dir: top,
            ..DirTotal::default()
        });
        match e.kind {
            Letter::A => t.added += 1,
            Letter::C => t.changed += 1,
            Letter::D => t.deleted += 1,
        }
        t.bytes += e.bytes;
    }
    by_dir.into_values().collect()
}
