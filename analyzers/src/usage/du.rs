//! `strata du`: every byte under the data root attributed to exactly one owner.
//!
//! The owners come from the metadata graph, before any walking: each image layer's driver
//! directory (by chain id), each container's writable and init layers, its logs and its other
//! files, each volume, BuildKit's state and snapshot directories, the image metadata, the
//! driver's `l/` links and `work/` directories, `tmp/`, dockerd's own bookkeeping, the data of
//! other storage drivers (their homes and their `image/<driver>/`: [`crate::usage::leftovers`]),
//! userns-remap sub-roots (each a data root of its own), and, named one by one, what strata
//! cannot attribute (including leaked layer directories no record references). What only the store's backend knows the
//! owner of it claims first ([`Claim`], [`crate::backend::Backend::du_claims`]): containerd's
//! blobs and databases; containers/storage's image big data, tar-splits, records and locks,
//! and libpod's database. Each owner's directories become roots of
//! one parallel walk ([`crate::walk::walk`]); a root inside another is left out of the outer
//! one, and an inode with names under several owners counts once, for the first. So the
//! owners add up exactly to the walk's total, which is what `du -sb --apparent-size` and
//! `du -sB1` print for the root.
//!
//! The same walk also measures the trees `docker system df` needs (overlay2 writable layers'
//! `diff/`, volumes' `_data`, as roots of their own), and [`DuReport::df`] is computed from
//! them without walking again.

use crate::format::mountinfo;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::backend::Backend;
use crate::buildcache;
use crate::driver::Driver;
use crate::error::{Problem, ProblemKind};
use crate::graph::Store;
use crate::ids::CacheId;
use crate::layout::{BUILDKIT_DIR, CONTAINERS_DIR, IMAGE_DIR, VOLUMES_DIR, VOLUME_DATA};
use crate::root::DRIVER_HOMES;
use crate::usage::df::{self, DfOptions, DfReport};
use crate::walk::{self, TreeUsage, WalkOptions};

/// `tmp/`: dockerd's scratch space.
const TMP_DIR: &str = "tmp";
/// dockerd's own state directories and files at the top of the data root.
const DAEMON_ENTRIES: &[&str] = &[
    "network",
    "plugins",
    "swarm",
    "runtimes",
    "trust",
    "containerd",
    "engine-id",
    // The containerd image store's mountpoints of running containers (`rootfs/<snapshotter>/<id>`).
    "rootfs",
];
/// Suffix of a container's json-file log (rotated logs add `.1`, `.2`...).
const LOG_SUFFIX: &str = "-json.log";

/// What an owner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OwnerKind {
    /// A read-only image layer's driver directory (id: chain id).
    ImageLayer,
    /// An image's content blobs in a containerd content store (id: the image that uses it
    /// first; each blob once).
    ImageContent,
    /// An image's own files in a containers/storage image store, `<driver>-images/<id>/`:
    /// its config, manifests and signatures (its "big data"; id: image id).
    ImageBigData,
    /// A container's writable and init layers (id: container id).
    ContainerLayer,
    /// A container's json-file logs, rotated ones included (id: container id).
    ContainerLog,
    /// A container's other files: config, hostconfig, hosts, resolv.conf... (id: container id).
    ContainerMeta,
    /// A local volume (id: its name).
    Volume,
    /// BuildKit: `buildkit/` and the driver directories of its snapshots.
    BuildCache,
    /// `image/<driver>/`: image configs, layer records, references.
    ImageMetadata,
    /// The driver's `l/` directory of short links.
    LayerLinks,
    /// The driver's per-layer `work/` directories (overlayfs scratch).
    LayerWork,
    /// `tmp/`.
    Tmp,
    /// A driver directory that no layer, container or build cache record references.
    LeakedLayer,
    /// dockerd's own state (`network/`, `plugins/`, `volumes/metadata.db`...), the
    /// bookkeeping of containers/storage and podman (locks, `mounts/`, `secrets/`,
    /// `overlay/.has-mount-program`, `containers.json`...), and the directories of the layout
    /// itself.
    Daemon,
    /// libpod's database (`libpod/bolt_state.db` or `db.sql`): podman's records of its
    /// containers, pods, volumes and networks.
    LibpodState,
    /// Another storage driver's data, left by a driver switch: its home and its image
    /// metadata (id: the driver; nothing the owner runs reads it).
    OtherDriver,
    /// A userns-remap sub-root, `<uid>.<gid>/`: a data root of its own (id: its name).
    RemappedRoot,
    /// A storage pool's backing file (devicemapper's sparse loop files, id: its path): the
    /// layers' files are inside it, not walked; its allocated bytes are what the pool takes.
    StoragePool,
    /// Anything else, named.
    Unknown,
}

