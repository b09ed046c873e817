//! Storage drivers: where a layer's files live and how Docker measures them.
//!
//! Each driver is one module behind the [`Driver`] trait, which is the whole contract: nothing
//! outside this module asks which driver it has or spells a driver's file names.
//! [`AnyDriver`] dispatches between them and [`detect`] finds every driver that left data in
//! a root (a host whose driver was switched keeps both). Implemented: overlay2 and
//! fuse-overlayfs ([`Overlay2`]), legacy overlay ([`Overlay`]), vfs and btrfs ([`Copies`]),
//! aufs ([`Aufs`]), zfs ([`Zfs`]), devicemapper ([`Devicemapper`]), containerd's overlayfs
//! snapshotter ([`Overlayfs`]); any other name is recognised and reported as unsupported so
//! its bytes are never silently ignored.
//!
//! zfs and devicemapper keep their layers' files in a pool (datasets, thin devices), not
//! under the data root; the root only shows them where a layer is mounted. Everything that
//! needs them is then unknown, said so ([`Driver::unreadable`], [`DiffMeasure::Unknown`],
//! [`Pool`]), never guessed.

mod aufs;
mod copies;
mod devicemapper;
mod overlay;
mod overlay2;
mod snapshotter;
mod zfs;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use aufs::Aufs;
pub use copies::Copies;
pub use devicemapper::Devicemapper;
pub use overlay::Overlay;
pub use overlay2::Overlay2;
pub use snapshotter::Overlayfs;
pub use zfs::Zfs;

use crate::changes::{self, Change};
use crate::error::Problem;
use crate::forensics::union::Union;
use crate::format::whiteout::Whiteouts;
use crate::fs::Jail;
use crate::ids::CacheId;
use crate::layout::IMAGE_DIR;
use crate::root::DRIVER_HOMES;
use crate::walk::WalkError;

/// How Docker computes the size of a writable layer (a container's `SizeRw`), and where a
/// layer's own changes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffMeasure {
    /// The driver keeps the layer's own changes in one directory: its size is the apparent
    /// size of the non-directory entries under it, hard links once (moby `directory.Size`).
    Tree(PathBuf),
    /// The driver keeps full copies: the size is that of entries added or modified in
    /// `layer` compared with `parent` (moby `archive.ChangesDirs` + `ChangesSize`).
    Compare {
        /// The layer's full tree.
        layer: PathBuf,
        /// Its parent's full tree.
        parent: PathBuf,
    },
    /// containerd's `fs.DiskUsage` of the layer's own directory: the allocated bytes of every
    /// entry, directories and the root included, each inode once.
    Usage(PathBuf),
    /// The driver stacks directories and Docker measures naively: entries added or modified
    /// in the view of `layer` compared with the view of `parent` (moby's naive diff over the
    /// two mounts; legacy overlay, fuse-overlayfs, aufs off its parent).
    Views {
        /// The layer's view.
        layer: Stack,
        /// Its parent's view.
        parent: Stack,
        /// How the stacked directories record deletions.
        whiteouts: Whiteouts,
    },
    /// The files needed cannot be read from the data root (the layer's or its parent's
    /// dataset or thin device is not mounted, or the driver's bookkeeping is damaged): the
    /// size is unknown, and the problem says which files and why.
    Unknown(Problem),
}

/// A layer's view as its mount shows it: directories stacked top first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The top directory: the layer's own (or, for a parent, the parent's own).
    pub top: PathBuf,
    /// The directories under it, nearest first.
    pub below: Vec<PathBuf>,
}

impl Stack {
    /// Every directory of the stack, top first.
    pub fn dirs(&self) -> Vec<PathBuf> {
        std::iter::once(self.top.clone())
            .chain(self.below.iter().cloned())
            .collect()
    }

    /// The union view of the stack under `jail`, deletions recorded as `whiteouts` says.
    pub fn union(&self, jail: &Jail, whiteouts: Whiteouts) -> Union {
        Union::new(jail, whiteouts, self.dirs())
    }
}

