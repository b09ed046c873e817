//! containerd's metadata as a store backend: `meta.db` (images, containers, snapshot
//! references, content, leases, per namespace) and the overlayfs snapshotter's `metadata.db`
//! (snapshot numbers, kinds, parents, recorded sizes), under Docker's containerd image store
//! (namespace `moby`, containers still in `containers/*/config.v2.json`) or alone (Kubernetes
//! nodes in `k8s.io`, nerdctl in `default`; containers from `meta.db`).
//!
//! Image layers are the committed snapshots keyed by chain id; a container's writable layer is
//! the active snapshot keyed by its id, over `<id>-init`. Their files are in
//! `snapshots/<n>/fs`, which the [`crate::driver::Overlayfs`] driver names.

mod claims;
pub mod content;
mod gc;
pub mod locate;
pub mod names;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;

pub use locate::Located;

use super::{Accounting, AnyBackend, Backend, DockerVersion, Trees, VersionProbe, VersionSource};
use crate::advice::{Cleanup, OwnerWords};
use crate::buildcache::Worker;
use crate::driver::{AnyDriver, Detected, Driver, Overlayfs};
use crate::error::{Error, Problem, ProblemKind, Result};
use crate::forensics::blobs::Blob;
use crate::forensics::orphans::Finding;
use crate::format::containerd::meta::{self, ImageRecord, MetaDb, Namespace};
use crate::format::containerd::snapshots::{self, Kind, SnapshotDb, SnapshotRecord};
use crate::format::containerd::{META_DB, SNAPSHOTTER_DB};
use crate::graph::{self, Container, Image, Layer, LoadOptions, MountRecord, Store};
use crate::ids::{is_hex64, CacheId, ChainId, ContainerId, Digest, ImageId};
use crate::inventory::SnapshotEntry;
use crate::layout::{
    BUILDKIT_DIR, CONTAINERS_DIR, CONTAINER_CONFIG, IMAGE_DIR, INIT_SUFFIX, VOLUMES_DIR,
};
use crate::root::DataRoot;
use crate::usage::containerd as rules;
use crate::usage::df::{DfReport, ImageDf};
use crate::usage::du::Claim;
use crate::usage::leftovers::InactiveDriver;
use content::{ContentStore, Reach};

/// Docker's containerd namespace.
pub const DOCKER_NAMESPACE: &str = "moby";
/// The newest dockerd whose rules strata knows; the default when nothing says which wrote
/// the store.
pub const NEWEST_KNOWN: DockerVersion = DockerVersion::new(29, 7, 2);
/// `buildkit/containerd-<snapshotter>/`: the root of BuildKit's containerd worker (BuildKit
/// `worker/containerd`), which holds its `metadata_v2.db`.
const BUILDKIT_WORKER_PREFIX: &str = "containerd-";
/// How advice names a plain containerd (no dockerd over it): `ctr`, and containerd itself.
const CONTAINERD_WORDS: OwnerWords = OwnerWords {
    cli: "ctr",
    owner: "containerd",
    stop_first: "containerd",
    unused_volume: "no volume record",
    volume_prune_note: "containerd itself keeps no volumes",
};

/// One snapshot of the namespace read, joined with the snapshotter's record.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The namespace's key (a chain id, a container id, `<id>-init`, a BuildKit id...).
    pub key: String,
    /// The parent's key in the namespace.
    pub parent: Option<String>,
    /// The snapshotter's record.
    pub record: SnapshotRecord,
    /// `snapshots/<n>`.
    pub dir: PathBuf,
    /// `snapshots/<n>/fs`: its files.
    pub fs: PathBuf,
}

/// One image as dockerd lists it: a target digest, the names bound to it, and what it
/// reaches.
#[derive(Debug, Clone)]
pub struct ListedImage {
    /// The image record the listing takes its metadata from (the last name, in name order,
    /// bound to this target, as dockerd's map of unique images keeps it).
    pub record: ImageRecord,
    /// Every name bound to the target.
    pub names: Vec<String>,
    /// `RepoTags`: the names in Docker's familiar form (none for a dangling image).
    pub tags: Vec<String>,
    /// The manifests and content it reaches.
    pub reach: Reach,
    /// Hidden from `docker images` (a dangling classic-builder parent of another image).
    pub intermediate: bool,
}

