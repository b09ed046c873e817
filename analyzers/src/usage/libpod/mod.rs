//! `podman system df [-v]`, offline and exact, under libpod's own field names, by the rules
//! of the podman release that uses the store ([`Rule`]; podman
//! `pkg/domain/infra/abi/system.go SystemDf`, containers/common `libimage/disk_usage.go`,
//! containers/storage `store.go`).
//!
//! - **Images**, one row per name (`<none>`/`<none>` for an unnamed image), every image of
//!   the store (intermediate ones too); `Containers` counts every containers.json entry made
//!   from it (Buildah's and CRI-O's too). Up to 5.4 `Size` is containers/storage's
//!   `ImageSize` (the `diff-size` of every layer it reaches, each once, a layer without a
//!   `diff-digest` measured as its driver measures it, plus its big data items), and an
//!   image other images are built on shares everything, one built on a parent shares the
//!   parent's `Size`, any other nothing (the layer tree). From 5.5 an image shares the
//!   layers another image also reaches.
//! - **Containers**, libpod's only. Up to 4.5 `RWSize` is the writable layer's size as the
//!   driver measures it (`DiffSize` against its parent: overlay's `directory.Size` of its
//!   `diff/`, with or without a mount program; vfs's naive `ChangesSize` of what it adds or
//!   modifies over the parent's full copy) and `Size` the same sum over the image's layers; from 4.6 `RWSize` adds the container's big data and both its
//!   `userdata` directories, and `Size` adds the image's `ImageSize` to it. `LocalVolumes`
//!   counts its user volumes.
//! - **Volumes**, libpod's: `Size` is the apparent size of every non-directory entry of the
//!   mount point, each name counted (`util.SizeOfPath`), `Links` the containers using it,
//!   `ReclaimableSize` its size when none does.
//! - **Summary** (`podman system df`): containers `ACTIVE` are the running ones, reclaimable
//!   the others' `RWSize`; volumes `ACTIVE` sums `Links`; the images line is [`summary`]'s.

mod rule;
mod sizes;

use std::collections::BTreeSet;

use serde::Serialize;

pub use rule::Rule;
pub use sizes::measured_dirs;

use crate::backend::containers_storage::tree::split_name;
use crate::backend::containers_storage::ContainersStorage;
use crate::backend::{Trees, VersionSource};
use crate::driver::Detected;
use crate::error::{Problem, ProblemKind};
use crate::graph::Store;
use crate::ids::{Digest, ImageId};
use crate::usage::df::{DfReport, ImageDf, ScanStats};
pub(crate) use sizes::Accountant;
use sizes::{size_of_path, userdata_dirs};

/// `GET /libpod/system/df` plus strata's additions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LibpodDf {
    /// The images' total, from podman 4.4 (absent before, as podman 4.3 leaves it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_size: Option<i64>,
    /// One row per image name.
    pub images: Vec<LibpodImage>,
    /// libpod's containers.
    pub containers: Vec<LibpodContainer>,
    /// libpod's volumes with a mount point.
    pub volumes: Vec<LibpodVolume>,
    /// strata: the lines of `podman system df` (its `--format json` shape).
    pub summary: Vec<SummaryRow>,
    /// strata: the podman rules the figures follow.
    pub accounting: PodmanAccounting,
    /// Where the figures could not follow podman (merged into the report's problems).
    #[serde(skip)]
    pub problems: Vec<Problem>,
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
    /// strata: the size `podman images` shows for it (containers/storage's `ImageSize`), where
    /// it differs from `Size` (podman 5.5 and later count layers and big data as recorded;
    /// `ImageSize` measures a layer without a digest and reads unrecorded big data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images_command_size: Option<i64>,
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

/// How the figures were made: the rule, the podman version taken, and where it came from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PodmanAccounting {
    /// The rule, named by the podman releases that use it.
    pub rule: &'static str,
    /// The podman version taken.
    pub podman_version: String,
    /// Where that version came from.
    pub source: VersionSource,
}

/// The image rows of Docker's `GET /system/df` shape (one per image, its names as
/// `RepoTags`) with podman's sizes, for the reports drawn from it.
pub fn image_rows(backend: &ContainersStorage, store: &Store, trees: &Trees) -> Vec<ImageDf> {
    let accountant = Accountant::new(backend, store, trees, backend.rule());
    backend
        .images
        .iter()
        .filter_map(|r| {
            let id = Digest::from_hex(&r.id).map(ImageId)?;
            let usage = accountant.image(r);
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
                unique_size: usage.unique(),
                cri_size: None,
                id,
            })
        })
        .collect()
}

/// What a container's `SizeRootFs` adds to its `SizeRw` in Docker's shape: podman's `Size`
/// less its `RWSize`.
pub fn root_fs_base(backend: &ContainersStorage, store: &Store, trees: &Trees, id: &str) -> i64 {
    let (rw, size) = Accountant::new(backend, store, trees, backend.rule()).container(id);
    size.saturating_sub(rw)
}

