//! The sizes podman reports, by the rules of one release: containers/storage's `ImageSize`,
//! `DiffSize` and `ContainerSize`, libimage's shares, libpod's container sizes.

use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use super::rule::Rule;
use crate::backend::containers_storage::tree::LayerTree;
use crate::backend::containers_storage::ContainersStorage;
use crate::backend::Trees;
use crate::changes;
use crate::driver::{DiffMeasure, Driver};
use crate::format::containers_storage::{
    big_data_dir, big_data_file_name, ImageRecord, LayerRecord, USERDATA_DIR,
};
use crate::graph::Store;
use crate::ids::CacheId;
use crate::walk::TreeUsage;

/// One image's figures.
pub struct ImageUsage {
    /// `Size`.
    pub size: i64,
    /// `SharedSize`.
    pub shared: i64,
    /// Storage containers made from it.
    pub containers: i64,
    /// Its parent in the layer tree (the rules before 5.5 say what it shares through it).
    pub parent: Option<String>,
}

impl ImageUsage {
    /// `UniqueSize`: `Size - SharedSize`, saturating (damaged records can hold sizes at the
    /// ends of `i64`).
    pub fn unique(&self) -> i64 {
        self.size.saturating_sub(self.shared)
    }
}

/// Computes podman's sizes for one store under one rule.
pub struct Accountant<'a> {
    backend: &'a ContainersStorage,
    store: &'a Store,
    trees: &'a Trees,
    rule: Rule,
    /// The layer tree, built at first use (the container figures need none).
    tree: OnceCell<LayerTree<'a>>,
    /// How many images reach each layer (5.5's `walkImageLayers`), by layer id, counted at
    /// first use.
    users: OnceCell<BTreeMap<&'a str, usize>>,
}

impl<'a> Accountant<'a> {
    /// The accountant of `backend`'s store under `rule`; `trees` holds the walks of
    /// [`measured_dirs`].
    pub fn new(
        backend: &'a ContainersStorage,
        store: &'a Store,
        trees: &'a Trees,
        rule: Rule,
    ) -> Self {
        Accountant {
            backend,
            store,
            trees,
            rule,
            tree: OnceCell::new(),
            users: OnceCell::new(),
        }
    }

