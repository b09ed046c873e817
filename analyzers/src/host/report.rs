//! The host report: every store [`discover`] finds, read with the backend its files call
//! for, with its bytes, the filesystem it lives on, and what is reclaimable in it with the
//! command for it (the store's own `advise`, [`crate::advice::advise`], whose commands are its
//! owner's: `docker`, `podman`, `ctr`).
//!
//! # Counting
//!
//! Every store's directories are roots of one walk ([`crate::walk::walk`], with
//! `one_file_system`: `du -x`, so a running container's `merged/` overlay is never entered):
//! a store inside another (a userns-remap sub-root, the containerd root dockerd keeps in its
//! data root, another driver's data) is a root of its own, which the walk leaves out of the
//! outer one, and an inode with names in several stores counts once, in the first. So each
//! store's figures are `du` of its directories minus the stores nested in it, and they add up
//! to [`HostReport::total`], `du -x` of their union: no byte is counted twice.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use super::discover::{discover, Candidate, Role, StoreKind};
use super::filesystem::{Filesystem, Mounts};
use crate::advice::{self, Recommendation};
use crate::backend::containerd::locate::DOCKER_MANAGED_ROOT;
use crate::backend::Backend;
use crate::driver::Driver;
use crate::error::{Problem, ProblemKind};
use crate::forensics::orphans;
use crate::format::containerd::{meta, META_DB};
use crate::fs::Jail;
use crate::graph::{LoadOptions, Store};
use crate::graphroot::HostConfig;
use crate::root::DataRoot;
use crate::usage::du::Sizes;
use crate::walk::{self, WalkOptions};

/// The namespaces dockerd keeps in a containerd root (moby `daemon/config`
/// `DefaultContainersNamespace`, `DefaultPluginNamespace`): reported with its data root.
const DOCKER_NAMESPACES: &[&str] = &["moby", "plugins.moby"];

/// How to make the report.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// The host's files (and its sysroot).
    pub config: HostConfig,
    /// How to load each store (the owners' versions, or how to find them); the sysroot,
    /// namespace, storage.conf settings and runroot are set per store.
    pub load: LoadOptions,
    /// Walker settings (`one_file_system` is always set).
    pub walk: WalkOptions,
}

/// The account whose store it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoreOwner {
    /// The login name.
    pub user: String,
    /// The user id.
    pub uid: u32,
}

/// One namespace of a containerd root.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NamespaceEntry {
    /// The namespace.
    pub name: String,
    /// Image records.
    pub images: usize,
    /// Container records.
    pub containers: usize,
    /// Snapshot records, every snapshotter's.
    pub snapshots: usize,
    /// Content blob records.
    pub blobs: usize,
    /// The Docker data root whose namespace it is (its images, containers and what is
    /// reclaimable of them are reported with that root), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_root: Option<String>,
    /// Bytes the recommendations free together, each byte once.
    pub reclaimable_bytes: u64,
    /// What to run to free them (`ctr`'s commands).
    pub recommendations: Vec<Recommendation>,
    /// Why the namespace could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One store.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoreEntry {
    /// What kind of store.
    pub kind: StoreKind,
    /// Why it is there.
    pub role: Role,
    /// Its root directory.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// Whose it is.
    pub owner: StoreOwner,
    /// The storage driver read (`overlay2`, `overlayfs`, `overlay`...; empty when unread).
    pub driver: String,
    /// The backend that read it (`moby`, `containerd`, `containers-storage`; empty when
    /// unread).
    pub backend: String,
    /// The directories counted as this store's.
    #[serde(flatten, serialize_with = "crate::text::json::dirs")]
    pub dirs: Vec<PathBuf>,
    /// The outermost stores inside those directories, left out of this one's figures (each
    /// is an entry of its own).
    #[serde(flatten, serialize_with = "crate::text::json::nested")]
    pub nested: Vec<PathBuf>,
    /// Its bytes: its directories minus the nested stores.
    pub sizes: Sizes,
    /// The device of the filesystem it lives on (see [`HostReport::filesystems`]).
    pub filesystem: String,
    /// Images read.
    pub images: usize,
    /// Containers read.
    pub containers: usize,
    /// Volumes read.
    pub volumes: usize,
    /// A containerd root's namespaces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<NamespaceEntry>,
    /// Bytes the recommendations free together, each byte once (for a containerd root, its
    /// namespaces' added up).
    pub reclaimable_bytes: u64,
    /// What to run to free them.
    pub recommendations: Vec<Recommendation>,
    /// Why the store could not be read, if it could not (its bytes are counted all the same).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What the walk did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostScan {
    /// Roots walked (every store's directories).
    pub roots: usize,
    /// Directories walked.
    pub dirs: u64,
    /// Directories on other filesystems left out (`du -x`).
    pub skipped_mounts: u64,
    /// Wall time of the walk, milliseconds.
    pub walk_millis: u64,
}