impl DiffMeasure {
    /// The layer's own directory: the tree walked whole, or the top of what is compared.
    pub fn dir(&self) -> &Path {
        match self {
            DiffMeasure::Tree(dir) | DiffMeasure::Usage(dir) => dir,
            DiffMeasure::Compare { layer, .. } => layer,
            DiffMeasure::Views { layer, .. } => &layer.top,
            DiffMeasure::Unknown(problem) => &problem.path,
        }
    }

    /// Why the layer cannot be measured, for [`DiffMeasure::Unknown`].
    pub fn unknown(&self) -> Option<&Problem> {
        match self {
            DiffMeasure::Unknown(problem) => Some(problem),
            _ => None,
        }
    }

    /// True when the layer is measured as containerd measures a snapshot (allocated blocks of
    /// every entry), not by the apparent size of its files.
    pub fn counts_blocks(&self) -> bool {
        matches!(self, DiffMeasure::Usage(_))
    }

    /// True when the layer is measured by comparing it with its parent (moby's naive diff),
    /// not by walking its own directory.
    pub fn is_naive(&self) -> bool {
        matches!(
            self,
            DiffMeasure::Compare { .. } | DiffMeasure::Views { .. }
        )
    }

    /// The naive diff's changes (sorted by path) and what could not be read, for a measure
    /// that [`DiffMeasure::is_naive`]; `None` for one whose own directory is its changes, and
    /// for an [`DiffMeasure::Unknown`] one (which callers check first).
    pub fn naive_changes(&self, jail: &Jail) -> Option<(Vec<Change>, Vec<WalkError>)> {
        match self {
            DiffMeasure::Tree(_) | DiffMeasure::Usage(_) | DiffMeasure::Unknown(_) => None,
            DiffMeasure::Compare { layer, parent } => Some(changes::compare(jail, layer, parent)),
            DiffMeasure::Views {
                layer,
                parent,
                whiteouts,
            } => Some(changes::compare_views(
                jail,
                &layer.union(jail, *whiteouts),
                &parent.union(jail, *whiteouts),
            )),
        }
    }
}

/// The view of layer `id` of a driver whose every layer is a full tree of its own (vfs,
/// btrfs, zfs, devicemapper), over the layers `below` it: the whole tree for a layer with
/// nothing below, else Docker's naive comparison with its parent's tree; unknown where the
/// driver cannot read either tree ([`Driver::unreadable`]).
fn full_copy_view(
    driver: &impl Driver,
    jail: &Jail,
    id: &CacheId,
    below: &[CacheId],
) -> DiffMeasure {
    let unreadable = std::iter::once(id)
        .chain(below.first())
        .find_map(|l| driver.unreadable(jail, l));
    match (unreadable, below.first()) {
        (Some(problem), _) => DiffMeasure::Unknown(problem),
        (None, None) => DiffMeasure::Tree(driver.content_dir(id)),
        (None, Some(parent)) => DiffMeasure::Compare {
            layer: driver.content_dir(id),
            parent: driver.content_dir(parent),
        },
    }
}

/// What every storage driver answers about its on-disk layout.
pub trait Driver {
    /// The driver's name as dockerd spells it (`overlay2`, `vfs`).
    fn name(&self) -> &'static str;
    /// The driver's home directory under the data root.
    fn home(&self) -> &Path;
    /// Everything the driver keeps for one layer under the data root (content plus
    /// bookkeeping): a directory, or devicemapper's device file (the content is in the pool).
    fn layer_dir(&self, id: &CacheId) -> PathBuf;
    /// The directory holding the layer's files.
    fn content_dir(&self, id: &CacheId) -> PathBuf;
    /// How the driver's layer directories record deletions and opaque directories; `None`
    /// for drivers that apply deletions to full copies (vfs).
    fn whiteouts(&self) -> Option<Whiteouts>;

    /// The directory holding every layer's directory (overlay2: its home; vfs: `vfs/dir`).
    fn layers_dir(&self) -> PathBuf {
        self.home().to_path_buf()
    }