/// `LayersSize` for Docker's shape: the `diff-size` of every complete layer.
pub fn layers_size(backend: &ContainersStorage) -> i64 {
    backend
        .layers
        .values()
        .map(|l| l.diff_size.max(0))
        .fold(0i64, i64::saturating_add)
}

/// The image rows of `podman system df -v`.
fn libpod_images(accountant: &Accountant, backend: &ContainersStorage) -> Vec<LibpodImage> {
    let mut rows = Vec::new();
    for r in &backend.images {
        let usage = accountant.image(r);
        let listed = accountant.image_size(r);
        let images_command_size = (listed != usage.size).then_some(listed);
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
                unique_size: usage.unique(),
                containers: usage.containers,
                images_command_size,
            });
        }
    }
    rows
}

/// The container rows: libpod's containers, by id.
fn libpod_containers(accountant: &Accountant, backend: &ContainersStorage) -> Vec<LibpodContainer> {
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
                // never read (podman walks it).
                (-1, 0)
            } else {
                accountant.container(id)
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

/// What the figures could not follow podman on: `--rootfs` containers (their files are
/// outside the store) and, from 4.6, run directories strata was not given.
fn gaps(accountant: &Accountant, backend: &ContainersStorage, store: &Store) -> Vec<Problem> {
    let Some(state) = &backend.libpod else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for c in state.containers.values() {
        if let Some(rootfs) = &c.rootfs {
            out.push(Problem::new(
                &state.database,
                ProblemKind::InvalidValue,
                format!(
                    "container {} runs on the host directory {} (--rootfs), outside the \
                     store: not read; its RWSize is -1",
                    c.id,
                    rootfs.display()
                ),
            ));
        }
    }
    if accountant.rule().sizes_whole_container() && !state.containers.is_empty() {
        let runroot_dirs = backend
            .containers
            .iter()
            .flat_map(|c| userdata_dirs(backend, &c.id).into_iter().skip(1))
            .filter(|d| !store.jail.is_dir(d))
            .count();
        if backend.runroot.is_none() || runroot_dirs > 0 {
            out.push(Problem::new(
                &store.root,
                ProblemKind::Missing,
                format!(
                    "{}: podman 4.6 and later add each container's run directory \
                     (<runroot>/{}/<id>/userdata) to its RWSize; {} counted 0 (give \
                     --runroot, or --podman-version for the rules of an older podman)",
                    match &backend.runroot {
                        Some(r) => format!("runroot {}", r.display()),
                        None => "no runroot given".to_owned(),
                    },
                    backend
                        .containers_dir
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    if backend.runroot.is_none() {
                        "each is".to_owned()
                    } else {
                        format!("{runroot_dirs} missing there are")
                    }
                ),
            ));
        }
    }
    out
}

/// Podman's whole `system df` for the store.
pub fn compute(backend: &ContainersStorage, store: &Store, trees: &Trees) -> LibpodDf {
    let accountant = Accountant::new(backend, store, trees, backend.rule());
    let images = libpod_images(&accountant, backend);
    let containers = libpod_containers(&accountant, backend);
    let volumes = libpod_volumes(backend, store, trees);
    let images_size = accountant.images_size();
    let summary = summary(&images, images_size, &containers, &volumes);
    let (version, source) = backend.version.get().clone();
    LibpodDf {
        images_size,
        images,
        containers,
        volumes,
        summary,
        accounting: PodmanAccounting {
            rule: accountant.rule().name(),
            podman_version: version.to_string(),
            source,
        },
        problems: gaps(&accountant, backend, store),
    }
}

/// The three lines of `podman system df` (`cmd/podman/system/df.go`): up to 4.3 the images
/// line sums the rows (an image with two names counts twice); from 4.4 its size is
/// `ImagesSize`, its active images are distinct, and what they hold alone is what stays.
fn summary(
    images: &[LibpodImage],
    images_size: Option<i64>,
    containers: &[LibpodContainer],
    volumes: &[LibpodVolume],
) -> Vec<SummaryRow> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let sum = |it: &mut dyn Iterator<Item = i64>| it.fold(0i64, i64::saturating_add);
    let images_row = match images_size {
        None => SummaryRow {
            kind: "Images",
            total: count(images.len()),
            active: count(images.iter().filter(|i| i.containers > 0).count()),
            size: sum(&mut images.iter().map(|i| i.size)),
            reclaimable: sum(&mut images.iter().filter(|i| i.containers < 1).map(|i| i.size)),
        },
        Some(total) => {
            let mut seen = BTreeSet::new();
            let active: Vec<&LibpodImage> = images
                .iter()
                .filter(|i| seen.insert(i.image_id.as_str()) && i.containers > 0)
                .collect();
            SummaryRow {
                kind: "Images",
                total: count(images.len()),
                active: count(active.len()),
                size: total,
                reclaimable: total.saturating_sub(sum(&mut active.iter().map(|i| i.unique_size))),
            }
        }
    };
    vec![
        images_row,
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