impl OwnerKind {
    /// A short human name.
    pub fn label(self) -> &'static str {
        match self {
            OwnerKind::ImageLayer => "image layers",
            OwnerKind::ImageContent => "image content (blobs)",
            OwnerKind::ImageBigData => "image big data (config, manifests)",
            OwnerKind::ContainerLayer => "container layers",
            OwnerKind::ContainerLog => "container logs",
            OwnerKind::ContainerMeta => "container metadata",
            OwnerKind::Volume => "volumes",
            OwnerKind::BuildCache => "build cache",
            OwnerKind::ImageMetadata => "image metadata",
            OwnerKind::LayerLinks => "layer links (l/)",
            OwnerKind::LayerWork => "layer work dirs",
            OwnerKind::Tmp => "tmp",
            OwnerKind::LeakedLayer => "leaked layer dirs",
            OwnerKind::Daemon => "daemon state",
            OwnerKind::LibpodState => "libpod state",
            OwnerKind::OtherDriver => "other drivers",
            OwnerKind::RemappedRoot => "userns-remap sub-roots",
            OwnerKind::StoragePool => "storage pool (loop files)",
            OwnerKind::Unknown => "unknown",
        }
    }
}

/// Bytes and entries of one owner (or of the whole root).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sizes {
    /// Apparent bytes (`du --apparent-size`), every inode once.
    pub apparent: u64,
    /// Allocated bytes (`du`), every inode once.
    pub allocated: u64,
    /// Entries (files, directories, links...), every inode once.
    pub entries: u64,
    /// Apparent bytes that further names of already counted inodes would have added.
    pub hardlink_saved: u64,
}

impl Sizes {
    /// The sizes of one walked tree.
    pub fn of(u: &TreeUsage) -> Sizes {
        let mut s = Sizes::default();
        s.add(u);
        s
    }

    fn add(&mut self, u: &TreeUsage) {
        self.apparent += u.apparent();
        self.allocated += u.allocated;
        self.entries += u.entries;
        self.hardlink_saved += u.hardlink_saved;
    }

    /// The sum of `self` and `other`.
    #[must_use]
    pub fn plus(mut self, other: Sizes) -> Sizes {
        self.apparent += other.apparent;
        self.allocated += other.allocated;
        self.entries += other.entries;
        self.hardlink_saved += other.hardlink_saved;
        self
    }
}

/// One owner of bytes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Owner {
    /// What it is.
    pub kind: OwnerKind,
    /// Its identity: a chain id, container id, volume name, or a path under the root.
    pub id: String,
    /// A human name: image tags, container name, volume name, the path.
    pub name: String,
    /// Who uses it: the images of a layer, the containers of a volume.
    pub used_by: Vec<String>,
    /// A note: `dangling`, `anonymous`, `running`...
    pub note: String,
    /// Its paths, relative to the root.
    #[serde(flatten, serialize_with = "crate::text::json::paths")]
    pub paths: Vec<PathBuf>,
    /// Its bytes.
    pub sizes: Sizes,
}

/// One kind's total.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KindTotal {
    /// The kind.
    pub kind: OwnerKind,
    /// How many owners of that kind.
    pub owners: usize,
    /// Their bytes.
    pub sizes: Sizes,
}

/// An image and its layers, for the per-image view.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageLayers {
    /// Image id.
    pub id: String,
    /// Its tags (empty for a dangling image).
    pub tags: Vec<String>,
    /// Its layers' chain ids, bottom-up (owners of kind [`OwnerKind::ImageLayer`]).
    pub layers: Vec<String>,
}