    /// Where layer `id`'s own changes against the layers `below` it (top first; for a
    /// container's writable layer, its init layer then the image's layers) are: by default
    /// its own directory; drivers that keep full copies compare it with its parent's, and a
    /// layer with nothing below is all changes. `jail` reads the driver's bookkeeping where
    /// the answer depends on it (legacy overlay's `root` or `lower-id`).
    fn layer_view(&self, _jail: &Jail, id: &CacheId, _below: &[CacheId]) -> DiffMeasure {
        DiffMeasure::Tree(self.content_dir(id))
    }

    /// How Docker measures the writable layer `id` over the layers `below` it (its init
    /// layer, then the image's layers): by default its [`Driver::layer_view`]; drivers whose
    /// `DiffSize` is always naive (fuse-overlayfs) and containerd's snapshotter differ.
    fn diff_measure(&self, jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        self.layer_view(jail, id, below)
    }

    /// True when a layer's directory records deletions and opaque directories as whiteouts
    /// (overlay's 0/0 character devices and opaque xattrs), so that its entries are exactly
    /// the layer tar's; false for drivers that apply deletions to full copies. By default,
    /// whether the driver has [`Driver::whiteouts`].
    fn keeps_whiteouts(&self) -> bool {
        self.whiteouts().is_some()
    }

    /// True when the `size` dockerd records for a layer of this driver is the sum of the
    /// layer tar's entry sizes (moby's naive-diff `ApplyDiff`: vfs, btrfs, zfs...); false when
    /// it is the apparent size of the layer's own directory (overlay2's native diff,
    /// `directory.Size`).
    fn records_tar_size(&self) -> bool {
        false
    }

    /// The driver's directory of short links to layer content (overlay2 `l/`), if it keeps
    /// one: bookkeeping in [`Driver::layers_dir`] that is no layer.
    fn link_dir(&self) -> Option<PathBuf> {
        None
    }

    /// Layer `id`'s short link in [`Driver::link_dir`], when its bookkeeping names one (a
    /// single name) that exists.
    fn layer_link(&self, _jail: &Jail, _id: &CacheId) -> Option<PathBuf> {
        None
    }

    /// The entries of [`Driver::link_dir`] that no layer claims or that do not lead to the
    /// layer claiming them, each with why; bookkeeping that cannot be read is a problem.
    fn bad_links(&self, _jail: &Jail, _problems: &mut Vec<Problem>) -> Vec<(PathBuf, String)> {
        Vec::new()
    }

    /// True when the driver's layers share extents on disk (btrfs snapshots): the blocks a
    /// walk adds up then count a shared extent once per layer holding it, so an allocated
    /// figure over several layers is more than the disk gives them.
    fn shares_extents(&self) -> bool {
        false
    }

    /// The scratch directory the kernel uses while layer `id` is mounted (overlay2 `work/`):
    /// in the layer's directory, but no content of it.
    fn work_dir(&self, _id: &CacheId) -> Option<PathBuf> {
        None
    }

    /// Why layer `id`'s files cannot be read from the data root, if they cannot: zfs and
    /// devicemapper keep them in a pool, visible only where the layer is mounted. A figure
    /// that needs them is then unknown (a size of -1, a layer not verified), never guessed.
    fn unreadable(&self, _jail: &Jail, _id: &CacheId) -> Option<Problem> {
        None
    }

    /// What the data root lacks of layer `id` when a record names it: the file or directory
    /// that must be there (by default [`Driver::layer_dir`]; devicemapper: the device's
    /// metadata file). `None` when it is there, and when the root cannot tell (zfs: the
    /// dataset is in the pool).
    fn missing_data(&self, jail: &Jail, id: &CacheId) -> Option<PathBuf> {
        let dir = self.layer_dir(id);
        (!jail.is_dir(&dir)).then_some(dir)
    }

