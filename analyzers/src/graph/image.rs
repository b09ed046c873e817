//! `image/<driver>/imagedb/`: image configs (`content/sha256/<id>`) and their local metadata
//! (`metadata/sha256/<id>/parent`).
//!
//! An image loads as dockerd loads it (moby `image/store.go`): its config must parse, its
//! content must hash to its id, and its top layer (the chain id of `rootfs.diff_ids`) must
//! exist; otherwise dockerd skips it, and strata reports it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Deserialize;

use super::layer::{list_entries, Layer};
use crate::error::{Problem, ProblemKind};
use crate::fs::{self, Jail};
use crate::ids::{ChainId, DiffId, Digest, ImageId};
use crate::layout::{IMAGEDB_CONTENT, IMAGEDB_METADATA, LAYER_PARENT};

/// One image from the image store.
#[derive(Debug, Clone)]
pub struct Image {
    /// The image id (digest of its config).
    pub id: ImageId,
    /// The config file.
    pub config_path: PathBuf,
    /// Creation time, Unix seconds (Docker's `Created`); absent when the config has none.
    pub created: Option<i64>,
    /// Creation time as the config records it (RFC 3339).
    pub created_text: Option<String>,
    /// The local parent image (classic builder), from imagedb metadata.
    pub parent: Option<ImageId>,
    /// The layers, bottom-up, by diff id.
    pub diff_ids: Vec<DiffId>,
    /// The chain ids of `diff_ids`, bottom-up.
    pub chain_ids: Vec<ChainId>,
    /// `config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// The image's operating system (`os`).
    pub os: String,
    /// `history[]`: what made each step.
    pub history: Vec<HistoryEntry>,
    /// Tags naming the image, `repo:tag`.
    pub repo_tags: Vec<String>,
    /// Digests naming the image, `repo@sha256:…`.
    pub repo_digests: Vec<String>,
}

impl Image {
    /// The top layer's chain id; `None` for an image without layers.
    pub fn top_layer(&self) -> Option<&ChainId> {
        self.chain_ids.last()
    }
}

/// One step of an image's history.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct HistoryEntry {
    /// When the step ran (RFC 3339).
    #[serde(default)]
    pub created: Option<String>,
    /// The instruction that made the step.
    #[serde(default)]
    pub created_by: Option<String>,
    /// Who made the step.
    #[serde(default)]
    pub author: Option<String>,
    /// A comment on the step.
    #[serde(default)]
    pub comment: Option<String>,
    /// True when the step made no layer.
    #[serde(default)]
    pub empty_layer: bool,
}

#[derive(Deserialize)]
struct ConfigJson {
    created: Option<String>,
    #[serde(default)]
    config: Option<ContainerConfigJson>,
    rootfs: Option<RootFsJson>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    history: Vec<HistoryEntry>,
}

#[derive(Deserialize, Default)]
struct ContainerConfigJson {
    #[serde(rename = "Labels", default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct RootFsJson {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// Loads every image config under `image_dir`, keeping those dockerd would load.
pub fn load(
    jail: &Jail,
    image_dir: &Path,
    layers: &BTreeMap<ChainId, Layer>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<ImageId, Image> {
    let content = image_dir.join(IMAGEDB_CONTENT);
    let metadata = image_dir.join(IMAGEDB_METADATA);
    let raw: Vec<Result<Image, Problem>> = list_entries(jail, &content)
        .into_par_iter()
        .filter_map(|(name, path, is_dir)| {
            let id = ImageId(Digest::from_hex(&name)?);
            if is_dir {
                return Some(Err(Problem::new(
                    &path,
                    ProblemKind::Unreadable,
                    "image config is a directory, not a file",
                )));
            }
            Some(read_image(jail, id, path, &metadata))
        })
        .collect();
    let mut out = BTreeMap::new();
    for r in raw {
        match r {
            Ok(img) => {
                if let Some(top) = img.top_layer() {
                    if !layers.contains_key(top) {
                        problems.push(Problem::new(
                            &img.config_path,
                            ProblemKind::DanglingReference,
                            format!(
                                "top layer {top} does not exist; image left out as dockerd does"
                            ),
                        ));
                        continue;
                    }
                }
                out.insert(img.id.clone(), img);
            }
            Err(p) => problems.push(p),
        }
    }
    drop_bad_parents(&mut out, &metadata, problems);
    out
}

fn read_image(
    jail: &Jail,
    id: ImageId,
    config_path: PathBuf,
    metadata: &Path,
) -> Result<Image, Problem> {
    let bytes = jail
        .read(&config_path, fs::JSON_LIMIT)
        .map_err(|e| fs::io_problem(&config_path, &e))?;
    if Digest::of_bytes(&bytes) != id.0 {
        return Err(Problem::new(
            &config_path,
            ProblemKind::InvalidValue,
            "content does not hash to the file's name (image id)",
        ));
    }
    let parent_path = metadata.join(id.0.hex()).join(LAYER_PARENT);
    let image = parse_config(id, config_path, &bytes)?;
    let parent = match jail.read_text(&parent_path) {
        Ok(text) => Some(ImageId::parse(&text).ok_or_else(|| {
            Problem::new(
                &parent_path,
                ProblemKind::InvalidValue,
                format!("{text:?} is not an image id"),
            )
        })?),
        Err(p) if p.kind == ProblemKind::Missing => None,
        Err(p) => return Err(p),
    };
    Ok(Image { parent, ..image })
}

/// Parses an image config (`rootfs.diff_ids`, `created`, `config.Labels`, `history`) read from
/// `config_path`; the image is `id`, with no parent, tags or digests yet.
pub fn parse_config(id: ImageId, config_path: PathBuf, bytes: &[u8]) -> Result<Image, Problem> {
    let cfg: ConfigJson = serde_json::from_slice(bytes)
        .map_err(|e| Problem::new(&config_path, ProblemKind::InvalidJson, e.to_string()))?;
    let Some(rootfs) = cfg.rootfs else {
        return Err(Problem::new(
            &config_path,
            ProblemKind::InvalidJson,
            "no rootfs in image config",
        ));
    };
    let diff_ids = rootfs
        .diff_ids
        .iter()
        .map(|d| {
            DiffId::parse(d).ok_or_else(|| {
                Problem::new(
                    &config_path,
                    ProblemKind::InvalidValue,
                    format!("rootfs.diff_ids has {d:?}, not a sha256 digest"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = cfg
        .created
        .as_deref()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| t.timestamp());
    Ok(Image {
        chain_ids: ChainId::chain(&diff_ids),
        diff_ids,
        created,
        created_text: cfg.created,
        parent: None,
        labels: cfg.config.unwrap_or_default().labels.unwrap_or_default(),
        os: cfg.os.unwrap_or_else(|| "linux".to_owned()),
        history: cfg.history,
        repo_tags: Vec::new(),
        repo_digests: Vec::new(),
        id,
        config_path,
    })
}

/// A parent that is not in the store is reported and forgotten (dockerd ignores it too).
fn drop_bad_parents(
    images: &mut BTreeMap<ImageId, Image>,
    metadata: &Path,
    problems: &mut Vec<Problem>,
) {
    let ids: BTreeSet<ImageId> = images.keys().cloned().collect();
    for img in images.values_mut() {
        if let Some(parent) = &img.parent {
            if !ids.contains(parent) {
                problems.push(Problem::new(
                    metadata.join(img.id.0.hex()).join(LAYER_PARENT),
                    ProblemKind::DanglingReference,
                    format!("parent image {parent} does not exist"),
                ));
                img.parent = None;
            }
        }
    }
}
