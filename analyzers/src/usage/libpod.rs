//! `podman system df [-v]` (podman 4.3: `pkg/domain/infra/abi/system.go SystemDf`,
//! containers/common 0.50 `libimage/disk_usage.go`, containers/storage 1.43 `store.go`),
//! offline and exact, under libpod's own field names.
//!
//! - **Images**, one row per name (`<none>`/`<none>` for an unnamed image), every image of
//!   the store (intermediate ones too). `Size` is containers/storage's `ImageSize`: the
//!   `diff-size` of every layer the image reaches (its top layer, mapped top layers and
//!   their parents, each once; a layer without a `diff-digest` is measured as its driver
//!   measures it) plus its big data items. An image that other images are built on
//!   ([`LayerTree::children`]) shares everything; else one built on a parent shares the
//!   parent's `Size`; else it shares nothing. `Containers` counts every containers.json
//!   entry made from it (Buildah's and CRI-O's too).
//! - **Containers**, libpod's only: `RWSize` is the writable layer's size as the driver
//!   measures it (`DiffSize` against its parent: overlay's `directory.Size` of its `diff/`,
//!   with or without a mount program; vfs's naive `ChangesSize` of what it adds or modifies
//!   over the parent's full copy, compared here, once per layer for each figure that needs
//!   it), `Size` the same sum over the image's layers below it; `LocalVolumes` counts its
//!   user volumes.
//! - **Volumes**, libpod's: `Size` is the apparent size of every non-directory entry of the
//!   mount point, each name counted (`util.SizeOfPath`), `Links` the containers using it,
//!   `ReclaimableSize` its size when none does.
//! - **Summary** (`podman system df`): images `TOTAL` counts rows, `SIZE` sums their sizes
//!   (an image with two names counts twice, as podman 4.3 does) and `RECLAIMABLE` those of
//!   rows without containers; containers `ACTIVE` are the running ones, reclaimable the
//!   others' `RWSize`; volumes `ACTIVE` sums `Links`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::advice::Cleanup;
use crate::backend::containers_storage::tree::{split_name, LayerTree};
use crate::backend::containers_storage::ContainersStorage;
use crate::backend::Trees;
use crate::changes;
use crate::driver::{Detected, DiffMeasure, Driver};
use crate::error::Problem;
use crate::format::containers_storage::{big_data_dir, big_data_file_name, ImageRecord};
use crate::graph::Store;
use crate::ids::{CacheId, Digest, ImageId};
use crate::usage::df::{DfReport, ImageDf, ScanStats};
use crate::walk::TreeUsage;

/// `GET /libpod/system/df` plus strata's additions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LibpodDf {
    /// What podman 4.8 and later report as the images' total (podman 4.3 has no such
    /// field): every layer's `diff-size` once plus every image's big data.
    pub images_size: i64,
    /// One row per image name.
    pub images: Vec<LibpodImage>,
    /// libpod's containers.
    pub containers: Vec<LibpodContainer>,
    /// libpod's volumes with a mount point.
    pub volumes: Vec<LibpodVolume>,
    /// strata: the lines of `podman system df` (its `--format json` shape).
    pub summary: Vec<SummaryRow>,
}

/// One image row (`SystemDfImageReport`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LibpodImage {
    /// The repository, or `<none>`.
    pub repository: String,
    /// The tag, or `<none>`.
    pub tag: String,
    /// The image id (64 hex).
    #[serde(rename = "ImageID")]
    pub image_id: String,
    /// Creation time, as recorded.
    pub created: String,
    /// `SharedSize + UniqueSize`.
    pub size: i64,
    /// Bytes it shares with parent or child images.
    pub shared_size: i64,
    /// Bytes only it holds.
    pub unique_size: i64,
    /// Storage containers made from it.
    pub containers: i64,
}