/// What the containerd backend read, kept for its accounting and for the verbs that look at
/// snapshots and content directly.
#[derive(Debug, Clone)]
pub struct Containerd {
    /// The containerd root, and how it was found.
    pub root: Located,
    /// The namespace read.
    pub namespace: String,
    /// True under Docker (the containerd image store); false for a plain containerd root.
    pub docker: bool,
    /// The snapshotter read (`overlayfs`).
    pub snapshotter: String,
    /// The dockerd version whose rules the figures follow, and why (found beside the scan).
    pub version: Arc<VersionProbe>,
    /// The same, for reports, made at first use.
    pub accounting: OnceLock<Accounting>,
    /// The images, one per target digest.
    pub images: Vec<ListedImage>,
    /// The namespace's snapshots of the snapshotter, by key.
    pub snapshots: BTreeMap<String, Snapshot>,
    /// The whole metadata store (every namespace: content is shared between them).
    pub meta: MetaDb,
    /// The snapshotter's own store.
    pub snapshot_db: SnapshotDb,
}

impl Snapshot {
    /// A snapshot for tests: `key` over `parent`, number `id` under `root`, recorded `size`.
    #[cfg(test)]
    pub(crate) fn for_test(
        root: &Path,
        key: &str,
        parent: Option<&str>,
        kind: Kind,
        size: i64,
        id: u64,
    ) -> Snapshot {
        let dir = root.join(format!("snapshots/{id}"));
        Snapshot {
            key: key.to_owned(),
            parent: parent.map(str::to_owned),
            record: SnapshotRecord {
                key: format!("moby/{id}/{key}"),
                id,
                kind,
                parent: None,
                size,
                inodes: 1,
                created: None,
                labels: BTreeMap::new(),
            },
            fs: dir.join("fs"),
            dir,
        }
    }
}

impl Containerd {
    /// The dockerd version whose rules the figures follow (waits for the probe).
    pub fn docker_version(&self) -> DockerVersion {
        self.version.get().0
    }

    /// The usage containerd reports for snapshot `key`: recorded for committed ones and
    /// views, measured (in `trees`) for active ones; `None` when there is no such snapshot.
    pub fn usage(&self, key: &str, trees: &Trees) -> Option<i64> {
        self.snapshots.get(key).map(|s| self.usage_of(s, trees).0)
    }

    /// containerd's `Usage` of snapshot `s` (bytes, inodes): recorded for committed ones and
    /// views, measured (in `trees`) for active ones, zero when the walk could not read them.
    fn usage_of(&self, s: &Snapshot, trees: &Trees) -> (i64, i64) {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        match s.record.kind {
            Kind::Active => trees
                .get(&s.fs)
                .filter(|u| !u.root_failed())
                .map_or((0, 0), |u| (count(u.allocated), count(u.entries))),
            _ => (s.record.size, s.record.inodes),
        }
    }

    /// The recorded usage of `key` and every snapshot below it, and whether the whole chain
    /// was found (containerd `calculateSnapshotTotalUsage`: the sum so far, and NotFound).
    pub fn chain_usage(&self, key: &str) -> (i64, bool) {
        let mut total: i64 = 0;
        let mut next = Some(key.to_owned());
        let mut steps = 0;
        while let Some(k) = next {
            let Some(s) = self.snapshots.get(&k) else {
                return (total, false);
            };
            steps += 1;
            if steps > self.snapshots.len() {
                return (total, false);
            }
            total = total.saturating_add(s.record.size);
            next = s.parent.clone();
        }
        (total, true)
    }

    /// The content store of the namespace read.
    pub fn content<'a>(&'a self, store: &'a Store) -> Option<ContentStore<'a>> {
        let ns = self.meta.namespaces.get(&self.namespace)?;
        Some(ContentStore::new(&store.jail, &self.root.path, ns))
    }
}

