//! `DELETE /images/{name}?force=&noprune=` (`docker rmi`), as dockerd's `ImageDelete`: a tag
//! name untags first and deletes the image only when no other reference remains; an id
//! deletes the image (untagging it when it has a single reference), refusing with dockerd's
//! conflict messages when children, containers or other references hold it. Deleting an
//! image deletes its layers nothing else uses (no other image, no container's writable
//! layer, no child layer), top first; then, unless `noprune`, its untagged local parents.
//!
//! Each step leaves a consistent store: references go first, then the image config (the
//! image stops existing), then each layer (its record is moved out of `layerdb/sha256`
//! before its content is removed, so a layer either exists whole or not at all).

use std::collections::BTreeSet;
use std::fs;

use analyzers::graph::Store;
use analyzers::ids::{ChainId, ImageId};
use analyzers::layout::{IMAGEDB_CONTENT, LAYERDB_TMP};
use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::events::{self, Event, EventType};
use crate::image::reference::{remove_tag, Tagged};
use crate::image::short;
use crate::layer::{extract, record_dir};
use crate::root::Root;

/// One line of dockerd's answer: a reference removed, or an image or layer deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DeleteItem {
    /// A `repo:tag` removed.
    Untagged(String),
    /// An image id or a layer's chain id deleted.
    Deleted(String),
}

/// How to remove.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// Ignore the soft conflicts (stopped containers, other references).
    pub force: bool,
    /// Keep the untagged parents.
    pub no_prune: bool,
}

/// Why an image may not be deleted (moby's `imageDeleteConflict`).
struct Conflict {
    /// No force overrides it.
    hard: bool,
    /// A container uses the image.
    used: bool,
    message: String,
}

/// Which conflicts to look for.
#[derive(Clone, Copy)]
struct Mask {
    /// Other references.
    references: bool,
    /// Stopped containers.
    stopped: bool,
}

/// Removes the image `name` names; what was untagged and deleted, in dockerd's order.
pub fn remove(root: &Root, name: &str, opts: RemoveOptions) -> Result<Vec<DeleteItem>> {
    let store = root.load()?;
    let img = crate::image::find(&store, name)?;
    let id = img.id.clone();
    let refs = references(&store, &id);
    let mut records = Vec::new();
    if !is_id_prefix(&id, name) {
        if !opts.force && is_single_reference(&refs) {
            if let Some(c) = store.containers.iter().find(|c| c.image_id == id) {
                return Err(Error::Conflict(format!(
                    "conflict: unable to remove repository reference {name:?} (must force) - \
                     container {} is using its referenced image {}",
                    short(c.id.as_str()),
                    short(id.0.as_str())
                )));
            }
        }
        let tagged = Tagged::parse(name)?;
        untag(root, &id, &tagged, &mut records)?;
        if refs.len() > 1 {
            return Ok(records);
        }
        delete(root, &id, opts.force, !opts.no_prune, true, &mut records)?;
    } else {
        if is_single_reference(&refs) {
            let mask = Mask {
                references: false,
                stopped: !opts.force,
            };
            if let Some(c) = conflict(&store, &id, mask) {
                return Err(Error::Conflict(describe(&id, &c)));
            }
            for r in &refs {
                untag(root, &id, &Tagged::parse(r)?, &mut records)?;
            }
        }
        delete(root, &id, opts.force, !opts.no_prune, false, &mut records)?;
    }
    Ok(records)
}

/// The tags naming `id`, sorted as dockerd's reference store lists them.
fn references(store: &Store, id: &ImageId) -> Vec<String> {
    let mut refs = store
        .images
        .get(id)
        .map(|i| i.repo_tags.clone())
        .unwrap_or_default();
    refs.sort();
    refs
}

/// moby's `isImageIDPrefix`: `name` is the id or a prefix of it, with or without `sha256:`.
fn is_id_prefix(id: &ImageId, name: &str) -> bool {
    let full = id.0.as_str();
    full.starts_with(name) || full.starts_with(&format!("sha256:{name}"))
}

/// moby's `isSingleReference` for tag references: exactly one.
fn is_single_reference(refs: &[String]) -> bool {
    refs.len() == 1
}

fn untag(root: &Root, id: &ImageId, tag: &Tagged, records: &mut Vec<DeleteItem>) -> Result<()> {
    if remove_tag(root, tag)? {
        records.push(DeleteItem::Untagged(tag.to_string()));
        event(root, "untag", id);
    }
    Ok(())
}

fn event(root: &Root, action: &str, id: &ImageId) {
    let id = id.to_string();
    events::record(
        root,
        &Event::now(EventType::Image, action, &id, &[("name", &id)]),
    );
}

