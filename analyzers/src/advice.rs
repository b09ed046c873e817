//! `strata advise`: cleanup recommendations, each with what it removes, why, the exact bytes
//! it gives back, its risk and the command to run; sorted by bytes.
//!
//! # What each command frees
//!
//! The bytes are what `du` of the data root loses when the command runs: the allocated size
//! of every file and directory dockerd deletes, measured in one walk ([`crate::walk`]):
//!
//! - an image: its config (`imagedb/content/sha256/<id>`) and metadata directory (on a
//!   containerd store: every blob it reaches that no remaining image reaches, as containerd's
//!   synchronous garbage collection deletes them with the image), and each of
//!   its layers that nothing else keeps (no remaining image's stack, no container's writable
//!   layer stands on it): the layer record (`layerdb/sha256/<chain>/`), the driver directory
//!   and overlay2's short link (`l/<name>`, a symlink too long to live in its inode). Deleting
//!   one of two images that share a layer frees only the other layers. dockerd also deletes,
//!   with an image, its parent images that are left untagged, childless and unused (moby
//!   `imageDeleteHelper` with prune), and so does the prediction.
//! - `docker image prune`: every dangling image (no tag or digest, no child, no container)
//!   as above (moby `ImagesPrune`).
//! - `docker container prune`: every container not running: `containers/<id>/`, its mount
//!   record, its writable and init layers and their links. Volumes stay.
//! - a volume: `volumes/<name>/`.
//! - another storage driver's data (a driver switch left it; nothing the owner runs reads
//!   it): its directories, `rm -rf` with the owner stopped ([`crate::usage::leftovers`]).
//! - in the parent of userns-remap sub-roots, when none of its containers runs: everything
//!   but the sub-roots, from a daemon run without remapping, `rm -rf` with dockerd stopped.
//!   Nothing else is advised there: the owner's commands act on the sub-root it runs on.
//!
//! On a containers/storage store the same rules hold as podman applies them (libimage
//! `RemoveImages`, containers/storage `DeleteImage`, libpod `PruneContainers` and
//! `PruneVolumes`): an image frees its big data directory, and each layer it frees its
//! directory, its `l/` link, its `<id>.tar-split.gz` and its big data; the records files
//! (`layers.json`, `images.json`) only lose records. The commands, and the words that name
//! the store's owner, are the backend's ([`Backend::cleanup_command`],
//! [`Backend::owner_words`]).
//!
//! dockerd's own databases (`volumes/metadata.db`, containerd's) keep their size when records
//! are deleted from them; nothing else is written.
//!
//! zfs and devicemapper keep their layers' files in a pool ([`crate::driver::Pool`]): what
//! removing a layer frees there cannot be measured from the files, and a problem says so.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::Serialize;

use crate::backend::Backend;
use crate::driver::Driver;
use crate::error::Problem;
use crate::forensics::orphans::{OrphanKind, OrphansReport};
use crate::graph::{Container, Store, Volume};
use crate::ids::{CacheId, ChainId, ImageId};
use crate::layout::{CONTAINERS_DIR, IMAGE_DIR, LAYERDB_MOUNTS};
use crate::usage::leftovers::{self, InactiveDriver, PreRemap};
use crate::walk::{self, WalkOptions};

/// How risky a recommendation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Risk {
    /// Only what Docker itself calls unused and can rebuild or re-pull.
    Low,
    /// Removes data that may still be wanted (a stopped container's files, an image that is
    /// not in use now).
    Medium,
    /// Removes data Docker cannot recreate, or acts behind dockerd's back.
    High,
}

/// One recommendation.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Recommendation {
    /// A stable name for the action (`image-prune`, `container-prune`, `rmi`, ...).
    pub action: String,
    /// What it removes, in a few words.
    pub what: String,
    /// Why it is safe to consider.
    pub why: String,
    /// Bytes `du` of the data root loses when the command runs (allocated bytes).
    pub bytes: u64,
    /// How risky it is.
    pub risk: Risk,
    /// What could be lost.
    pub risk_note: String,
    /// The exact command to run.
    pub command: String,
    /// The files and directories the command deletes.
    #[serde(flatten, serialize_with = "crate::text::json::paths")]
    pub paths: Vec<PathBuf>,
}