    /// What is wrong with the driver's own bookkeeping (aufs: its `layers/` files;
    /// devicemapper: its device and pool records), each a problem naming the file: read
    /// once, when the store is loaded.
    fn bookkeeping_problems(&self, _jail: &Jail) -> Vec<Problem> {
        Vec::new()
    }

    /// True when the entry `name` of [`Driver::layers_dir`] (a directory when `is_dir`) is
    /// one layer's, named by its id: by default every directory (devicemapper: the device
    /// files of `metadata/`). Anything else there is the driver's own (or nobody's).
    fn is_layer_entry(&self, _name: &OsStr, is_dir: bool) -> bool {
        is_dir
    }

    /// The driver's own files and directories in its home that hold no layer's files (aufs
    /// `layers/` and `mnt/`; devicemapper's pool records, mount points and loop directory):
    /// bookkeeping, never leftovers. The pool's backing files are in [`Driver::pool`].
    fn own_files(&self) -> Vec<PathBuf> {
        Vec::new()
    }

    /// Where the layers' files are when they are not files under the data root (zfs
    /// datasets, devicemapper's thin pool), and what the root tells of it.
    fn pool(&self, _jail: &Jail) -> Option<Pool> {
        None
    }
}

/// Where a driver keeps its layers' files when they are not files under the data root, and
/// what the data root tells of it without the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pool {
    /// What the pool is, in a few words.
    pub kind: String,
    /// The pool's backing files under the data root (devicemapper's sparse loop files):
    /// their allocated bytes are the pool's real use of the disk.
    pub files: Vec<PoolFile>,
    /// The layer devices the driver's metadata records (devicemapper), the base device apart.
    pub devices: Option<u64>,
    /// Sum of those devices' virtual sizes, bytes: what their filesystems may grow to, not
    /// what they use.
    pub virtual_bytes: Option<u64>,
    /// What cannot be known without the pool, in one line.
    pub unknown: String,
}

/// One backing file of a [`Pool`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PoolFile {
    /// The file.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// Its apparent size, bytes (`st_size`: a sparse file's length).
    pub apparent_bytes: u64,
    /// Its allocated bytes (`st_blocks` × 512: what it takes on disk).
    pub allocated_bytes: u64,
}

impl PoolFile {
    /// The sizes of `path` under `jail`; `None` when it is not a regular file.
    pub fn of(jail: &Jail, path: PathBuf) -> Option<PoolFile> {
        let st = jail.stat(&path).ok()?;
        crate::fs::is_regular(&st).then(|| PoolFile {
            path,
            apparent_bytes: u64::try_from(st.st_size).unwrap_or(0),
            allocated_bytes: u64::try_from(st.st_blocks).unwrap_or(0).saturating_mul(512),
        })
    }
}

/// One of the implemented drivers.
#[derive(Debug, Clone)]
pub enum AnyDriver {
    /// overlay2, fuse-overlayfs, containers/storage's overlay.
    Overlay2(Overlay2),
    /// The legacy overlay driver.
    Overlay(Overlay),
    /// vfs, btrfs.
    Copies(Copies),
    /// aufs.
    Aufs(Aufs),
    /// zfs.
    Zfs(Zfs),
    /// devicemapper.
    Devicemapper(Devicemapper),
    /// containerd's overlayfs snapshotter.
    Overlayfs(Overlayfs),
}

impl AnyDriver {
    fn inner(&self) -> &dyn Driver {
        match self {
            AnyDriver::Overlay2(d) => d,
            AnyDriver::Overlay(d) => d,
            AnyDriver::Copies(d) => d,
            AnyDriver::Aufs(d) => d,
            AnyDriver::Zfs(d) => d,
            AnyDriver::Devicemapper(d) => d,
            AnyDriver::Overlayfs(d) => d,
        }
    }

