//! Build-step images as moby's classic builder records them, and its layer cache.
//!
//! Every step commits an image: the parent's layers plus the step's (if it changed files),
//! its history plus one entry (`created_by` the step's command, `empty_layer` when it made no
//! layer), `container_config` the configuration of the container that made it (whose `Cmd`
//! names the step: `/bin/sh -c #(nop)  ENV A=b`, `#(nop) COPY file:<sha256> in /dst `, or the
//! `RUN` command), `config` the configuration images built on it start from, and
//! `imagedb/metadata/sha256/<id>/parent` naming the parent image.
//!
//! The cache ([`probe`]) is moby's `getLocalCachedImage`: among the images whose parent is
//! the step's parent (for `FROM scratch`, the images without a parent that a builder made),
//! the most recently created one whose `container_config` matches the step's and whose
//! layers the store still has.

use std::fs;

use analyzers::ids::{ChainId, DiffId, Digest, ImageId};
use analyzers::layout::{IMAGEDB_CONTENT, IMAGEDB_METADATA, LAYER_PARENT};

use crate::error::{Error, IoContext, Result};
use crate::image::config::{go_arch, ContainerConfig, History, ImageConfig, RootFs};
use crate::image::reference::atomic_write;
use crate::image::store_config;
use crate::layer::Layer;
use crate::root::Root;

/// An image a build stands on: its id and config (`None` for `scratch`).
#[derive(Debug, Clone, Default)]
pub struct Base {
    /// The image (`None`: `scratch`, or nothing committed yet).
    pub id: Option<ImageId>,
    /// Its config.
    pub config: Option<ImageConfig>,
}

impl Base {
    /// Reads image `id`'s config from the store.
    pub fn load(root: &Root, id: &ImageId) -> Result<Base> {
        let path = root.image_dir().join(IMAGEDB_CONTENT).join(id.0.hex());
        let bytes = fs::read(&path).at(&path)?;
        let config: ImageConfig =
            serde_json::from_slice(&bytes).map_err(|e| Error::malformed(&path, e.to_string()))?;
        Ok(Base {
            id: Some(id.clone()),
            config: Some(config),
        })
    }

    /// Its layers' diff ids, bottom first.
    pub fn diff_ids(&self) -> Vec<String> {
        self.config
            .as_ref()
            .map(|c| c.rootfs.diff_ids.clone())
            .unwrap_or_default()
    }

    /// The chain id of its top layer (`None` without layers).
    pub fn top_chain(&self) -> Result<Option<ChainId>> {
        let mut diffs = Vec::new();
        for d in self.diff_ids() {
            diffs.push(
                DiffId::parse(&d).ok_or_else(|| {
                    Error::Invalid(format!("image diff id {d:?} is not a digest"))
                })?,
            );
        }
        Ok(ChainId::chain(&diffs).pop())
    }
}

/// One step's image, to commit.
#[derive(Debug, Clone)]
pub struct StepImage<'a> {
    /// The configuration of the container that made the step (its `Cmd` names the step).
    pub container_config: &'a ContainerConfig,
    /// The configuration after the step.
    pub config: &'a ContainerConfig,
    /// The layer the step made, if it changed files.
    pub layer: Option<&'a Layer>,
    /// The stage's `MAINTAINER` (empty when none was given).
    pub author: &'a str,
}

/// Writes the image of a step on `base`; returns its id.
pub fn commit(root: &Root, base: &Base, step: &StepImage<'_>) -> Result<ImageId> {
    let created = crate::ids::now();
    let parent_id = base
        .id
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut diff_ids = base.diff_ids();
    if let Some(layer) = step.layer {
        diff_ids.push(layer.diff_id.to_string());
    }
    let mut history = base
        .config
        .as_ref()
        .map(|c| c.history.clone())
        .unwrap_or_default();
    let cmd = step.container_config.cmd.clone().unwrap_or_default();
    history.push(History {
        created: created.clone(),
        author: step.author.to_owned(),
        created_by: cmd.join(" "),
        comment: String::new(),
        empty_layer: step.layer.is_none(),
    });
    let with_image = |c: &ContainerConfig| ContainerConfig {
        image: parent_id.clone(),
        ..c.clone()
    };
    let config = ImageConfig {
        comment: String::new(),
        created,
        container_config: with_image(step.container_config),
        docker_version: concat!("strata-", env!("CARGO_PKG_VERSION")).to_owned(),
        author: step.author.to_owned(),
        config: with_image(step.config),
        architecture: base
            .config
            .as_ref()
            .map_or_else(|| go_arch().to_owned(), |c| c.architecture.clone()),
        os: "linux".to_owned(),
        rootfs: RootFs {
            kind: "layers".to_owned(),
            diff_ids,
        },
        history,
    };
    let bytes =
        serde_json::to_vec(&config).map_err(|e| Error::Invalid(format!("image config: {e}")))?;
    let id = store_config(root, &bytes)?;
    if let Some(parent) = &base.id {
        let dir = root.image_dir().join(IMAGEDB_METADATA).join(id.0.hex());
        fs::create_dir_all(&dir).at(&dir)?;
        atomic_write(
            &dir.join(LAYER_PARENT),
            parent.to_string().as_bytes(),
            0o600,
        )?;
    }
    Ok(id)
}