/// `strata advise`'s report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AdviceReport {
    /// The storage driver.
    pub driver: String,
    /// The recommendations, most bytes first.
    pub recommendations: Vec<Recommendation>,
    /// Sum of every recommendation's `Bytes` (each counted on its own: `rmi` of two images
    /// that share layers may free more together).
    pub reclaimable_bytes: u64,
    /// True when the driver's layers share extents (btrfs snapshots): each `Bytes` is then
    /// the blocks its paths hold, shared extents included, an upper bound of what the disk
    /// gains; it gains only the extents they hold alone (`btrfs filesystem du` tells them).
    pub shared_extents: bool,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

/// A cleanup whose command depends on the store's owner.
pub enum Cleanup<'a> {
    /// Remove the dangling images `ids` (`docker image prune -f`).
    ImagePrune(&'a [&'a ImageId]),
    /// Remove the images `ids` (`docker rmi`).
    RemoveImages(&'a [&'a ImageId]),
    /// Remove the stopped containers (`docker container prune -f`).
    ContainerPrune(&'a [&'a Container]),
    /// Remove the dangling volumes `volumes`: every dangling anonymous one (`anonymous`,
    /// `docker volume prune -f`), or every dangling named one (`docker volume prune -af`).
    RemoveVolumes {
        /// The volumes, all anonymous or all named.
        volumes: &'a [&'a Volume],
        /// Whether they are the anonymous ones.
        anonymous: bool,
    },
}

/// How advice names a store's owner and what it says about it.
#[derive(Debug)]
pub struct OwnerWords {
    /// The owner's CLI (`docker`): `docker images`, `docker diff`.
    pub cli: &'static str,
    /// What runs over the store, behind whose back files deleted by hand go (`dockerd`).
    pub owner: &'static str,
    /// What must be stopped before that (`dockerd`).
    pub stop_first: &'static str,
    /// What shows a volume is unused, in the owner's terms (`RefCount 0`).
    pub unused_volume: &'static str,
    /// What the owner's volume prune may remove beyond what advice counts for it.
    pub volume_prune_note: &'static str,
}

/// Docker's words.
pub const DOCKER_WORDS: OwnerWords = OwnerWords {
    cli: "docker",
    owner: "dockerd",
    stop_first: "dockerd",
    unused_volume: "RefCount 0",
    volume_prune_note: "dockerd before 23.0 (API < 1.42) removes named and anonymous ones with \
                        `docker volume prune -f`",
};

/// Docker's command for `cleanup`: what a Docker host's owner runs.
pub fn docker_command(store: &Store, cleanup: &Cleanup) -> String {
    match cleanup {
        Cleanup::ImagePrune(_) => "docker image prune -f".into(),
        Cleanup::RemoveImages(ids) => {
            let names: Vec<&str> = ids
                .iter()
                .filter_map(|id| store.images.get(*id))
                .flat_map(|i| i.repo_tags.iter().chain(&i.repo_digests))
                .map(String::as_str)
                .collect();
            format!("docker rmi {}", names.join(" "))
        }
        Cleanup::ContainerPrune(_) => "docker container prune -f".into(),
        Cleanup::RemoveVolumes {
            anonymous: true, ..
        } => "docker volume prune -f".into(),
        Cleanup::RemoveVolumes {
            anonymous: false, ..
        } => "docker volume prune -af".into(),
    }
}

/// One name per image of `ids`: its tags, else its id (removing the last tag deletes the
/// image, and a digest reference then names nothing).
pub fn tags_or_ids(store: &Store, ids: &[&ImageId]) -> Vec<String> {
    ids.iter()
        .filter_map(|id| store.images.get(*id))
        .flat_map(|i| {
            if i.repo_tags.is_empty() {
                vec![i.id.0.hex().to_owned()]
            } else {
                i.repo_tags.clone()
            }
        })
        .collect()
}

