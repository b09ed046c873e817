//! `docker system df [-v]`, offline and exact.
//!
//! The rules are dockerd's (moby `daemon/images/images.go`, `daemon/disk_usage.go`,
//! `daemon/images/image.go` `GetContainerLayerSize`, `volume/service`):
//! - images listed are those `docker images` lists: all but the untagged parents of other
//!   images (the classic builder's intermediates); an untagged one listed is `<none>:<none>`.
//!   `Size` is the sum of the recorded sizes of its layers; `SharedSize` the sum of those of
//!   its layers that another listed image also uses.
//! - `LayersSize` sums the recorded size of every distinct layer of a listed image.
//! - a container's `SizeRw` is its writable layer measured as the driver does (overlay2: the
//!   apparent size of `diff/`, hard links once; vfs: the naive diff against the init layer);
//!   `SizeRootFs` adds its image's `Size`. A layer that cannot be measured gives -1 (an
//!   unreadable directory; zfs and devicemapper layers whose pool is not mounted), and a
//!   problem says why.
//! - volumes are the local ones without mount options; `Size` is the apparent size of `_data`
//!   and `RefCount` the containers that mount it.
//!
//! Only writable layers and volume data are walked, all in one parallel pass.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::backend::{Accounting, Backend};
use crate::buildcache::{self, BuildCacheRecord};
use crate::changes;
use crate::driver::{Detected, DiffMeasure, Driver};
use crate::error::Problem;
use crate::graph::{Container, Image, Store};
use crate::ids::{ChainId, ImageId};
use crate::units::human_duration;
use crate::usage::summary::DfSummary;
use crate::walk::{self, TreeUsage, WalkOptions};

/// The whole `GET /system/df` answer plus strata's additions.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DfReport {
    /// Bytes of the distinct layers in use by images (recorded sizes).
    pub layers_size: i64,
    /// The listed images.
    pub images: Vec<ImageDf>,
    /// Every container of the driver.
    pub containers: Vec<ContainerDf>,
    /// Local volumes without mount options.
    pub volumes: Vec<VolumeDf>,
    /// BuildKit's cache records.
    pub build_cache: Vec<BuildCacheRecord>,
    /// Sum of the build cache records' sizes.
    pub builder_size: i64,
    /// strata: the storage driver whose data is reported.
    pub driver: String,
    /// strata: the backend that read the metadata (`moby`, `containerd`).
    pub backend: &'static str,
    /// strata: the accounting rule of the store owner's version the figures follow (the
    /// containerd image store's changed between dockerd releases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounting: Option<Accounting>,
    /// strata: every storage driver that left data in the root.
    pub drivers: Vec<Detected>,
    /// strata: the data of the drivers other than the one read (a driver switch), with its
    /// bytes: reclaimable, as nothing the owner runs reads it.
    pub other_drivers: Vec<crate::usage::leftovers::OtherDriverDf>,
    /// strata: damaged or inconsistent records met on the way.
    pub problems: Vec<Problem>,
    /// strata: the summary rows `docker system df` prints, as [`DfSummary::of`] computes
    /// them from the fields above.
    pub summary: DfSummary,
    /// strata: what the scan did.
    pub scan: ScanStats,
    /// The walks the figures were computed from, by the directory walked (for the reports
    /// drawn from the same scan).
    #[serde(skip)]
    pub trees: crate::backend::Trees,
    /// Podman's own `system df`, for a containers/storage store (written instead of Docker's
    /// shape: [`DfReport::libpod_report`]).
    #[serde(skip)]
    pub libpod: Option<crate::usage::libpod::LibpodDf>,
}

/// One image row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageDf {
    /// Image id.
    pub id: ImageId,
    /// Local parent image id, or `""`.
    pub parent_id: String,
    /// Tags; `["<none>:<none>"]` for a dangling image.
    pub repo_tags: Option<Vec<String>>,
    /// Digests; `["<none>@<none>"]` for a dangling image.
    pub repo_digests: Option<Vec<String>>,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Bytes of all its layers (recorded sizes).
    pub size: i64,
    /// Bytes of its layers that another listed image uses too.
    pub shared_size: i64,
    /// Same as `Size` (deprecated by Docker, kept for readers of the API; API 1.44 and later,
    /// which the containerd image store's dockerd speaks, leave it out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub virtual_size: Option<i64>,
    /// `config.Labels`, or null.
    pub labels: Option<BTreeMap<String, String>>,
    /// Containers made from it.
    pub containers: i64,
    /// strata: `Size - SharedSize`, what removing the image alone would free at most.
    pub unique_size: i64,
    /// strata, plain containerd roots: the image's size as the CRI reports it to kubelet
    /// (declared sizes of its index, one manifest, its config and layers: compressed blobs
    /// only), which kubelet's image GC takes as what deleting it frees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cri_size: Option<i64>,
}

