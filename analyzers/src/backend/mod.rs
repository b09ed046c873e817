//! Store backends: each turns one kind of store metadata into the common [`Store`] graph.
//!
//! - [`moby`]: Docker's graphdriver stores, `image/<driver>/{imagedb,layerdb}` and
//!   `containers/*/config.v2.json`;
//! - [`containerd`]: containerd's `meta.db` and its snapshotter's `metadata.db`, under Docker
//!   (the containerd image store, Docker 29's default) or alone (Kubernetes nodes, nerdctl);
//! - [`containers_storage`]: containers/storage's `layers.json`, `images.json` and
//!   `containers.json` with libpod's state (Podman, Buildah, CRI-O).
//!
//! [`load`] picks the backend the root's files call for. Each backend also owns the part of
//! `docker system df` that differs between them (image sizes, `LayersSize`, what a container's
//! `SizeRootFs` adds to its writable layer), behind the [`Backend`] trait; nothing outside a
//! backend matches on which one it is.

pub mod containerd;
pub mod containers_storage;
pub mod moby;
mod version;

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use serde::Serialize;

pub use containerd::Containerd;
pub use containers_storage::ContainersStorage;
pub use moby::Moby;
pub use version::{DockerVersion, Found, PodmanVersion, Release, VersionProbe, VersionSource};

use crate::advice::{Cleanup, OwnerWords};
use crate::buildcache::Worker;
use crate::driver::AnyDriver;
use crate::error::Problem;
use crate::error::Result;
use crate::forensics::blobs::Blob;
use crate::forensics::diff::OverlayDiff;
use crate::forensics::orphans::Finding;
use crate::graph::{Container, Layer, LoadOptions, Store};
use crate::ids::ImageId;
use crate::inventory::SnapshotEntry;
use crate::root::DataRoot;
use crate::usage::df::{DfReport, ImageDf};
use crate::usage::du::Claim;
use crate::usage::leftovers::{self, InactiveDriver};
use crate::usage::libpod::LibpodDf;
use crate::walk::TreeUsage;

/// A way to find which version of its owner (dockerd, podman) wrote the store it is given.
pub type DetectVersion = fn(&std::path::Path) -> Option<Found>;

/// Directory trees measured by one walk, by the root walked.
pub type Trees = HashMap<PathBuf, TreeUsage>;