/// The containers `docker container prune` removes: every one not running (paused ones run),
/// but none whose state nothing records (a plain containerd's may be running).
pub fn not_running(store: &Store) -> Vec<&Container> {
    store
        .containers
        .iter()
        .filter(|c| !c.state.running && !c.state.unrecorded)
        .collect()
}

/// A recommendation before its paths are measured.
struct Draft {
    action: &'static str,
    what: String,
    why: String,
    risk: Risk,
    risk_note: String,
    command: String,
    paths: BTreeSet<PathBuf>,
}

/// Computes the recommendations for `store`; `orphans` are its leftovers (for the leaked
/// layer directories).
pub fn advise(store: &Store, orphans: &OrphansReport, opts: &WalkOptions) -> AdviceReport {
    let running = store.containers.iter().any(|c| c.state.running);
    if let Some(pre) = leftovers::pre_remap(store).filter(|_| !running) {
        return measure(store, vec![pre_remap_draft(store, &pre)], orphans, opts);
    }
    let mut drafts = Vec::new();
    let containers_kept: Vec<&Container> = store.containers.iter().collect();
    let dangling = dangling_images(store);
    let words = store.backend.owner_words();
    let twice = |why: &str| match store.backend.image_storage_note() {
        Some(note) => format!("{why}; {note}"),
        None => why.to_owned(),
    };
    if !dangling.is_empty() {
        drafts.push(Draft {
            action: "image-prune",
            what: format!("{} dangling images", dangling.len()),
            why: twice(&format!(
                "untagged, no child image, no container: `{} images` shows them as <none>",
                words.cli
            )),
            risk: Risk::Low,
            risk_note: "none: nothing refers to them".into(),
            command: store
                .backend
                .cleanup_command(store, &Cleanup::ImagePrune(&dangling)),
            paths: image_paths(store, &dangling, &containers_kept),
        });
    }
    for img in unused_tagged_images(store) {
        let names = img.repo_tags.iter().chain(&img.repo_digests).cloned();
        let names: Vec<String> = names.collect();
        drafts.push(Draft {
            action: "rmi",
            what: format!("image {}", names.join(", ")),
            why: twice(
                "no container uses it; only the layers no other image or container uses are freed",
            ),
            risk: Risk::Medium,
            risk_note: "it must be pulled or built again if needed later".into(),
            command: store
                .backend
                .cleanup_command(store, &Cleanup::RemoveImages(&[&img.id])),
            paths: image_paths(store, &[&img.id], &containers_kept),
        });
    }
    let stopped = store.backend.prunable_containers(store);
    if !stopped.is_empty() {
        let mut paths = BTreeSet::new();
        for c in &stopped {
            paths.extend(container_paths(store, c));
        }
        drafts.push(Draft {
            action: "container-prune",
            what: format!("{} stopped containers", stopped.len()),
            why: "not running; their writable layers, logs and configs stay until removed".into(),
            risk: Risk::Medium,
            risk_note: format!(
                "files written inside them ({} diff) and their logs are lost",
                words.cli
            ),
            command: store
                .backend
                .cleanup_command(store, &Cleanup::ContainerPrune(&stopped)),
            paths,
        });
    }
    let unread = unread_containers(store);
    let volume_prunes = if unread.is_empty() {
        vec![
            (true, "volume-prune-anonymous"),
            (false, "volume-prune-named"),
        ]
    } else {
        Vec::new()
    };
    for (anonymous, action) in volume_prunes {
        let volumes: Vec<_> = store
            .volumes
            .iter()
            .filter(|v| v.is_anonymous() == anonymous && store.volume_refs(&v.name) == 0)
            .collect();
        if volumes.is_empty() {
            continue;
        }
        let kind = if anonymous { "anonymous" } else { "named" };
        drafts.push(Draft {
            action,
            what: format!("{} dangling {kind} volumes", volumes.len()),
            why: format!("no container mounts them ({})", words.unused_volume),
            risk: if anonymous { Risk::Medium } else { Risk::High },
            risk_note: format!(
                "a dangling {kind} volume may still hold data nobody else has; {}",
                words.volume_prune_note
            ),
            command: store.backend.cleanup_command(
                store,
                &Cleanup::RemoveVolumes {
                    volumes: &volumes,
                    anonymous,
                },
            ),
            paths: volumes.iter().map(|v| v.dir.clone()).collect(),
        });
    }
    let leaked: BTreeSet<PathBuf> = orphans
        .orphans
        .iter()
        .filter(|o| {
            matches!(
                o.kind,
                OrphanKind::LayerDir | OrphanKind::SnapshotDir | OrphanKind::BlobWithoutRecord
            )
        })
        .map(|o| o.path.clone())
        .collect();
    // A pooled driver's leaked layer is a dataset or thin device: removing its files here
    // would leave it in the pool (the problem below says so).
    let pool = store.driver.pool(&store.jail);
    if !leaked.is_empty() && pool.is_none() {
        drafts.push(Draft {
            action: "remove-leaked-layer-dirs",
            what: format!("{} leaked layer directories", leaked.len()),
            why: "no layer record, container or BuildKit snapshot names them (see strata orphans)"
                .into(),
            risk: Risk::High,
            risk_note: format!(
                "done behind {}'s back: stop {} first, and check nothing newer claims them",
                words.owner, words.stop_first
            ),
            command: rm_command(&leaked),
            paths: leaked.clone(),
        });
    }
    for other in store.backend.inactive_drivers(store) {
        drafts.push(other_driver_draft(store, other));
    }
    let mut report = measure(store, drafts, orphans, opts);
    if !unread.is_empty() {
        report.problems.push(Problem::new(
            store.root.join(CONTAINERS_DIR),
            crate::error::ProblemKind::Unreadable,
            format!(
                "{} container record(s) were not read (another storage driver's, or damaged: {}); \
                 any of them may mount a volume, so no volume is called dangling",
                unread.len(),
                unread.join(", ")
            ),
        ));
        report.problems.sort();
    }
    if let Some(pool) = pool {
        if !report.recommendations.is_empty() || !leaked.is_empty() {
            report.problems.push(Problem::new(
                store.driver.home(),
                crate::error::ProblemKind::NotRead,
                format!(
                    "{}: what removing a layer frees in the pool is not in the Bytes, which count \
                     only files under the data root{}",
                    pool.unknown,
                    if leaked.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; the {} leaked layers (strata orphans) are datasets or thin devices \
                             to destroy in the pool (zfs destroy, dmsetup), not files to remove \
                             here, so no command is given for them",
                            leaked.len()
                        )
                    }
                ),
            ));
            report.problems.sort();
        }
    }
    report
}

