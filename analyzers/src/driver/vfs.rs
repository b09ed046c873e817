//! The vfs driver: `vfs/dir/<cache id>/` holds a full copy of the layer's filesystem.
//!
//! Every layer repeats everything below it, so Docker measures a layer by comparing it with its
//! parent (the naive diff). There are no whiteouts on disk: a deletion is an absence.

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver};
use crate::format::whiteout::Whiteouts;
use crate::ids::CacheId;
use crate::layout::{VFS_DIR, VFS_LAYER_DIR};

/// The driver's name.
pub const NAME: &str = "vfs";

/// The vfs driver of one data root.
#[derive(Debug, Clone)]
pub struct Vfs {
    home: PathBuf,
}

impl Vfs {
    /// The driver rooted at `<root>/vfs`.
    pub fn new(root: &Path) -> Self {
        Vfs {
            home: root.join(VFS_DIR),
        }
    }
}

impl Driver for Vfs {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.home.join(VFS_LAYER_DIR).join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id)
    }
    fn diff_measure(&self, id: &CacheId, parent: &CacheId) -> DiffMeasure {
        DiffMeasure::Compare {
            layer: self.content_dir(id),
            parent: self.content_dir(parent),
        }
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        None
    }
    fn layers_dir(&self) -> PathBuf {
        self.home.join(VFS_LAYER_DIR)
    }
    fn records_tar_size(&self) -> bool {
        true
    }
}
