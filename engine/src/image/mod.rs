//! Images into the store: `import` (a root filesystem tar, as `docker import`) and `load` (a
//! `docker save` archive or an OCI image layout), both writing layers through
//! [`crate::layer`] and image configs and tags as dockerd's image and reference stores do.

pub mod config;
pub mod import;
pub mod load;
pub mod reference;

use analyzers::ids::{Digest, ImageId};
use analyzers::layout::IMAGEDB_CONTENT;
use serde::Serialize;

use crate::error::Result;
use crate::root::Root;

/// An image written into the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Written {
    /// The image id (`sha256:` of its config).
    pub id: ImageId,
    /// The tags pointed at it.
    pub repo_tags: Vec<String>,
    /// Its layers' diff ids, bottom first.
    pub diff_ids: Vec<String>,
    /// Layers that were new to the store (the others were already there).
    pub new_layers: usize,
}

/// Stores an image config as `imagedb/content/sha256/<id>` (0600, written atomically);
/// the bytes are kept exactly, since the id is their digest.
pub fn store_config(root: &Root, bytes: &[u8]) -> Result<ImageId> {
    let id = ImageId(Digest::of_bytes(bytes));
    let path = root.image_dir().join(IMAGEDB_CONTENT).join(id.0.hex());
    if !path.exists() {
        reference::atomic_write(&path, bytes, 0o600)?;
    }
    Ok(id)
}
