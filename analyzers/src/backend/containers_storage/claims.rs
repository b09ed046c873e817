//! What `du` attributes in a containers/storage graphroot beyond the common plan (which gives
//! each image layer's and container layer's driver directory, `l/`, the layers' `work/`,
//! `volumes/` and `tmp/` their owners): each image's big data directory, each layer's
//! tar-split and big data beside `layers.json`, each container's `userdata` and log, the
//! stores' records and locks, libpod's database, and the bookkeeping of containers/storage
//! and podman (`storage.lock`, `userns.lock`, `mounts/`, `secrets/`, `networks/`,
//! `defaultNetworkBackend`, the overlay driver's `.has-mount-program` and `staging/`).
//!
//! Layers the graph leaves out are claimed here too: a layer flagged incomplete is a leak
//! (containers/storage deletes it the next time it writes the store), a complete one without
//! a `diff-digest` is still an image layer. The other drivers' directories are theirs
//! ([`inactive_drivers`], planned by the common `du`). Paths come from directory listings, so
//! every claim exists.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::load::{DRIVERS, OTHER_DRIVERS};
use super::ContainersStorage;
use crate::driver::Driver;
use crate::format::containers_storage::{
    self as cs, CONTAINERS_JSON, MOUNT_PROGRAM_FLAG, OVERLAY_STAGING_DIR, TAR_SPLIT_SUFFIX,
    VOLATILE_CONTAINERS_JSON,
};
use crate::format::libpod::{BOLT_STATE, SQLITE_STATE};
use crate::graph::Store;
use crate::ids::{is_hex64, ChainId, Digest, ImageId};
use crate::usage::du::{Claim, OwnerKind};
use crate::usage::leftovers::InactiveDriver;

/// Entries of the graphroot that are containers/storage's and podman's bookkeeping
/// (containers/storage `store.go`: `storage.lock`, `userns.lock`, `mounts/`; libpod
/// `runtime.go`: `secrets/`; containers/common `libnetwork`: `defaultNetworkBackend`, and
/// `networks/`, netavark's configurations when they live in the graphroot).
const BOOKKEEPING: &[&str] = &[
    "storage.lock",
    "userns.lock",
    "mounts",
    "secrets",
    "networks",
    "defaultNetworkBackend",
];

/// The claims of `b`'s graphroot.
pub fn claims(b: &ContainersStorage, store: &Store) -> Vec<Claim> {
    let owners = LayerOwners::new(b, store);
    let mut out = Vec::new();
    let root = &b.graphroot;
    let libpod_dir = Path::new(BOLT_STATE).parent().unwrap_or(Path::new(""));
    let images = b.images_dir.file_name().unwrap_or_default();
    let layers_dir = b.layers_json.parent().unwrap_or(root);
    let layers = layers_dir.file_name().unwrap_or_default();
    let containers = b.containers_dir.file_name().unwrap_or_default();
    for e in store.jail.read_dir(root).unwrap_or_default() {
        let path = root.join(&e.name);
        let name = e.name.to_string_lossy();
        if e.name == images {
            image_claims(b, store, &mut out);
        } else if e.name == layers {
            layer_claims(&owners, store, layers_dir, &mut out);
        } else if e.name == containers {
            container_claims(b, store, &mut out);
        } else if Path::new(&e.name) == libpod_dir || name.starts_with(SQLITE_STATE) {
            out.push(Claim::new(
                OwnerKind::LibpodState,
                "libpod",
                "libpod database",
                path,
            ));
        } else if BOOKKEEPING.contains(&&*name) {
            out.push(Claim::new(OwnerKind::Daemon, &name, &name, path));
        }
    }
    driver_home_claims(&owners, store, &mut out);
    out
}

