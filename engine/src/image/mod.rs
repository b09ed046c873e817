//! Images into the store: `import` (a root filesystem tar, as `docker import`) and `load` (a
//! `docker save` archive or an OCI image layout), both writing layers through
//! [`crate::layer`] and image configs and tags as dockerd's image and reference stores do;
//! and the local image verbs: [`inspect`], [`history`], [`tag`], [`remove`] (`rmi`),
//! [`prune`] and the filtered [`list`].

pub mod config;
pub mod history;
pub mod import;
pub mod inspect;
pub mod list;
pub mod load;
pub mod prune;
pub mod reference;
pub mod remove;
pub mod tag;

use analyzers::graph::image::Image;
use analyzers::ids::{Digest, ImageId};
use analyzers::layout::{IMAGEDB_CONTENT, IMAGEDB_METADATA};
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

/// The image `name` names in `store`, as dockerd resolves it: a full id, a unique id prefix
/// (with or without `sha256:`), `name`, `name:tag`, `docker.io/library/name:tag`, or
/// `name@digest`. Not found is a 404 (`No such image: NAME`, dockerd's words).
pub fn find<'s>(store: &'s analyzers::graph::Store, name: &str) -> Result<&'s Image> {
    store.find_image(name).map_err(|e| match e {
        analyzers::Error::Lookup { detail, .. } if detail.starts_with("no such") => {
            crate::Error::Lookup {
                kind: "image",
                name: name.to_owned(),
                detail: format!("No such image: {name}"),
            }
        }
        analyzers::Error::Lookup { kind, name, detail } => {
            crate::Error::Lookup { kind, name, detail }
        }
        other => crate::Error::Store(other),
    })
}

/// The image config of `id` as stored (`imagedb/content/sha256/<id>`), parsed.
pub fn config_json(root: &Root, id: &ImageId) -> Result<serde_json::Value> {
    let path = root.image_dir().join(IMAGEDB_CONTENT).join(id.0.hex());
    let bytes = std::fs::read(&path).map_err(|e| crate::Error::io(&path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| crate::Error::malformed(&path, format!("invalid JSON: {e}")))
}

/// `imagedb/metadata/sha256/<id>/`: the image's local metadata (`parent`, `lastUpdated`).
pub fn metadata_dir(root: &Root, id: &ImageId) -> std::path::PathBuf {
    root.image_dir().join(IMAGEDB_METADATA).join(id.0.hex())
}

/// dockerd's `TruncateID`: the first 12 hex digits of an id, `sha256:` dropped.
pub fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