/// `strata host`'s report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostReport {
    /// Where the host's files were read (`/`, or `--sysroot`).
    #[serde(flatten, serialize_with = "crate::text::json::sysroot")]
    pub sysroot: PathBuf,
    /// Every store, each once.
    pub stores: Vec<StoreEntry>,
    /// The filesystems they live on.
    pub filesystems: Vec<Filesystem>,
    /// Every store's bytes together: `du -x` of their union (the stores' sizes add up to it).
    pub total: Sizes,
    /// The stores' reclaimable bytes added up.
    pub reclaimable_bytes: u64,
    /// What was damaged or could not be read, in every store and in the host's files.
    pub problems: Vec<Problem>,
    /// What the walk did.
    pub scan: HostScan,
}

/// Finds, reads and measures every store of the host `opts` describes.
pub fn report(opts: &HostOptions) -> HostReport {
    let found = discover(&opts.config);
    let mut problems = found.problems;
    let walk = WalkOptions {
        one_file_system: true,
        ..opts.walk.clone()
    };
    // Docker roots and graphroots first: a dockerd's containerd root is known once its data
    // root is read.
    let mut read: Vec<Option<Vec<StoreEntry>>> = vec![None; found.candidates.len()];
    let mut docker_of: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for (i, c) in found.candidates.iter().enumerate() {
        if c.kind == StoreKind::Containerd {
            if c.role == Role::DockerContainerd {
                if let Some(data_root) = docker_root_of_own(&c.path) {
                    docker_of.insert(c.path.clone(), data_root);
                }
            }
            continue;
        }
        let (entries, used) = read_store(c, opts, &walk, &mut problems);
        if let Some(containerd_root) = used {
            docker_of
                .entry(containerd_root)
                .or_insert_with(|| c.path.clone());
        }
        read[i] = Some(entries);
    }
    for (i, c) in found.candidates.iter().enumerate() {
        if c.kind == StoreKind::Containerd {
            let docker = docker_of.get(&c.path).map(PathBuf::as_path);
            read[i] = Some(vec![read_containerd(c, docker, opts, &walk, &mut problems)]);
        }
    }
    let mut stores: Vec<StoreEntry> = read.into_iter().flatten().flatten().collect();
    let started = Instant::now();
    let (total, scan) = measure(&mut stores, &walk, &mut problems);
    let scan = HostScan {
        walk_millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        ..scan
    };
    let filesystems = locate_filesystems(&mut stores, &mut problems);
    problems.sort();
    problems.dedup();
    HostReport {
        sysroot: opts.config.sysroot.dir().to_path_buf(),
        reclaimable_bytes: stores.iter().map(|s| s.reclaimable_bytes).sum(),
        stores,
        filesystems,
        total,
        problems,
        scan,
    }
}

/// The data root of dockerd's own containerd root `path` (`<data-root>/containerd/daemon`).
fn docker_root_of_own(path: &Path) -> Option<PathBuf> {
    let depth = Path::new(DOCKER_MANAGED_ROOT).components().count();
    path.ancestors().nth(depth).map(Path::to_path_buf)
}

/// An entry for `c` before it is read or measured.
fn entry_of(c: &Candidate) -> StoreEntry {
    StoreEntry {
        kind: c.kind,
        role: c.role,
        path: c.path.clone(),
        owner: StoreOwner {
            user: c.owner.name.clone(),
            uid: c.owner.uid,
        },
        driver: String::new(),
        backend: String::new(),
        dirs: vec![c.path.clone()],
        nested: Vec::new(),
        sizes: Sizes::default(),
        filesystem: String::new(),
        images: 0,
        containers: 0,
        volumes: 0,
        namespaces: Vec::new(),
        reclaimable_bytes: 0,
        recommendations: Vec::new(),
        error: None,
    }
}

/// How to load the store of `c`: the caller's options on the host's sysroot, with what the
/// host's configuration says of a graphroot.
fn load_options(c: &Candidate, opts: &HostOptions) -> LoadOptions {
    LoadOptions {
        sysroot: opts.config.sysroot.clone(),
        storage_conf: c.graphroot.as_ref().map(|g| g.settings.clone()),
        runroot: c
            .graphroot
            .as_ref()
            .and_then(crate::graphroot::Graphroot::runroot),
        ..opts.load.clone()
    }
}