/// What the walk did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DuScan {
    /// Roots walked.
    pub roots: usize,
    /// Directories walked.
    pub dirs: u64,
    /// Wall time, milliseconds.
    pub walk_millis: u64,
    /// Directories on other filesystems left out (with one-file-system).
    pub skipped_mounts: u64,
    /// Entries that could not be read (each is also a problem).
    pub unreadable: usize,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DuReport {
    /// The data root.
    #[serde(flatten, serialize_with = "crate::text::json::root")]
    pub root: PathBuf,
    /// The storage driver read.
    pub driver: String,
    /// Everything under the root: the sum of all owners.
    pub total: Sizes,
    /// Per kind, largest first.
    pub kinds: Vec<KindTotal>,
    /// Every owner, largest (allocated) first.
    pub owners: Vec<Owner>,
    /// Images and their layers.
    pub images: Vec<ImageLayers>,
    /// `docker system df -v`, from the same walk.
    pub df: DfReport,
    /// True when the driver's layers share extents (btrfs snapshots): `Allocated` figures
    /// then count a shared extent once per layer holding it, as GNU `du` does, and add up to
    /// more than the disk gives the store (`btrfs filesystem du` tells exclusive from shared);
    /// `Apparent` is what dockerd counts either way.
    pub shared_extents: bool,
    /// What was damaged, or could not be read.
    pub problems: Vec<Problem>,
    /// What the walk did.
    pub scan: DuScan,
}

/// How to compute the report.
#[derive(Debug, Clone, Default)]
pub struct DuOptions {
    /// Walker settings (`one_file_system` is `du -x`).
    pub walk: WalkOptions,
}

/// Where each walked root's bytes go.
struct Plan {
    /// Paths the backend gave an owner ([`Claim`]), with the owner: the generic planning
    /// leaves them to it.
    claimed: HashMap<PathBuf, usize>,
    /// Owners that several parts of the plan may name (a claim and the driver's directory of
    /// one layer), by kind and id.
    shared: HashMap<(OwnerKind, String), usize>,
    roots: Vec<PathBuf>,
    /// `owner_of[i]`: index into `owners` of `roots[i]`.
    owner_of: Vec<usize>,
    owners: Vec<Owner>,
    problems: Vec<Problem>,
}

