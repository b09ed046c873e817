//! Storage drivers: where a layer's files live and how Docker measures them.
//!
//! Each driver is one module behind the [`Driver`] trait; [`AnyDriver`] dispatches between
//! them and [`detect`] finds every driver that left data in a root (a host whose driver was
//! switched keeps both). overlay2 and vfs are implemented; the others are recognised and
//! reported as unsupported so their bytes are never silently ignored.

mod overlay2;
mod snapshotter;
mod vfs;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use overlay2::Overlay2;
pub use snapshotter::Overlayfs;
pub use vfs::Vfs;

use crate::fs::Jail;
use crate::ids::CacheId;
use crate::layout::IMAGE_DIR;
use crate::root::DRIVER_HOMES;

/// How Docker computes the size of a writable layer (a container's `SizeRw`).
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
}

/// What every storage driver answers about its on-disk layout.
pub trait Driver {
    /// The driver's name as dockerd spells it (`overlay2`, `vfs`).
    fn name(&self) -> &'static str;
    /// The driver's home directory under the data root.
    fn home(&self) -> &Path;
    /// Everything the driver keeps for one layer (content plus bookkeeping).
    fn layer_dir(&self, id: &CacheId) -> PathBuf;
    /// The directory holding the layer's files.
    fn content_dir(&self, id: &CacheId) -> PathBuf;
    /// How Docker measures the writable layer `id` whose parent (its init layer) is `parent`.
    fn diff_measure(&self, id: &CacheId, parent: &CacheId) -> DiffMeasure;
    /// True when a layer entry with this `st_mode` and `st_rdev` marks a deleted file.
    fn is_whiteout(&self, mode: u32, rdev: u64) -> bool;
}

/// One of the implemented drivers.
#[derive(Debug, Clone)]
pub enum AnyDriver {
    /// The overlay2 driver.
    Overlay2(Overlay2),
    /// The vfs driver.
    Vfs(Vfs),
    /// containerd's overlayfs snapshotter.
    Overlayfs(Overlayfs),
}

impl AnyDriver {
    fn inner(&self) -> &dyn Driver {
        match self {
            AnyDriver::Overlay2(d) => d,
            AnyDriver::Vfs(d) => d,
            AnyDriver::Overlayfs(d) => d,
        }
    }

    /// Builds the driver named `name` on `root`, if strata implements it.
    pub fn for_name(root: &Path, name: &str) -> Option<AnyDriver> {
        match name {
            overlay2::NAME => Some(AnyDriver::Overlay2(Overlay2::new(root))),
            vfs::NAME => Some(AnyDriver::Vfs(Vfs::new(root))),
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
    fn diff_measure(&self, id: &CacheId, parent: &CacheId) -> DiffMeasure {
        self.inner().diff_measure(id, parent)
    }
    fn is_whiteout(&self, mode: u32, rdev: u64) -> bool {
        self.inner().is_whiteout(mode, rdev)
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
            (has_metadata || has_home).then(|| Detected {
                supported: AnyDriver::for_name(root, &name).is_some(),
                name,
                has_metadata,
                has_home,
            })
        })
        .collect()
}