/// Reads the Docker root or graphroot of `c`: its entry, then one per other driver's data in
/// it (with the recommendation that frees it); and the containerd root its figures come from,
/// when that is one.
fn read_store(
    c: &Candidate,
    opts: &HostOptions,
    walk: &WalkOptions,
    problems: &mut Vec<Problem>,
) -> (Vec<StoreEntry>, Option<PathBuf>) {
    let mut entry = entry_of(c);
    let loaded = DataRoot::open(&c.path)
        .and_then(|root| Store::load(&root, &load_options(c, opts)).map(|s| (root, s)));
    let (root, store) = match loaded {
        Ok(found) => found,
        Err(e) => {
            entry.error = Some(e.to_string());
            return (vec![entry], None);
        }
    };
    entry.driver = store.driver.name().to_owned();
    entry.backend = store.backend.name().to_owned();
    entry.images = store.images.len();
    entry.containers = store.containers.len();
    entry.volumes = store.volumes.len();
    let mut recommendations = advise(&store, walk, problems, &root.remapped);
    let mut out = Vec::new();
    for other in store.backend.inactive_drivers(&store) {
        let mut sub = entry_of(c);
        sub.role = Role::InactiveDriver;
        // Named by its home (a directory of the root), not its image metadata.
        let home = other.paths.iter().find(|p| p.parent() == Some(&c.path));
        sub.path.clone_from(home.unwrap_or(&other.paths[0]));
        sub.driver.clone_from(&other.name);
        sub.dirs.clone_from(&other.paths);
        let (frees, kept) = recommendations
            .into_iter()
            .partition(|r| r.paths == other.paths);
        sub.recommendations = frees;
        recommendations = kept;
        out.push(sub);
    }
    entry.recommendations = recommendations;
    out.insert(0, entry);
    let lists: Vec<&[Recommendation]> = out.iter().map(|e| e.recommendations.as_slice()).collect();
    let freed = freed_together(&store, &lists, walk);
    for (e, bytes) in out.iter_mut().zip(freed) {
        e.reclaimable_bytes = bytes;
    }
    let used = store
        .backend
        .accounting()
        .map(|a| a.containerd_root.clone());
    (out, used)
}

/// What running every recommendation of each list frees: the list's paths together, each
/// byte once (an `image prune` and the `rmi` of the same dangling image free it once), all
/// lists from one walk.
fn freed_together(store: &Store, lists: &[&[Recommendation]], walk: &WalkOptions) -> Vec<u64> {
    let groups: Vec<Vec<PathBuf>> = lists
        .iter()
        .map(|recs| recs.iter().flat_map(|r| r.paths.iter().cloned()).collect())
        .collect();
    walk::freed_by(&store.jail, &groups, walk)
}

/// `advise` on `store` (its leftovers found first); its problems go to `problems`, but for the
/// notices of the sub-roots `reported` (entries of their own here).
fn advise(
    store: &Store,
    walk: &WalkOptions,
    problems: &mut Vec<Problem>,
    reported: &[PathBuf],
) -> Vec<Recommendation> {
    let leftovers = orphans::find(store, walk);
    let report = advice::advise(store, &leftovers, walk);
    problems.extend(
        report
            .problems
            .into_iter()
            .filter(|p| !(p.kind == ProblemKind::NotRead && reported.contains(&p.path))),
    );
    report.recommendations
}