    /// Builds Docker's driver named `name` on the data root of `jail`, if strata implements
    /// it.
    pub fn for_name(jail: &Jail, name: &str) -> Option<AnyDriver> {
        let root = jail.path();
        match name {
            overlay2::NAME => Some(AnyDriver::Overlay2(Overlay2::new(root))),
            overlay2::FUSE_OVERLAYFS_NAME => {
                Some(AnyDriver::Overlay2(Overlay2::fuse_overlayfs(root)))
            }
            overlay::NAME => Some(AnyDriver::Overlay(Overlay::new(jail))),
            copies::VFS => Some(AnyDriver::Copies(Copies::vfs(root))),
            copies::BTRFS => Some(AnyDriver::Copies(Copies::btrfs(root))),
            aufs::NAME => Some(AnyDriver::Aufs(Aufs::new(jail))),
            zfs::NAME => Some(AnyDriver::Zfs(Zfs::new(jail))),
            devicemapper::NAME => Some(AnyDriver::Devicemapper(Devicemapper::new(jail))),
            _ => None,
        }
    }
}

impl Driver for AnyDriver {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn home(&self) -> &Path {
        self.inner().home()
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.inner().layer_dir(id)
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.inner().content_dir(id)
    }
    fn diff_measure(&self, jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        self.inner().diff_measure(jail, id, below)
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        self.inner().whiteouts()
    }
    fn layers_dir(&self) -> PathBuf {
        self.inner().layers_dir()
    }
    fn layer_view(&self, jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        self.inner().layer_view(jail, id, below)
    }
    fn keeps_whiteouts(&self) -> bool {
        self.inner().keeps_whiteouts()
    }
    fn records_tar_size(&self) -> bool {
        self.inner().records_tar_size()
    }
    fn link_dir(&self) -> Option<PathBuf> {
        self.inner().link_dir()
    }
    fn layer_link(&self, jail: &Jail, id: &CacheId) -> Option<PathBuf> {
        self.inner().layer_link(jail, id)
    }
    fn bad_links(&self, jail: &Jail, problems: &mut Vec<Problem>) -> Vec<(PathBuf, String)> {
        self.inner().bad_links(jail, problems)
    }
    fn shares_extents(&self) -> bool {
        self.inner().shares_extents()
    }
    fn work_dir(&self, id: &CacheId) -> Option<PathBuf> {
        self.inner().work_dir(id)
    }
    fn unreadable(&self, jail: &Jail, id: &CacheId) -> Option<Problem> {
        self.inner().unreadable(jail, id)
    }
    fn missing_data(&self, jail: &Jail, id: &CacheId) -> Option<PathBuf> {
        self.inner().missing_data(jail, id)
    }
    fn bookkeeping_problems(&self, jail: &Jail) -> Vec<Problem> {
        self.inner().bookkeeping_problems(jail)
    }
    fn is_layer_entry(&self, name: &OsStr, is_dir: bool) -> bool {
        self.inner().is_layer_entry(name, is_dir)
    }
    fn own_files(&self) -> Vec<PathBuf> {
        self.inner().own_files()
    }
    fn pool(&self, jail: &Jail) -> Option<Pool> {
        self.inner().pool(jail)
    }
}

/// A driver that left data in the root.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Detected {
    /// The driver's name.
    pub name: String,
    /// True when `image/<name>/` holds image metadata for it.
    pub has_metadata: bool,
    /// True when its home directory exists.
    pub has_home: bool,
    /// True when strata can read its layers.
    pub supported: bool,
    /// Where its layers' files are when they are not files under the data root (zfs,
    /// devicemapper), with what the root tells of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<Pool>,
}