/// What each store backend answers beyond the common graph.
pub trait Backend {
    /// The backend's name as strata reports it (`moby`, `containerd`).
    fn name(&self) -> &'static str;
    /// The image rows of `GET /system/df`, with the store owner's `Size`, `SharedSize` and
    /// `Containers`; `trees` holds the walks of [`Backend::measured_dirs`].
    fn image_rows(&self, store: &Store, trees: &Trees) -> Vec<ImageDf>;
    /// `LayersSize` of `GET /system/df`; `trees` holds the walks of
    /// [`Backend::measured_dirs`].
    fn layers_size(&self, store: &Store, trees: &Trees) -> i64;
    /// What a container's `SizeRootFs` adds to its `SizeRw` (the layers below its writable
    /// one); `None` when the owner reports no `SizeRootFs` at all for it. `trees` holds the
    /// walks of [`Backend::measured_dirs`].
    fn root_fs_base(&self, store: &Store, trees: &Trees, container: &Container) -> Option<i64>;
    /// Directories (besides containers' writable layers and volumes) whose live usage the
    /// figures need: containerd re-measures every active snapshot.
    fn measured_dirs(&self, _store: &Store) -> Vec<PathBuf> {
        Vec::new()
    }
    /// Which of the owner's accounting rules the figures follow, where it has several.
    fn accounting(&self) -> Option<&Accounting> {
        None
    }
    /// The blob `layer` was unpacked from, where the store keeps it (containerd does; a
    /// graphdriver store keeps tar-split records instead).
    fn layer_blob(&self, _store: &Store, _layer: &Layer) -> Option<Blob> {
        None
    }
    /// The leftovers of this kind of store (what nothing references), and what kept them
    /// from being judged.
    fn leftovers(&self, store: &Store, found: &mut Vec<Finding>, problems: &mut Vec<Problem>);
    /// The files of the images `deleted` (beyond their layers) that deleting them all frees.
    fn image_files(&self, store: &Store, deleted: &BTreeSet<&ImageId>) -> BTreeSet<PathBuf>;
    /// What removing an image frees on this kind of store, beyond its layers' files, in words
    /// (for advice); `None` when that is only its layers and config.
    fn image_storage_note(&self) -> Option<&'static str> {
        None
    }
    /// The command the store's owner runs for `cleanup` (Docker's by default).
    fn cleanup_command(&self, store: &Store, cleanup: &Cleanup) -> String {
        crate::advice::docker_command(store, cleanup)
    }
    /// How advice names the store's owner: its CLI, what runs over the store (Docker's by
    /// default).
    fn owner_words(&self) -> &'static OwnerWords {
        &crate::advice::DOCKER_WORDS
    }
    /// The containers the owner's `container prune` removes (Docker's: every one not
    /// running).
    fn prunable_containers<'a>(&self, store: &'a Store) -> Vec<&'a Container> {
        crate::advice::not_running(store)
    }
    /// What deleting `layer` removes of its record, besides its driver directory: moby's
    /// `layerdb/sha256/<chain>/` (the graph's `record`) by default.
    fn layer_record_files(&self, _store: &Store, layer: &Layer) -> Vec<PathBuf> {
        vec![layer.record.clone()]
    }
    /// The parts of the store whose owner only this backend knows, for `du`.
    fn du_claims(&self, _store: &Store) -> Vec<Claim> {
        Vec::new()
    }
    /// The data storage drivers other than the one read left in the store's root (a driver
    /// switch), which nothing the owner runs reads: by default a Docker data root's other
    /// driver homes and `image/<driver>/` ([`leftovers::graphdriver_data`]).
    fn inactive_drivers(&self, store: &Store) -> Vec<InactiveDriver> {
        leftovers::graphdriver_data(store)
    }
    /// Every content blob the store's records name.
    fn blobs(&self, _store: &Store) -> Vec<Blob> {
        Vec::new()
    }
    /// The BuildKit worker whose cache records belong to this kind of store, and the directory
    /// of its `metadata_v2.db` (the worker dockerd runs over the store decides where BuildKit
    /// keeps them and what sizes them); `trees` holds the walks of [`Backend::measured_dirs`].
    /// `None` for a store BuildKit does not build into.
    fn buildkit_worker<'a>(
        &'a self,
        store: &'a Store,
        trees: &'a Trees,
    ) -> Option<(PathBuf, Worker<'a>)>;
    /// The snapshots of a containerd store's namespace, sized as `ctr snapshots usage` sizes
    /// them (`df` holds the walks of the active ones); `None` for a store without snapshots.
    fn snapshots(&self, _df: &DfReport) -> Option<Vec<SnapshotEntry>> {
        None
    }
    /// Where `layer`'s tar-split record is and what its recorded size measures (moby's
    /// `layerdb/sha256/<chain>/tar-split.json.gz`, a content size in `size`).
    fn tar_split(&self, layer: &Layer) -> TarSplit {
        TarSplit {
            path: layer.record.join(crate::layout::LAYER_TAR_SPLIT),
            size_record: layer.record.join(crate::layout::LAYER_SIZE),
            size_is_stream: false,
        }
    }
    /// Paths the owner's `diff` of a container leaves out (podman: the files it mounts over
    /// every container); strata lists them as unlisted.
    fn diff_hidden_paths(&self) -> &'static [&'static str] {
        &[]
    }
    /// How the owner's `diff` compares an overlay layer of `driver` with the ones below:
    /// moby's way (the two mounted views; aufs' own `Changes` for its AUFS-named layers)
    /// unless the owner says otherwise.
    fn overlay_diff(&self, driver: &AnyDriver) -> OverlayDiff {
        match crate::driver::Driver::whiteouts(driver) {
            Some(crate::format::whiteout::Whiteouts::Aufs) => OverlayDiff::Aufs,
            _ => OverlayDiff::Views,
        }
    }
    /// The store owner's own `system df` where its shape is not Docker's (podman's
    /// `GET /libpod/system/df`); `trees` holds the walks `df` made.
    fn libpod_df(&self, _store: &Store, _trees: &Trees) -> Option<LibpodDf> {
        None
    }
}

/// A layer's tar-split record and what its recorded size is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarSplit {
    /// The gzipped tar-split file.
    pub path: PathBuf,
    /// The file holding the layer's recorded size.
    pub size_record: PathBuf,
    /// True when the recorded size is the length of the whole tar stream, headers and
    /// padding included (containers/storage's `diff-size`); false when it is the size of the
    /// layer's content as its driver measures it (moby's `size`).
    pub size_is_stream: bool,
}

/// The accounting rule a report follows and why that one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Accounting {
    /// The rule, named by the dockerd versions that use it (`docker 26.0-27.x`).
    pub rule: String,
    /// The dockerd version taken.
    pub docker_version: String,
    /// Where that version came from.
    pub source: VersionSource,
    /// The containerd root read.
    #[serde(flatten, serialize_with = "crate::text::json::containerd_root")]
    pub containerd_root: PathBuf,
    /// How that root was found (`--containerd-root`, dockerd's own, the system's).
    pub containerd_root_found_by: String,
}