/// The data of the drivers other than `b`'s in its graphroot: for each, its home
/// (`<driver>/`) and its layer, image and container records (`<driver>-layers/`,
/// `<driver>-images/`, `<driver>-containers/`), where they exist.
pub fn inactive_drivers(b: &ContainersStorage, store: &Store) -> Vec<InactiveDriver> {
    DRIVERS
        .iter()
        .chain(OTHER_DRIVERS)
        .filter(|d| **d != b.driver)
        .filter_map(|d| {
            let names = [
                (*d).to_owned(),
                cs::layers_dir(d),
                cs::images_dir(d),
                cs::containers_dir(d),
            ];
            let mut paths: Vec<PathBuf> = names
                .iter()
                .map(|n| b.graphroot.join(n))
                .filter(|p| store.jail.is_dir(p))
                .collect();
            paths.sort();
            (!paths.is_empty()).then(|| InactiveDriver {
                name: (*d).to_owned(),
                paths,
            })
        })
        .collect()
}

/// `<driver>-images/`: the image store's records and locks, and each image's big data
/// directory (`<id>/`: its config, manifests and signatures) to that image.
fn image_claims(b: &ContainersStorage, store: &Store, out: &mut Vec<Claim>) {
    let dir = &b.images_dir;
    out.push(records_dir(OwnerKind::ImageMetadata, dir, "image store"));
    for e in store.jail.read_dir(dir).unwrap_or_default() {
        if !e.is_dir {
            continue;
        }
        let name = e.name.to_string_lossy();
        let path = dir.join(&e.name);
        match (b.image(&name), Digest::from_hex(&name)) {
            (Some(record), Some(digest)) => {
                let id = ImageId(digest);
                let label = record
                    .names
                    .first()
                    .map_or_else(|| id.digest().short().to_owned(), Clone::clone);
                out.push(Claim::new(
                    OwnerKind::ImageBigData,
                    &id.to_string(),
                    &label,
                    path,
                ));
            }
            _ => out.push(
                Claim::new(OwnerKind::ImageBigData, &name, &name, path)
                    .with_note("no image record"),
            ),
        }
    }
}

/// `<driver>-layers/`: the layer store's records and locks, and each layer's tar-split
/// (`<id>.tar-split.gz`) and big data directory (`<id>/`) to that layer's owner.
fn layer_claims(owners: &LayerOwners, store: &Store, dir: &Path, out: &mut Vec<Claim>) {
    out.push(records_dir(OwnerKind::ImageMetadata, dir, "layer store"));
    for e in store.jail.read_dir(dir).unwrap_or_default() {
        let name = e.name.to_string_lossy();
        let id = if e.is_dir {
            Some(&*name)
        } else {
            name.strip_suffix(TAR_SPLIT_SUFFIX)
        };
        let Some(id) = id.filter(|id| is_hex64(id)) else {
            continue;
        };
        let path = dir.join(&e.name);
        let claim = owners.claim(id, path.clone()).unwrap_or_else(|| {
            Claim::new(OwnerKind::LeakedLayer, id, id, path).with_note("no layer record")
        });
        out.push(claim);
    }
}

/// `<driver>-containers/`: the container store's records and locks; each container's
/// directory (`<id>/userdata`: `config.json`, `artifacts/`, `secrets/`...) to the container,
/// with its log (`ctr.log`, libpod's `LogPath`) apart.
fn container_claims(b: &ContainersStorage, store: &Store, out: &mut Vec<Claim>) {
    let dir = &b.containers_dir;
    out.push(records_dir(OwnerKind::Daemon, dir, "container store"));
    let records: HashMap<&str, &crate::graph::Container> = store
        .containers
        .iter()
        .map(|c| (c.id.as_str(), c))
        .collect();
    for e in store.jail.read_dir(dir).unwrap_or_default() {
        let name = e.name.to_string_lossy();
        if !e.is_dir || name == CONTAINERS_JSON || name == VOLATILE_CONTAINERS_JSON {
            continue;
        }
        let path = dir.join(&e.name);
        let Some(c) = records.get(&*name) else {
            out.push(
                Claim::new(OwnerKind::ContainerMeta, &name, "", path)
                    .with_note("no container record"),
            );
            continue;
        };
        let label = c.name.trim_start_matches('/');
        out.push(Claim::new(OwnerKind::ContainerMeta, &name, label, path));
        let log = c
            .log_path
            .as_ref()
            .filter(|log| log.starts_with(&c.dir) && store.jail.exists(log));
        if let Some(log) = log {
            out.push(Claim::new(
                OwnerKind::ContainerLog,
                &name,
                label,
                log.clone(),
            ));
        }
    }
}