impl Backend for Containerd {
    fn name(&self) -> &'static str {
        "containerd"
    }
    fn image_rows(&self, store: &Store, _trees: &Trees) -> Vec<ImageDf> {
        rules::image_rows(self, &store.containers)
    }
    fn layers_size(&self, _store: &Store, trees: &Trees) -> i64 {
        rules::layers_size(self, trees)
    }
    fn root_fs_base(&self, _store: &Store, _trees: &Trees, container: &Container) -> Option<i64> {
        let parent = self
            .snapshots
            .get(container.id.as_str())?
            .parent
            .as_deref()?;
        Some(self.chain_usage(parent).0)
    }
    fn measured_dirs(&self, _store: &Store) -> Vec<PathBuf> {
        self.snapshots
            .values()
            .filter(|s| s.record.kind == Kind::Active)
            .map(|s| s.fs.clone())
            .collect()
    }
    fn accounting(&self) -> Option<&Accounting> {
        self.docker.then(|| {
            self.accounting.get_or_init(|| {
                let (version, source) = self.version.get().clone();
                Accounting {
                    rule: rules::Rule::of(version).name().to_owned(),
                    docker_version: version.to_string(),
                    source,
                    containerd_root: self.root.path.clone(),
                    containerd_root_found_by: self.root.found_by.clone(),
                }
            })
        })
    }
    fn layer_blob(&self, store: &Store, layer: &Layer) -> Option<Blob> {
        let content = self.content(store)?;
        let (_, digest, media_type) = self
            .images
            .iter()
            .flat_map(|i| &i.reach.manifests)
            .flat_map(|m| &m.layer_blobs)
            .find(|(diff, d, _)| *diff == layer.diff_id && content.present(d))?;
        let size = content.namespace.blobs.get(digest).map_or(0, |b| b.size);
        Some(Blob {
            path: content.blob_path(digest),
            digest: digest.clone(),
            size,
            media_type: media_type.clone(),
        })
    }
    fn leftovers(&self, store: &Store, found: &mut Vec<Finding>, problems: &mut Vec<Problem>) {
        gc::leftovers(self, store, found, problems);
    }
    /// BuildKit's containerd worker (`worker/containerd`) over the snapshotter:
    /// `buildkit/containerd-<snapshotter>/`.
    fn buildkit_worker<'a>(
        &'a self,
        store: &'a Store,
        trees: &'a Trees,
    ) -> Option<(PathBuf, Worker<'a>)> {
        let dir = store
            .root
            .join(BUILDKIT_DIR)
            .join(format!("{BUILDKIT_WORKER_PREFIX}{}", self.snapshotter));
        Some((
            dir,
            Worker::Containerd {
                backend: self,
                trees,
            },
        ))
    }
    fn snapshots(&self, df: &DfReport) -> Option<Vec<SnapshotEntry>> {
        let entries = self
            .snapshots
            .values()
            .map(|s| {
                let (size, inodes) = self.usage_of(s, &df.trees);
                SnapshotEntry {
                    namespace: self.namespace.clone(),
                    key: s.key.clone(),
                    parent: s.parent.clone(),
                    kind: s.record.kind,
                    id: s.record.id,
                    size,
                    inodes,
                }
            })
            .collect();
        Some(entries)
    }
    fn image_files(&self, store: &Store, deleted: &BTreeSet<&ImageId>) -> BTreeSet<PathBuf> {
        let Some(content) = self.content(store) else {
            return BTreeSet::new();
        };
        let gone: HashSet<Digest> = deleted.iter().map(|id| id.0.clone()).collect();
        gc::blobs_only_reached_by(self, content.namespace, &gone)
            .iter()
            .filter(|d| content.present(d))
            .map(|d| content.blob_path(d))
            .collect()
    }
    fn image_storage_note(&self) -> Option<&'static str> {
        Some(
            "the containerd image store keeps each layer twice, compressed (its blob) and \
             unpacked (its snapshot): both are freed",
        )
    }
    fn owner_words(&self) -> &'static OwnerWords {
        if self.docker {
            &crate::advice::DOCKER_WORDS
        } else {
            &CONTAINERD_WORDS
        }
    }
    fn cleanup_command(&self, store: &Store, cleanup: &Cleanup) -> String {
        if self.docker {
            if let Cleanup::RemoveImages(ids) = cleanup {
                let names = crate::advice::tags_or_ids(store, ids);
                return format!("docker rmi {}", names.join(" "));
            }
            return crate::advice::docker_command(store, cleanup);
        }
        // A plain containerd root: containerd's own client, in the namespace read.
        let ns = &self.namespace;
        match cleanup {
            Cleanup::ImagePrune(ids) | Cleanup::RemoveImages(ids) => {
                let names: Vec<&str> = self
                    .images
                    .iter()
                    .filter(|i| ids.contains(&&ImageId(i.reach.target.clone())))
                    .flat_map(|i| i.names.iter().map(String::as_str))
                    .collect();
                format!("ctr -n {ns} images rm {}", names.join(" "))
            }
            Cleanup::ContainerPrune(containers) => {
                let ids: Vec<&str> = containers.iter().map(|c| c.id.as_str()).collect();
                format!("ctr -n {ns} containers rm {}", ids.join(" "))
            }
            // A plain containerd root has no volumes: the store lists none.
            Cleanup::RemoveVolumes { .. } => crate::advice::docker_command(store, cleanup),
        }
    }
    fn du_claims(&self, store: &Store) -> Vec<Claim> {
        claims::claims(self, store)
    }
    /// A Docker data root's other drivers' data (its graphdriver data from before the
    /// containerd image store); a plain containerd root keeps no other driver's.
    fn inactive_drivers(&self, store: &Store) -> Vec<InactiveDriver> {
        if self.docker {
            crate::usage::leftovers::graphdriver_data(store)
        } else {
            Vec::new()
        }
    }
    fn blobs(&self, store: &Store) -> Vec<Blob> {
        let Some(content) = self.content(store) else {
            return Vec::new();
        };
        content
            .namespace
            .blobs
            .values()
            .map(|b| Blob {
                path: content.blob_path(&b.digest),
                digest: b.digest.clone(),
                size: b.size,
                media_type: String::new(),
            })
            .collect()
    }
}