/// Every driver with metadata (`image/<name>/`) or a home directory in the root of `jail`,
/// in dockerd's order of priority.
pub fn detect(jail: &Jail) -> Vec<Detected> {
    let root = jail.path();
    let meta_names: Vec<String> = jail
        .read_dir(&root.join(IMAGE_DIR))
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.is_dir)
        .map(|e| e.name.to_string_lossy().into_owned())
        .collect();
    let mut names: Vec<String> = DRIVER_HOMES.iter().map(|s| (*s).to_owned()).collect();
    names.extend(
        meta_names
            .iter()
            .filter(|n| !DRIVER_HOMES.contains(&n.as_str()))
            .cloned(),
    );
    names
        .into_iter()
        .filter_map(|name| {
            let has_metadata = meta_names.contains(&name);
            let has_home = jail.is_dir(&root.join(&name));
            (has_metadata || has_home).then(|| {
                let driver = AnyDriver::for_name(jail, &name);
                Detected {
                    supported: driver.is_some(),
                    pool: driver.and_then(|d| d.pool(jail)),
                    name,
                    has_metadata,
                    has_home,
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_driver_answers_for_its_own_layout() {
        let root = Path::new("/r");
        let (o, v) = (Overlay2::new(root), Copies::vfs(root));
        let jail = Jail::open(Path::new("/")).unwrap();
        let (id, parent) = (CacheId("a".into()), CacheId("p".into()));
        assert_eq!(o.layers_dir(), Path::new("/r/overlay2"));
        assert_eq!(v.layers_dir(), Path::new("/r/vfs/dir"));
        // overlay2's layer holds its own changes, with or without a parent.
        for below in [&[][..], std::slice::from_ref(&parent)] {
            let view = o.layer_view(&jail, &id, below);
            assert_eq!(view.dir(), Path::new("/r/overlay2/a/diff"));
            assert!(!view.is_naive());
        }
        // vfs compares a full copy with its parent's; a base layer is its own changes.
        assert_eq!(
            v.layer_view(&jail, &id, std::slice::from_ref(&parent)),
            DiffMeasure::Compare {
                layer: "/r/vfs/dir/a".into(),
                parent: "/r/vfs/dir/p".into()
            }
        );
        assert!(!v.layer_view(&jail, &id, &[]).is_naive());
        // fuse-overlayfs keeps overlay2's layout but measures a container naively.
        let f = Overlay2::fuse_overlayfs(root);
        assert_eq!(f.content_dir(&id), Path::new("/r/fuse-overlayfs/a/diff"));
        assert!(!f
            .layer_view(&jail, &id, std::slice::from_ref(&parent))
            .is_naive());
        assert!(f.diff_measure(&jail, &id, &[parent]).is_naive());
        assert!(o.keeps_whiteouts() && !v.keeps_whiteouts());
        assert!(!o.records_tar_size() && v.records_tar_size());
        assert_eq!(o.link_dir().as_deref(), Some(Path::new("/r/overlay2/l")));
        assert_eq!(v.link_dir(), None);
        assert_eq!(
            o.work_dir(&id).as_deref(),
            Some(Path::new("/r/overlay2/a/work"))
        );
        assert_eq!(v.work_dir(&id), None);
    }

    /// overlay2's links: a layer's own link is found; a link no layer claims, and one a layer
    /// claims that leads elsewhere, are bad.
    #[test]
    fn overlay2_links_are_checked_against_their_layers() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("overlay2");
        for (id, short) in [("good", "GOOD"), ("wrong", "WRONG")] {
            std::fs::create_dir_all(home.join(id).join("diff")).unwrap();
            std::fs::write(home.join(id).join("link"), short).unwrap();
        }
        std::fs::create_dir_all(home.join("l")).unwrap();
        std::os::unix::fs::symlink("../good/diff", home.join("l/GOOD")).unwrap();
        std::os::unix::fs::symlink("../elsewhere/diff", home.join("l/WRONG")).unwrap();
        std::os::unix::fs::symlink("../gone/diff", home.join("l/STRAY")).unwrap();
        let jail = Jail::open(tmp.path()).unwrap();
        let d = Overlay2::new(tmp.path());
        assert_eq!(
            d.layer_link(&jail, &CacheId("good".into())),
            Some(home.join("l/GOOD"))
        );
        assert_eq!(d.layer_link(&jail, &CacheId("none".into())), None);
        let mut problems = Vec::new();
        let mut bad: Vec<PathBuf> = d
            .bad_links(&jail, &mut problems)
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        bad.sort();
        assert_eq!(bad, [home.join("l/STRAY"), home.join("l/WRONG")]);
        assert!(problems.is_empty(), "{problems:?}");
    }
}
