//! `strata orphans`: what nothing references any more, with its bytes and why it is judged
//! orphaned. Leaked layer directories are the classic (moby#45939: a crash or a killed build
//! or pull leaves `overlay2/<id>` that no prune ever frees).
//!
//! A driver directory is in use when a layer record (`cache-id`), a mount record (`mount-id`,
//! `init-id`) or one of BuildKit's snapshots (`buildkit/snapshots.db`, see
//! [`crate::buildcache::snapshot_driver_ids`]) names it. If `snapshots.db` cannot be read, no
//! directory is called orphaned (BuildKit's could not be told apart) and that is a problem.
//!
//! overlay2's short links (`l/<name>`) are checked without reading them (reading a link moves
//! its access time): each layer directory's `link` file claims one name, and the link must be
//! as long as `../<id>/diff`; a name no directory claims dangles.
//!
//! Bytes are measured in one parallel walk of every finding ([`crate::walk`]): `Bytes` is the
//! allocated size (what `du` counts and deleting frees), `ApparentBytes` the files' sizes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backend::Backend;
use crate::driver::Driver;
use crate::error::Problem;
use crate::graph::Store;
use crate::layout::{CONTAINERS_DIR, IMAGE_DIR, LAYERDB_MOUNTS, LAYERDB_TMP};
use crate::walk::{self, WalkOptions};

/// What kind of leftover a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrphanKind {
    /// A driver directory no layer, mount or BuildKit snapshot references.
    LayerDir,
    /// A layer record whose content (directory, or the driver's record of it) is missing.
    RecordWithoutContent,
    /// An `l/` short link that no layer directory claims, or that points elsewhere.
    Link,
    /// A writable-layer record (`layerdb/mounts/<id>`) without its container.
    MountWithoutContainer,
    /// A container whose image is gone.
    ContainerWithoutImage,
    /// A named volume no container mounts (`RefCount` 0).
    DanglingNamedVolume,
    /// An anonymous volume no container mounts (`RefCount` 0).
    DanglingAnonymousVolume,
    /// A leftover in `tmp/` or `layerdb/tmp/` (an interrupted pull, load or build).
    Tmp,
    /// A containerd snapshot directory the snapshotter has no record of.
    SnapshotDir,
    /// A containerd snapshot nothing reaches (no image, container, lease or GC root): the
    /// next garbage collection deletes it.
    UnreachableSnapshot,
    /// A content blob nothing reaches (no image, lease or GC root).
    UnreachableBlob,
    /// A blob file no namespace of the metadata store records.
    BlobWithoutRecord,
    /// A download containerd never finished (`ingest/`).
    Ingest,
    /// A containers/storage layer flagged incomplete (an interrupted pull, build or commit).
    IncompleteLayer,
    /// A containers/storage layer no image or container stands on.
    UnreferencedLayer,
}

/// One leftover.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Orphan {
    /// What kind of leftover.
    pub kind: OrphanKind,
    /// The file or directory.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// Allocated bytes under it (what `du` counts).
    pub bytes: u64,
    /// Apparent bytes of its files.
    pub apparent_bytes: u64,
    /// Why it is judged orphaned.
    pub reason: String,
}

/// `strata orphans`' report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrphansReport {
    /// The storage driver.
    pub driver: String,
    /// The findings, largest first.
    pub orphans: Vec<Orphan>,
    /// Sum of `Bytes`.
    pub bytes: u64,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

/// Finds every leftover of `store`.
pub fn find(store: &Store, opts: &WalkOptions) -> OrphansReport {
    let mut problems = store.problems.clone();
    let mut found: Vec<Finding> = Vec::new();
    store.backend.leftovers(store, &mut found, &mut problems);
    for c in &store.containers {
        if !store.images.contains_key(&c.image_id) {
            found.push((
                OrphanKind::ContainerWithoutImage,
                c.dir.clone(),
                format!("its image {} is not in the image store", c.image_id),
            ));
        }
    }
    for v in &store.volumes {
        if store.volume_refs(&v.name) > 0 {
            continue;
        }
        let kind = if v.is_anonymous() {
            OrphanKind::DanglingAnonymousVolume
        } else {
            OrphanKind::DanglingNamedVolume
        };
        found.push((
            kind,
            v.dir.clone(),
            format!(
                "no container mounts it ({})",
                store.backend.owner_words().unused_volume
            ),
        ));
    }
    tmp_leftovers(store, &store.root.join("tmp"), &mut found);
    let roots: Vec<PathBuf> = found.iter().map(|(_, p, _)| p.clone()).collect();
    let usage = walk::measure(&store.jail, &roots, opts);
    let mut orphans: Vec<Orphan> = found
        .into_iter()
        .zip(usage)
        .map(|((kind, path, reason), u)| Orphan {
            kind,
            path,
            bytes: u.allocated,
            apparent_bytes: u.files_apparent,
            reason,
        })
        .collect();
    orphans.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    problems.sort();
    problems.dedup();
    OrphansReport {
        driver: store.driver.name().to_owned(),
        bytes: orphans.iter().map(|o| o.bytes).sum(),
        orphans,
        problems,
    }
}