/// One container row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerDf {
    /// Container id.
    pub id: String,
    /// Names, each with a leading `/`.
    pub names: Vec<String>,
    /// The image reference the container was made with, or its id if that now names
    /// another image.
    pub image: String,
    /// The image id.
    #[serde(rename = "ImageID")]
    pub image_id: ImageId,
    /// The command, Docker-quoted.
    pub command: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// `running`, `exited`, `created`...
    pub state: String,
    /// `Up 2 hours`, `Exited (0) 3 minutes ago`...
    pub status: String,
    /// Bytes of the writable layer, -1 when it cannot be measured.
    pub size_rw: i64,
    /// `SizeRw` plus the image's size.
    pub size_root_fs: i64,
    /// `Config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// Volumes and binds.
    pub mounts: Vec<MountDf>,
    /// strata: the driver directory of the writable layer.
    pub mount_id: String,
}

/// One mount of a container, as the API lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MountDf {
    /// `volume`, `bind`...
    #[serde(rename = "Type")]
    pub kind: String,
    /// Volume name (omitted for binds).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Host path.
    pub source: String,
    /// Path in the container.
    pub destination: String,
    /// Volume driver (omitted for binds).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// Propagation.
    pub propagation: String,
}

/// One volume row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeDf {
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Always `local`.
    pub driver: String,
    /// Labels, from the volume store's database.
    pub labels: Option<BTreeMap<String, String>>,
    /// The `_data` path.
    #[serde(flatten, serialize_with = "crate::text::json::mountpoint")]
    pub mountpoint: PathBuf,
    /// The volume name.
    pub name: String,
    /// Options as the volume store records them (none for the volumes df lists).
    pub options: Option<BTreeMap<String, String>>,
    /// Always `local`.
    pub scope: String,
    /// Size and references.
    pub usage_data: VolumeUsage,
    /// strata: true for a volume Docker named itself (`-v /path`, image `VOLUME`).
    pub anonymous: bool,
    /// strata: allocated bytes of `_data` on disk.
    pub disk_usage: u64,
}

/// A volume's usage.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeUsage {
    /// Apparent bytes of `_data`, hard links once; -1 when it cannot be measured.
    pub size: i64,
    /// Containers that mount it.
    pub ref_count: i64,
}

/// What the scan did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScanStats {
    /// Worker threads.
    pub threads: usize,
    /// Directories walked.
    pub dirs: u64,
    /// Entries seen.
    pub entries: u64,
    /// Wall time of the walk, milliseconds.
    pub walk_millis: u64,
}

/// How to compute the report.
#[derive(Debug, Clone, Default)]
pub struct DfOptions {
    /// Walker settings.
    pub walk: WalkOptions,
    /// The time "now" is, Unix seconds (for `Status`); the current time when `None`.
    pub now: Option<i64>,
}

/// Computes `docker system df -v` for `store`.
pub fn compute(store: &Store, opts: &DfOptions) -> DfReport {
    let started = Instant::now();
    let roots = tree_roots(store);
    let trees = roots
        .iter()
        .cloned()
        .zip(walk::measure(&store.jail, &roots, &opts.walk))
        .collect();
    compute_from_trees(store, opts, trees, started)
}

/// The directories `df` measures as whole trees: the writable layers of drivers that keep
/// them apart (overlay2 `diff/`), the data of the volumes it lists and the other drivers' data.
pub fn tree_roots(store: &Store) -> Vec<PathBuf> {
    let layers = store
        .containers
        .iter()
        .map(|c| rw_measure(store, c))
        .filter(|m| !m.is_naive() && m.unknown().is_none())
        .map(|m| m.dir().to_path_buf());
    let volumes = store
        .volumes
        .iter()
        .filter(|v| v.options.is_empty())
        .map(|v| v.data.clone());
    let mut roots: Vec<PathBuf> = layers
        .chain(volumes)
        .chain(store.backend.measured_dirs(store))
        .chain(crate::usage::leftovers::other_driver_dirs(store))
        .collect();
    roots.sort();
    roots.dedup();
    roots
}

