//! The overlay2 driver: `overlay2/<cache id>/{diff,link,lower,work,merged}` and `overlay2/l/`.
//!
//! A layer's own files are in `diff/`; lower layers are referenced by short names in `lower`
//! (top first), each a symlink `l/<short> -> ../<cache id>/diff`. A deleted file is a character
//! device 0/0 in the upper layer. With native diff (the kernel's overlay without
//! `redirect_dir`, what dockerd reports as "Native Overlay Diff: true") Docker measures a
//! writable layer by its `diff/` directory alone.

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver};
use crate::ids::CacheId;
use crate::layout::{OVERLAY2_DIFF, OVERLAY2_DIR};

/// The driver's name.
pub const NAME: &str = "overlay2";

/// The overlay2 driver of one data root.
#[derive(Debug, Clone)]
pub struct Overlay2 {
    home: PathBuf,
}

impl Overlay2 {
    /// The driver rooted at `<root>/overlay2`.
    pub fn new(root: &Path) -> Self {
        Overlay2 {
            home: root.join(OVERLAY2_DIR),
        }
    }
}

impl Driver for Overlay2 {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.home.join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id).join(OVERLAY2_DIFF)
    }
    fn diff_measure(&self, id: &CacheId, _parent: &CacheId) -> DiffMeasure {
        DiffMeasure::Tree(self.content_dir(id))
    }
    fn is_whiteout(&self, mode: u32, rdev: u64) -> bool {
        crate::format::whiteout::is_device_whiteout(mode, rdev)
    }
}