    fn tree(&self) -> &LayerTree<'a> {
        self.tree
            .get_or_init(|| LayerTree::new(self.backend, &self.store.images))
    }

    fn users(&self) -> &BTreeMap<&'a str, usize> {
        self.users.get_or_init(|| {
            let mut users: BTreeMap<&str, usize> = BTreeMap::new();
            for image in &self.backend.images {
                for layer in reached_layers(self.backend, image) {
                    *users.entry(layer.id.as_str()).or_default() += 1;
                }
            }
            users
        })
    }

    /// The rule followed.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// `image`'s figures.
    pub fn image(&self, image: &ImageRecord) -> ImageUsage {
        let parent = self.tree().parent(image);
        let (size, shared) = if self.rule.counts_layer_users() {
            let mut shared: i64 = 0;
            let mut unique: i64 = 0;
            for layer in reached_layers(self.backend, image) {
                let n = self.uncompressed(layer);
                if self.users().get(layer.id.as_str()).copied().unwrap_or(0) > 1 {
                    shared = shared.saturating_add(n);
                } else {
                    unique = unique.saturating_add(n);
                }
            }
            let big_data = image
                .big_data_sizes
                .values()
                .fold(0i64, |a, b| a.saturating_add(*b));
            (
                shared.saturating_add(unique).saturating_add(big_data),
                shared,
            )
        } else {
            let size = self.image_size(image);
            let shared = if !self.tree().children(image).is_empty() {
                size
            } else {
                parent.map_or(0, |p| self.image_size(p))
            };
            (size, shared)
        };
        let containers = self
            .backend
            .containers
            .iter()
            .filter(|c| c.image == image.id)
            .count();
        ImageUsage {
            size,
            shared,
            containers: i64::try_from(containers).unwrap_or(i64::MAX),
            parent: parent.map(|p| p.id.clone()),
        }
    }

    /// containers/storage's `ImageSize`: the layers the image reaches, each once (a layer
    /// without a `diff-digest` measured as its driver measures it), and its big data items;
    /// -1 when a layer it reaches is missing.
    pub fn image_size(&self, image: &ImageRecord) -> i64 {
        let mut size: i64 = 0;
        for id in reached_ids(image, self.backend) {
            let Some(layer) = self.backend.layer(id) else {
                return -1;
            };
            let n = if layer.diff_digest.is_empty() {
                self.diff_size(id)
            } else {
                layer.diff_size
            };
            size = size.saturating_add(n);
        }
        size.saturating_add(big_data_size(
            self.store,
            &big_data_dir(&self.backend.images_dir, &image.id),
            &image.big_data_names,
            &image.big_data_sizes,
        ))
    }

    /// `ImagesSize`: 4.4 to 5.4 add each distinct image's `ImageSize` less the recorded
    /// sizes of the layers of its top layer's chain counted before it; 5.5 adds every layer
    /// once and every image's recorded big data. `None` before 4.4.
    pub fn images_size(&self) -> Option<i64> {
        if !self.rule.has_images_size() {
            return None;
        }
        if self.rule.counts_layer_users() {
            let layers = self
                .backend
                .layers
                .values()
                .map(|l| self.uncompressed(l))
                .fold(0i64, i64::saturating_add);
            let big_data = self
                .backend
                .images
                .iter()
                .flat_map(|i| i.big_data_sizes.values())
                .fold(0i64, |a, b| a.saturating_add(*b));
            return Some(layers.saturating_add(big_data));
        }
        let mut counted: BTreeSet<&str> = BTreeSet::new();
        let mut seen_images: BTreeSet<&str> = BTreeSet::new();
        let mut total: i64 = 0;
        for image in &self.backend.images {
            if !seen_images.insert(image.id.as_str()) {
                continue;
            }
            let mut size = self.image_size(image);
            for id in self.backend.chain(&image.layer) {
                if !counted.insert(id) {
                    let recorded = self.backend.layer(id).map_or(0, |l| l.diff_size);
                    size = size.saturating_sub(recorded);
                }
            }
            total = total.saturating_add(size);
        }
        Some(total)
    }

    /// Container `id`'s `(RWSize, Size)`.
    pub fn container(&self, id: &str) -> (i64, i64) {
        if self.rule.sizes_whole_container() {
            let whole = self.container_size(id);
            let image = self
                .backend
                .container(id)
                .filter(|c| !c.image.is_empty())
                .and_then(|c| self.backend.image(&c.image))
                .map_or(0, |i| self.image_size(i));
            (whole, image.saturating_add(whole))
        } else {
            (self.rw_layer_size(id), self.root_fs_size(id))
        }
    }

    /// containers/storage's `ContainerSize`: the writable layer's `DiffSize`, the
    /// container's big data, and its `userdata` directories in the graphroot and the runroot
    /// (a run directory strata was not given or cannot read counts 0).
    fn container_size(&self, id: &str) -> i64 {
        let Some(c) = self.backend.container(id) else {
            return 0;
        };
        let big_data = big_data_size(
            self.store,
            &big_data_dir(&self.backend.containers_dir, id),
            &c.big_data_names,
            &c.big_data_sizes,
        );
        userdata_dirs(self.backend, id)
            .iter()
            .map(|dir| directory_size(self.trees.get(dir)))
            .fold(
                self.diff_size(&c.layer).saturating_add(big_data),
                i64::saturating_add,
            )
    }

    /// libpod's `rwSize` before 4.6: the driver's size of the writable layer (0 for a
    /// container not in the storage records, as podman reports it after logging the error).
    fn rw_layer_size(&self, id: &str) -> i64 {
        self.backend
            .container(id)
            .map_or(0, |c| self.diff_size(&c.layer))
    }

    /// libpod's `rootFsSize` before 4.6: the driver's size of every layer below the
    /// container's writable one.
    pub fn root_fs_size(&self, id: &str) -> i64 {
        let Some(parent) = self
            .backend
            .container(id)
            .and_then(|c| self.backend.layer(&c.layer))
            .and_then(LayerRecord::parent)
        else {
            return 0;
        };
        self.backend
            .chain(parent)
            .iter()
            .map(|l| self.diff_size(l))
            .fold(0i64, i64::saturating_add)
    }

    /// A layer's `UncompressedSize` as 5.5 takes it: recorded, or measured when recorded as
    /// unknown (-1).
    fn uncompressed(&self, layer: &LayerRecord) -> i64 {
        if layer.diff_size == -1 {
            self.diff_size(&layer.id)
        } else {
            layer.diff_size
        }
    }

    /// The size containers/storage's driver gives layer `id` (`DiffSize` against its
    /// parent): overlay's `directory.Size` of the layer's own directory, as walked (0 when it
    /// was not); vfs's naive diff size against the parent's copy, compared now (0 when the
    /// layer cannot be read).
    fn diff_size(&self, id: &str) -> i64 {
        let measure = layer_measure(self.backend, self.store, id);
        match measure.naive_changes(&self.store.jail) {
            Some((found, errors)) => {
                if errors.iter().any(|e| e.path == measure.dir()) {
                    return 0;
                }
                i64::try_from(changes::changes_size(&found)).unwrap_or(i64::MAX)
            }
            None => directory_size(self.trees.get(measure.dir())),
        }
    }
}