/// `rm -rf` of `paths`, each quoted for a POSIX shell when it needs it.
fn rm_command<'a>(paths: impl IntoIterator<Item = &'a PathBuf>) -> String {
    let quoted: Vec<String> = paths
        .into_iter()
        .map(|p| {
            let text = p.display().to_string();
            let plain = text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/._-+:@,=".contains(&b));
            if plain {
                text
            } else {
                format!("'{}'", text.replace('\'', r"'\''"))
            }
        })
        .collect();
    format!("rm -rf {}", quoted.join(" "))
}

/// Removing another driver's data.
fn other_driver_draft(store: &Store, other: InactiveDriver) -> Draft {
    let words = store.backend.owner_words();
    let name = &other.name;
    Draft {
        action: "remove-other-driver-data",
        what: format!(
            "the data of storage driver {name} (not {}, the one in use)",
            store.driver.name()
        ),
        why: format!(
            "{} reads only one driver's data: {name}'s images, layers and containers are \
             invisible to it and no prune frees them",
            words.owner
        ),
        risk: Risk::High,
        risk_note: format!(
            "done behind {}'s back: stop {} first; {name}'s images and containers are lost \
             (switching the driver back would have shown them again)",
            words.owner, words.stop_first
        ),
        command: rm_command(&other.paths),
        paths: other.paths.into_iter().collect(),
    }
}