/// The backend that read a store.
#[derive(Debug, Clone)]
pub enum AnyBackend {
    /// Docker's graphdriver metadata.
    Moby(Moby),
    /// containerd's metadata.
    Containerd(Box<Containerd>),
    /// containers/storage's records and libpod's state.
    ContainersStorage(Box<ContainersStorage>),
}

impl AnyBackend {
    fn inner(&self) -> &dyn Backend {
        match self {
            AnyBackend::Moby(b) => b,
            AnyBackend::Containerd(b) => b.as_ref(),
            AnyBackend::ContainersStorage(b) => b.as_ref(),
        }
    }
}

impl Backend for AnyBackend {
    fn name(&self) -> &'static str {
        self.inner().name()
    }
    fn image_rows(&self, store: &Store, trees: &Trees) -> Vec<ImageDf> {
        self.inner().image_rows(store, trees)
    }
    fn layers_size(&self, store: &Store, trees: &Trees) -> i64 {
        self.inner().layers_size(store, trees)
    }
    fn root_fs_base(&self, store: &Store, trees: &Trees, container: &Container) -> Option<i64> {
        self.inner().root_fs_base(store, trees, container)
    }
    fn measured_dirs(&self, store: &Store) -> Vec<PathBuf> {
        self.inner().measured_dirs(store)
    }
    fn accounting(&self) -> Option<&Accounting> {
        self.inner().accounting()
    }
    fn layer_blob(&self, store: &Store, layer: &Layer) -> Option<Blob> {
        self.inner().layer_blob(store, layer)
    }
    fn blobs(&self, store: &Store) -> Vec<Blob> {
        self.inner().blobs(store)
    }
    fn leftovers(&self, store: &Store, found: &mut Vec<Finding>, problems: &mut Vec<Problem>) {
        self.inner().leftovers(store, found, problems);
    }
    fn du_claims(&self, store: &Store) -> Vec<Claim> {
        self.inner().du_claims(store)
    }
    fn inactive_drivers(&self, store: &Store) -> Vec<InactiveDriver> {
        self.inner().inactive_drivers(store)
    }
    fn cleanup_command(&self, store: &Store, cleanup: &Cleanup) -> String {
        self.inner().cleanup_command(store, cleanup)
    }
    fn owner_words(&self) -> &'static OwnerWords {
        self.inner().owner_words()
    }
    fn prunable_containers<'a>(&self, store: &'a Store) -> Vec<&'a Container> {
        self.inner().prunable_containers(store)
    }
    fn layer_record_files(&self, store: &Store, layer: &Layer) -> Vec<PathBuf> {
        self.inner().layer_record_files(store, layer)
    }
    fn image_files(&self, store: &Store, deleted: &BTreeSet<&ImageId>) -> BTreeSet<PathBuf> {
        self.inner().image_files(store, deleted)
    }
    fn image_storage_note(&self) -> Option<&'static str> {
        self.inner().image_storage_note()
    }
    fn buildkit_worker<'a>(
        &'a self,
        store: &'a Store,
        trees: &'a Trees,
    ) -> Option<(PathBuf, Worker<'a>)> {
        self.inner().buildkit_worker(store, trees)
    }
    fn snapshots(&self, df: &DfReport) -> Option<Vec<SnapshotEntry>> {
        self.inner().snapshots(df)
    }
    fn diff_hidden_paths(&self) -> &'static [&'static str] {
        self.inner().diff_hidden_paths()
    }
    fn overlay_diff(&self, driver: &AnyDriver) -> OverlayDiff {
        self.inner().overlay_diff(driver)
    }
    fn tar_split(&self, layer: &Layer) -> TarSplit {
        self.inner().tar_split(layer)
    }
    fn libpod_df(&self, store: &Store, trees: &Trees) -> Option<LibpodDf> {
        self.inner().libpod_df(store, trees)
    }
}

/// Reads `root` with the backend its files call for: containers/storage's for a graphroot;
/// containerd's when the root is a containerd root, or a Docker data root using the
/// containerd image store; moby's otherwise.
/// Every report on the store then says what the root holds besides it
/// ([`DataRoot::notices`]: its userns-remap sub-roots).
pub fn load(root: &DataRoot, opts: &LoadOptions) -> Result<Store> {
    let mut store = if let Some(driver) = containers_storage::detect(root, opts) {
        containers_storage::load(root, opts, &driver)?
    } else if let Some(found) = containerd::detect(root, opts)? {
        containerd::load(root, opts, found)?
    } else {
        moby::load(root, opts)?
    };
    store.problems.extend(root.notices());
    store.problems.sort();
    store.problems.dedup();
    Ok(store)
}
