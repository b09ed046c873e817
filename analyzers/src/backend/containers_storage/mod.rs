//! containers/storage as a store backend (Podman, Buildah, CRI-O): the layer, image and
//! container records of one driver (`<driver>-layers/layers.json`, `<driver>-images/images.json`
//! with each image's big data, `<driver>-containers/containers.json`), joined with libpod's
//! own state where podman keeps one (names, states, commands, volumes).
//!
//! Layers are keyed by their containers/storage id (a layer's id is its directory under the
//! driver's home, not a chain id); a container's writable layer is a layer record of its own,
//! over its image's top layer. Podman's figures ([`crate::usage::libpod`]) are computed from
//! what this backend keeps.

#[cfg(test)]
mod accounting_tests;
mod claims;
mod cleanup;
mod leftovers;
mod load;
pub mod tree;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use load::{detect, load};

use super::{Backend, TarSplit, Trees, VersionProbe};
use crate::advice::{Cleanup, OwnerWords};
use crate::buildcache::Worker;
use crate::driver::{AnyDriver, Driver};
use crate::error::Problem;
use crate::forensics::diff::OverlayDiff;
use crate::forensics::orphans::Finding;
use crate::format::containers_storage::{
    ContainerRecord, ImageRecord, LayerRecord, TAR_SPLIT_SUFFIX,
};
use crate::format::libpod::{is_valid_name, LibpodState, LibpodVolume};
use crate::format::whiteout::Whiteouts;
use crate::graph::{Container, Layer, Store};
use crate::ids::ImageId;
use crate::layout::{VOLUMES_DIR, VOLUME_DATA};
use crate::usage::df::ImageDf;
use crate::usage::du::Claim;
use crate::usage::leftovers::InactiveDriver;
use crate::usage::libpod::{self, Rule};

/// The paths libpod mounts over every container, which `podman diff` leaves out (podman
/// `libpod/diff.go` `initInodes`; `/run/podman-init` is `define.ContainerInitPath`).
const PODMAN_INIT_INODES: &[&str] = &[
    "/dev",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/proc",
    "/run",
    "/run/notify",
    "/run/.containerenv",
    "/run/secrets",
    "/run/podman-init",
    "/sys",
    "/etc/mtab",
];

/// What the containers/storage backend read, kept for podman's accounting.
#[derive(Debug, Clone)]
pub struct ContainersStorage {
    /// The graphroot.
    pub graphroot: PathBuf,
    /// The driver whose records were read (`overlay`, `vfs`).
    pub driver: String,
    /// `<driver>-layers/layers.json`.
    pub layers_json: PathBuf,
    /// `<driver>-images/`.
    pub images_dir: PathBuf,
    /// `<driver>-containers/`.
    pub containers_dir: PathBuf,
    /// Every complete layer record (image and container layers), by id.
    pub layers: BTreeMap<String, LayerRecord>,
    /// Layers flagged incomplete (containers/storage deletes them the next time it opens
    /// the store for writing), by id.
    pub incomplete: BTreeMap<String, LayerRecord>,
    /// The image records, in the store's order.
    pub images: Vec<ImageRecord>,
    /// The container records (Podman's, Buildah's and CRI-O's alike), in the store's order.
    pub containers: Vec<ContainerRecord>,
    /// libpod's state, when podman keeps one in the graphroot.
    pub libpod: Option<LibpodState>,
    /// The runroot (`/run/containers/storage`: a tmpfs, gone offline), when given.
    pub runroot: Option<PathBuf>,
    /// The podman version whose rules the figures follow, and why (found beside the scan).
    pub version: Arc<VersionProbe>,
}

impl ContainersStorage {
    /// The `system df` rules of the podman version taken (waits for the probe).
    pub fn rule(&self) -> Rule {
        Rule::of(self.version.get().0)
    }

    /// The layer record `id`, if it is complete.
    pub fn layer(&self, id: &str) -> Option<&LayerRecord> {
        self.layers.get(id)
    }

    /// The image record `id`.
    pub fn image(&self, id: &str) -> Option<&ImageRecord> {
        self.images.iter().find(|i| i.id == id)
    }

    /// The storage record of container `id`.
    pub fn container(&self, id: &str) -> Option<&ContainerRecord> {
        self.containers.iter().find(|c| c.id == id)
    }

    /// The `_data` directory of libpod volume `volume` in this store: its recorded mount
    /// point taken as `volumes/<name>/_data` of the graphroot, wherever the graphroot was when
    /// podman wrote it (a copied store keeps its old absolute paths). `None` for a volume
    /// without a mount point, or with one elsewhere (a volume driver's, a custom
    /// `volume_path`), which is never read.
    /// A volume whose name podman would refuse (`..`, a `/`) is never read either.
    pub fn volume_data(&self, store: &Store, volume: &LibpodVolume) -> Option<PathBuf> {
        if !is_valid_name(&volume.name) {
            return None;
        }
        let recorded = volume.mount_point.as_deref()?;
        let data = Path::new(VOLUMES_DIR).join(&volume.name).join(VOLUME_DATA);
        recorded.ends_with(&data).then(|| store.root.join(data))
    }