/// Removing a userns-remap parent's own data.
fn pre_remap_draft(store: &Store, pre: &PreRemap) -> Draft {
    let subroots: Vec<String> = pre
        .subroots
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    Draft {
        action: "remove-pre-remap-data",
        what: format!(
            "the data root's own data ({} entries beside the userns-remap sub-roots {})",
            pre.paths.len(),
            subroots.join(", ")
        ),
        why: format!(
            "dockerd --userns-remap keeps its whole store in a sub-root and reads nothing else \
             of {}: this is from a daemon run without remapping, and none of its containers \
             runs",
            store.root.display()
        ),
        risk: Risk::High,
        risk_note: "done behind dockerd's back: stop dockerd first; only while it runs with \
                    userns-remap (daemon.json \"userns-remap\"): if remapping was turned off \
                    since, this is the live store"
            .into(),
        command: rm_command(&pre.paths),
        paths: pre.paths.iter().cloned().collect(),
    }
}

/// The containers under `containers/` that the store did not load (another driver's, or
/// damaged): their ids, short.
fn unread_containers(store: &Store) -> Vec<String> {
    let loaded: BTreeSet<&str> = store.containers.iter().map(|c| c.id.as_str()).collect();
    store
        .jail
        .read_dir(&store.root.join(CONTAINERS_DIR))
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.is_dir)
        .map(|e| e.name.to_string_lossy().into_owned())
        .filter(|n| crate::ids::is_hex64(n) && !loaded.contains(n.as_str()))
        .map(|n| n[..12].to_owned())
        .collect()
}

fn measure(
    store: &Store,
    drafts: Vec<Draft>,
    orphans: &OrphansReport,
    opts: &WalkOptions,
) -> AdviceReport {
    let groups: Vec<Vec<PathBuf>> = drafts
        .iter()
        .map(|d| d.paths.iter().cloned().collect())
        .collect();
    let freed = walk::freed_by(&store.jail, &groups, opts);
    let mut recommendations: Vec<Recommendation> = drafts
        .into_iter()
        .zip(freed)
        .map(|(d, bytes)| Recommendation {
            action: d.action.to_owned(),
            what: d.what,
            why: d.why,
            bytes,
            risk: d.risk,
            risk_note: d.risk_note,
            command: d.command,
            paths: d.paths.into_iter().collect(),
        })
        .collect();
    recommendations.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.action.cmp(&b.action)));
    AdviceReport {
        driver: store.driver.name().to_owned(),
        reclaimable_bytes: recommendations.iter().map(|r| r.bytes).sum(),
        shared_extents: store.driver.shares_extents(),
        recommendations,
        problems: orphans.problems.clone(),
    }
}

fn untagged(store: &Store, id: &ImageId) -> bool {
    store
        .images
        .get(id)
        .is_some_and(|i| i.repo_tags.is_empty() && i.repo_digests.is_empty())
}

fn used_by_container(store: &Store, id: &ImageId) -> bool {
    store.containers.iter().any(|c| &c.image_id == id)
}

/// moby `ImagesPrune` (dangling only), and libimage's `dangling=true` with `containers=false`
/// (the parents being libimage's on a containers/storage store): heads without references or
/// containers.
fn dangling_images(store: &Store) -> Vec<&ImageId> {
    let parents = store.parents();
    store
        .images
        .keys()
        .filter(|id| !parents.contains(id) && untagged(store, id) && !used_by_container(store, id))
        .collect()
}

