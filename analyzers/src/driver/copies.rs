//! Drivers whose every layer is a full tree of its own: vfs (`vfs/dir/<id>`, plain copies)
//! and btrfs (`btrfs/subvolumes/<id>`, each a snapshot of its parent's subvolume).
//!
//! Every layer repeats everything below it, so Docker measures a layer by comparing it with
//! its parent (the naive diff, `NewNaiveDiffDriver`), and the size it records for an image
//! layer is the layer tar's (`ApplyDiff` through the naive driver). There are no whiteouts on
//! disk: a deletion is an absence.
//!
//! btrfs snapshots share extents with their parent until one of them writes: the apparent
//! bytes are what Docker counts, while the blocks a walk adds up (strata's allocated figure,
//! GNU `du`) count a shared extent once per subvolume that holds it
//! ([`super::Driver::shares_extents`]).

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver};
use crate::format::whiteout::Whiteouts;
use crate::fs::Jail;
use crate::ids::CacheId;
use crate::layout::{BTRFS_DIR, BTRFS_SUBVOLUMES_DIR, VFS_DIR, VFS_LAYER_DIR};

/// The vfs driver's name.
pub const VFS: &str = "vfs";
/// The btrfs driver's name.
pub const BTRFS: &str = "btrfs";

/// A full-copy driver of one data root.
#[derive(Debug, Clone)]
pub struct Copies {
    name: &'static str,
    home: PathBuf,
    layers: PathBuf,
    shares_extents: bool,
}

impl Copies {
    /// The vfs driver rooted at `<root>/vfs`, layers in `vfs/dir/`.
    pub fn vfs(root: &Path) -> Self {
        let home = root.join(VFS_DIR);
        Copies {
            name: VFS,
            layers: home.join(VFS_LAYER_DIR),
            home,
            shares_extents: false,
        }
    }

    /// The btrfs driver rooted at `<root>/btrfs`, layers in `btrfs/subvolumes/`.
    pub fn btrfs(root: &Path) -> Self {
        let home = root.join(BTRFS_DIR);
        Copies {
            name: BTRFS,
            layers: home.join(BTRFS_SUBVOLUMES_DIR),
            home,
            shares_extents: true,
        }
    }
}

impl Driver for Copies {
    fn name(&self) -> &'static str {
        self.name
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.layers.join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id)
    }
    fn layer_view(&self, jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        super::full_copy_view(self, jail, id, below)
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        None
    }
    fn layers_dir(&self) -> PathBuf {
        self.layers.clone()
    }
    fn records_tar_size(&self) -> bool {
        true
    }
    fn shares_extents(&self) -> bool {
        self.shares_extents
    }
}