    /// `<driver>-layers/<id>.tar-split.gz`: the tar-split of layer `id`.
    pub fn tar_split_path(&self, id: &str) -> PathBuf {
        let dir = self.layers_json.parent().unwrap_or(&self.graphroot);
        dir.join(format!("{id}{TAR_SPLIT_SUFFIX}"))
    }

    /// The ids of the layers of the stack whose top is `top`, top first (stops at a missing
    /// layer and at a loop).
    pub fn chain(&self, top: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = self.layers.get(top);
        while let Some(l) = cur {
            if out.len() > self.layers.len() {
                break;
            }
            out.push(l.id.as_str());
            cur = l.parent().and_then(|p| self.layers.get(p));
        }
        out
    }
}

impl Backend for ContainersStorage {
    fn name(&self) -> &'static str {
        "containers-storage"
    }
    fn image_rows(&self, store: &Store, trees: &Trees) -> Vec<ImageDf> {
        libpod::image_rows(self, store, trees)
    }
    fn layers_size(&self, _store: &Store, _trees: &Trees) -> i64 {
        libpod::layers_size(self)
    }
    fn root_fs_base(&self, store: &Store, trees: &Trees, container: &Container) -> Option<i64> {
        Some(libpod::root_fs_base(
            self,
            store,
            trees,
            container.id.as_str(),
        ))
    }
    fn measured_dirs(&self, store: &Store) -> Vec<PathBuf> {
        libpod::measured_dirs(self, store)
    }
    fn leftovers(&self, store: &Store, found: &mut Vec<Finding>, problems: &mut Vec<Problem>) {
        leftovers::leftovers(self, store, found, problems);
    }
    fn image_files(&self, store: &Store, deleted: &BTreeSet<&ImageId>) -> BTreeSet<PathBuf> {
        deleted
            .iter()
            .map(|id| self.images_dir.join(id.0.hex()))
            .filter(|dir| store.jail.is_dir(dir))
            .collect()
    }
    fn image_storage_note(&self) -> Option<&'static str> {
        Some("containers/storage keeps each image's manifest, config and signatures beside it")
    }
    fn cleanup_command(&self, store: &Store, cleanup: &Cleanup) -> String {
        cleanup::command(self, store, cleanup)
    }
    fn owner_words(&self) -> &'static OwnerWords {
        &cleanup::PODMAN_WORDS
    }
    fn prunable_containers<'a>(&self, store: &'a Store) -> Vec<&'a Container> {
        cleanup::prunable_containers(self, store)
    }
    /// `<driver>-layers/<id>.tar-split.gz` and the layer's big data directory `<id>/` beside
    /// it, where they exist (containers/storage `layers.go deleteInternal`): `layers.json`, the
    /// graph's `record`, only loses the layer's entry.
    fn layer_record_files(&self, store: &Store, layer: &Layer) -> Vec<PathBuf> {
        let tar_split = self.tar_split(layer).path;
        let big_data = tar_split.with_file_name(layer.cache_id.as_str());
        [tar_split, big_data]
            .into_iter()
            .filter(|p| store.jail.exists(p))
            .collect()
    }
    fn du_claims(&self, store: &Store) -> Vec<Claim> {
        claims::claims(self, store)
    }
    fn inactive_drivers(&self, store: &Store) -> Vec<InactiveDriver> {
        claims::inactive_drivers(self, store)
    }
    fn buildkit_worker<'a>(
        &'a self,
        _store: &'a Store,
        _trees: &'a Trees,
    ) -> Option<(PathBuf, Worker<'a>)> {
        // Buildah's build cache is intermediate images, listed with the images.
        None
    }
    fn diff_hidden_paths(&self) -> &'static [&'static str] {
        PODMAN_INIT_INODES
    }
    /// containers/storage's overlay driver lists a layer's changes from the layer
    /// directories themselves (`OverlayChanges`) when the kernel mounts them, and compares
    /// the two mounted views (naive diff) when a mount program does (`useNaiveDiff`).
    fn overlay_diff(&self, driver: &AnyDriver) -> OverlayDiff {
        match driver.whiteouts() {
            Some(Whiteouts::Kernel) => OverlayDiff::Layers,
            _ => OverlayDiff::Views,
        }
    }
    /// `<driver>-layers/<id>.tar-split.gz`; `diff-size` in `layers.json` is the tar's length.
    fn tar_split(&self, layer: &Layer) -> TarSplit {
        TarSplit {
            path: self.tar_split_path(layer.cache_id.as_str()),
            size_record: self.layers_json.clone(),
            size_is_stream: true,
        }
    }
    fn libpod_df(&self, store: &Store, trees: &Trees) -> Option<libpod::LibpodDf> {
        Some(libpod::compute(self, store, trees))
    }
}