/// A leftover found: its kind, path and why.
pub type Finding = (OrphanKind, PathBuf, String);

/// The entries of the temporary directory `tmp`, each a leftover of an operation that did not
/// finish.
fn tmp_leftovers(store: &Store, tmp: &Path, found: &mut Vec<Finding>) {
    for e in store.jail.read_dir(tmp).unwrap_or_default() {
        found.push((
            OrphanKind::Tmp,
            tmp.join(&e.name),
            "left in a temporary directory by an operation that did not finish".into(),
        ));
    }
}

/// The leftovers of a graphdriver store: layer directories nothing names, layer records
/// without content, overlay2 links that dangle, mount records without their container,
/// `layerdb/tmp/` entries.
pub fn graphdriver_leftovers(store: &Store, found: &mut Vec<Finding>, problems: &mut Vec<Problem>) {
    layer_dirs(store, found, problems);
    records_without_content(store, found);
    for (path, why) in store.driver.bad_links(&store.jail, problems) {
        found.push((OrphanKind::Link, path, why));
    }
    mounts_without_containers(store, found);
    let image_dir = store.root.join(IMAGE_DIR).join(store.driver.name());
    tmp_leftovers(store, &image_dir.join(LAYERDB_TMP), found);
}

/// The driver directories the store's records name.
fn referenced_dirs(store: &Store) -> BTreeSet<String> {
    let mut used: BTreeSet<String> = store
        .layers
        .values()
        .map(|l| l.cache_id.0.clone())
        .collect();
    for m in store.mounts.values() {
        used.insert(m.mount_id.0.clone());
        used.extend(m.init().map(|i| i.0.clone()));
    }
    used
}

/// The entries of the directory holding one entry per layer (`overlay2/`, `vfs/dir/`,
/// devicemapper's `metadata/`) that nothing names; the driver's own files there are no
/// layer's ([`Driver::is_layer_entry`]).
fn layer_dirs(store: &Store, found: &mut Vec<Finding>, problems: &mut Vec<Problem>) {
    let buildkit = match crate::buildcache::snapshot_driver_ids(&store.jail) {
        Ok(ids) => ids,
        Err(p) => {
            problems.push(Problem::new(
                &p.path,
                p.kind,
                format!("{}; no layer directory is called orphaned", p.detail),
            ));
            return;
        }
    };
    let used = referenced_dirs(store);
    let parent = store.driver.layers_dir();
    let link_dir = store.driver.link_dir();
    for e in store.jail.read_dir(&parent).unwrap_or_default() {
        let name = e.name.to_string_lossy().into_owned();
        if !store.driver.is_layer_entry(&e.name, e.is_dir)
            || link_dir.as_deref() == Some(parent.join(&e.name).as_path())
            || used.contains(&name)
            || buildkit.contains(&name)
        {
            continue;
        }
        found.push((
            OrphanKind::LayerDir,
            parent.join(&e.name),
            "no layer record, container mount record or BuildKit snapshot names it".into(),
        ));
    }
}

fn records_without_content(store: &Store, found: &mut Vec<Finding>) {
    for l in store.layers.values() {
        if let Some(missing) = store.driver.missing_data(&store.jail, &l.cache_id) {
            found.push((
                OrphanKind::RecordWithoutContent,
                l.record.clone(),
                format!("the driver's {} is missing", missing.display()),
            ));
        }
    }
}

fn mounts_without_containers(store: &Store, found: &mut Vec<Finding>) {
    let mounts = store
        .root
        .join(IMAGE_DIR)
        .join(store.driver.name())
        .join(LAYERDB_MOUNTS);
    let containers = store.root.join(CONTAINERS_DIR);
    for e in store.jail.read_dir(&mounts).unwrap_or_default() {
        if store.jail.is_dir(&containers.join(&e.name)) {
            continue;
        }
        let id = e.name.to_string_lossy().into_owned();
        found.push((
            OrphanKind::MountWithoutContainer,
            mounts.join(&e.name),
            format!(
                "no {CONTAINERS_DIR}/{id} directory: the container was removed or never written"
            ),
        ));
        let Some(record) = store.mounts.get(&crate::ids::ContainerId(id.clone())) else {
            continue;
        };
        for dir in std::iter::once(&record.mount_id).chain(record.init()) {
            let path = store.driver.layer_dir(dir);
            if store.jail.is_dir(&path) {
                found.push((
                    OrphanKind::LayerDir,
                    path,
                    format!("only the mount record of the missing container {id} names it"),
                ));
            }
        }
    }
}