/// The containerd root `root` calls for, if any: `root` itself when it is a containerd root;
/// the one `--containerd-root` names; or, for a Docker data root without graphdriver image
/// metadata, the one dockerd would use. A Docker root whose containers name a snapshotter but
/// whose containerd root cannot be found is an error saying so.
pub fn detect(root: &DataRoot, opts: &LoadOptions) -> Result<Option<Located>> {
    let jail = &root.jail;
    if locate::has_meta_db(jail, &root.path) {
        return Ok(Some(Located {
            path: root.path.clone(),
            found_by: "the root is a containerd root".into(),
        }));
    }
    if let Some(path) = &opts.containerd_root {
        return Ok(Some(Located {
            path: path.clone(),
            found_by: "--containerd-root".into(),
        }));
    }
    if opts.driver.is_some() || has_graphdriver_images(root) {
        return Ok(None);
    }
    if let Some(found) = locate::for_docker(jail, &root.path, &opts.sysroot) {
        return Ok(Some(found));
    }
    match snapshotter_container(root) {
        Some(config) => Err(Error::NotADataRoot {
            path: root.path.clone(),
            reason: format!(
                "{} names a containerd snapshotter (the containerd image store), but no \
                 containerd root was found ({} or {}); give it with --containerd-root",
                config.display(),
                root.join(locate::DOCKER_MANAGED_ROOT).display(),
                locate::system_root(&opts.sysroot).display()
            ),
        }),
        None => Ok(None),
    }
}

/// True when some `image/<driver>/imagedb` exists: graphdriver metadata.
fn has_graphdriver_images(root: &DataRoot) -> bool {
    let image_dir = root.join(IMAGE_DIR);
    root.jail.read_dir(&image_dir).is_ok_and(|entries| {
        entries
            .iter()
            .any(|e| e.is_dir && root.jail.is_dir(&image_dir.join(&e.name).join("imagedb")))
    })
}

/// The config of a container recorded with the containerd image store (an `ImageManifest`),
/// if any.
fn snapshotter_container(root: &DataRoot) -> Option<PathBuf> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "ImageManifest", default)]
        image_manifest: Option<serde_json::Value>,
    }
    let dir = root.join(CONTAINERS_DIR);
    root.jail.read_dir(&dir).ok()?.into_iter().find_map(|e| {
        let path = dir.join(&e.name).join(CONTAINER_CONFIG);
        let probe: Probe = root.jail.read_json(&path).ok()?;
        probe.image_manifest.is_some().then_some(path)
    })
}