/// Computes `docker system df -v` from trees already walked (each of [`tree_roots`], hard
/// links counted once within it), so that a caller that walked them for another report does
/// not walk them again. `started` is when that walk began, for the scan statistics.
pub fn compute_from_trees(
    store: &Store,
    opts: &DfOptions,
    trees: HashMap<PathBuf, TreeUsage>,
    started: Instant,
) -> DfReport {
    let now = opts.now.unwrap_or_else(|| chrono::Utc::now().timestamp());
    let mut problems = store.problems.clone();
    let sizes = measure_compared(store, trees, &mut problems);
    let walk_millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    let images = store.backend.image_rows(store, &sizes.trees);
    let containers = container_rows(store, &sizes, now);
    let volumes: Vec<VolumeDf> = store
        .volumes
        .iter()
        .filter(|v| v.options.is_empty())
        .map(|v| {
            let usage = sizes.trees.get(&v.data);
            VolumeDf {
                created_at: v.created.map(rfc3339).unwrap_or_default(),
                driver: "local".to_owned(),
                labels: v.labels.clone(),
                mountpoint: v.data.clone(),
                name: v.name.clone(),
                options: v.recorded_options.clone(),
                scope: "local".to_owned(),
                usage_data: VolumeUsage {
                    size: docker_size(usage),
                    ref_count: i64::try_from(store.volume_refs(&v.name)).unwrap_or(i64::MAX),
                },
                anonymous: v.is_anonymous(),
                disk_usage: usage.map_or(0, |u| u.allocated),
            }
        })
        .collect();
    let cache = buildcache::read(store, &sizes.trees);
    problems.extend(cache.problems.iter().cloned());
    let libpod = store.backend.libpod_df(store, &sizes.trees);
    problems.extend(libpod.iter().flat_map(|l| l.problems.iter().cloned()));
    problems.sort();
    problems.dedup();
    let mut report = DfReport {
        libpod,
        layers_size: store.backend.layers_size(store, &sizes.trees),
        images,
        containers,
        volumes,
        builder_size: cache.builder_size(),
        build_cache: cache.records,
        driver: store.driver.name().to_owned(),
        backend: store.backend.name(),
        accounting: store.backend.accounting().cloned(),
        drivers: store.detected.clone(),
        other_drivers: crate::usage::leftovers::other_driver_rows(store, &sizes.trees),
        problems,
        scan: ScanStats {
            threads: opts.walk.threads.unwrap_or_else(rayon::current_num_threads),
            dirs: sizes.dirs,
            entries: sizes.entries,
            walk_millis,
        },
        trees: sizes.trees,
        summary: DfSummary::default(),
    };
    report.summary = DfSummary::of(&report);
    report
}

/// Measured writable layers and volumes.
#[derive(Default)]
struct Measured {
    /// Tree walks, by the root walked.
    trees: HashMap<PathBuf, TreeUsage>,
    /// Naive-diff sizes of writable layers (vfs), by layer directory.
    compared: HashMap<PathBuf, i64>,
    dirs: u64,
    entries: u64,
}

/// Adds the naive-diff sizes of the writable layers that must be compared with their parent
/// (vfs) to the walked trees, and turns walk errors, and why a layer cannot be measured
/// (its files in a pool that is not mounted), into problems.
fn measure_compared(
    store: &Store,
    trees: HashMap<PathBuf, TreeUsage>,
    problems: &mut Vec<Problem>,
) -> Measured {
    let measures: Vec<DiffMeasure> = store
        .containers
        .iter()
        .map(|c| rw_measure(store, c))
        .collect();
    problems.extend(measures.iter().filter_map(DiffMeasure::unknown).cloned());
    let naive: Vec<&DiffMeasure> = measures.iter().filter(|m| m.is_naive()).collect();
    let compared: Vec<(PathBuf, u64, Vec<walk::WalkError>)> = naive
        .iter()
        .filter_map(|m| {
            let (changes, errors) = m.naive_changes(&store.jail)?;
            Some((
                m.dir().to_path_buf(),
                changes::changes_size(&changes),
                errors,
            ))
        })
        .collect();
    let mut out = Measured::default();
    for (root, usage) in trees {
        out.dirs += usage.dirs;
        out.entries += usage.entries;
        for e in &usage.errors {
            problems.push(e.problem());
        }
        out.trees.insert(root, usage);
    }
    for (layer, size, errors) in compared {
        let root_failed = errors.iter().any(|e| e.path == layer);
        for e in errors {
            problems.push(e.problem());
        }
        let size = if root_failed {
            -1
        } else {
            i64::try_from(size).unwrap_or(i64::MAX)
        };
        out.compared.insert(layer, size);
    }
    out
}

/// How the driver measures container `c`'s writable layer, over its init layer and the
/// image's layers (containers/storage: the image's layers).
fn rw_measure(store: &Store, c: &Container) -> DiffMeasure {
    let rw = &c.rw_layer;
    store
        .driver
        .diff_measure(&store.jail, &rw.mount_id, &store.rw_below(rw))
}

