//! `strata load -i FILE`: a `docker save` archive (`manifest.json`, each layer a tar) or an
//! OCI image layout (`index.json`, blobs by digest, layers plain or gzip), as `docker load`
//! reads them (moby `image/tarexport/load.go`). Layers the store already has (same chain id)
//! are reused; every other layer's computed diff id must equal the config's, or nothing of
//! that layer is kept.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use analyzers::ids::{ChainId, DiffId};
use serde::Deserialize;

use crate::error::{Error, IoContext, Result};
use crate::image::reference::{set_tag, Tagged};
use crate::image::{store_config, Written};
use crate::layer;
use crate::root::Root;

/// One image of a `docker save` `manifest.json`.
#[derive(Deserialize)]
struct SaveManifest {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags", default)]
    repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// An OCI descriptor.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    architecture: String,
    os: String,
}

/// An OCI index (`index.json`, or a multi-platform image index blob).
#[derive(Deserialize)]
struct OciIndex {
    manifests: Vec<Descriptor>,
}

/// An OCI image manifest.
#[derive(Deserialize)]
struct OciManifest {
    config: Descriptor,
    layers: Vec<Descriptor>,
}

/// The part of an image config that says which layers it has.
#[derive(Deserialize)]
struct ConfigRootFs {
    rootfs: RootFsIds,
}

#[derive(Deserialize)]
struct RootFsIds {
    diff_ids: Vec<String>,
}

/// One image to write: its config file, its layer files (bottom first), its tags.
struct Planned {
    config: PathBuf,
    layers: Vec<PathBuf>,
    tags: Vec<String>,
}

/// Loads every image of the archive `input` (`archive` names it in messages).
pub fn load(root: &Root, input: impl Read, archive: &str) -> Result<Vec<Written>> {
    let unpacked = tempfile::Builder::new()
        .prefix("load-")
        .tempdir_in(root.tmp_dir())
        .at(root.tmp_dir())?;
    let dir = unpacked.path();
    let mut outer = tar::Archive::new(layer::decompressed(input)?);
    for entry in outer.entries().at(archive)? {
        let mut entry = entry.at(archive)?;
        entry.unpack_in(dir).at(archive)?;
    }
    let plans = if dir.join("manifest.json").is_file() {
        plan_save(dir)?
    } else if dir.join("index.json").is_file() {
        plan_oci(dir)?
    } else {
        return Err(Error::malformed(
            archive,
            "neither a docker save archive (manifest.json) nor an OCI layout (index.json)",
        ));
    };
    plans.iter().map(|p| write_image(root, dir, p)).collect()
}

fn plan_save(dir: &Path) -> Result<Vec<Planned>> {
    let path = dir.join("manifest.json");
    let manifests: Vec<SaveManifest> = read_json(&path)?;
    manifests
        .into_iter()
        .map(|m| {
            Ok(Planned {
                config: inside(dir, &m.config)?,
                layers: m
                    .layers
                    .iter()
                    .map(|l| inside(dir, l))
                    .collect::<Result<_>>()?,
                tags: m.repo_tags.unwrap_or_default(),
            })
        })
        .collect()
}

fn plan_oci(dir: &Path) -> Result<Vec<Planned>> {
    let index: OciIndex = read_json(&dir.join("index.json"))?;
    let mut plans = Vec::new();
    for desc in index.manifests {
        let tag = desc
            .annotations
            .get("io.containerd.image.name")
            .or_else(|| {
                desc.annotations
                    .get("org.opencontainers.image.ref.name")
                    .filter(|r| r.contains(':') || r.contains('/'))
            })
            .cloned();
        let manifest = resolve_manifest(dir, &desc)?;
        plans.push(Planned {
            config: blob(dir, &manifest.config.digest)?,
            layers: manifest
                .layers
                .iter()
                .map(|l| blob(dir, &l.digest))
                .collect::<Result<_>>()?,
            tags: tag.into_iter().collect(),
        });
    }
    Ok(plans)
}