/// Reads the containerd store `found` (for the Docker data root `root`, unless `root` is the
/// containerd root itself).
pub fn load(root: &DataRoot, opts: &LoadOptions, found: Located) -> Result<Store> {
    let docker = found.path != root.path;
    let jail = root
        .jail
        .with_annex(&found.path)
        .map_err(|e| Error::io(&found.path, e))?;
    let mut problems = Vec::new();
    let meta_path = found.path.join(META_DB);
    let meta = meta::read(&jail, &meta_path, &mut problems).map_err(|p| Error::Malformed {
        path: meta_path.clone(),
        detail: p.detail,
    })?;
    let namespace = choose_namespace(&meta, root, opts, docker)?;
    let driver = Overlayfs::new(&found.path);
    let snapshot_db_path = driver.home().join(SNAPSHOTTER_DB);
    let ns = meta.namespaces.get(&namespace).cloned().unwrap_or_default();
    let snapshot_db = if jail.exists(&snapshot_db_path) {
        snapshots::read(&jail, &snapshot_db_path, &mut problems).map_err(|p| Error::Malformed {
            path: snapshot_db_path.clone(),
            detail: p.detail,
        })?
    } else if ns.snapshots.contains_key(driver.name()) {
        return Err(Error::Malformed {
            path: snapshot_db_path,
            detail: format!(
                "missing, but {} records snapshots of namespace {namespace} in it",
                meta_path.display()
            ),
        });
    } else {
        SnapshotDb::default()
    };
    unsupported_snapshotters(&ns, &meta_path, driver.name(), &mut problems)?;
    let snapshots = join_snapshots(&ns, &driver, &snapshot_db, &jail, &mut problems);
    let fallback = (
        NEWEST_KNOWN,
        VersionSource::Default("no --docker-version and no dockerd binary to ask".into()),
    );
    let version = match (&opts.docker_version, opts.detect_docker_version) {
        (Some(given), _) => VersionProbe::known(given.clone()),
        (None, Some(detect)) if docker => {
            let path = root.path.clone();
            VersionProbe::start(move || detect(&path), fallback)
        }
        (None, _) => VersionProbe::known(fallback),
    };
    let mut backend = Containerd {
        root: found,
        namespace,
        docker,
        snapshotter: driver.name().to_owned(),
        version,
        accounting: OnceLock::new(),
        images: Vec::new(),
        snapshots,
        meta,
        snapshot_db,
    };
    let content = ContentStore::new(&jail, &backend.root.path, &ns);
    backend.images = list_images(&ns, &content, &mut problems);
    let (images, layers) = graph_images(&backend);
    let mounts = mount_records(&backend, &ns);
    let mut containers = if docker {
        graph::container::load(
            &jail,
            &root.join(CONTAINERS_DIR),
            driver.name(),
            &mounts,
            &mut problems,
        )
    } else {
        plain_containers(&meta_path, &ns, &mounts, &images, &mut problems)
    };
    containers.sort_by(|a, b| a.id.cmp(&b.id));
    let volumes = if docker {
        graph::volume::load(&jail, &root.join(VOLUMES_DIR), &mut problems)
    } else {
        Vec::new()
    };
    problems.sort();
    problems.dedup();
    let detected = vec![Detected {
        name: driver.name().to_owned(),
        has_metadata: true,
        has_home: jail.is_dir(driver.home()),
        supported: true,
        pool: None,
    }];
    Ok(Store {
        backend: AnyBackend::Containerd(Box::new(backend)),
        root: root.path.clone(),
        jail,
        driver: AnyDriver::Overlayfs(driver),
        detected,
        images,
        layers,
        mounts,
        containers,
        volumes,
        problems,
    })
}

/// The namespace to read: the one asked for; under Docker `moby` (`moby-<uid>.<gid>` for a
/// userns-remap sub-root); on a plain containerd root the only one, else an error listing them.
fn choose_namespace(
    meta: &MetaDb,
    root: &DataRoot,
    opts: &LoadOptions,
    docker: bool,
) -> Result<String> {
    let names: Vec<&str> = meta.namespaces.keys().map(String::as_str).collect();
    if let Some(ns) = &opts.namespace {
        let known = meta.namespaces.contains_key(ns) || (docker && names.is_empty());
        if !known {
            return Err(Error::Lookup {
                kind: "namespace",
                name: ns.clone(),
                detail: format!(
                    "not in {} (it has: {})",
                    meta.path.display(),
                    names.join(", ")
                ),
            });
        }
        return Ok(ns.clone());
    }
    if docker {
        let remap = root
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| crate::root::is_remap_dir(n));
        return Ok(match remap {
            Some(ids) => format!("{DOCKER_NAMESPACE}-{ids}"),
            None => DOCKER_NAMESPACE.to_owned(),
        });
    }
    match names.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Ok("default".to_owned()),
        many => Err(Error::Malformed {
            path: meta.path.clone(),
            detail: format!(
                "several namespaces ({}): choose one with --namespace",
                many.join(", ")
            ),
        }),
    }
}