/// The driver's home: its bookkeeping, and the layer directories the graph leaves out.
fn driver_home_claims(owners: &LayerOwners, store: &Store, out: &mut Vec<Claim>) {
    let home = store.driver.layers_dir();
    for e in store.jail.read_dir(&home).unwrap_or_default() {
        let name = e.name.to_string_lossy();
        let path = home.join(&e.name);
        if name == MOUNT_PROGRAM_FLAG {
            out.push(Claim::new(
                OwnerKind::Daemon,
                &name,
                "overlay driver state",
                path,
            ));
        } else if name == OVERLAY_STAGING_DIR && e.is_dir {
            out.push(Claim::new(
                OwnerKind::Tmp,
                OVERLAY_STAGING_DIR,
                "staged layers of unfinished partial pulls",
                path,
            ));
        } else if !owners.in_graph(&name) {
            out.extend(owners.claim(&name, path));
        }
    }
}

/// The claim of a store's records directory (`overlay-images/`, named by its own name and a
/// `/`) for `kind`: its records, locks and whatever no nested claim takes.
fn records_dir(kind: OwnerKind, dir: &Path, name: &str) -> Claim {
    let id = format!("{}/", dir.file_name().unwrap_or_default().to_string_lossy());
    Claim::new(kind, &id, name, dir.to_path_buf())
}

/// Who owns the files of each layer the records name.
struct LayerOwners<'a> {
    backend: &'a ContainersStorage,
    /// Image layers of the graph, by layer id.
    image_layers: HashMap<&'a str, &'a ChainId>,
    /// Containers' writable layers: layer id to container id and name.
    container_layers: HashMap<&'a str, (&'a str, &'a str)>,
}

impl<'a> LayerOwners<'a> {
    fn new(backend: &'a ContainersStorage, store: &'a Store) -> Self {
        let names: HashMap<&str, &str> = store
            .containers
            .iter()
            .map(|c| (c.id.as_str(), c.name.trim_start_matches('/')))
            .collect();
        LayerOwners {
            backend,
            image_layers: store
                .layers
                .values()
                .map(|l| (l.cache_id.as_str(), &l.chain_id))
                .collect(),
            container_layers: store
                .mounts
                .values()
                .map(|m| {
                    let id = m.container.as_str();
                    (
                        m.mount_id.as_str(),
                        (id, names.get(id).copied().unwrap_or("")),
                    )
                })
                .collect(),
        }
    }

    /// True when the common plan already gives layer `id`'s directory its owner.
    fn in_graph(&self, id: &str) -> bool {
        self.image_layers.contains_key(id) || self.container_layers.contains_key(id)
    }

    /// `path` (a file or directory of layer `id`) claimed for the layer's owner: the image
    /// layer, the container whose writable layer it is, an image layer the graph left out
    /// (no `diff-digest`), or, for a layer flagged incomplete, a leak. `None` for a layer no
    /// record names.
    fn claim(&self, id: &str, path: PathBuf) -> Option<Claim> {
        if let Some(chain) = self.image_layers.get(id) {
            let name = chain.digest().short();
            return Some(Claim::new(
                OwnerKind::ImageLayer,
                &chain.to_string(),
                name,
                path,
            ));
        }
        if let Some((container, name)) = self.container_layers.get(id) {
            return Some(Claim::new(OwnerKind::ContainerLayer, container, name, path));
        }
        if self.backend.layers.contains_key(id) {
            let chain = ChainId::from_hex(id).map_or_else(|| id.to_owned(), |c| c.to_string());
            let short = &id[..id.len().min(12)];
            return Some(
                Claim::new(OwnerKind::ImageLayer, &chain, short, path)
                    .with_note("no diff-digest recorded"),
            );
        }
        self.backend.incomplete.contains_key(id).then(|| {
            Claim::new(OwnerKind::LeakedLayer, id, id, path)
                .with_note("flagged incomplete in layers.json")
        })
    }
}
