//! containerd's overlayfs snapshotter: `io.containerd.snapshotter.v1.overlayfs/snapshots/<id>/`
//! with `fs/` (the snapshot's own files) and, for active snapshots, `work/`.
//!
//! It stacks layers as overlay2 does (a deleted file is a character device 0/0 in the upper
//! directory), but containerd measures a snapshot with `fs.DiskUsage`: the allocated blocks of
//! every entry, directories and the root included, once per inode. The "cache id" of a layer
//! here is the snapshot's number.

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver};
use crate::format::containerd::{SNAPSHOTS_DIR, SNAPSHOTTER_PREFIX, SNAPSHOT_FS, SNAPSHOT_WORK};
use crate::format::whiteout::Whiteouts;
use crate::fs::Jail;
use crate::ids::CacheId;

/// The snapshotter's name.
pub const NAME: &str = "overlayfs";

/// The overlayfs snapshotter of one containerd root.
#[derive(Debug, Clone)]
pub struct Overlayfs {
    home: PathBuf,
}

impl Overlayfs {
    /// The snapshotter rooted at `<containerd root>/io.containerd.snapshotter.v1.overlayfs`.
    pub fn new(containerd_root: &Path) -> Self {
        Overlayfs {
            home: containerd_root.join(format!("{SNAPSHOTTER_PREFIX}{NAME}")),
        }
    }
}

impl Driver for Overlayfs {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layers_dir(&self) -> PathBuf {
        self.home.join(SNAPSHOTS_DIR)
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.layers_dir().join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id).join(SNAPSHOT_FS)
    }
    fn diff_measure(&self, _jail: &Jail, id: &CacheId, _below: &[CacheId]) -> DiffMeasure {
        DiffMeasure::Usage(self.content_dir(id))
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        Some(Whiteouts::Kernel)
    }
    fn work_dir(&self, id: &CacheId) -> Option<PathBuf> {
        Some(self.layer_dir(id).join(SNAPSHOT_WORK))
    }
}