/// Tagged heads no container uses: what `docker rmi` could remove.
fn unused_tagged_images(store: &Store) -> Vec<&crate::graph::Image> {
    let parents = store.parents();
    store
        .images
        .values()
        .filter(|i| !parents.contains(&i.id) && !untagged(store, &i.id))
        .filter(|i| !used_by_container(store, &i.id))
        .collect()
}

/// The images deleting `targets` removes: the targets, then each parent left untagged,
/// childless and unused (moby `imageDeleteHelper` with prune; libimage `removeRecursive`,
/// and `podman image prune` repeating until nothing is dangling).
fn deleted_closure<'a>(store: &'a Store, targets: &[&'a ImageId]) -> BTreeSet<&'a ImageId> {
    let mut deleted: BTreeSet<&ImageId> = targets.iter().copied().collect();
    let mut queue: Vec<&ImageId> = targets.to_vec();
    while let Some(id) = queue.pop() {
        let Some(parent) = store.images.get(id).and_then(|i| i.parent.as_ref()) else {
            continue;
        };
        let children_left = store
            .images
            .values()
            .any(|i| i.parent.as_ref() == Some(parent) && !deleted.contains(&i.id));
        if untagged(store, parent) && !children_left && !used_by_container(store, parent) {
            if let Some((key, _)) = store.images.get_key_value(parent) {
                if deleted.insert(key) {
                    queue.push(key);
                }
            }
        }
    }
    deleted
}

/// Every path `docker rmi` (with prune) of `targets` deletes, given the containers that stay.
fn image_paths(
    store: &Store,
    targets: &[&ImageId],
    containers: &[&Container],
) -> BTreeSet<PathBuf> {
    let deleted = deleted_closure(store, targets);
    let mut kept_layers: BTreeSet<&ChainId> = BTreeSet::new();
    for img in store.images.values().filter(|i| !deleted.contains(&i.id)) {
        kept_layers.extend(img.chain_ids.iter());
    }
    for c in containers {
        kept_layers.extend(
            store
                .chain_below(c.rw_layer.parent.as_ref())
                .into_iter()
                .map(|l| &l.chain_id),
        );
    }
    let mut paths = store.backend.image_files(store, &deleted);
    for id in &deleted {
        let Some(img) = store.images.get(*id) else {
            continue;
        };
        for chain in &img.chain_ids {
            if kept_layers.contains(chain) {
                continue;
            }
            if let Some(layer) = store.layers.get(chain) {
                paths.extend(store.backend.layer_record_files(store, layer));
                paths.extend(driver_paths(store, &layer.cache_id));
            }
        }
    }
    paths
}

/// A driver layer's directory and its short link (overlay2 `l/`), where they exist.
fn driver_paths(store: &Store, id: &CacheId) -> Vec<PathBuf> {
    let dir = store.driver.layer_dir(id);
    let mut out: Vec<PathBuf> = store
        .driver
        .layer_link(&store.jail, id)
        .into_iter()
        .collect();
    if store.jail.is_dir(&dir) {
        out.push(dir);
    }
    out
}

/// Everything `docker rm` of `c` deletes (volumes stay).
fn container_paths(store: &Store, c: &Container) -> Vec<PathBuf> {
    let rw = &c.rw_layer;
    let mut out = vec![c.dir.clone()];
    let record = store
        .root
        .join(IMAGE_DIR)
        .join(store.driver.name())
        .join(LAYERDB_MOUNTS)
        .join(c.id.as_str());
    if store.jail.is_dir(&record) {
        out.push(record);
    }
    out.extend(driver_paths(store, &rw.mount_id));
    if let Some(init) = rw.init() {
        out.extend(driver_paths(store, init));
    }
    out
}

/// The reclaimable bytes per action, for monitoring.
pub fn by_action(report: &AdviceReport) -> BTreeMap<&str, u64> {
    let mut out = BTreeMap::new();
    for r in &report.recommendations {
        *out.entry(r.action.as_str()).or_default() += r.bytes;
    }
    out
}
