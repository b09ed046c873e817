//! What `orphans` finds in a containers/storage store: layer directories no record in
//! `layers.json` names (complete or incomplete, an image's or a container's), layer records
//! whose directory is missing, `l/` links that dangle, layers flagged incomplete, and layers
//! no image and no container stands on. The driver's own entries (`l/`, `staging/`, the
//! `.has-mount-program` file) are never leftovers.

use std::collections::BTreeSet;

use super::ContainersStorage;
use crate::driver::Driver;
use crate::error::Problem;
use crate::forensics::orphans::{Finding, OrphanKind};
use crate::format::containers_storage::OVERLAY_STAGING_DIR;
use crate::graph::Store;
use crate::ids::CacheId;

/// Every leftover of `backend`'s store.
pub fn leftovers(
    backend: &ContainersStorage,
    store: &Store,
    found: &mut Vec<Finding>,
    problems: &mut Vec<Problem>,
) {
    unrecorded_dirs(backend, store, found);
    dirless_records(backend, store, found);
    for (path, why) in store.driver.bad_links(&store.jail, problems) {
        found.push((OrphanKind::Link, path, why));
    }
    incomplete_and_unreferenced(backend, store, found);
}

/// The layer directories no record names.
fn unrecorded_dirs(backend: &ContainersStorage, store: &Store, found: &mut Vec<Finding>) {
    let home = store.driver.layers_dir();
    let link_dir = store.driver.link_dir();
    for e in store.jail.read_dir(&home).unwrap_or_default() {
        let name = e.name.to_string_lossy();
        let path = home.join(&e.name);
        if !e.is_dir
            || link_dir.as_ref() == Some(&path)
            || name == OVERLAY_STAGING_DIR
            || backend.layers.contains_key(&*name)
            || backend.incomplete.contains_key(&*name)
        {
            continue;
        }
        found.push((
            OrphanKind::LayerDir,
            path,
            format!(
                "no layer record in {} names it",
                backend.layers_json.display()
            ),
        ));
    }
}

/// The complete layer records whose directory is missing: what is left of each is its
/// tar-split (the finding's path when there is one; else the missing directory's).
fn dirless_records(backend: &ContainersStorage, store: &Store, found: &mut Vec<Finding>) {
    for r in backend.layers.values() {
        let dir = store.driver.layer_dir(&CacheId(r.id.clone()));
        if store.jail.is_dir(&dir) {
            continue;
        }
        let tar_split = backend.tar_split_path(&r.id);
        let path = if store.jail.exists(&tar_split) {
            tar_split
        } else {
            dir.clone()
        };
        found.push((
            OrphanKind::RecordWithoutContent,
            path,
            format!(
                "layer {} is recorded in {} but its directory {} is missing",
                r.id,
                backend.layers_json.display(),
                dir.display()
            ),
        ));
    }
}

/// Layers flagged incomplete, and layers that no image and no container stands on.
fn incomplete_and_unreferenced(
    backend: &ContainersStorage,
    store: &Store,
    found: &mut Vec<Finding>,
) {
    for r in backend.incomplete.values() {
        found.push((
            OrphanKind::IncompleteLayer,
            store.driver.layer_dir(&CacheId(r.id.clone())),
            format!(
                "layer {} is flagged incomplete in {}: an interrupted pull, build or commit",
                r.id,
                backend.layers_json.display()
            ),
        ));
    }
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    let tops = backend
        .images
        .iter()
        .flat_map(|i| std::iter::once(&i.layer).chain(&i.mapped_layers))
        .chain(backend.containers.iter().map(|c| &c.layer));
    for top in tops {
        reached.extend(backend.chain(top));
    }
    for r in backend.layers.values() {
        if !reached.contains(r.id.as_str()) {
            found.push((
                OrphanKind::UnreferencedLayer,
                store.driver.layer_dir(&CacheId(r.id.clone())),
                format!("layer {}: no image or container stands on it", r.id),
            ));
        }
    }
}