/// Reads the containerd root of `c` (the one `docker`, a data root, uses, if any): one entry
/// with its namespaces, each read on its own but Docker's.
fn read_containerd(
    c: &Candidate,
    docker: Option<&Path>,
    opts: &HostOptions,
    walk: &WalkOptions,
    problems: &mut Vec<Problem>,
) -> StoreEntry {
    let mut entry = entry_of(c);
    entry.backend = "containerd".to_owned();
    let root = match DataRoot::open(&c.path) {
        Ok(root) => root,
        Err(e) => {
            entry.error = Some(e.to_string());
            return entry;
        }
    };
    let db = match meta::read(&root.jail, &c.path.join(META_DB), problems) {
        Ok(db) => db,
        Err(p) => {
            entry.error = Some(p.to_string());
            problems.push(p);
            return entry;
        }
    };
    for (name, ns) in &db.namespaces {
        let mut n = NamespaceEntry {
            name: name.clone(),
            images: ns.images.len(),
            containers: ns.containers.len(),
            snapshots: ns.snapshots.values().map(BTreeMap::len).sum(),
            blobs: ns.blobs.len(),
            docker_root: None,
            reclaimable_bytes: 0,
            recommendations: Vec::new(),
            error: None,
        };
        if let Some(data_root) = docker.filter(|_| DOCKER_NAMESPACES.contains(&name.as_str())) {
            n.docker_root = Some(data_root.display().to_string());
            entry.namespaces.push(n);
            continue;
        }
        let load = LoadOptions {
            namespace: Some(name.clone()),
            ..load_options(c, opts)
        };
        match Store::load(&root, &load) {
            Ok(store) => {
                entry.driver = store.driver.name().to_owned();
                n.recommendations = advise(&store, walk, problems, &root.remapped);
                n.reclaimable_bytes = freed_together(&store, &[&n.recommendations], walk)
                    .first()
                    .copied()
                    .unwrap_or(0);
            }
            Err(e) => n.error = Some(e.to_string()),
        }
        entry.reclaimable_bytes += n.reclaimable_bytes;
        entry.namespaces.push(n);
    }
    entry
}

/// Walks every store's directories in one pass and gives each store its share; fills in each
/// store's nested stores; returns the total and what the walk did.
fn measure(
    stores: &mut [StoreEntry],
    walk: &WalkOptions,
    problems: &mut Vec<Problem>,
) -> (Sizes, HostScan) {
    let roots: Vec<PathBuf> = stores
        .iter()
        .flat_map(|s| s.dirs.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for s in stores.iter_mut() {
        let inside: Vec<&PathBuf> = roots
            .iter()
            .filter(|r| !s.dirs.contains(r) && s.dirs.iter().any(|d| r.starts_with(d)))
            .collect();
        // The outermost ones: a store nested in a nested store is that one's.
        s.nested = inside
            .iter()
            .filter(|r| !inside.iter().any(|o| o != *r && r.starts_with(o)))
            .map(|r| (*r).clone())
            .collect();
    }
    let Some(jail) = union_jail(&roots, problems) else {
        return (Sizes::default(), HostScan::default());
    };
    let walked = walk::walk(&jail, &roots, walk);
    let mut scan = HostScan {
        roots: roots.len(),
        ..HostScan::default()
    };
    let mut by_root: BTreeMap<&Path, Sizes> = BTreeMap::new();
    for (root, usage) in roots.iter().zip(&walked.owned) {
        scan.dirs += usage.dirs;
        scan.skipped_mounts += usage.skipped_mounts;
        for e in &usage.errors {
            problems.push(e.problem());
        }
        by_root.insert(root, Sizes::of(usage));
    }
    let mut total = Sizes::default();
    for s in stores.iter_mut() {
        s.sizes = s
            .dirs
            .iter()
            .filter_map(|d| by_root.get(d.as_path()))
            .fold(Sizes::default(), |t, u| t.plus(*u));
        total = total.plus(s.sizes);
    }
    (total, scan)
}

/// One jail holding every root (each resolved beneath a directory fd of its own, as its
/// store's jail resolves it); roots that cannot be opened are problems (and the walk says
/// so again for each).
fn union_jail(roots: &[PathBuf], problems: &mut Vec<Problem>) -> Option<Jail> {
    let mut jail: Option<Jail> = None;
    for root in roots {
        let next = match &jail {
            None => Jail::open(root),
            Some(j) => j.with_annex(root),
        };
        match next {
            Ok(j) => jail = Some(j),
            Err(e) => problems.push(crate::fs::io_problem(root, &e)),
        }
    }
    jail
}

/// The filesystem of each store's root, each filesystem once.
fn locate_filesystems(stores: &mut [StoreEntry], problems: &mut Vec<Problem>) -> Vec<Filesystem> {
    let mounts = Mounts::read();
    let mut by_dev: BTreeMap<u64, Filesystem> = BTreeMap::new();
    for s in stores.iter_mut() {
        let located = Jail::open(&s.path).and_then(|jail| mounts.of(&jail, &s.path));
        match located {
            Ok((dev, fs)) => {
                s.filesystem.clone_from(&fs.device);
                by_dev.entry(dev).or_insert(fs);
            }
            Err(e) => problems.push(crate::fs::io_problem(&s.path, &e)),
        }
    }
    by_dev.into_values().collect()
}