/// containerd's `fs.DiskUsage` size: -1 when the directory could not be read.
fn disk_usage(usage: Option<&TreeUsage>) -> i64 {
    match usage {
        Some(u) if !u.root_failed() => i64::try_from(u.allocated).unwrap_or(i64::MAX),
        _ => -1,
    }
}

/// Docker's `directory.Size`: -1 when the directory could not be read.
fn docker_size(usage: Option<&TreeUsage>) -> i64 {
    match usage {
        Some(u) if !u.root_failed() => i64::try_from(u.files_apparent).unwrap_or(i64::MAX),
        _ => -1,
    }
}

/// The recorded size of the layer `top` and everything below it (dockerd's `Layer.Size()`).
pub fn chain_size(store: &Store, top: &ChainId) -> i64 {
    let mut size: i64 = 0;
    let mut cur = store.layers.get(top);
    while let Some(l) = cur {
        size = size.saturating_add(l.size);
        cur = l.parent.as_ref().and_then(|p| store.layers.get(p));
    }
    size
}

fn image_size(store: &Store, img: &Image) -> i64 {
    img.top_layer().map_or(0, |t| chain_size(store, t))
}

/// The images `docker images` lists (`GET /images/json`), newest first, with `Size`,
/// `SharedSize` and the containers using each.
pub fn list_images(store: &Store) -> Vec<ImageDf> {
    list_images_with(store, false)
}

/// [`list_images`], with `all` (`docker images -a`) the untagged parents of other images
/// (the classic builder's intermediate images) too.
pub fn list_images_with(store: &Store, all: bool) -> Vec<ImageDf> {
    let listed: Vec<&Image> = if all {
        store.images.values().collect()
    } else {
        listed_images(store)
    };
    let mut layer_refs: HashMap<&ChainId, usize> = HashMap::new();
    for img in &listed {
        for chain in &img.chain_ids {
            *layer_refs.entry(chain).or_default() += 1;
        }
    }
    let mut rows: Vec<ImageDf> = listed
        .iter()
        .map(|img| {
            let size = image_size(store, img);
            let shared: i64 = img
                .chain_ids
                .iter()
                .filter(|c| layer_refs.get(c).copied().unwrap_or(0) > 1)
                .filter_map(|c| store.layers.get(c))
                .fold(0i64, |sum, l| sum.saturating_add(l.size));
            let dangling = img.repo_tags.is_empty() && img.repo_digests.is_empty();
            let (tags, digests) = if dangling {
                (
                    Some(vec!["<none>:<none>".to_owned()]),
                    Some(vec!["<none>@<none>".to_owned()]),
                )
            } else {
                (
                    (!img.repo_tags.is_empty()).then(|| img.repo_tags.clone()),
                    (!img.repo_digests.is_empty()).then(|| img.repo_digests.clone()),
                )
            };
            let containers = store
                .containers
                .iter()
                .filter(|c| c.image_id == img.id)
                .count();
            ImageDf {
                id: img.id.clone(),
                parent_id: img
                    .parent
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                repo_tags: tags,
                repo_digests: digests,
                created: img.created.unwrap_or(GO_ZERO_UNIX),
                size,
                shared_size: shared,
                virtual_size: Some(size),
                labels: (!img.labels.is_empty()).then(|| img.labels.clone()),
                containers: i64::try_from(containers).unwrap_or(i64::MAX),
                unique_size: size.saturating_sub(shared),
                cri_size: None,
            }
        })
        .collect();
    rows.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    rows
}

/// Unix seconds of Go's zero `time.Time`, which Docker reports for a missing date.
const GO_ZERO_UNIX: i64 = -62_135_596_800;

/// The images `docker images` lists without `-a`: all but the untagged ones that are the
/// parent of another image (the classic builder's intermediate images).
fn listed_images(store: &Store) -> Vec<&Image> {
    let parents = store.parents();
    store
        .images
        .values()
        .filter(|img| {
            let tagged = !img.repo_tags.is_empty() || !img.repo_digests.is_empty();
            tagged || !parents.contains(&img.id)
        })
        .collect()
}

/// dockerd's `LayersSize` (graphdriver stores): every distinct layer of a listed image.
pub fn layers_size(store: &Store) -> i64 {
    let mut used: std::collections::BTreeSet<&ChainId> = std::collections::BTreeSet::new();
    for img in listed_images(store) {
        used.extend(img.chain_ids.iter());
    }
    used.iter()
        .filter_map(|c| store.layers.get(*c))
        .fold(0i64, |sum, l| sum.saturating_add(l.size))
}