impl Plan {
    fn new() -> Plan {
        Plan {
            claimed: HashMap::new(),
            shared: HashMap::new(),
            roots: Vec::new(),
            owner_of: Vec::new(),
            owners: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Adds an owner and returns its index.
    fn owner(&mut self, kind: OwnerKind, id: impl Into<String>, name: impl Into<String>) -> usize {
        self.owners.push(Owner {
            kind,
            id: id.into(),
            name: name.into(),
            used_by: Vec::new(),
            note: String::new(),
            paths: Vec::new(),
            sizes: Sizes::default(),
        });
        self.owners.len() - 1
    }

    /// The owner of kind `kind` and id `id`, added (named `name`) the first time it is asked
    /// for: the one owner of everything given to that kind and id.
    fn shared(&mut self, kind: OwnerKind, id: &str, name: &str) -> usize {
        if let Some(&o) = self.shared.get(&(kind, id.to_owned())) {
            return o;
        }
        let o = self.owner(kind, id, name);
        self.shared.insert((kind, id.to_owned()), o);
        o
    }

    /// Gives `path` (and what is under it, minus nested roots) to `owner`.
    fn root(&mut self, owner: usize, path: PathBuf) {
        self.roots.push(path);
        self.owner_of.push(owner);
    }

    /// With one-file-system, leaves out the roots that are mount points themselves (a zfs
    /// layer's dataset on `zfs/graph/<id>`): `du -x` of the data root does not enter them,
    /// nor counts them. A root on a device of its own that the host's mount table does not
    /// list is no mount (a btrfs subvolume: each has its own device number) and stays. Returns
    /// how many were left out.
    fn drop_mount_points(&mut self, jail: &crate::fs::Jail, data_root: &Path) -> u64 {
        let table = mountinfo::read_own().ok().map(|mounts| {
            mounts
                .into_iter()
                .map(|m| m.mount_point)
                .collect::<HashSet<PathBuf>>()
        });
        let mounted = |root: &Path| {
            let parent = root.parent().filter(|_| root != data_root);
            let listed = table.as_ref().is_none_or(|points| points.contains(root));
            match (jail.stat(root), parent.map(|p| jail.stat(p))) {
                (Ok(st), Some(Ok(up))) => st.st_dev != up.st_dev && listed,
                _ => false,
            }
        };
        let before = self.roots.len();
        let (roots, owner_of): (Vec<PathBuf>, Vec<usize>) = std::mem::take(&mut self.roots)
            .into_iter()
            .zip(std::mem::take(&mut self.owner_of))
            .filter(|(root, _)| !mounted(root))
            .unzip();
        self.roots = roots;
        self.owner_of = owner_of;
        (before - self.roots.len()) as u64
    }

    /// A new owner that holds one path.
    fn single(&mut self, kind: OwnerKind, id: &str, name: &str, path: PathBuf) -> usize {
        let o = self.owner(kind, id, name);
        self.root(o, path);
        o
    }
}

/// Computes the report for `store`.
pub fn compute(store: &Store, opts: &DuOptions) -> DuReport {
    let mut plan = plan(store);
    let skipped_roots = if opts.walk.one_file_system {
        plan.drop_mount_points(&store.jail, &store.root)
    } else {
        0
    };
    let started = Instant::now();
    let walked = walk::walk(&store.jail, &plan.roots, &opts.walk);
    let walk_millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut scan = DuScan {
        roots: plan.roots.len(),
        walk_millis,
        skipped_mounts: skipped_roots,
        ..DuScan::default()
    };
    for (i, usage) in walked.owned.iter().enumerate() {
        let owner = &mut plan.owners[plan.owner_of[i]];
        owner.sizes.add(usage);
        scan.dirs += usage.dirs;
        scan.skipped_mounts += usage.skipped_mounts;
        scan.unreadable += usage.errors.len();
        let rel = plan.roots[i]
            .strip_prefix(&store.root)
            .unwrap_or(&plan.roots[i])
            .to_path_buf();
        if !owner.paths.contains(&rel) && !usage.root_failed() {
            owner.paths.push(rel);
        }
    }
    // df's trees are roots of this walk: reuse their per-root figures.
    let by_root: HashMap<&Path, &TreeUsage> = plan
        .roots
        .iter()
        .map(PathBuf::as_path)
        .zip(walked.per_root.iter())
        .collect();
    let trees: HashMap<PathBuf, TreeUsage> = df::tree_roots(store)
        .into_iter()
        .map(|r| {
            let usage = by_root.get(r.as_path()).map_or_else(
                || walk::measure(&store.jail, std::slice::from_ref(&r), &opts.walk).remove(0),
                |u| (*u).clone(),
            );
            (r, usage)
        })
        .collect();
    let df = df::compute_from_trees(
        store,
        &DfOptions {
            walk: opts.walk.clone(),
            now: None,
        },
        trees,
        started,
    );
    let mut problems = plan.problems;
    problems.extend(df.problems.iter().cloned());
    for usage in &walked.owned {
        for e in &usage.errors {
            problems.push(e.problem());
        }
    }
    problems.sort();
    problems.dedup();
    let mut owners: Vec<Owner> = plan
        .owners
        .into_iter()
        .filter(|o| !o.paths.is_empty() || o.sizes != Sizes::default())
        .collect();
    owners.sort_by(|a, b| {
        b.sizes
            .allocated
            .cmp(&a.sizes.allocated)
            .then_with(|| b.sizes.apparent.cmp(&a.sizes.apparent))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.id.cmp(&b.id))
    });
    let total = owners.iter().fold(Sizes::default(), |t, o| t.plus(o.sizes));
    DuReport {
        root: store.root.clone(),
        driver: store.driver.name().to_owned(),
        total,
        kinds: kind_totals(&owners),
        images: store
            .images
            .values()
            .map(|img| ImageLayers {
                id: img.id.to_string(),
                tags: img.repo_tags.clone(),
                layers: img.chain_ids.iter().map(ToString::to_string).collect(),
            })
            .collect(),
        owners,
        df,
        shared_extents: store.driver.shares_extents(),
        problems,
        scan,
    }
}

fn kind_totals(owners: &[Owner]) -> Vec<KindTotal> {
    let mut by_kind: BTreeMap<OwnerKind, KindTotal> = BTreeMap::new();
    for o in owners {
        let t = by_kind.entry(o.kind).or_insert(KindTotal {
            kind: o.kind,
            owners: 0,
            sizes: Sizes::default(),
        });
        t.owners += 1;
        t.sizes = t.sizes.plus(o.sizes);
    }
    let mut kinds: Vec<KindTotal> = by_kind.into_values().collect();
    kinds.sort_by(|a, b| {
        b.sizes
            .allocated
            .cmp(&a.sizes.allocated)
            .then(a.kind.cmp(&b.kind))
    });
    kinds
}

/// A part of the store its backend knows the owner of (a containerd root's blobs, snapshots,
/// databases), given to that owner before the rest of the root is planned.
#[derive(Debug, Clone)]
pub struct Claim {
    /// What owns it.
    pub kind: OwnerKind,
    /// The owner's id: claims of one kind and id have one owner, the same one the common
    /// plan gives that kind and id (an image layer's driver directory, a container's writable
    /// layer).
    pub id: String,
    /// The owner's name.
    pub name: String,
    /// Images using it.
    pub used_by: Vec<String>,
    /// Why, where the kind alone does not say.
    pub note: String,
    /// The file or directory.
    pub path: PathBuf,
}

impl Claim {
    /// A claim of `path` for the owner `kind`/`id` named `name`, used by no image, without a
    /// note.
    pub fn new(kind: OwnerKind, id: &str, name: &str, path: PathBuf) -> Claim {
        Claim {
            kind,
            id: id.to_owned(),
            name: name.to_owned(),
            used_by: Vec::new(),
            note: String::new(),
            path,
        }
    }