/// Whether two step configurations match for the cache (the fields moby's `compare`
/// checks, and the working directory and shell, which decide what a step does too).
fn same_step(a: &ContainerConfig, b: &ContainerConfig) -> bool {
    a.cmd == b.cmd
        && a.env == b.env
        && a.entrypoint == b.entrypoint
        && a.user == b.user
        && a.labels == b.labels
        && a.volumes == b.volumes
        && a.exposed_ports == b.exposed_ports
        && a.working_dir == b.working_dir
        && a.shell == b.shell
        && a.attach_stdout == b.attach_stdout
        && a.attach_stderr == b.attach_stderr
        && a.tty == b.tty
        && !a.open_stdin
        && !b.open_stdin
}

/// Whether the store still has the image's top layer (an image whose layers were removed
/// behind the store's back must not be reused).
fn layers_present(root: &Root, config: &ImageConfig) -> Result<bool> {
    let base = Base {
        id: None,
        config: Some(config.clone()),
    };
    match base.top_chain()? {
        None => Ok(true),
        Some(chain) => Ok(crate::layer::get(root, &chain)?.is_some()),
    }
}

/// The cached image for a step on `parent` whose container configuration is `step`, if any.
pub fn probe(
    root: &Root,
    parent: Option<&ImageId>,
    step: &ContainerConfig,
) -> Result<Option<(ImageId, ImageConfig)>> {
    let content = root.image_dir().join(IMAGEDB_CONTENT);
    let metadata = root.image_dir().join(IMAGEDB_METADATA);
    let mut best: Option<(ImageId, ImageConfig)> = None;
    for entry in fs::read_dir(&content).at(&content)? {
        let hex = entry
            .at(&content)?
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(id) = Digest::from_hex(&hex).map(ImageId) else {
            continue;
        };
        let recorded = fs::read_to_string(metadata.join(&hex).join(LAYER_PARENT)).ok();
        let matches_parent = match (parent, recorded.as_deref()) {
            (Some(p), Some(r)) => r.trim() == p.to_string(),
            (None, None) => true,
            _ => false,
        };
        if !matches_parent {
            continue;
        }
        let Ok(candidate) = Base::load(root, &id) else {
            continue;
        };
        let Some(config) = candidate.config else {
            continue;
        };
        let built = config
            .container_config
            .cmd
            .as_ref()
            .is_some_and(|c| !c.is_empty());
        if !built || !same_step(&config.container_config, step) || !layers_present(root, &config)? {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| b.created < config.created)
        {
            best = Some((id, config));
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_images_keep_base_fields_and_the_cache_needs_layers() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(&dir.path().join("root"), Some("vfs")).unwrap();
        let base_config =
            br#"{"architecture":"amd64","os":"linux","created":"2020-01-01T00:00:00Z",
            "config":{"Cmd":["sh"],"Healthcheck":{"Test":["CMD","true"]}},
            "rootfs":{"type":"layers","diff_ids":[]},"history":[]}"#;
        let base_id = store_config(&root, base_config).unwrap();
        let base = Base::load(&root, &base_id).unwrap();
        let run = base.config.as_ref().unwrap().config.clone();
        let step = ContainerConfig {
            cmd: Some(vec![
                "/bin/sh".into(),
                "-c".into(),
                "#(nop) ".into(),
                "ENV A=1".into(),
            ]),
            ..run.clone()
        };
        let id = commit(
            &root,
            &base,
            &StepImage {
                container_config: &step,
                config: &run,
                layer: None,
                author: "",
            },
        )
        .unwrap();
        let child = Base::load(&root, &id).unwrap().config.unwrap();
        assert_eq!(child.config.rest["Healthcheck"]["Test"][1], "true");
        assert!(child.history[0].empty_layer);
        let hit = probe(&root, Some(&base_id), &step).unwrap();
        assert_eq!(hit.map(|h| h.0), Some(id.clone()));

        // A cached image whose layer is gone is not reused.
        let missing = ImageConfig {
            rootfs: RootFs {
                kind: "layers".to_owned(),
                diff_ids: vec![format!("sha256:{}", "a".repeat(64))],
            },
            ..child
        };
        assert!(!layers_present(&root, &missing).unwrap());
    }
}
