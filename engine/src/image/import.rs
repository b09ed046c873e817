//! `strata import TAR [REPO[:TAG]]`: a root filesystem tar (plain or gzip) becomes a one-layer
//! image, as `docker import` makes it (dockerd's `ImportImage`): an empty container config,
//! one history entry with the comment `Imported from <source>`.

use std::io::Read;

use crate::error::{Error, Result};
use crate::image::config::{go_arch, ContainerConfig, History, ImageConfig, RootFs};
use crate::image::reference::{set_tag, Tagged};
use crate::image::{store_config, Written};
use crate::layer;
use crate::root::Root;

/// What to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The tag to give the image.
    pub reference: Option<String>,
    /// Where the tar came from, for the history comment (`-` for standard input).
    pub source: String,
    /// A commit message (replaces `Imported from <source>`).
    pub message: Option<String>,
}

/// Imports the rootfs tar `input`.
pub fn import(root: &Root, input: impl Read, opts: &ImportOptions) -> Result<Written> {
    let tag = opts.reference.as_deref().map(Tagged::parse).transpose()?;
    let mut tar = layer::decompressed(input)?;
    let layer = layer::register(root, &mut tar, None, None, &opts.source)?;
    let created = crate::ids::now();
    let comment = opts
        .message
        .clone()
        .unwrap_or_else(|| format!("Imported from {}", opts.source));
    let config = ImageConfig {
        comment: comment.clone(),
        created: created.clone(),
        container_config: ContainerConfig::default(),
        docker_version: concat!("strata-", env!("CARGO_PKG_VERSION")).to_owned(),
        author: String::new(),
        config: ContainerConfig::default(),
        architecture: go_arch().to_owned(),
        os: "linux".to_owned(),
        rootfs: RootFs {
            kind: "layers".to_owned(),
            diff_ids: vec![layer.diff_id.to_string()],
        },
        history: vec![History {
            created,
            comment,
            ..History::default()
        }],
    };
    let bytes =
        serde_json::to_vec(&config).map_err(|e| Error::Invalid(format!("image config: {e}")))?;
    let id = store_config(root, &bytes)?;
    if let Some(tag) = &tag {
        set_tag(root, tag, &id)?;
    }
    Ok(Written {
        id,
        repo_tags: tag.iter().map(ToString::to_string).collect(),
        diff_ids: vec![layer.diff_id.to_string()],
        new_layers: 1,
    })
}