/// moby's `checkImageDeleteConflict`: children and running containers always; other
/// references and stopped containers as `mask` says.
fn conflict(store: &Store, id: &ImageId, mask: Mask) -> Option<Conflict> {
    if store.images.values().any(|i| i.parent.as_ref() == Some(id)) {
        return Some(Conflict {
            hard: true,
            used: false,
            message: "image has dependent child images".to_owned(),
        });
    }
    let using = |running: bool| {
        store
            .containers
            .iter()
            .find(|c| c.image_id == *id && c.state.running == running)
    };
    if let Some(c) = using(true) {
        return Some(Conflict {
            hard: true,
            used: true,
            message: format!(
                "image is being used by running container {}",
                short(c.id.as_str())
            ),
        });
    }
    if mask.references && !references(store, id).is_empty() {
        return Some(Conflict {
            hard: false,
            used: false,
            message: "image is referenced in multiple repositories".to_owned(),
        });
    }
    if mask.stopped {
        if let Some(c) = using(false) {
            return Some(Conflict {
                hard: false,
                used: true,
                message: format!(
                    "image is being used by stopped container {}",
                    short(c.id.as_str())
                ),
            });
        }
    }
    None
}

fn describe(id: &ImageId, c: &Conflict) -> String {
    let force = if c.hard {
        "cannot be forced"
    } else {
        "must be forced"
    };
    format!(
        "conflict: unable to delete {} ({force}) - {}",
        short(id.0.as_str()),
        c.message
    )
}

/// moby's `imageDeleteHelper`: deletes image `id` (its remaining references, its config,
/// its unused layers), then its untagged parent when `prune`. `quiet` skips conflicts
/// silently unless the image is dangling and unused.
fn delete(
    root: &Root,
    id: &ImageId,
    force: bool,
    prune: bool,
    quiet: bool,
    records: &mut Vec<DeleteItem>,
) -> Result<()> {
    let store = root.load()?;
    let Some(img) = store.images.get(id) else {
        return Ok(());
    };
    let mask = Mask {
        references: !force,
        stopped: !force,
    };
    if let Some(c) = conflict(&store, id, mask) {
        let dangling = img.repo_tags.is_empty() && img.repo_digests.is_empty();
        if quiet && (!dangling || c.used) {
            return Ok(());
        }
        return Err(Error::Conflict(describe(id, &c)));
    }
    let parent = img.parent.clone();
    let top = img.top_layer().cloned();
    for r in references(&store, id) {
        untag(root, id, &Tagged::parse(&r)?, records)?;
    }
    let config = root.image_dir().join(IMAGEDB_CONTENT).join(id.0.hex());
    fs::remove_file(&config).at(&config)?;
    let metadata = crate::image::metadata_dir(root, id);
    if metadata.exists() {
        extract::remove_all(&metadata)?;
    }
    event(root, "delete", id);
    records.push(DeleteItem::Deleted(id.to_string()));
    for chain in release(root, top.as_ref())? {
        records.push(DeleteItem::Deleted(chain.to_string()));
    }
    match parent {
        Some(parent) if prune => delete(root, &parent, false, true, true, records),
        _ => Ok(()),
    }
}

/// Removes the layers of the stack topped by `top` that nothing in the store uses any more,
/// top first; their chain ids.
fn release(root: &Root, top: Option<&ChainId>) -> Result<Vec<ChainId>> {
    let store = root.load()?;
    let mut used: BTreeSet<&ChainId> = store
        .images
        .values()
        .flat_map(|i| i.chain_ids.iter())
        .collect();
    for rw in store.mounts.values() {
        used.extend(
            store
                .chain_below(rw.parent.as_ref())
                .iter()
                .map(|l| &l.chain_id),
        );
    }
    let mut removed = Vec::new();
    for layer in store.chain_below(top) {
        let has_child = store
            .layers
            .values()
            .any(|l| l.parent.as_ref() == Some(&layer.chain_id) && !removed.contains(&l.chain_id));
        if used.contains(&layer.chain_id) || has_child {
            break;
        }
        remove_layer(root, &layer.chain_id, &layer.cache_id)?;
        removed.push(layer.chain_id.clone());
    }
    Ok(removed)
}

/// Deletes one layer: unmounted first, then its record moved out of the store (the layer
/// stops existing), then its content and the moved record.
pub fn remove_layer(root: &Root, chain: &ChainId, cache: &analyzers::ids::CacheId) -> Result<()> {
    root.driver.unmount(cache)?;
    let record = record_dir(root, chain);
    let retired = root
        .image_dir()
        .join(LAYERDB_TMP)
        .join(format!("remove-{}", chain.0.hex()));
    fs::rename(&record, &retired).at(&record)?;
    root.driver.remove(cache)?;
    extract::remove_all(&retired)
}