/// One container row (`SystemDfContainerReport`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LibpodContainer {
    /// The container id (64 hex).
    #[serde(rename = "ContainerID")]
    pub container_id: String,
    /// The image id it was made from.
    pub image: String,
    /// Its command.
    pub command: Vec<String>,
    /// User volumes it mounts.
    pub local_volumes: i64,
    /// Bytes of the image layers below its writable layer, as measured.
    pub size: i64,
    /// Bytes of its writable layer, as measured.
    #[serde(rename = "RWSize")]
    pub rw_size: i64,
    /// Creation time, as recorded.
    pub created: String,
    /// libpod's state word (`running`, `exited`, `created`, `configured`...).
    pub status: String,
    /// Its name.
    pub names: String,
}

/// One volume row (`SystemDfVolumeReport`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LibpodVolume {
    /// The volume's name.
    pub volume_name: String,
    /// Containers using it.
    pub links: i64,
    /// Apparent bytes of its files, every name counted.
    pub size: i64,
    /// `Size` when no container uses it, else 0.
    pub reclaimable_size: i64,
}

/// One line of `podman system df`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryRow {
    /// `Images`, `Containers`, `Local Volumes`.
    #[serde(rename = "Type")]
    pub kind: &'static str,
    /// Rows of that kind.
    pub total: i64,
    /// Images with containers, running containers, volume links.
    pub active: i64,
    /// Bytes.
    pub size: i64,
    /// Bytes that removing the inactive ones frees.
    pub reclaimable: i64,
}

/// An image's sizes by podman's rules.
struct ImageUsage {
    size: i64,
    shared: i64,
    containers: i64,
    parent: Option<String>,
}

