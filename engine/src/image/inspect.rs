//! `GET /images/{name}/json` (`docker image inspect`): dockerd's `ImageInspect`, from the
//! stored config, the image's local metadata and the analyzers' layer accounting.

use std::collections::BTreeMap;

use analyzers::graph::{Image, Store};
use serde::Serialize;

use crate::error::Result;
use crate::image::config::ContainerConfig;
use crate::image::{config_json, metadata_dir};
use crate::root::Root;

/// Go's zero `time.Time`, which dockerd reports for a tag time never recorded.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// dockerd's `types.ImageInspect`, fields in its order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    /// `sha256:` id.
    pub id: String,
    /// `repo:tag` names.
    pub repo_tags: Vec<String>,
    /// `repo@sha256:` names.
    pub repo_digests: Vec<String>,
    /// The local parent image (classic builder), or `""`.
    pub parent: String,
    /// The config's comment.
    pub comment: String,
    /// When the image was made.
    pub created: String,
    /// The container the image was committed from.
    pub container: String,
    /// That container's configuration.
    pub container_config: ContainerConfig,
    /// The engine version that made it.
    pub docker_version: String,
    /// `MAINTAINER`.
    pub author: String,
    /// The configuration containers start with.
    pub config: ContainerConfig,
    /// CPU architecture.
    pub architecture: String,
    /// CPU variant (`v8`), when the config has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Operating system.
    pub os: String,
    /// Bytes of every layer (the analyzers' chain size).
    pub size: i64,
    /// The same (deprecated by Docker, still sent by 20.10).
    pub virtual_size: i64,
    /// The storage driver and the top layer's directories.
    pub graph_driver: GraphDriver,
    /// The layers.
    #[serde(rename = "RootFS")]
    pub root_fs: RootFsInspect,
    /// Local metadata.
    pub metadata: Metadata,
}

/// `GraphDriver`: the driver's name and its directories for the image's top layer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GraphDriver {
    /// `overlay2`, `vfs`.
    pub name: String,
    /// overlay2: `LowerDir` (when there are lower layers), `MergedDir`, `UpperDir`,
    /// `WorkDir`; null for vfs, as dockerd.
    pub data: Option<BTreeMap<String, String>>,
}

/// `RootFS`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RootFsInspect {
    /// `layers`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Diff ids, bottom first.
    pub layers: Vec<String>,
}

/// `Metadata`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metadata {
    /// When a tag was last pointed at the image (`lastUpdated`).
    pub last_tag_time: String,
}

/// Inspects the image `name`.
pub fn inspect(root: &Root, name: &str) -> Result<ImageInspect> {
    let store = root.load()?;
    let img = crate::image::find(&store, name)?;
    describe(root, &store, img)
}

/// The inspect answer for `img` of `store`.
pub fn describe(root: &Root, store: &Store, img: &Image) -> Result<ImageInspect> {
    let config = config_json(root, &img.id)?;
    let text = |key: &str| config[key].as_str().unwrap_or_default().to_owned();
    let container_config = |key: &str| -> ContainerConfig {
        serde_json::from_value(config[key].clone()).unwrap_or_default()
    };
    let size = img
        .top_layer()
        .map_or(0, |t| analyzers::usage::df::chain_size(store, t));
    let last_tag_time = std::fs::read_to_string(metadata_dir(root, &img.id).join("lastUpdated"))
        .ok()
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| GO_ZERO_TIME.to_owned());
    Ok(ImageInspect {
        id: img.id.to_string(),
        repo_tags: img.repo_tags.clone(),
        repo_digests: img.repo_digests.clone(),
        parent: img
            .parent
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        comment: text("comment"),
        created: img
            .created_text
            .clone()
            .unwrap_or_else(|| GO_ZERO_TIME.to_owned()),
        container: text("container"),
        container_config: container_config("container_config"),
        docker_version: text("docker_version"),
        author: text("author"),
        config: container_config("config"),
        architecture: text("architecture"),
        variant: config["variant"].as_str().map(str::to_owned),
        os: text("os"),
        size,
        virtual_size: size,
        graph_driver: graph_driver(root, store, img),
        root_fs: RootFsInspect {
            kind: config["rootfs"]["type"]
                .as_str()
                .unwrap_or("layers")
                .to_owned(),
            layers: img.diff_ids.iter().map(ToString::to_string).collect(),
        },
        metadata: Metadata { last_tag_time },
    })
}

/// overlay2's `GetMetadata` for the top layer: its `diff` (upper), `merged`, `work`, and the
/// `diff` directories of the layers below, nearest first, joined by `:`.
fn graph_driver(root: &Root, store: &Store, img: &Image) -> GraphDriver {
    let name = root.driver.name().to_owned();
    let stack = store.chain_below(img.top_layer());
    let data = match (&root.driver, stack.split_first()) {
        (crate::layer::LayerDriver::Overlay2(_), Some((top, lower))) => {
            let dir = root.driver.layer_dir(&top.cache_id);
            let path = |sub: &str| dir.join(sub).display().to_string();
            let mut data = BTreeMap::from([
                ("MergedDir".to_owned(), path("merged")),
                ("UpperDir".to_owned(), path("diff")),
                ("WorkDir".to_owned(), path("work")),
            ]);
            if !lower.is_empty() {
                let dirs: Vec<String> = lower
                    .iter()
                    .map(|l| root.driver.content_dir(&l.cache_id).display().to_string())
                    .collect();
                data.insert("LowerDir".to_owned(), dirs.join(":"));
            }
            Some(data)
        }
        _ => None,
    };
    GraphDriver { name, data }
}