/// The namespace's snapshots of snapshotters strata does not read: an error when they are all
/// the namespace has, else a problem each (their bytes are not reported).
fn unsupported_snapshotters(
    ns: &Namespace,
    meta_path: &Path,
    supported: &str,
    problems: &mut Vec<Problem>,
) -> Result<()> {
    let others: Vec<(&String, usize)> = ns
        .snapshots
        .iter()
        .filter(|(name, refs)| name.as_str() != supported && !refs.is_empty())
        .map(|(name, refs)| (name, refs.len()))
        .collect();
    let has_supported = ns.snapshots.get(supported).is_some_and(|r| !r.is_empty());
    for (name, count) in &others {
        let detail = format!(
            "namespace {} keeps {count} snapshot(s) in containerd's {name} snapshotter, which \
             strata does not read yet",
            ns.name
        );
        if !has_supported {
            return Err(Error::NotADataRoot {
                path: meta_path.to_path_buf(),
                reason: detail,
            });
        }
        problems.push(Problem::new(meta_path, ProblemKind::Unreadable, detail));
    }
    Ok(())
}

/// The namespace's snapshots of the overlayfs snapshotter, each with its snapshotter record.
fn join_snapshots(
    ns: &Namespace,
    driver: &Overlayfs,
    db: &SnapshotDb,
    jail: &crate::fs::Jail,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, Snapshot> {
    let Some(refs) = ns.snapshots.get(driver.name()) else {
        return BTreeMap::new();
    };
    refs.values()
        .filter_map(|r| {
            let Some(record) = db.snapshots.get(&r.name) else {
                problems.push(Problem::new(
                    &db.path,
                    ProblemKind::DanglingReference,
                    format!(
                        "namespace {} has snapshot {} ({}), the snapshotter has no record of it",
                        ns.name, r.key, r.name
                    ),
                ));
                return None;
            };
            let id = CacheId(record.id.to_string());
            let dir = driver.layer_dir(&id);
            let fs = driver.content_dir(&id);
            if !jail.is_dir(&fs) {
                problems.push(Problem::new(
                    &fs,
                    ProblemKind::Missing,
                    format!("the files of snapshot {} are missing", r.key),
                ));
            }
            Some((
                r.key.clone(),
                Snapshot {
                    key: r.key.clone(),
                    parent: r.parent.clone(),
                    record: record.clone(),
                    dir,
                    fs,
                },
            ))
        })
        .collect()
}

/// The namespace's images, one per target digest, as dockerd's `Images` groups them.
fn list_images(
    ns: &Namespace,
    content: &ContentStore,
    problems: &mut Vec<Problem>,
) -> Vec<ListedImage> {
    let parents: Vec<String> = ns
        .images
        .values()
        .filter_map(|i| i.labels.get(names::CLASSIC_PARENT_LABEL).cloned())
        .collect();
    let mut by_target: BTreeMap<Digest, ListedImage> = BTreeMap::new();
    for record in ns.images.values() {
        let dangling = names::is_dangling(&record.name);
        let entry = by_target
            .entry(record.target.digest.clone())
            .or_insert_with(|| ListedImage {
                record: record.clone(),
                names: Vec::new(),
                tags: Vec::new(),
                reach: Reach {
                    target: record.target.digest.clone(),
                    indexes: Vec::new(),
                    manifests: Vec::new(),
                },
                intermediate: false,
            });
        entry.record = record.clone();
        entry.names.push(record.name.clone());
        if dangling {
            entry.intermediate |= parents.iter().any(|p| p == record.target.digest.as_str());
        } else {
            entry.tags.push(names::familiar(&record.name));
        }
    }
    by_target
        .into_values()
        .map(|mut img| {
            img.reach = content.reach(&img.record, problems);
            img
        })
        .collect()
}

/// The common graph's images (one per target, with the preferred platform's config) and the
/// image layers (committed snapshots keyed by chain id).
fn graph_images(b: &Containerd) -> (BTreeMap<ImageId, Image>, BTreeMap<ChainId, Layer>) {
    let mut images = BTreeMap::new();
    let mut layers = BTreeMap::new();
    for listed in &b.images {
        for m in &listed.reach.manifests {
            let Some(cfg) = &m.config else { continue };
            let mut parent: Option<ChainId> = None;
            for (chain, diff) in cfg.chain_ids.iter().zip(&cfg.diff_ids) {
                if let Some(s) = b.snapshots.get(chain.0.as_str()) {
                    layers.entry(chain.clone()).or_insert_with(|| Layer {
                        chain_id: chain.clone(),
                        diff_id: diff.clone(),
                        parent: parent.clone(),
                        cache_id: CacheId(s.record.id.to_string()),
                        size: s.record.size,
                        record: s.dir.clone(),
                    });
                }
                parent = Some(chain.clone());
            }
        }
        let Some(best) = rules::preferred_manifest(listed) else {
            continue;
        };
        let Some(cfg) = &best.config else { continue };
        let id = ImageId(listed.reach.target.clone());
        let image = Image {
            id: id.clone(),
            parent: listed
                .record
                .labels
                .get(names::CLASSIC_PARENT_LABEL)
                .and_then(|p| ImageId::parse(p)),
            repo_tags: listed.tags.clone(),
            repo_digests: names::repo_digest(&listed.record.name, &listed.reach.target)
                .into_iter()
                .collect(),
            ..cfg.clone()
        };
        images.insert(id, image);
    }
    (images, layers)
}

/// Writable-layer records: the active snapshot of each container, over its init snapshot
/// (Docker's `<id>-init`; none for a plain containerd container), over the image's top layer.
/// Under Docker a container's snapshot key is its id; a plain containerd container names its
/// own in `meta.db`.
fn mount_records(b: &Containerd, ns: &Namespace) -> BTreeMap<ContainerId, MountRecord> {
    let keys: Vec<(ContainerId, &str)> = if b.docker {
        b.snapshots
            .keys()
            .filter(|k| is_hex64(k))
            .map(|k| (ContainerId(k.clone()), k.as_str()))
            .collect()
    } else {
        ns.containers
            .values()
            .filter(|c| c.snapshotter == b.snapshotter && crate::ids::is_component(&c.id))
            .map(|c| (ContainerId(c.id.clone()), c.snapshot_key.as_str()))
            .collect()
    };
    keys.into_iter()
        .filter_map(|(id, key)| b.snapshots.get(key).map(|s| (id, s)))
        .filter(|(_, s)| s.record.kind == Kind::Active)
        .map(|(id, s)| {
            let init = s
                .parent
                .as_deref()
                .filter(|p| p.strip_suffix(INIT_SUFFIX) == Some(s.key.as_str()))
                .and_then(|p| b.snapshots.get(p));
            let top = init.map_or(s.parent.as_deref(), |i| i.parent.as_deref());
            (
                id.clone(),
                MountRecord {
                    container: id,
                    mount_id: CacheId(s.record.id.to_string()),
                    init_id: init.map(|i| CacheId(i.record.id.to_string())),
                    parent: top.and_then(ChainId::parse),
                    record: s.dir.clone(),
                },
            )
        })
        .collect()
}

/// A plain containerd root's containers, from `meta.db`.
fn plain_containers(
    meta_path: &Path,
    ns: &Namespace,
    mounts: &BTreeMap<ContainerId, MountRecord>,
    images: &BTreeMap<ImageId, Image>,
    problems: &mut Vec<Problem>,
) -> Vec<Container> {
    let targets: BTreeMap<&str, &ImageId> = ns
        .images
        .values()
        .filter_map(|r| {
            let id = ImageId(r.target.digest.clone());
            images.get_key_value(&id).map(|(k, _)| (r.name.as_str(), k))
        })
        .collect();
    ns.containers
        .values()
        .filter_map(|r| {
            let id = ContainerId(r.id.clone());
            let Some(rw) = mounts.get(&id).cloned() else {
                problems.push(Problem::new(
                    meta_path,
                    ProblemKind::DanglingReference,
                    format!(
                        "container {} in namespace {}: no active snapshot {:?} of snapshotter {}",
                        r.id, ns.name, r.snapshot_key, r.snapshotter
                    ),
                ));
                return None;
            };
            let Some(image) = targets.get(r.image.as_str()) else {
                problems.push(Problem::new(
                    meta_path,
                    ProblemKind::DanglingReference,
                    format!(
                        "container {} in namespace {}: its image {:?} is not in the namespace",
                        r.id, ns.name, r.image
                    ),
                ));
                return None;
            };
            Some(Container::from_containerd(r, (*image).clone(), rw))
        })
        .collect()
}