/// Podman's figures for one image.
fn image_usage(
    backend: &ContainersStorage,
    store: &Store,
    tree: &LayerTree,
    trees: &Trees,
    image: &ImageRecord,
) -> ImageUsage {
    let size = image_size(backend, store, trees, image);
    let parent = tree.parent(image);
    let shared = if !tree.children(image).is_empty() {
        size
    } else if let Some(p) = parent {
        image_size(backend, store, trees, p)
    } else {
        0
    };
    let containers = backend
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

/// containers/storage's `ImageSize`: the layers the image reaches, each once, and its big
/// data items; -1 when a layer it reaches is missing.
pub fn image_size(
    backend: &ContainersStorage,
    store: &Store,
    trees: &Trees,
    image: &ImageRecord,
) -> i64 {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut size: i64 = 0;
    let tops = std::iter::once(&image.layer)
        .chain(&image.mapped_layers)
        .filter(|l| !l.is_empty());
    for top in tops {
        let mut cur = Some(top.as_str());
        while let Some(id) = cur.filter(|id| seen.insert(id)) {
            let Some(layer) = backend.layer(id) else {
                return -1;
            };
            let n = if layer.diff_digest.is_empty() {
                layer_diff_size(backend, store, trees, id)
            } else {
                layer.diff_size
            };
            size = size.saturating_add(n);
            cur = layer.parent();
        }
    }
    size.saturating_add(big_data_size(backend, store, image))
}

/// The bytes of an image's big data items: as recorded, else the item's file length.
fn big_data_size(backend: &ContainersStorage, store: &Store, image: &ImageRecord) -> i64 {
    let dir = big_data_dir(&backend.images_dir, &image.id);
    image
        .big_data_names
        .iter()
        .map(|key| match image.big_data_sizes.get(key) {
            Some(n) => *n,
            None => store
                .jail
                .stat(&dir.join(big_data_file_name(key)))
                .map_or(0, |st| st.st_size),
        })
        .fold(0i64, i64::saturating_add)
}

/// How containers/storage's driver measures layer `id` (`DiffSize` against its parent).
fn layer_measure(backend: &ContainersStorage, store: &Store, id: &str) -> DiffMeasure {
    let below: Vec<CacheId> = backend
        .layer(id)
        .and_then(|l| l.parent())
        .map(|p| CacheId(p.to_owned()))
        .into_iter()
        .collect();
    store.driver.layer_view(&CacheId(id.to_owned()), &below)
}

/// The size containers/storage's driver gives layer `id` (`DiffSize` against its parent):
/// overlay's `directory.Size` of the layer's own directory, as walked (0 when it was not);
/// vfs's naive diff size against the parent's copy, compared now (0 when the layer cannot
/// be read).
fn layer_diff_size(backend: &ContainersStorage, store: &Store, trees: &Trees, id: &str) -> i64 {
    match layer_measure(backend, store, id) {
        DiffMeasure::Compare { layer, parent } => {
            let (found, errors) = changes::compare(&store.jail, &layer, &parent);
            if errors.iter().any(|e| e.path == layer) {
                return 0;
            }
            i64::try_from(changes::changes_size(&found)).unwrap_or(i64::MAX)
        }
        m => directory_size(trees.get(m.dir())),
    }
}

/// containers/storage's `directory.Size`: non-directory bytes, each inode once.
fn directory_size(usage: Option<&TreeUsage>) -> i64 {
    usage
        .filter(|u| !u.root_failed())
        .map_or(0, |u| i64::try_from(u.files_apparent).unwrap_or(i64::MAX))
}

/// The directories podman's figures measure beyond writable layers and volumes: the
/// layers below each container (its `Size`) and layers whose size is unrecorded.
pub fn measured_dirs(backend: &ContainersStorage, store: &Store) -> Vec<PathBuf> {
    let below_containers = backend.containers.iter().flat_map(|c| {
        backend
            .layer(&c.layer)
            .and_then(|l| l.parent())
            .map(|p| backend.chain(p))
            .unwrap_or_default()
    });
    let unrecorded = backend
        .layers
        .values()
        .filter(|l| l.diff_digest.is_empty())
        .map(|l| l.id.as_str());
    // Layers compared with their parent (vfs) are not walked.
    let mut dirs: Vec<PathBuf> = below_containers
        .chain(unrecorded)
        .map(|id| layer_measure(backend, store, id))
        .filter(|m| m.compared_with().is_none())
        .map(|m| m.dir().to_path_buf())
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// libpod's `rootFsSize`: the measured size of every layer below container `id`'s writable
/// one (0 for a container not in the storage records).
pub fn root_fs_size(backend: &ContainersStorage, store: &Store, trees: &Trees, id: &str) -> i64 {
    let Some(parent) = backend
        .container(id)
        .and_then(|c| backend.layer(&c.layer))
        .and_then(|l| l.parent())
    else {
        return 0;
    };
    backend
        .chain(parent)
        .iter()
        .map(|l| layer_diff_size(backend, store, trees, l))
        .fold(0i64, i64::saturating_add)
}

/// The image rows of Docker's `GET /system/df` shape (one per image, its names as
/// `RepoTags`) with podman's sizes, for the reports drawn from it.
pub fn image_rows(backend: &ContainersStorage, store: &Store, trees: &Trees) -> Vec<ImageDf> {
    let tree = LayerTree::new(backend, store);
    backend
        .images
        .iter()
        .filter_map(|r| {
            let id = Digest::from_hex(&r.id).map(ImageId)?;
            let usage = image_usage(backend, store, &tree, trees, r);
            let image = store.images.get(&id);
            Some(ImageDf {
                parent_id: usage
                    .parent
                    .as_deref()
                    .and_then(Digest::from_hex)
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                repo_tags: Some(r.names.clone()),
                repo_digests: image.map(|i| i.repo_digests.clone()),
                created: image.and_then(|i| i.created).unwrap_or_default(),
                size: usage.size,
                shared_size: usage.shared,
                virtual_size: None,
                labels: image
                    .filter(|i| !i.labels.is_empty())
                    .map(|i| i.labels.clone()),
                containers: usage.containers,
                unique_size: usage.size - usage.shared,
                cri_size: None,
                id,
            })
        })
        .collect()
}

/// `LayersSize` for Docker's shape: the `diff-size` of every complete layer.
pub fn layers_size(backend: &ContainersStorage) -> i64 {
    backend
        .layers
        .values()
        .map(|l| l.diff_size)
        .fold(0i64, i64::saturating_add)
}

/// The image rows of `podman system df -v`.
fn libpod_images(backend: &ContainersStorage, store: &Store, trees: &Trees) -> Vec<LibpodImage> {
    let tree = LayerTree::new(backend, store);
    let mut rows = Vec::new();
    for r in &backend.images {
        let usage = image_usage(backend, store, &tree, trees, r);
        let names: Vec<(&str, &str)> = if r.names.is_empty() {
            vec![("<none>", "<none>")]
        } else {
            r.names.iter().map(|n| split_name(n)).collect()
        };
        for (repository, tag) in names {
            rows.push(LibpodImage {
                repository: repository.to_owned(),
                tag: tag.to_owned(),
                image_id: r.id.clone(),
                created: r.created.clone(),
                size: usage.size,
                shared_size: usage.shared,
                unique_size: usage.size - usage.shared,
                containers: usage.containers,
            });
        }
    }
    rows
}

/// The container rows: libpod's containers, by id.
fn libpod_containers(
    backend: &ContainersStorage,
    store: &Store,
    trees: &Trees,
) -> Vec<LibpodContainer> {
    let Some(state) = &backend.libpod else {
        return Vec::new();
    };
    state
        .containers
        .values()
        .map(|c| {
            let id = c.id.as_str();
            let (rw_size, size) = if c.rootfs.is_some() {
                // A `--rootfs` container's files are a host directory outside the store:
                // not read (podman walks it); a problem says so.
                (-1, 0)
            } else {
                (
                    rw_layer_size(backend, store, trees, id),
                    root_fs_size(backend, store, trees, id),
                )
            };
            LibpodContainer {
                container_id: id.to_owned(),
                image: c
                    .image_id
                    .as_ref()
                    .map(|i| i.as_str().to_owned())
                    .unwrap_or_default(),
                command: c.command.clone(),
                local_volumes: i64::try_from(c.user_volumes.len()).unwrap_or(i64::MAX),
                size,
                rw_size,
                created: c
                    .created
                    .as_ref()
                    .map(|t| t.text.clone())
                    .unwrap_or_default(),
                status: c
                    .state
                    .as_ref()
                    .map_or("unknown", |s| s.status.as_str())
                    .to_owned(),
                names: c.name.clone(),
            }
        })
        .collect()
}

/// libpod's `rwSize`: the driver's size of container `id`'s writable layer (0 for a
/// container not in the storage records, as podman reports it after logging the error).
fn rw_layer_size(backend: &ContainersStorage, store: &Store, trees: &Trees, id: &str) -> i64 {
    backend
        .container(id)
        .map_or(0, |c| layer_diff_size(backend, store, trees, &c.layer))
}

/// The volume rows: libpod's volumes with a mount point, by name.
fn libpod_volumes(backend: &ContainersStorage, store: &Store, trees: &Trees) -> Vec<LibpodVolume> {
    let Some(state) = &backend.libpod else {
        return Vec::new();
    };
    state
        .volumes
        .values()
        .filter_map(|v| {
            let dir = backend.volume_data(store, v)?;
            let size = size_of_path(trees.get(&dir));
            let links = state
                .containers
                .values()
                .filter(|c| c.named_volumes.iter().any(|n| n.name == v.name))
                .count();
            let links = i64::try_from(links).unwrap_or(i64::MAX);
            Some(LibpodVolume {
                volume_name: v.name.clone(),
                links,
                size,
                reclaimable_size: if links == 0 { size } else { 0 },
            })
        })
        .collect()
}

/// podman's `util.SizeOfPath`: apparent bytes of every non-directory name (hard links each
/// time); 0 when the walk could not read it.
fn size_of_path(usage: Option<&TreeUsage>) -> i64 {
    usage.filter(|u| !u.root_failed()).map_or(0, |u| {
        i64::try_from(u.files_apparent.saturating_add(u.hardlink_saved)).unwrap_or(i64::MAX)
    })
}

/// Podman's whole `system df` for the store.
pub fn compute(backend: &ContainersStorage, store: &Store, trees: &Trees) -> LibpodDf {
    let images = libpod_images(backend, store, trees);
    let containers = libpod_containers(backend, store, trees);
    let volumes = libpod_volumes(backend, store, trees);
    let summary = summary(&images, &containers, &volumes);
    let big_data = backend
        .images
        .iter()
        .map(|i| big_data_size(backend, store, i))
        .fold(0i64, i64::saturating_add);
    LibpodDf {
        images_size: layers_size(backend).saturating_add(big_data),
        images,
        containers,
        volumes,
        summary,
    }
}

/// The three lines of `podman system df` (podman 4.3 `cmd/podman/system/df.go`).
fn summary(
    images: &[LibpodImage],
    containers: &[LibpodContainer],
    volumes: &[LibpodVolume],
) -> Vec<SummaryRow> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let sum = |it: &mut dyn Iterator<Item = i64>| it.fold(0i64, i64::saturating_add);
    vec![
        SummaryRow {
            kind: "Images",
            total: count(images.len()),
            active: count(images.iter().filter(|i| i.containers > 0).count()),
            size: sum(&mut images.iter().map(|i| i.size)),
            reclaimable: sum(&mut images.iter().filter(|i| i.containers < 1).map(|i| i.size)),
        },
        SummaryRow {
            kind: "Containers",
            total: count(containers.len()),
            active: count(containers.iter().filter(|c| c.status == "running").count()),
            size: sum(&mut containers.iter().map(|c| c.rw_size)),
            reclaimable: sum(&mut containers
                .iter()
                .filter(|c| c.status != "running")
                .map(|c| c.rw_size)),
        },
        SummaryRow {
            kind: "Local Volumes",
            total: count(volumes.len()),
            active: sum(&mut volumes.iter().map(|v| v.links)),
            size: sum(&mut volumes.iter().map(|v| v.size)),
            reclaimable: sum(&mut volumes.iter().map(|v| v.reclaimable_size)),
        },
    ]
}

/// Podman's command for `cleanup`.
pub fn cleanup_command(store: &Store, cleanup: &Cleanup) -> String {
    match cleanup {
        Cleanup::ImagePrune(_) => "podman image prune -f".into(),
        Cleanup::RemoveImages(ids) => {
            let names: Vec<String> = ids
                .iter()
                .filter_map(|id| store.images.get(*id))
                .flat_map(|i| {
                    if i.repo_tags.is_empty() {
                        vec![i.id.0.hex().to_owned()]
                    } else {
                        i.repo_tags.clone()
                    }
                })
                .collect();
            format!("podman rmi {}", names.join(" "))
        }
        Cleanup::ContainerPrune(_) => "podman container prune -f".into(),
    }
}

/// `strata df --format json` on a containers/storage store: libpod's answer, then strata's
/// additions.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LibpodReport<'a> {
    /// Podman's figures.
    #[serde(flatten)]
    pub df: &'a LibpodDf,
    /// strata: the storage driver whose data is reported.
    pub driver: &'a str,
    /// strata: the backend that read the metadata.
    pub backend: &'static str,
    /// strata: every storage driver that left data in the root.
    pub drivers: &'a [Detected],
    /// strata: damaged or inconsistent records met on the way.
    pub problems: &'a [Problem],
    /// strata: what the scan did.
    pub scan: &'a ScanStats,
}

impl DfReport {
    /// The report in libpod's shape, for a containers/storage store.
    pub fn libpod_report(&self) -> Option<LibpodReport<'_>> {
        self.libpod.as_ref().map(|df| LibpodReport {
            df,
            driver: &self.driver,
            backend: self.backend,
            drivers: &self.drivers,
            problems: &self.problems,
            scan: &self.scan,
        })
    }
}