/// How containers/storage's driver measures layer `id` (`DiffSize` against its parent).
fn layer_measure(backend: &ContainersStorage, store: &Store, id: &str) -> DiffMeasure {
    let below: Vec<CacheId> = backend
        .layer(id)
        .and_then(LayerRecord::parent)
        .map(|p| CacheId(p.to_owned()))
        .into_iter()
        .collect();
    store
        .driver
        .layer_view(&store.jail, &CacheId(id.to_owned()), &below)
}

/// The ids of the layers `image` reaches: its top layer, its mapped top layers and their
/// parents, each once, in walking order.
fn reached_ids<'a>(image: &'a ImageRecord, backend: &'a ContainersStorage) -> Vec<&'a str> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    let tops = std::iter::once(&image.layer)
        .chain(&image.mapped_layers)
        .filter(|l| !l.is_empty());
    for top in tops {
        let mut cur = Some(top.as_str());
        while let Some(id) = cur.filter(|id| seen.insert(id)) {
            out.push(id);
            cur = backend.layer(id).and_then(LayerRecord::parent);
        }
    }
    out
}

/// The layer records `image` reaches (libimage `walkImageLayers`: a missing one ends its
/// chain).
fn reached_layers<'a>(
    backend: &'a ContainersStorage,
    image: &'a ImageRecord,
) -> impl Iterator<Item = &'a LayerRecord> + 'a {
    reached_ids(image, backend)
        .into_iter()
        .filter_map(|id| backend.layer(id))
}

/// The bytes of big data items `names` kept in `dir`: as recorded in `sizes`, else the
/// item's file length (containers/storage `BigDataSize`).
fn big_data_size(
    store: &Store,
    dir: &std::path::Path,
    names: &[String],
    sizes: &BTreeMap<String, i64>,
) -> i64 {
    names
        .iter()
        .map(|key| match sizes.get(key) {
            Some(n) => *n,
            None => store
                .jail
                .stat(&dir.join(big_data_file_name(key)))
                .map_or(0, |st| st.st_size),
        })
        .fold(0i64, i64::saturating_add)
}

/// containers/storage's `directory.Size`: non-directory bytes, each inode once.
fn directory_size(usage: Option<&TreeUsage>) -> i64 {
    usage
        .filter(|u| !u.root_failed())
        .map_or(0, |u| i64::try_from(u.files_apparent).unwrap_or(i64::MAX))
}

/// podman's `util.SizeOfPath`: apparent bytes of every non-directory name (hard links each
/// time); 0 when the walk could not read it.
pub fn size_of_path(usage: Option<&TreeUsage>) -> i64 {
    usage.filter(|u| !u.root_failed()).map_or(0, |u| {
        i64::try_from(u.files_apparent.saturating_add(u.hardlink_saved)).unwrap_or(i64::MAX)
    })
}

/// Container `id`'s `userdata` directories: in the graphroot, and in the runroot when strata
/// was given one.
pub fn userdata_dirs(backend: &ContainersStorage, id: &str) -> Vec<PathBuf> {
    let records = backend
        .containers_dir
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_default();
    std::iter::once(backend.containers_dir.clone())
        .chain(backend.runroot.iter().map(|r| r.join(&records)))
        .map(|dir| dir.join(id).join(USERDATA_DIR))
        .collect()
}

/// The directories podman's figures measure beyond writable layers and volumes: the
/// layers below each container, layers whose size is unrecorded, and the containers'
/// `userdata` directories.
pub fn measured_dirs(backend: &ContainersStorage, store: &Store) -> Vec<PathBuf> {
    let below_containers = backend.containers.iter().flat_map(|c| {
        backend
            .layer(&c.layer)
            .and_then(LayerRecord::parent)
            .map(|p| backend.chain(p))
            .unwrap_or_default()
    });
    let unrecorded = backend
        .layers
        .values()
        .filter(|l| l.diff_digest.is_empty() || l.diff_size == -1)
        .map(|l| l.id.as_str());
    // Layers compared with their parent (vfs) are not walked.
    let mut dirs: Vec<PathBuf> = below_containers
        .chain(unrecorded)
        .map(|id| layer_measure(backend, store, id))
        .filter(|m| !m.is_naive())
        .map(|m| m.dir().to_path_buf())
        .chain(
            backend
                .containers
                .iter()
                .flat_map(|c| userdata_dirs(backend, &c.id)),
        )
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}
