//! The store's object graph, rebuilt from metadata files alone (no walking of content).
//!
//! [`Store::load`] has a [`crate::backend`] read the store's metadata (moby's layerdb, or
//! containerd's `meta.db`) into one shape: images joined to their layers by chain id,
//! containers to their images and writable layers, volumes to the containers that mount them.
//! What the store's owner would refuse to load is left out the same way and reported as a
//! [`Problem`].

pub mod container;
pub mod image;
pub mod layer;
pub mod lookup;
pub mod references;
pub mod volume;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub use container::{Container, MountPoint, State};
pub use image::{HistoryEntry, Image};
pub use layer::{Layer, MountRecord};
pub use volume::Volume;

use crate::backend::AnyBackend;
use crate::driver::{AnyDriver, Detected};
use crate::error::{Problem, Result};
use crate::fs::Jail;
use crate::ids::{ChainId, ContainerId, ImageId};
use crate::root::DataRoot;

/// How to load a store.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Read this driver's data; by default the one dockerd would use.
    pub driver: Option<String>,
    /// The containerd root of a Docker data root using the containerd image store, or of a
    /// plain containerd host; by default found as dockerd finds it.
    pub containerd_root: Option<PathBuf>,
    /// The containerd namespace to read; by default `moby` under Docker, every namespace
    /// on a plain containerd root.
    pub namespace: Option<String>,
    /// The dockerd version whose accounting rules the containerd image store's figures follow,
    /// and where it came from; asked of `detect_docker_version` when `None`.
    pub docker_version: Option<(crate::backend::DockerVersion, crate::backend::VersionSource)>,
    /// Finds the dockerd version of the data root given (the caller may ask the host's
    /// daemon; the library never runs anything); the newest known rules when it finds none.
    pub detect_docker_version: Option<crate::backend::DetectVersion>,
    /// The podman version whose `system df` rules a containers/storage store's figures
    /// follow, and where it came from; asked of `detect_podman_version` when `None`.
    pub podman_version: Option<crate::backend::Found>,
    /// The runroot of a containers/storage graphroot (containers' run directories, which
    /// podman 4.6+ counts in their sizes); not read unless given.
    pub runroot: Option<PathBuf>,
    /// Finds the podman version of the graphroot given; the newest known rules when it
    /// finds none.
    pub detect_podman_version: Option<crate::backend::DetectVersion>,
    /// What the host's containers/storage configuration says of this root, when the root
    /// was found through it ([`crate::graphroot`]): its driver is read when the root has that
    /// driver's records (unlike `driver`, which must have them), its mount program tells how
    /// the overlay layers record deletions when the store does not say, and the parts kept
    /// outside the graphroot become problems.
    pub storage_conf: Option<crate::graphroot::Settings>,
    /// Where the host's files are (`--sysroot`): a Docker root's system containerd is looked
    /// for under it.
    pub sysroot: crate::host::Sysroot,
}

/// Everything the metadata of one driver in a data root says.
#[derive(Debug, Clone)]
pub struct Store {
    /// The data root.
    pub root: PathBuf,
    /// The root handle every read of the store goes through.
    pub jail: Jail,
    /// The backend that read the metadata, with what it keeps for its own accounting.
    pub backend: AnyBackend,
    /// The driver whose data was read.
    pub driver: AnyDriver,
    /// Every driver that left data in the root.
    pub detected: Vec<Detected>,
    /// Images that load, by id.
    pub images: BTreeMap<ImageId, Image>,
    /// Read-only layers that load, by chain id.
    pub layers: BTreeMap<ChainId, Layer>,
    /// Writable layer records, by container id (including ones no container claims).
    pub mounts: BTreeMap<ContainerId, MountRecord>,
    /// Containers of this driver that load, sorted by id.
    pub containers: Vec<Container>,
    /// Local volumes, sorted by name.
    pub volumes: Vec<Volume>,
    /// What was damaged or inconsistent.
    pub problems: Vec<Problem>,
}

impl Store {
    /// Reads the store at `root` with the backend its metadata calls for (see
    /// [`crate::backend`]).
    pub fn load(root: &DataRoot, opts: &LoadOptions) -> Result<Store> {
        crate::backend::load(root, opts)
    }

    /// Image ids that are the local parent of at least one other image.
    pub fn parents(&self) -> BTreeSet<&ImageId> {
        self.images
            .values()
            .filter_map(|i| i.parent.as_ref())
            .collect()
    }

    /// The image a user's reference names (see [`Store::find_image`]), if exactly one.
    pub fn resolve_image(&self, reference: &str) -> Option<&Image> {
        self.find_image(reference).ok()
    }

    /// The layers of the stack whose top is `top`, top first (a container's lower layers, an
    /// image's layers reversed). Stops at a missing layer; loading already refused cycles.
    pub fn chain_below(&self, top: Option<&ChainId>) -> Vec<&Layer> {
        let mut out = Vec::new();
        let mut cur = top.and_then(|t| self.layers.get(t));
        while let Some(l) = cur {
            if out.len() > self.layers.len() {
                break;
            }
            out.push(l);
            cur = l.parent.as_ref().and_then(|p| self.layers.get(p));
        }
        out
    }

    /// The driver directories under writable layer `rw`, nearest first: its init layer, then
    /// the image's layers from the top (what its mount stacks under it).
    pub fn rw_below(&self, rw: &MountRecord) -> Vec<crate::ids::CacheId> {
        rw.init()
            .cloned()
            .into_iter()
            .chain(
                self.chain_below(rw.parent.as_ref())
                    .into_iter()
                    .map(|l| l.cache_id.clone()),
            )
            .collect()
    }

    /// The number of containers (of this driver) that mount the volume `name`.
    pub fn volume_refs(&self, name: &str) -> usize {
        self.containers
            .iter()
            .filter(|c| {
                c.mounts
                    .iter()
                    .any(|m| m.name == name && !m.driver.is_empty())
            })
            .count()
    }
}