/// The containers as `GET /containers/json?all=1` lists them, newest first, without walking
/// anything: `SizeRw` and `SizeRootFs` are left unmeasured (-1 and the image's size), as the
/// API leaves them out unless asked. `now` is Unix seconds (for `Status`).
pub fn list_containers(store: &Store, now: i64) -> Vec<ContainerDf> {
    let unmeasured = Measured::default();
    container_rows(store, &unmeasured, now)
}

fn container_rows(store: &Store, sizes: &Measured, now: i64) -> Vec<ContainerDf> {
    let mut newest_first: Vec<&Container> = store.containers.iter().collect();
    newest_first
        .sort_by_key(|c| std::cmp::Reverse(chrono::DateTime::parse_from_rfc3339(&c.created).ok()));
    newest_first
        .into_iter()
        .map(|c| container_row(store, c, sizes, now))
        .collect()
}

fn container_row(store: &Store, c: &Container, sizes: &Measured, now: i64) -> ContainerDf {
    let measure = rw_measure(store, c);
    let size_rw = if measure.unknown().is_some() {
        -1
    } else if measure.is_naive() {
        sizes.compared.get(measure.dir()).copied().unwrap_or(-1)
    } else if measure.counts_blocks() {
        disk_usage(sizes.trees.get(measure.dir()))
    } else {
        docker_size(sizes.trees.get(measure.dir()))
    };
    let size_root_fs = match store.backend.root_fs_base(store, &sizes.trees, c) {
        Some(base) if size_rw == -1 => base,
        Some(base) => base.saturating_add(size_rw),
        None => 0,
    };
    ContainerDf {
        id: c.id.0.clone(),
        names: vec![c.name.clone()],
        image: display_image(store, c),
        image_id: c.image_id.clone(),
        command: command_line(&c.path, &c.args),
        created: parse_time(&c.created).unwrap_or(GO_ZERO_UNIX),
        state: c.state.word().to_owned(),
        status: status(c, now),
        size_rw,
        size_root_fs,
        labels: c.labels.clone(),
        mounts: c
            .mounts
            .iter()
            .map(|m| MountDf {
                kind: m.kind.clone(),
                name: m.name.clone(),
                source: if m.source.is_empty() && m.kind == "volume" {
                    store
                        .root
                        .join(crate::layout::VOLUMES_DIR)
                        .join(&m.name)
                        .join(crate::layout::VOLUME_DATA)
                        .display()
                        .to_string()
                } else {
                    m.source.clone()
                },
                destination: m.destination.clone(),
                driver: m.driver.clone(),
                rw: m.rw,
                propagation: m.propagation.clone(),
            })
            .collect(),
        mount_id: c.rw_layer.mount_id.0.clone(),
    }
}

/// The reference the container was made with while it still names the same image, else the
/// image id (dockerd's `refreshImage`).
fn display_image(store: &Store, c: &Container) -> String {
    let id = c.image_id.to_string();
    if c.image_ref == id || c.image_ref.is_empty() {
        return id;
    }
    match store.resolve_image(&c.image_ref) {
        Some(img) if img.id == c.image_id => c.image_ref.clone(),
        _ => id,
    }
}

/// `Path` and `Args` joined, arguments with spaces in single quotes (as the API does).
pub fn command_line(path: &str, args: &[String]) -> String {
    if args.is_empty() {
        return path.to_owned();
    }
    let quoted: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect();
    format!("{path} {}", quoted.join(" "))
}

fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

/// A Unix time as dockerd prints a volume's `CreatedAt`: RFC 3339, local time, seconds.
pub fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        })
        .unwrap_or_default()
}

/// Docker's status sentence (`State.String()`).
fn status(c: &Container, now: i64) -> String {
    let s = &c.state;
    let since = |t: &str| human_duration(now - parse_time(t).unwrap_or(now));
    if s.running {
        if s.paused {
            return format!("Up {} (Paused)", since(&s.started_at));
        }
        if s.restarting {
            return format!("Restarting ({}) {} ago", s.exit_code, since(&s.finished_at));
        }
        return format!("Up {}", since(&s.started_at));
    }
    if s.removal_in_progress {
        return "Removal In Progress".to_owned();
    }
    if s.dead {
        return "Dead".to_owned();
    }
    if s.never_started() {
        return "Created".to_owned();
    }
    if s.never_finished() {
        return String::new();
    }
    format!("Exited ({}) {} ago", s.exit_code, since(&s.finished_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_quotes_args_with_spaces() {
        assert_eq!(
            command_line("sh", &["-c".into(), "echo hi".into()]),
            "sh -c 'echo hi'"
        );
        assert_eq!(command_line("true", &[]), "true");
    }
}