    /// The claim with `note`.
    #[must_use]
    pub fn with_note(mut self, note: &str) -> Claim {
        note.clone_into(&mut self.note);
        self
    }
}

/// Decides, from metadata and directory listings only, who owns each part of the root.
fn plan(store: &Store) -> Plan {
    let mut plan = Plan::new();
    let root = &store.root;
    let layout = plan.owner(OwnerKind::Daemon, ".", "layout directories");
    plan.root(layout, root.clone());
    for claim in store.backend.du_claims(store) {
        let o = plan.shared(claim.kind, &claim.id, &claim.name);
        if !claim.used_by.is_empty() {
            plan.owners[o].used_by = claim.used_by;
        }
        if !claim.note.is_empty() {
            plan.owners[o].note = claim.note;
        }
        plan.claimed.insert(claim.path.clone(), o);
        plan.root(o, claim.path);
    }
    plan_driver_files(store, &mut plan);
    let others = plan_other_drivers(store, &mut plan);
    let subroots = crate::root::remapped(&store.jail, root);
    let home_name = store
        .driver
        .home()
        .strip_prefix(root)
        .ok()
        .and_then(|p| p.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .unwrap_or_default();
    for entry in store.jail.read_dir(root).unwrap_or_default() {
        let name = entry.name.to_string_lossy().into_owned();
        let path = root.join(&entry.name);
        if plan.claimed.contains_key(&path) || others.contains(&path) {
            continue;
        }
        if subroots.contains(&path) {
            let o = plan.single(OwnerKind::RemappedRoot, &name, &name, path.clone());
            plan.owners[o].note = format!("a data root of its own: --root {}", path.display());
            continue;
        }
        match name.as_str() {
            n if n == home_name => plan_driver_home(store, &mut plan),
            IMAGE_DIR => {
                plan.single(OwnerKind::ImageMetadata, "image/", "image metadata", path);
            }
            CONTAINERS_DIR => plan_containers(store, &mut plan, &path),
            VOLUMES_DIR => plan_volumes(store, &mut plan, &path),
            BUILDKIT_DIR => {
                plan.single(OwnerKind::BuildCache, "buildkit/", "BuildKit state", path);
            }
            TMP_DIR => {
                plan.single(OwnerKind::Tmp, "tmp/", "tmp", path);
            }
            n if DAEMON_ENTRIES.contains(&n) => {
                plan.single(OwnerKind::Daemon, n, n, path);
            }
            n if DRIVER_HOMES.contains(&n) => {
                plan.single(OwnerKind::OtherDriver, n, n, path);
            }
            n => {
                plan.single(OwnerKind::Unknown, n, n, path);
            }
        }
    }
    if home_name.is_empty() {
        // The driver's home is in another root of the store (a containerd root elsewhere).
        plan_driver_home(store, &mut plan);
    }
    plan
}

/// Every directory of the drivers other than the store's to that driver's one owner (nested
/// ones, `image/<driver>/`, are left out of `image/` by the walk); returns them.
fn plan_other_drivers(store: &Store, plan: &mut Plan) -> BTreeSet<PathBuf> {
    let mut planned = BTreeSet::new();
    for d in store.backend.inactive_drivers(store) {
        let o = plan.shared(OwnerKind::OtherDriver, &d.name, &d.name);
        plan.owners[o].note = format!(
            "not the driver read ({}): nothing {} runs reads it",
            store.driver.name(),
            store.backend.owner_words().owner
        );
        for path in d.paths {
            if !plan.claimed.contains_key(&path) && planned.insert(path.clone()) {
                plan.root(o, path);
            }
        }
    }
    planned
}

/// The driver's own files ([`crate::driver::Driver::own_files`]: bookkeeping, never leaked
/// layers) and its pool's backing files, claimed before the driver's home is planned. A pool
/// that is not under the data root (zfs datasets, a thin pool on a block device) is a problem:
/// its bytes are not in these figures.
fn plan_driver_files(store: &Store, plan: &mut Plan) {
    let driver = &store.driver;
    let name = format!("{} bookkeeping", driver.name());
    for path in driver.own_files() {
        if store.jail.exists(&path) {
            let o = plan.shared(OwnerKind::Daemon, "driver-bookkeeping", &name);
            plan.claimed.insert(path.clone(), o);
            plan.root(o, path);
        }
    }
    let Some(pool) = driver.pool(&store.jail) else {
        return;
    };
    if pool.files.is_empty() {
        plan.problems.push(Problem::new(
            driver.home(),
            ProblemKind::NotRead,
            pool.unknown,
        ));
    }
    for file in pool.files {
        let id = file
            .path
            .strip_prefix(&store.root)
            .unwrap_or(&file.path)
            .display()
            .to_string();
        let o = plan.shared(OwnerKind::StoragePool, &id, &pool.kind);
        plan.owners[o].note =
            "sparse: its allocated bytes are what the pool takes; the layers in it are not walked"
                .to_owned();
        plan.claimed.insert(file.path.clone(), o);
        plan.root(o, file.path);
    }
}

/// The driver's home: each layer directory to its owner, `work/` apart, `l/` apart, and
/// every directory nobody references named as leaked.
fn plan_driver_home(store: &Store, plan: &mut Plan) {
    let driver = &store.driver;
    let mut images_of: HashMap<&str, Vec<String>> = HashMap::new();
    for img in store.images.values() {
        let label = img
            .repo_tags
            .first()
            .cloned()
            .unwrap_or_else(|| img.id.digest().short().to_owned());
        for chain in &img.chain_ids {
            images_of
                .entry(chain.digest().as_str())
                .or_default()
                .push(label.clone());
        }
    }
    let mut layer_dirs: HashMap<PathBuf, usize> = HashMap::new();
    // How many layers are under each image layer's directory: the walk gives an inode with
    // names in several roots to the first of them, and legacy overlay hard-links every file
    // of a parent's `root` into its children's, so the lowest layer (where the file was
    // written) must come first.
    let mut depth_of: HashMap<PathBuf, usize> = HashMap::new();
    for layer in store.layers.values() {
        depth_of.insert(
            driver.layer_dir(&layer.cache_id),
            store.chain_below(Some(&layer.chain_id)).len(),
        );
        let o = plan.shared(
            OwnerKind::ImageLayer,
            &layer.chain_id.to_string(),
            layer.chain_id.digest().short(),
        );
        let mut users = images_of
            .get(layer.chain_id.digest().as_str())
            .cloned()
            .unwrap_or_default();
        users.sort();
        users.dedup();
        plan.owners[o].used_by = users;
        layer_dirs.insert(driver.layer_dir(&layer.cache_id), o);
    }
    let names: HashMap<&str, &str> = store
        .containers
        .iter()
        .map(|c| (c.id.as_str(), c.name.trim_start_matches('/')))
        .collect();
    for m in store.mounts.values() {
        let name = names.get(m.container.as_str()).copied().unwrap_or("");
        let o = plan.shared(OwnerKind::ContainerLayer, m.container.as_str(), name);
        if name.is_empty() {
            plan.owners[o].note = "no container".to_owned();
        }
        layer_dirs.insert(driver.layer_dir(&m.mount_id), o);
        if let Some(init) = m.init() {
            layer_dirs.insert(driver.layer_dir(init), o);
        }
    }
    let snapshots = buildcache::snapshot_driver_ids(&store.jail).unwrap_or_else(|p| {
        plan.problems.push(p);
        BTreeSet::new()
    });
    let build_cache = plan.owner(OwnerKind::BuildCache, "snapshots", "BuildKit snapshots");
    let tree_roots: BTreeSet<PathBuf> = df::tree_roots(store).into_iter().collect();
    let container_dir = driver.layers_dir();
    let link_dir = driver.link_dir();
    if container_dir != driver.home() {
        let o = plan.owner(OwnerKind::Daemon, "driver", "driver directories");
        plan.root(o, container_dir.clone());
    }
    let mut entries = store.jail.read_dir(&container_dir).unwrap_or_default();
    entries.sort_by_key(|e| {
        let depth = depth_of.get(&container_dir.join(&e.name)).copied();
        (depth.unwrap_or(usize::MAX), e.name.clone())
    });
    for entry in entries {
        let name = entry.name.to_string_lossy().into_owned();
        let path = container_dir.join(&entry.name);
        if link_dir.as_ref() == Some(&path) {
            let label = format!("{name}/");
            plan.single(OwnerKind::LayerLinks, &label, "layer links", path);
            continue;
        }
        let claimed = plan.claimed.get(&path).copied();
        let owner = match layer_dirs.get(&path).or(claimed.as_ref()) {
            Some(&o) => o,
            None if snapshots.contains(&name) => build_cache,
            None => {
                let o = plan.shared(OwnerKind::LeakedLayer, &name, &name);
                plan.owners[o].note = "no layer, container or build cache record".to_owned();
                o
            }
        };
        if claimed.is_none() {
            plan.root(owner, path.clone());
        }
        if entry.is_dir {
            let work = CacheId::parse(&name).and_then(|id| driver.work_dir(&id));
            if let Some(work) = work.filter(|w| store.jail.is_dir(w)) {
                let w = plan.owner(OwnerKind::LayerWork, &name, &name);
                plan.root(w, work);
            }
            for tree in tree_roots
                .iter()
                .filter(|t| t.parent() == Some(path.as_path()))
            {
                plan.root(owner, tree.clone());
            }
        }
    }
}

/// `containers/<id>/`: logs apart from the rest.
fn plan_containers(store: &Store, plan: &mut Plan, dir: &Path) {
    let names: HashMap<&str, &str> = store
        .containers
        .iter()
        .map(|c| (c.id.as_str(), c.name.trim_start_matches('/')))
        .collect();
    let layout = plan.owner(OwnerKind::Daemon, "containers/", "containers directory");
    plan.root(layout, dir.to_path_buf());
    for entry in store.jail.read_dir(dir).unwrap_or_default() {
        let id = entry.name.to_string_lossy().into_owned();
        let path = dir.join(&entry.name);
        let name = names.get(id.as_str()).copied().unwrap_or("");
        let meta = plan.single(OwnerKind::ContainerMeta, &id, name, path.clone());
        if name.is_empty() {
            plan.owners[meta].note = "not a container of this driver".to_owned();
        }
        if !entry.is_dir {
            continue;
        }
        let logs: Vec<PathBuf> = store
            .jail
            .read_dir(&path)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !e.is_dir && e.name.to_string_lossy().contains(LOG_SUFFIX))
            .map(|e| path.join(&e.name))
            .collect();
        if !logs.is_empty() {
            let o = plan.owner(OwnerKind::ContainerLog, &id, name);
            for log in logs {
                plan.root(o, log);
            }
        }
    }
}

/// `volumes/<name>/`, each a volume, with `_data` measured apart for df.
fn plan_volumes(store: &Store, plan: &mut Plan, dir: &Path) {
    let layout = plan.owner(OwnerKind::Daemon, "volumes/", "volumes directory");
    plan.root(layout, dir.to_path_buf());
    for entry in store.jail.read_dir(dir).unwrap_or_default() {
        let name = entry.name.to_string_lossy().into_owned();
        let path = dir.join(&entry.name);
        if !entry.is_dir {
            let id = format!("volumes/{name}");
            plan.single(OwnerKind::Daemon, &id, &id, path);
            continue;
        }
        let o = plan.single(OwnerKind::Volume, &name, &name, path.clone());
        let users: Vec<String> = store
            .containers
            .iter()
            .filter(|c| {
                c.mounts
                    .iter()
                    .any(|m| m.name == name && !m.driver.is_empty())
            })
            .map(|c| c.name.trim_start_matches('/').to_owned())
            .collect();
        let anonymous = crate::ids::is_hex64(&name);
        plan.owners[o].note = match (users.is_empty(), anonymous) {
            (true, true) => "dangling, anonymous",
            (true, false) => "dangling",
            (false, true) => "anonymous",
            (false, false) => "",
        }
        .to_owned();
        plan.owners[o].used_by = users;
        let data = path.join(VOLUME_DATA);
        if store.jail.is_dir(&data) {
            plan.root(o, data);
        }
    }
}