/// The image manifest a descriptor names, choosing this machine's platform from an index.
fn resolve_manifest(dir: &Path, desc: &Descriptor) -> Result<OciManifest> {
    let path = blob(dir, &desc.digest)?;
    if desc.media_type.contains("index") || desc.media_type.contains("manifest.list") {
        let index: OciIndex = read_json(&path)?;
        let arch = crate::image::config::go_arch();
        let chosen = index
            .manifests
            .iter()
            .find(|m| {
                m.platform
                    .as_ref()
                    .is_some_and(|p| p.os == "linux" && p.architecture == arch)
            })
            .or_else(|| index.manifests.first())
            .ok_or_else(|| Error::malformed(&path, "an image index without manifests"))?;
        return resolve_manifest(dir, chosen);
    }
    read_json(&path)
}

fn blob(dir: &Path, digest: &str) -> Result<PathBuf> {
    let (algo, hex) = digest
        .split_once(':')
        .ok_or_else(|| Error::malformed(dir.join("index.json"), format!("bad digest {digest}")))?;
    inside(dir, &format!("blobs/{algo}/{hex}"))
}

/// `rel` under `dir`, refusing names that resolve outside it (symlinks included).
fn inside(dir: &Path, rel: &str) -> Result<PathBuf> {
    let base = fs::canonicalize(dir).at(dir)?;
    let path = fs::canonicalize(dir.join(rel)).at(dir.join(rel))?;
    if !path.starts_with(&base) || Path::new(rel).is_absolute() {
        return Err(Error::malformed(
            dir.join(rel),
            "names a file outside the archive",
        ));
    }
    Ok(path)
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).at(path)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::malformed(path, format!("invalid JSON: {e}")))
}

fn write_image(root: &Root, dir: &Path, plan: &Planned) -> Result<Written> {
    let config_bytes = fs::read(&plan.config).at(&plan.config)?;
    let parsed: ConfigRootFs = serde_json::from_slice(&config_bytes)
        .map_err(|e| Error::malformed(&plan.config, format!("image config: {e}")))?;
    let diff_ids = parsed
        .rootfs
        .diff_ids
        .iter()
        .map(|d| {
            DiffId::parse(d)
                .ok_or_else(|| Error::malformed(&plan.config, format!("bad diff id {d}")))
        })
        .collect::<Result<Vec<_>>>()?;
    if diff_ids.len() != plan.layers.len() {
        return Err(Error::malformed(
            &plan.config,
            format!(
                "{} diff ids for {} layers",
                diff_ids.len(),
                plan.layers.len()
            ),
        ));
    }
    let tags = plan
        .tags
        .iter()
        .map(|t| Tagged::parse(t))
        .collect::<Result<Vec<_>>>()?;
    let mut parent: Option<ChainId> = None;
    let mut new_layers = 0;
    for (diff, file) in diff_ids.iter().zip(&plan.layers) {
        let chain = ChainId::of(parent.as_ref(), diff);
        if layer::get(root, &chain)?.is_none() {
            let name = file.strip_prefix(dir).unwrap_or(file).display().to_string();
            let opened = fs::File::open(file).at(file)?;
            let mut tar = layer::decompressed(opened)?;
            layer::register(root, &mut tar, parent.as_ref(), Some(diff), &name)?;
            new_layers += 1;
        }
        parent = Some(chain);
    }
    let id = store_config(root, &config_bytes)?;
    for tag in &tags {
        set_tag(root, tag, &id)?;
    }
    Ok(Written {
        id,
        repo_tags: tags.iter().map(ToString::to_string).collect(),
        diff_ids: diff_ids.iter().map(ToString::to_string).collect(),
        new_layers,
    })
}

/// What `docker load` prints for the images loaded: `Loaded image: REPO:TAG` per tag, or
/// `Loaded image ID: sha256:…` for an untagged image.
pub fn loaded_lines(written: &[Written]) -> Vec<String> {
    written
        .iter()
        .flat_map(|w| {
            if w.repo_tags.is_empty() {
                vec![format!("Loaded image ID: {}", w.id)]
            } else {
                w.repo_tags
                    .iter()
                    .map(|t| format!("Loaded image: {t}"))
                    .collect()
            }
        })
        .collect()
}
