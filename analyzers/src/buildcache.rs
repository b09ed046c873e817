//! BuildKit's build cache records, as `GET /system/df` reports them in `BuildCache[]` and
//! `BuilderSize`, read from `<root>/buildkit/` without a daemon.
//!
//! This module owns the reading of BuildKit's `metadata_v2.db` (the cache records) and of the
//! few other files needed to size and classify them: for the graphdriver worker
//! (`buildkit/metadata_v2.db`) `buildkit/snapshots.db` and the driver's directories, with the
//! layers, images and driver the loaded [`graph::Store`] already read; for the containerd
//! worker (`buildkit/containerd-<snapshotter>/metadata_v2.db`) what the store's containerd
//! backend already read (the namespace's snapshots and content, its images). It parses no
//! layer or image record again. Which worker, and where its records live, is the store's
//! backend's call ([`crate::backend::Backend::buildkit_worker_dir`]), not this module's. It
//! never writes: where dockerd
//! would compute a missing size and store it, this module computes the same number and keeps
//! it.
//!
//! # Where Docker's answer comes from (Docker 20.10, BuildKit v0.8)
//!
//! `GET /system/df` asks BuildKit's cache manager for its disk usage (`cache/manager.go`,
//! `DiskUsage`), turns each usage record into a `types.BuildCache`
//! (`builder/builder-next/builder.go`), and sums every record's `Size` into `BuilderSize`,
//! shared or not (`api/server/router/system/system_routes.go`).
//!
//! ## The records: `metadata_v2.db`
//!
//! A Bolt file (read with [`crate::bolt`]); bucket `_main` holds one bucket per record, named
//! by the record id (25 random base-36 characters). Each key of a record bucket holds JSON
//! `{"value": <json>, "index": "<index key>"}` (an empty value means "unset"):
//!
//! | key | value |
//! | --- | --- |
//! | `cache.createdAt`, `cache.lastUsedAt` | Unix time in nanoseconds |
//! | `cache.usageCount` | integer |
//! | `cache.description` | string: `mount / from exec /bin/sh -c ...`, `local source for context`, `fileop target`, `from local ` |
//! | `cache.recordType` | `source.local`, `exec.cachemount`, `frontend`, `internal`...; absent means `regular` |
//! | `cache.parent` | the parent record's id |
//! | `snapshot.committed` | `true` for an immutable record; absent for a mutable one |
//! | `snapshot.size` | bytes; `-1` or absent while BuildKit has not sized it yet |
//! | `cache.equalMutable` | on an immutable record: the mutable record holding the same data |
//! | `cache.snapshot` | the snapshot key, when it is not the record id |
//! | `cache.blobonly`, `cache.blob` | record backed only by a content blob (`buildkit/content/blobs/sha256/`) |
//! | `cache.deleted` | the record was being deleted when dockerd stopped |
//! | `cache.cachePolicy` | `1` = retain |
//!
//! (BuildKit v0.8 has no `cache.size` or `cache.snapshotID` key: the size is `snapshot.size`
//! and the snapshot key `cache.snapshot`; a record's "dead" flag lives only in memory.)
//!
//! ## Which records are listed
//!
//! As dockerd loads them at start (`cacheManager.init`/`getRecord`): a record whose parent or
//! whose `cache.equalMutable` record cannot be loaded, or that is marked `cache.deleted`, is
//! dropped (dockerd deletes it on its next start); the first two are reported as problems.
//! Then `DiskUsage` hides the duplicates that share data: an immutable record with a
//! `cache.equalMutable` twin is hidden unless another record has it as parent, and the
//! mutable twin is listed in its place (with `Type` and the counters of the mutable one).
//!
//! ## `Size`
//!
//! `snapshot.size` when recorded. BuildKit records `-1` when a record is committed and only
//! computes the size when first asked (a `docker system df`, a prune), so right after a build
//! most sizes are not in the file. Then this module computes what BuildKit would
//! (`cacheRecord.Size`, moby's `builder-next/adapters/snapshot`):
//!
//! * a mutable record with an immutable twin takes the twin's recorded size;
//! * a `cache.blobonly` record: 0 (plus its blob's size if `cache.blob` names one that
//!   `buildkit/content/blobs/sha256/` holds);
//! * otherwise the snapshot key (`cache.snapshot`, else the record id; the mutable twin's for
//!   an immutable record with one) is looked up in `snapshots.db` (one bucket per key, with
//!   `chainid`, `committed`, `parent`, `size`): if the key is a chain id (`sha256:...`) or its
//!   bucket has a `chainid`, the snapshot was exported as an image layer and its size is that
//!   layer's `size` file in the layer store; else the bucket's `size` (decimal) when dockerd
//!   has stored one; else the apparent size of the driver's directory
//!   `overlay2/<committed or key>/diff` (every non-directory once per inode), which is what
//!   overlay2's native `DiffSize` reports. Only overlay2 can be measured; on a kernel where
//!   dockerd logs "Not using native diff for overlay2" it compares the layer with its parent
//!   instead, which gives the same number unless files were copied up unchanged.
//!
//! Once recorded, a size is never recomputed. A cache mount (`RUN --mount=type=cache`) is
//! sized once, on its twin, and later builds that write more into it do not change that
//! number: dockerd goes on reporting the first size, and so does this module
//! ([`SizeSource::Recorded`]), although its `diff/` directory has grown.
//!
//! A mutable record that another record uses as parent reports 0, as BuildKit does. Where
//! dockerd would fail the whole `GET /system/df` (a snapshot or layer that is gone), this
//! module reports a problem and a size of 0 for that record and goes on.
//!
//! ## `Shared`, `InUse`, times
//!
//! `Shared` is true when the record's snapshot is an image layer (a `chainid` in
//! `snapshots.db`) whose chain of diff ids begins the `rootfs.diff_ids` of some image in the
//! image store, and then for all its ancestors too (moby's `imagerefchecker`).
//!
//! `InUse` says a running build holds the record. Offline nothing runs a build, so it comes
//! out false for every record on a consistent store; it is computed as BuildKit does (each
//! loaded record holds its parent, and a record held only by records that are themselves
//! unheld is free), so a store whose records BuildKit itself would see as held still shows it.
//! In the middle of a build a live daemon answers differently in three ways that files cannot
//! show: the records the build holds are `InUse`; the mutable record being written reports
//! `Size` 0 (this module measures the bytes written so far); and a mutable record whose twin
//! the build holds (the build context, the Dockerfile) is hidden in favour of that twin, of
//! `Type` `regular` (this module lists the mutable record). Once the build ends, both agree.
//!
//! `CreatedAt` and `LastUsedAt` are printed as Go prints a `time.Time` in JSON (RFC 3339 with
//! the nanoseconds' trailing zeros trimmed), in UTC: dockerd prints them in its own local time
//! zone, which is the same instant and the same text on a host that runs in UTC. A record
//! without `cache.createdAt` shows Go's zero time, `0001-01-01T00:00:00Z`; `LastUsedAt` is
//! `null` when `cache.usageCount` or `cache.lastUsedAt` is missing or zero.
//!
//! ## Side effects that this reader does not have
//!
//! Asking dockerd for `/system/df` writes: it stores the sizes it computed, and it commits a
//! mutable record that has no twin yet (a cache mount, `--mount=type=cache`), which creates
//! the twin and adds one to the mutable record's `UsageCount` and moves its `LastUsedAt`. The
//! first answer still shows the old count; the next answers and this reader show the new one.
//!
//! Records are sorted by `CreatedAt`, then `ID` (dockerd lists them in random order).
//!
//! # The containerd image store (Docker 26.1, BuildKit v0.13)
//!
//! With `{"features":{"containerd-snapshotter":true}}` dockerd runs BuildKit's containerd
//! worker (moby `builder/builder-next/controller.go`, `newSnapshotterController`); BuildKit
//! v0.13.2 is what moby 26.1.5 vendors. `buildkit/cache.db` (the solver's cache keys),
//! `buildkit/history.db` (build history) and `buildkit/executor/` do not hold records; the
//! worker's root `buildkit/containerd-overlayfs/` holds `metadata_v2.db` (same format as
//! above), `workerid` and `cachemounts/`. What changes:
//!
//! * **Keys.** Besides the ones above, each record has `cache.snapshot` (the key of its
//!   snapshot in containerd namespace `moby` of the overlayfs snapshotter: the record id for
//!   build steps, the chain id for an image's layer), and an exported layer `cache.blob`,
//!   `cache.blobsize`, `cache.diffID`, `cache.chainID`, `cache.blobChainID`,
//!   `cache.mediatype`, `cache.imageRefs`. `snapshot.size` is still the only size key (`-1`
//!   when unknown; BuildKit v0.13 has no `cache.size`). A record's parents are
//!   `cache.parent` (a layer), else `cache.mergeParents` (a merge: `COPY --link` makes one),
//!   else `cache.{lower,upper}DiffParent` (a diff); each one is held, released and listed.
//! * **`Size`** (`cacheRecord.size`, unchanged rules for which record is sized): `snapshot.size`
//!   when recorded; else containerd's `Usage` of the snapshot (0 for a blob-only record, e.g.
//!   the base image's layer before BuildKit unpacks it itself), which is the size the
//!   snapshotter recorded at commit for a committed snapshot and the live `fs.DiskUsage`
//!   (allocated blocks, each inode once) of `snapshots/<n>/fs` for an active one (a build
//!   context, a cache mount: [`crate::backend::Containerd::usage`]), except for a merge made
//!   with hard links, whose snapshot label `buildkit.mergeUsageSize` in `meta.db` holds the
//!   usage BuildKit reports instead; a snapshot containerd does not have counts 0 (BuildKit
//!   ignores NotFound; strata reports a problem). Then, unlike
//!   v0.8, the size of the record's `cache.blob` in the namespace's content store is added,
//!   and that of every other compression of it that BuildKit recorded (labels
//!   `containerd.io/gc.ref.content.blob-*` naming blobs that carry
//!   `buildkit.io/blob/mediatype`), each blob once. So a build step's layer counts its
//!   snapshot plus its compressed blob, and the base image's record its blob alone.
//! * **`Shared`** (BuildKit's own `snapshot/imagerefchecker`, not moby's): a record is shared
//!   when its blob chain (`layerDigestChain`: the `cache.blob` of each record from the bottom
//!   of its parent chain up, concatenated; a merge's is its parents' in order) equals the
//!   concatenated layer digests of some image manifest reachable from an image of the
//!   namespace; then its listed ancestors (every parent, up to one that is not listed) are
//!   too. So removing the image built from a record makes it, and the records only that
//!   image's chain used, unshared.
//! * **Parents.** `GET /v1.45/system/df` writes `" Parents": [<parent id>]` (the key has a
//!   leading space: moby 26.1's struct tag is `json:" Parents,omitempty"`), leaves it out for
//!   a record without parent, and leaves out `Parent` (emptied for API 1.42 and later) and
//!   `BuilderSize` (only summed for API before 1.42; `/v1.41/system/df` of the same daemon
//!   has both, and no `Parents`). strata writes `Parent` and `" Parents"` the way the API
//!   dockerd speaks for that worker does, and `BuilderSize` always (the sum, as API 1.41).
//!
//! The first `GET /system/df` after a build stores the sizes it computed and commits the
//! cache mount's twin (as above); sizes, counts and times read before and after it agree
//! with what dockerd answered at each moment.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, Containerd, Trees};
use crate::driver::{AnyDriver, Driver};
use crate::error::{Problem, ProblemKind};
use crate::format::bolt::{Bucket, Db};
use crate::format::containerd::snapshots::Kind;
use crate::fs::Jail;
use crate::graph::{self, Layer};
use crate::ids::{CacheId, ChainId, DiffId, Digest};
use crate::{layout, walk};

/// `buildkit/metadata_v2.db`: the cache records.
const METADATA_DB: &str = "metadata_v2.db";
/// `buildkit/metadata.db`: the records of BuildKit before v0.7 (Docker 19.03), which dockerd
/// 20.10 migrates into `metadata_v2.db` on start.
const METADATA_V1_DB: &str = "metadata.db";
/// `buildkit/snapshots.db`: moby's snapshotter, one bucket per snapshot key.
const SNAPSHOTS_DB: &str = "snapshots.db";
/// `buildkit/content/blobs/sha256/<hex>`: BuildKit's content store.
const CONTENT_BLOBS: &str = "content/blobs/sha256";
/// The bucket of `metadata_v2.db` holding one bucket per record.
const MAIN_BUCKET: &str = "_main";
/// Label of a content blob naming another compression of the same layer (BuildKit
/// `blobVariantGCLabel`), followed by that blob's digest.
const BLOB_VARIANT_LABEL: &str = "containerd.io/gc.ref.content.blob-";
/// Labels of a merge snapshot made with hard links holding its true usage (BuildKit
/// `mergeUsageSizeLabel`, `mergeUsageInodesLabel`).
const MERGE_USAGE_SIZE_LABEL: &str = "buildkit.mergeUsageSize";
const MERGE_USAGE_INODES_LABEL: &str = "buildkit.mergeUsageInodes";
/// Label BuildKit puts on the blobs it knows the media type of (`blobMediaTypeLabel`); a
/// variant without it is not counted.
const BLOB_MEDIA_TYPE_LABEL: &str = "buildkit.io/blob/mediatype";

/// Keys of a record in `metadata_v2.db` (BuildKit's `cache/metadata.go`).
mod key {
    pub const SIZE: &str = "snapshot.size";
    pub const COMMITTED: &str = "snapshot.committed";
    pub const EQUAL_MUTABLE: &str = "cache.equalMutable";
    pub const DESCRIPTION: &str = "cache.description";
    pub const CREATED_AT: &str = "cache.createdAt";
    pub const LAST_USED_AT: &str = "cache.lastUsedAt";
    pub const USAGE_COUNT: &str = "cache.usageCount";
    pub const RECORD_TYPE: &str = "cache.recordType";
    pub const PARENT: &str = "cache.parent";
    pub const MERGE_PARENTS: &str = "cache.mergeParents";
    pub const LOWER_DIFF_PARENT: &str = "cache.lowerDiffParent";
    pub const UPPER_DIFF_PARENT: &str = "cache.upperDiffParent";
    pub const SNAPSHOT: &str = "cache.snapshot";
    pub const BLOB_ONLY: &str = "cache.blobonly";
    pub const BLOB: &str = "cache.blob";
    pub const DELETED: &str = "cache.deleted";
}

/// Keys of a snapshot bucket in `snapshots.db` (moby's `builder-next/adapters/snapshot`).
mod snapshot_key {
    pub const CHAIN_ID: &str = "chainid";
    pub const COMMITTED: &str = "committed";
    pub const PARENT: &str = "parent";
    pub const SIZE: &str = "size";
}

/// BuildKit's marker for a size not computed yet.
const SIZE_UNKNOWN: i64 = -1;
/// `Type` of a record without `cache.recordType`.
const RECORD_TYPE_REGULAR: &str = "regular";
/// How Go prints its zero `time.Time`.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One record of `GET /system/df` `BuildCache[]` (Docker's field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildCacheRecord {
    /// The record id (25 base-36 characters).
    #[serde(rename = "ID")]
    pub id: String,
    /// The parent record's id, or empty: API 1.41's field (dockerd 20.10). `None` for the
    /// records of BuildKit's containerd worker, whose dockerd (26.1 and later) answers API 1.42
    /// and later, which leave `Parent` out.
    #[serde(rename = "Parent", skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The parent records' ids (API 1.42 and later), under the key `" Parents"` with the
    /// leading space of moby's struct tag (`json:" Parents,omitempty"`, `api/types/types.go` of
    /// 26.1); left out when empty, and always for the graphdriver layout (API 1.41).
    #[serde(rename = " Parents", skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<String>,
    /// `regular`, `source.local`, `exec.cachemount`, `frontend`, `internal`...
    #[serde(rename = "Type")]
    pub record_type: String,
    /// What created the record (`mount / from exec /bin/sh -c ...`).
    #[serde(rename = "Description")]
    pub description: String,
    /// Held by a running build; offline always false on a consistent store (see the module
    /// docs).
    #[serde(rename = "InUse")]
    pub in_use: bool,
    /// The record's data is also an image layer of some image (so removing the record frees
    /// nothing while the image exists).
    #[serde(rename = "Shared")]
    pub shared: bool,
    /// Bytes of the record's own snapshot (apparent size, hard links once), as BuildKit
    /// reports it; see [`BuildCacheRecord::size_source`] for where the number came from.
    #[serde(rename = "Size")]
    pub size: i64,
    /// Creation time, RFC 3339 in UTC with Go's trimmed nanoseconds.
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    /// Last use, same format; `None` (JSON `null`) when never recorded.
    #[serde(rename = "LastUsedAt")]
    pub last_used_at: Option<String>,
    /// How many times a build used the record.
    #[serde(rename = "UsageCount")]
    pub usage_count: i64,
    /// Where [`BuildCacheRecord::size`] came from (not part of Docker's answer).
    #[serde(skip)]
    pub size_source: SizeSource,
}

/// Where a record's size was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeSource {
    /// `snapshot.size` in `metadata_v2.db` (of the record, or of its immutable twin).
    Recorded,
    /// The `size` file of the image layer the snapshot became.
    Layer,
    /// The size the snapshotter recorded: dockerd's in `buildkit/snapshots.db`, or
    /// containerd's for a committed snapshot.
    Snapshots,
    /// Measured now: the apparent size of the driver's `diff/` directory, or the usage of an
    /// active containerd snapshot as containerd measures it.
    Measured,
    /// Fixed by BuildKit's rules, not measured: a blob-only record, a mutable record in use.
    Rule,
    /// Could not be determined (a problem says why); the size is 0.
    Unknown,
}

/// What was read from `buildkit/` plus what was wrong in it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BuildCache {
    /// The records `GET /system/df` would list, sorted by creation time then id.
    pub records: Vec<BuildCacheRecord>,
    /// Damaged or inconsistent records and files met on the way.
    pub problems: Vec<Problem>,
}

impl BuildCache {
    /// `BuilderSize`: the sum of every record's size in bytes, shared records included (as
    /// dockerd sums it).
    pub fn builder_size(&self) -> i64 {
        self.records.iter().map(|r| r.size).sum()
    }
}

/// Reads the build cache of `store`, whose backend says which BuildKit worker's records to
/// read: the graphdriver worker's `buildkit/metadata_v2.db` (sized through moby's snapshotter
/// over `store`'s storage driver) or the containerd worker's
/// `buildkit/containerd-<snapshotter>/metadata_v2.db` (sized through the namespace's
/// snapshots; `trees` holds the walks of the active ones, [`crate::backend::Backend::measured_dirs`]).
/// A store without those files has no build cache: the result is empty, with no problem.
pub fn read(store: &graph::Store, trees: &Trees) -> BuildCache {
    match store.backend.buildkit_worker(store, trees) {
        Some((dir, worker)) => read_worker(&store.jail, &dir, &worker),
        None => BuildCache::default(),
    }
}

/// What the graphdriver worker takes from the loaded store rather than reading it again.
pub struct Loaded<'a> {
    /// The read-only layers that load, by chain id.
    layers: &'a BTreeMap<ChainId, Layer>,
    /// Each image's `rootfs.diff_ids`, bottom first.
    image_diff_ids: Vec<&'a [DiffId]>,
    /// The driver whose directories hold the snapshots.
    driver: &'a AnyDriver,
}

impl<'a> Loaded<'a> {
    /// The parts of `store` the graphdriver worker uses.
    pub fn of(store: &'a graph::Store) -> Self {
        Loaded {
            layers: &store.layers,
            image_diff_ids: store
                .images
                .values()
                .map(|i| i.diff_ids.as_slice())
                .collect(),
            driver: &store.driver,
        }
    }
}

/// The BuildKit worker whose records are read, and what sizes their snapshots (the store's
/// backend says which, [`crate::backend::Backend::buildkit_worker`]).
pub enum Worker<'a> {
    /// moby's worker over a storage driver (Docker 20.10, BuildKit v0.8): `buildkit/snapshots.db`
    /// and the loaded store's layers, images and driver.
    Graphdriver {
        /// The parts of the loaded store that size and share the records.
        loaded: Loaded<'a>,
    },
    /// BuildKit's containerd worker (the containerd image store, Docker 26.1, BuildKit v0.13):
    /// the snapshots and content of Docker's namespace.
    Containerd {
        /// The store's containerd metadata.
        backend: &'a Containerd,
        /// The walks of the active snapshots.
        trees: &'a Trees,
    },
}

/// Reads the records of the worker whose root is `dir` (`metadata_v2.db` in it).
fn read_worker(jail: &Jail, dir: &Path, worker: &Worker) -> BuildCache {
    let md_path = dir.join(METADATA_DB);
    if !jail.exists(&md_path) {
        let v1 = dir.join(METADATA_V1_DB);
        let problems = if jail.exists(&v1) {
            vec![Problem::new(
                &v1,
                ProblemKind::Missing,
                "only the pre-20.10 metadata.db is present (dockerd 20.10 migrates it to \
                 metadata_v2.db when it starts); its records are not read",
            )]
        } else {
            Vec::new()
        };
        return BuildCache {
            records: Vec::new(),
            problems,
        };
    }
    let mut attempt = 1;
    loop {
        let (cache, txids) = read_once(jail, dir, worker);
        // A build running meanwhile can be caught between its writes to the two files:
        // read again while the problems may come from that.
        if cache.problems.is_empty()
            || attempt >= RETRIES
            || txids.is_none()
            || txids != transactions(jail, dir)
        {
            return cache;
        }
        attempt += 1;
        std::thread::sleep(RETRY_PAUSE);
    }
}

/// The storage-driver directories BuildKit's snapshotter owns (`buildkit/snapshots.db`): every
/// snapshot key that is not an image layer's chain id (moby's snapshotter prepares each
/// snapshot as a driver layer named by its key) and every `committed` key. Empty without the
/// database; a damaged one is a problem (then no directory can be known to be BuildKit's).
pub fn snapshot_driver_ids(jail: &Jail) -> Result<std::collections::BTreeSet<String>, Problem> {
    let path = jail.path().join(layout::BUILDKIT_DIR).join(SNAPSHOTS_DB);
    let mut ids = std::collections::BTreeSet::new();
    if !jail.exists(&path) {
        return Ok(ids);
    }
    let db = Db::open(jail, &path)?;
    for (name, entry) in db.root().iter() {
        let Some(bucket) = entry.as_bucket() else {
            continue;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        if let Some(committed) = bucket.get(snapshot_key::COMMITTED) {
            ids.insert(String::from_utf8_lossy(committed).into_owned());
        }
        if !name.starts_with("sha256:") {
            ids.insert(name);
        }
    }
    Ok(ids)
}

/// How many times [`read`] reads `buildkit/` when it finds problems and the databases changed
/// meanwhile (a build was writing them: BuildKit writes a new record in two transactions, and
/// its snapshot and record in two files).
const RETRIES: usize = 4;
/// The pause between those readings, to let the build finish the step it was writing.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

/// The transaction ids of `metadata_v2.db` and `snapshots.db`, to tell whether they changed.
type Transactions = Option<(u64, Option<u64>)>;

fn transactions(jail: &Jail, dir: &Path) -> Transactions {
    let md = Db::open(jail, &dir.join(METADATA_DB)).ok()?;
    let snapshots = Db::open(jail, &dir.join(SNAPSHOTS_DB))
        .ok()
        .map(|db| db.txid());
    Some((md.txid(), snapshots))
}

/// One reading of `buildkit/`, with the transactions it saw.
fn read_once(jail: &Jail, dir: &Path, worker: &Worker) -> (BuildCache, Transactions) {
    let mut problems = Vec::new();
    let md_path = dir.join(METADATA_DB);
    // Records first, snapshots second: BuildKit prepares a snapshot before it writes the
    // record, so a new record's snapshot is in the later read. Other steps of a running build
    // can still be caught halfway; `read` retries for them.
    let db = match Db::open(jail, &md_path) {
        Ok(db) => db,
        Err(p) => {
            problems.push(p);
            let cache = BuildCache {
                records: Vec::new(),
                problems,
            };
            return (cache, None);
        }
    };
    let snapshots_path = dir.join(SNAPSHOTS_DB);
    let snapshots = match worker {
        Worker::Graphdriver { .. } => match Db::open(jail, &snapshots_path) {
            Ok(db) => Some(db),
            Err(p) => {
                if p.kind != ProblemKind::Missing {
                    problems.push(p);
                }
                None
            }
        },
        Worker::Containerd { .. } => None,
    };
    let store = Store {
        jail,
        buildkit: dir,
        snapshots: snapshots.as_ref().map(Db::root),
        snapshots_path: &snapshots_path,
        worker,
    };
    let items = load_items(&db, &md_path, &mut problems);
    let graph = Graph::build(&items, &md_path, &mut problems);
    let records = store.records(&items, &graph, &mut problems);
    let txids = Some((db.txid(), snapshots.as_ref().map(Db::txid)));
    (BuildCache { records, problems }, txids)
}

/// One record of `_main`, its values decoded from their JSON wrappers.
#[derive(Debug)]
struct Item {
    id: String,
    /// Key to the wrapped value; `None` when the wrapper has no `value` (Go then fails to
    /// unmarshal it, and uses the getter's default).
    values: HashMap<String, Option<serde_json::Value>>,
}

/// The JSON wrapper of every value in a record (BuildKit's `metadata.Value`).
#[derive(Deserialize)]
struct Wrapped {
    value: Option<serde_json::Value>,
}

/// The outcome of reading one value the way BuildKit's getters do.
enum Field<T> {
    /// The key is not set.
    Missing,
    /// The key is set but its value does not decode as `T`.
    Invalid,
    /// The decoded value (JSON `null` decodes as `T::default()`, as in Go).
    Set(T),
}

impl Item {
    fn field<T: DeserializeOwned + Default>(&self, key: &str) -> Field<T> {
        match self.values.get(key) {
            None => Field::Missing,
            Some(None) => Field::Invalid,
            Some(Some(serde_json::Value::Null)) => Field::Set(T::default()),
            Some(Some(v)) => T::deserialize(v).map_or(Field::Invalid, Field::Set),
        }
    }

    /// A value, or `T::default()` when missing or invalid (most of BuildKit's getters).
    fn get<T: DeserializeOwned + Default>(&self, key: &str) -> T {
        match self.field(key) {
            Field::Set(v) => v,
            Field::Missing | Field::Invalid => T::default(),
        }
    }

    fn size(&self) -> i64 {
        match self.field(key::SIZE) {
            Field::Set(v) => v,
            Field::Missing | Field::Invalid => SIZE_UNKNOWN,
        }
    }

    /// The snapshot key: `cache.snapshot`, the record id when unset, empty when invalid.
    fn snapshot_id(&self) -> String {
        match self.field(key::SNAPSHOT) {
            Field::Set(v) => v,
            Field::Missing => self.id.clone(),
            Field::Invalid => String::new(),
        }
    }

    /// `(UsageCount, LastUsedAt in ns)` as BuildKit's `getLastUsed`.
    fn last_used(&self) -> (i64, Option<i64>) {
        let Field::Set(count) = self.field::<i64>(key::USAGE_COUNT) else {
            return (0, None);
        };
        match self.field::<i64>(key::LAST_USED_AT) {
            Field::Set(ns) if ns != 0 => (count, Some(ns)),
            _ => (count, None),
        }
    }
}

/// Decodes every record bucket of `_main`. A record with a value that is not valid JSON is
/// reported and left out (dockerd would refuse to load the whole build cache).
fn load_items(db: &Db, path: &Path, problems: &mut Vec<Problem>) -> Vec<Item> {
    let Some(main) = db.root().bucket(MAIN_BUCKET) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    for (name, entry) in main.iter() {
        let Some(bucket) = entry.as_bucket() else {
            continue;
        };
        let id = String::from_utf8_lossy(name).into_owned();
        match decode_item(&id, bucket) {
            Ok(item) => items.push(item),
            Err(detail) => problems.push(Problem::new(
                path,
                ProblemKind::InvalidJson,
                format!("record {id}: {detail}; record skipped"),
            )),
        }
    }
    items
}

fn decode_item(id: &str, bucket: &Bucket) -> Result<Item, String> {
    let mut values = HashMap::new();
    for (k, entry) in bucket.iter() {
        // Nested buckets and empty values are skipped, as BuildKit's ForEach does.
        let Some(raw) = entry.as_value().filter(|v| !v.is_empty()) else {
            continue;
        };
        let key = String::from_utf8_lossy(k).into_owned();
        let wrapped: Wrapped =
            serde_json::from_slice(raw).map_err(|e| format!("value of {key}: {e}"))?;
        values.insert(key, wrapped.value);
    }
    Ok(Item {
        id: id.to_owned(),
        values,
    })
}

/// The records as BuildKit's cache manager loads them: parents and twins resolved, the
/// records it would drop left out.
struct Graph {
    /// Per item: its loaded form, or `None` when dockerd would drop it.
    nodes: Vec<Option<Node>>,
    /// Per item: how many loaded records hold it (its children, twins included).
    refs: Vec<i64>,
}

/// How a record is made from its parents (BuildKit's `refKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefKind {
    /// No parent.
    BaseLayer,
    /// One layer over `cache.parent`.
    Layer,
    /// The union of `cache.mergeParents` (`COPY --link` makes one).
    Merge,
    /// The difference between `cache.lowerDiffParent` and `cache.upperDiffParent`; `upper`
    /// says whether the last parent is the upper one.
    Diff { upper: bool },
}

/// A loaded record (BuildKit's `cacheRecord`).
#[derive(Debug, Clone)]
struct Node {
    mutable: bool,
    kind: RefKind,
    /// The items this record holds as parents (`parentRefs`): its layer parent, its merge
    /// parents, or its diff's lower then upper parent.
    parents: Vec<usize>,
    /// For an immutable twin: its mutable record.
    equal_mutable: Option<usize>,
    /// For a mutable record: its immutable twin.
    equal_immutable: Option<usize>,
}

/// Loading state of an item, to resolve parents once and notice cycles.
#[derive(Clone, Copy)]
enum State {
    Pending,
    Loading,
    Loaded,
    Dropped,
}

impl Graph {
    fn build(items: &[Item], path: &Path, problems: &mut Vec<Problem>) -> Graph {
        let index: HashMap<&str, usize> = items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.id.as_str(), i))
            .collect();
        let mut loader = Loader {
            items,
            index: &index,
            path,
            problems,
            state: vec![State::Pending; items.len()],
            nodes: vec![None; items.len()],
        };
        for i in 0..items.len() {
            loader.load(i);
        }
        let nodes = loader.nodes;
        let mut refs = vec![0; items.len()];
        for node in nodes.iter().flatten() {
            for &p in &node.parents {
                refs[p] += 1;
            }
        }
        Graph { nodes, refs }
    }

    /// The loaded node of a listed item.
    fn node(&self, i: usize) -> &Node {
        self.nodes[i].as_ref().expect("listed records are loaded")
    }

    /// The parents of item `i` (none when it is not loaded).
    fn parents(&self, i: usize) -> &[usize] {
        self.nodes[i].as_ref().map_or(&[], |n| &n.parents)
    }
}

/// The parent ids a record names and how it is made from them (BuildKit's `parentsOf`).
fn parent_ids(item: &Item) -> (RefKind, Vec<String>) {
    let parent: String = item.get(key::PARENT);
    if !parent.is_empty() {
        return (RefKind::Layer, vec![parent]);
    }
    let merge: Vec<String> = item.get(key::MERGE_PARENTS);
    let lower: String = item.get(key::LOWER_DIFF_PARENT);
    let upper: String = item.get(key::UPPER_DIFF_PARENT);
    let kind = if !merge.is_empty() {
        RefKind::Merge
    } else if !lower.is_empty() || !upper.is_empty() {
        RefKind::Diff {
            upper: !upper.is_empty(),
        }
    } else {
        RefKind::BaseLayer
    };
    let ids = merge
        .into_iter()
        .chain([lower, upper])
        .filter(|id| !id.is_empty())
        .collect();
    (kind, ids)
}

struct Loader<'a> {
    items: &'a [Item],
    index: &'a HashMap<&'a str, usize>,
    path: &'a Path,
    problems: &'a mut Vec<Problem>,
    state: Vec<State>,
    nodes: Vec<Option<Node>>,
}

impl Loader<'_> {
    /// Loads item `i` as `getRecord` does, or drops it: depth first over what it depends on,
    /// with an explicit stack, so that a long or looping chain cannot exhaust the call stack.
    /// An item is `Loading` while it is on the path being followed, so meeting one again is
    /// a cycle.
    fn load(&mut self, i: usize) {
        let mut stack = vec![i];
        while let Some(&at) = stack.last() {
            match self.state[at] {
                State::Loaded | State::Dropped => {
                    stack.pop();
                }
                State::Pending => match self.dependencies(at) {
                    Err(detail) => {
                        stack.pop();
                        self.drop_item(at, Some(detail));
                    }
                    Ok(deps) => {
                        self.state[at] = State::Loading;
                        for &d in deps.iter().rev() {
                            match self.state[d] {
                                State::Pending => stack.push(d),
                                State::Loading => self.problem(
                                    d,
                                    ProblemKind::Cycle,
                                    "its parent chain loops back to itself; dockerd cannot load it",
                                ),
                                State::Loaded | State::Dropped => {}
                            }
                        }
                    }
                },
                State::Loading => {
                    // Everything it depends on is settled.
                    stack.pop();
                    let deps = self.dependencies(at).unwrap_or_default();
                    match deps
                        .iter()
                        .find(|&&d| !matches!(self.state[d], State::Loaded))
                    {
                        None => self.settle(at),
                        Some(&d) => {
                            let dep = self.items[d].id.clone();
                            self.drop_item(
                                at,
                                Some(format!(
                                    "record {dep} it depends on cannot be loaded; dockerd drops \
                                     this record when it starts"
                                )),
                            );
                        }
                    }
                }
            }
        }
    }

    /// The items that `i` needs loaded first (its mutable twin, else its parents), or why it
    /// cannot be loaded.
    fn dependencies(&self, i: usize) -> Result<Vec<usize>, String> {
        let item = &self.items[i];
        let equal_mutable: String = item.get(key::EQUAL_MUTABLE);
        if !equal_mutable.is_empty() {
            return self
                .index
                .get(equal_mutable.as_str())
                .map(|&m| vec![m])
                .ok_or_else(|| {
                    format!(
                        "its mutable twin {equal_mutable} does not exist; dockerd drops this \
                         record when it starts"
                    )
                });
        }
        parent_ids(item)
            .1
            .iter()
            .map(|parent| {
                self.index.get(parent.as_str()).copied().ok_or_else(|| {
                    format!(
                        "its parent {parent} does not exist; dockerd drops this record when it \
                         starts"
                    )
                })
            })
            .collect()
    }

    /// Builds the node of item `i`, whose dependencies are loaded.
    fn settle(&mut self, i: usize) {
        let item = &self.items[i];
        let deps = self.dependencies(i).unwrap_or_default();
        let equal_mutable: String = item.get(key::EQUAL_MUTABLE);
        let node = if !equal_mutable.is_empty() {
            // An immutable twin: it holds its mutable record's parents.
            let m = deps.first().copied().unwrap_or(i);
            let (kind, parents) = self.nodes[m]
                .as_ref()
                .map_or((RefKind::BaseLayer, Vec::new()), |n| {
                    (n.kind, n.parents.clone())
                });
            if let Some(mn) = self.nodes[m].as_mut() {
                mn.equal_immutable = Some(i);
            }
            Node {
                mutable: false,
                kind,
                parents,
                equal_mutable: Some(m),
                equal_immutable: None,
            }
        } else {
            if item.get::<bool>(key::DELETED) {
                self.drop_item(i, None);
                return;
            }
            let kind = parent_ids(item).0;
            // Merge and diff records are immutable even where BuildKit v0.10 forgot to mark
            // them committed.
            let made = matches!(kind, RefKind::Merge | RefKind::Diff { .. });
            Node {
                mutable: !made && !item.get::<bool>(key::COMMITTED),
                kind,
                parents: deps,
                equal_mutable: None,
                equal_immutable: None,
            }
        };
        self.nodes[i] = Some(node);
        self.state[i] = State::Loaded;
    }

    fn drop_item(&mut self, i: usize, detail: Option<String>) {
        self.state[i] = State::Dropped;
        self.nodes[i] = None;
        if let Some(detail) = detail {
            self.problem(i, ProblemKind::DanglingReference, &detail);
        }
    }

    fn problem(&mut self, i: usize, kind: ProblemKind, detail: &str) {
        let id = &self.items[i].id;
        self.problems.push(Problem::new(
            self.path,
            kind,
            format!("record {id}: {detail}"),
        ));
    }
}

/// The files, besides `metadata_v2.db`, that sizing and sharing need.
struct Store<'a> {
    jail: &'a Jail,
    buildkit: &'a Path,
    /// `buildkit/snapshots.db` of the graphdriver worker.
    snapshots: Option<&'a Bucket>,
    snapshots_path: &'a Path,
    worker: &'a Worker<'a>,
}

/// How a listed record's size is to be found.
enum Sizing {
    Known(i64, SizeSource),
    /// Sum the blob's size (if any) with the snapshot's usage (if `snapshot` is set).
    Compute {
        snapshot: Option<String>,
        blob: String,
    },
}

impl Store<'_> {
    fn records(
        &self,
        items: &[Item],
        graph: &Graph,
        problems: &mut Vec<Problem>,
    ) -> Vec<BuildCacheRecord> {
        // DiskUsage: skip the twin that stands for data listed under its mutable record.
        let listed: Vec<usize> = (0..items.len())
            .filter(|&i| {
                let Some(node) = &graph.nodes[i] else {
                    return false;
                };
                let twin_held = node.equal_immutable.is_some_and(|t| graph.refs[t] > 0);
                let unheld_twin = node.equal_mutable.is_some() && graph.refs[i] == 0;
                !(twin_held || unheld_twin)
            })
            .collect();
        let in_use = in_use(&listed, graph);
        let shared = self.shared(&listed, items, graph);

        // Sizes: settle what the files say, then measure the remaining directories in one
        // parallel walk.
        let mut sizes = Vec::with_capacity(listed.len());
        let mut to_measure: Vec<(usize, PathBuf)> = Vec::new();
        for (n, &i) in listed.iter().enumerate() {
            let sizing = self.sizing(i, items, graph);
            let found = match sizing {
                Sizing::Known(size, source) => Ok((size, source)),
                Sizing::Compute { snapshot, blob } => {
                    let blob_size = self.blob_size(&blob);
                    match snapshot {
                        None => Ok((blob_size, SizeSource::Rule)),
                        Some(key) => match self.snapshot_usage(&key) {
                            Ok(Usage::Known(s, source)) => {
                                Ok((s.saturating_add(blob_size), source))
                            }
                            Ok(Usage::Measure(dir)) => {
                                to_measure.push((n, dir));
                                Ok((blob_size, SizeSource::Measured))
                            }
                            Ok(Usage::Gone(p)) => {
                                problems.push(p);
                                Ok((blob_size, SizeSource::Unknown))
                            }
                            Err(p) => Err(p),
                        },
                    }
                }
            };
            sizes.push(found.unwrap_or_else(|p| {
                problems.push(p);
                (0, SizeSource::Unknown)
            }));
        }
        if !to_measure.is_empty() {
            let dirs: Vec<PathBuf> = to_measure.iter().map(|(_, d)| d.clone()).collect();
            let usages = walk::measure(self.jail, &dirs, &walk::WalkOptions::default());
            for ((n, dir), usage) in to_measure.iter().zip(usages) {
                if usage.root_failed() {
                    let why = usage.errors.first().map_or("unreadable", |e| &e.detail);
                    problems.push(Problem::new(
                        dir,
                        ProblemKind::Missing,
                        format!(
                            "snapshot directory of build cache record {}: {why}; size 0",
                            items[listed[*n]].id
                        ),
                    ));
                    sizes[*n] = (0, SizeSource::Unknown);
                    continue;
                }
                if !usage.errors.is_empty() {
                    problems.push(Problem::new(
                        dir,
                        ProblemKind::WalkIncomplete,
                        format!(
                            "{} entries could not be read; the size counts the rest",
                            usage.errors.len()
                        ),
                    ));
                }
                let bytes = i64::try_from(usage.files_apparent).unwrap_or(i64::MAX);
                sizes[*n].0 = sizes[*n].0.saturating_add(bytes);
            }
        }

        let mut records: Vec<(i64, BuildCacheRecord)> = listed
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                let item = &items[i];
                let node = graph.node(i);
                let (usage_count, last_used) = item.last_used();
                let record_type: String = item.get(key::RECORD_TYPE);
                // Records without a creation time sort first, like Go's zero time.
                let created = match item.field::<i64>(key::CREATED_AT) {
                    Field::Set(ns) => Some(ns),
                    Field::Missing | Field::Invalid => None,
                };
                let ids = node.parents.iter().map(|&p| items[p].id.clone());
                let (parent, parents) = match self.worker {
                    // BuildKit v0.8 records have one parent at most.
                    Worker::Graphdriver { .. } => (Some(ids.take(1).collect()), Vec::new()),
                    Worker::Containerd { .. } => (None, ids.collect()),
                };
                let record = BuildCacheRecord {
                    id: item.id.clone(),
                    parent,
                    parents,
                    record_type: if record_type.is_empty() {
                        RECORD_TYPE_REGULAR.to_owned()
                    } else {
                        record_type
                    },
                    description: item.get(key::DESCRIPTION),
                    in_use: in_use[n],
                    shared: shared[n],
                    size: sizes[n].0,
                    created_at: created.map_or_else(|| GO_ZERO_TIME.to_owned(), go_time),
                    last_used_at: last_used.map(go_time),
                    usage_count,
                    size_source: sizes[n].1,
                };
                (created.unwrap_or(i64::MIN), record)
            })
            .collect();
        records.sort_by(|(ta, a), (tb, b)| ta.cmp(tb).then_with(|| a.id.cmp(&b.id)));
        records.into_iter().map(|(_, r)| r).collect()
    }

    /// Decides how the size of listed item `i` is found (`DiskUsage` then `cacheRecord.Size`).
    fn sizing(&self, i: usize, items: &[Item], graph: &Graph) -> Sizing {
        let item = &items[i];
        let node = graph.node(i);
        if node.mutable && graph.refs[i] > 0 {
            // "size can not be determined because it is changing"
            return Sizing::Known(0, SizeSource::Rule);
        }
        let recorded = item.size();
        if recorded != SIZE_UNKNOWN {
            return Sizing::Known(recorded, SizeSource::Recorded);
        }
        // The record that gets sized: a mutable record's twin (a fresh one when it has none,
        // which BuildKit creates on the spot), else the record itself.
        let (sized, mutable_item) = if node.mutable {
            (node.equal_immutable, Some(i))
        } else {
            (Some(i), node.equal_mutable)
        };
        let sized = sized.map(|s| &items[s]);
        if let Some(s) = sized {
            let size = s.size();
            if size != SIZE_UNKNOWN {
                return Sizing::Known(size, SizeSource::Recorded);
            }
        }
        let snapshot = match mutable_item {
            Some(m) => items[m].snapshot_id(),
            None => item.snapshot_id(),
        };
        let blob_only = sized.is_some_and(|s| s.get::<bool>(key::BLOB_ONLY));
        Sizing::Compute {
            snapshot: (!blob_only).then_some(snapshot),
            blob: sized.map(|s| s.get(key::BLOB)).unwrap_or_default(),
        }
    }

    /// Size of a content blob named by digest, 0 when absent (as BuildKit ignores it); for
    /// the containerd worker, plus every other compression of it that the content store
    /// holds.
    fn blob_size(&self, digest: &str) -> i64 {
        if let Worker::Containerd { backend, .. } = self.worker {
            return content_size(backend, digest);
        }
        let Some(hex) = digest.strip_prefix("sha256:") else {
            return 0;
        };
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return 0;
        }
        self.jail
            .stat(&self.buildkit.join(CONTENT_BLOBS).join(hex))
            .ok()
            .filter(|st| st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFREG)
            .map_or(0, |st| st.st_size)
    }

    /// The snapshot bucket of `key` in `snapshots.db`.
    fn snapshot(&self, key: &str) -> Option<&Bucket> {
        self.snapshots.and_then(|s| s.bucket(key))
    }

    fn snapshot_text(&self, key: &str, field: &str) -> Option<String> {
        self.snapshot(key)
            .and_then(|b| b.get(field))
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .filter(|s| !s.is_empty())
    }

    /// The chain id of the image layer snapshot `key` became, if any.
    fn snapshot_chain(&self, key: &str) -> Option<String> {
        if key.starts_with("sha256:") {
            return Some(key.to_owned());
        }
        self.snapshot_text(key, snapshot_key::CHAIN_ID)
    }

    /// The snapshotter's `Usage` of snapshot `key`: moby's over the storage driver, or
    /// containerd's.
    fn snapshot_usage(&self, key: &str) -> Result<Usage, Problem> {
        let loaded = match self.worker {
            Worker::Graphdriver { loaded } => loaded,
            Worker::Containerd { backend, trees } => return containerd_usage(backend, trees, key),
        };
        if let Some(chain) = self.snapshot_chain(key) {
            let layer = loaded.layer(&chain).ok_or_else(|| {
                Problem::new(
                    self.snapshots_path,
                    ProblemKind::DanglingReference,
                    format!("snapshot {key}: layer {chain} is not in the layer store; size 0"),
                )
            })?;
            return Ok(Usage::Known(layer.size, SizeSource::Layer));
        }
        if let Some(text) = self.snapshot_text(key, snapshot_key::SIZE) {
            return text
                .parse::<i64>()
                .map(|s| Usage::Known(s, SizeSource::Snapshots))
                .map_err(|_| {
                    Problem::new(
                        self.snapshots_path,
                        ProblemKind::InvalidValue,
                        format!("snapshot {key}: size {text:?} is not a number; size 0"),
                    )
                });
        }
        // The driver's id: the key the snapshot was prepared under, if it was committed.
        let id = self
            .snapshot_text(key, snapshot_key::COMMITTED)
            .unwrap_or_else(|| key.to_owned());
        if id.is_empty() || (self.snapshots.is_some() && self.snapshot(&id).is_none()) {
            return Err(Problem::new(
                self.snapshots_path,
                ProblemKind::DanglingReference,
                format!("snapshot {key:?} of a build cache record does not exist; size 0"),
            ));
        }
        let id = self.driver_id(&id)?;
        let parent = match self.snapshot_text(key, snapshot_key::PARENT) {
            Some(parent) => vec![self.parent_driver_id(loaded, key, &parent)?],
            None => Vec::new(),
        };
        // moby's snapshotter asks the driver's `DiffSize`: its own directory where it holds
        // exactly the snapshot's files (overlay2's `diff/`, any driver's snapshot over
        // nothing), else the naive diff against the parent's.
        let view = loaded.driver.layer_view(self.jail, &id, &parent);
        match view.naive_changes(self.jail) {
            None => Ok(Usage::Measure(view.dir().to_path_buf())),
            Some((changes, errors)) => match errors.iter().find(|e| e.path == view.dir()) {
                Some(e) => Err(Problem::new(
                    &e.path,
                    ProblemKind::Missing,
                    format!("snapshot {key}: {}; size 0", e.detail),
                )),
                None => Ok(Usage::Known(
                    i64::try_from(crate::changes::changes_size(&changes)).unwrap_or(i64::MAX),
                    SizeSource::Measured,
                )),
            },
        }
    }

    /// The driver's directory name `id` of a snapshot, validated.
    fn driver_id(&self, id: &str) -> Result<CacheId, Problem> {
        CacheId::parse(id).ok_or_else(|| {
            Problem::new(
                self.snapshots_path,
                ProblemKind::InvalidValue,
                format!("snapshot driver id {id:?} is not a directory name"),
            )
        })
    }

    /// The driver's id of snapshot `key`'s parent `parent`: an image layer's cache id, or
    /// the driver id of another snapshot (the key it was committed from).
    fn parent_driver_id(
        &self,
        loaded: &Loaded,
        key: &str,
        parent: &str,
    ) -> Result<CacheId, Problem> {
        if let Some(chain) = self.snapshot_chain(parent) {
            return loaded
                .layer(&chain)
                .map(|l| l.cache_id.clone())
                .ok_or_else(|| {
                    Problem::new(
                        self.snapshots_path,
                        ProblemKind::DanglingReference,
                        format!("snapshot {key}: parent layer {chain} is not in the layer store; size 0"),
                    )
                });
        }
        let id = self
            .snapshot_text(parent, snapshot_key::COMMITTED)
            .unwrap_or_else(|| parent.to_owned());
        self.driver_id(&id)
    }

    /// The image reference checker over the listed records (moby's for the graphdriver
    /// worker, BuildKit's for the containerd one), then BuildKit's `markShared`: a record an
    /// image uses is shared, and so are its listed ancestors.
    fn shared(&self, listed: &[usize], items: &[Item], graph: &Graph) -> Vec<bool> {
        let position: HashMap<usize, usize> =
            listed.iter().enumerate().map(|(n, &i)| (i, n)).collect();
        let in_image = match self.worker {
            Worker::Graphdriver { loaded } => self.in_graphdriver_images(loaded, listed, items),
            Worker::Containerd { backend, .. } => {
                in_containerd_images(backend, listed, items, graph)
            }
        };
        let mut shared = vec![false; listed.len()];
        for (n, &i) in listed.iter().enumerate() {
            if shared[n] || !in_image[n] {
                continue;
            }
            // Mark it and its listed ancestors (`markAllParentsShared`, which stops at a
            // parent that is not listed).
            let mut pending = vec![i];
            while let Some(a) = pending.pop() {
                let Some(&m) = position.get(&a) else { continue };
                if !shared[m] {
                    shared[m] = true;
                    pending.extend(graph.parents(a));
                }
            }
        }
        shared
    }

    /// moby's `imagerefchecker`, per listed record: its snapshot (looked up by the record id)
    /// is an image layer whose chain of diff ids begins some image's `rootfs.diff_ids`.
    fn in_graphdriver_images(
        &self,
        loaded: &Loaded,
        listed: &[usize],
        items: &[Item],
    ) -> Vec<bool> {
        listed
            .iter()
            .map(|&i| {
                self.snapshot_chain(&items[i].id)
                    .and_then(|chain| loaded.diff_ids(&chain))
                    .is_some_and(|ids| {
                        loaded
                            .image_diff_ids
                            .iter()
                            .any(|img| img.starts_with(&ids))
                    })
            })
            .collect()
    }
}

impl Loaded<'_> {
    /// The layer of the layer store a snapshot's chain id names, if it loaded.
    fn layer(&self, chain: &str) -> Option<&Layer> {
        ChainId::parse(chain).and_then(|c| self.layers.get(&c))
    }

    /// The diff ids of a layer and all below it, bottom first (`None` when a layer of the
    /// chain did not load: the layer store would not have it).
    fn diff_ids(&self, chain: &str) -> Option<Vec<DiffId>> {
        let mut ids = Vec::new();
        let mut layer = self.layer(chain)?;
        // A chain is as long as an image is tall; a longer one loops (the graph keeps no
        // loop, but the walk stays bounded whatever it is given).
        for _ in 0..4096 {
            ids.push(layer.diff_id.clone());
            match &layer.parent {
                Some(parent) => layer = self.layers.get(parent)?,
                None => {
                    ids.reverse();
                    return Some(ids);
                }
            }
        }
        None
    }
}

/// What the snapshotter answers for a snapshot's usage.
enum Usage {
    Known(i64, SizeSource),
    /// Not stored anywhere: measure this `diff/` directory.
    Measure(PathBuf),
    /// containerd has no such snapshot: BuildKit counts 0 for it (and still adds the blob).
    Gone(Problem),
}

/// BuildKit's merge snapshotter's `Usage` of snapshot `key` of the namespace read: the size in
/// its label [`MERGE_USAGE_SIZE_LABEL`] for a merge made with hard links (whose usage
/// containerd overcounts); else containerd's, recorded for a committed snapshot, measured (in
/// `trees`) for an active one.
fn containerd_usage(backend: &Containerd, trees: &Trees, key: &str) -> Result<Usage, Problem> {
    let labels = backend
        .meta
        .namespaces
        .get(&backend.namespace)
        .and_then(|ns| ns.snapshots.get(&backend.snapshotter))
        .and_then(|refs| refs.get(key))
        .map(|r| &r.labels);
    if let Some(labels) = labels {
        let merge_usage = labels
            .get(MERGE_USAGE_SIZE_LABEL)
            .map(|size| size.parse::<i64>().ok());
        match merge_usage {
            Some(Some(size)) => return Ok(Usage::Known(size, SizeSource::Snapshots)),
            Some(None) => {
                return Err(Problem::new(
                    &backend.meta.path,
                    ProblemKind::InvalidValue,
                    format!("snapshot {key}: label {MERGE_USAGE_SIZE_LABEL} is not a number"),
                ))
            }
            // Only the inode count: the usage is that, with size 0.
            None if labels.contains_key(MERGE_USAGE_INODES_LABEL) => {
                return Ok(Usage::Known(0, SizeSource::Snapshots))
            }
            None => {}
        }
    }
    let (Some(snapshot), Some(size)) = (backend.snapshots.get(key), backend.usage(key, trees))
    else {
        return Ok(Usage::Gone(Problem::new(
            &backend.snapshot_db.path,
            ProblemKind::DanglingReference,
            format!(
                "snapshot {key:?} of a build cache record is not in namespace {}; it counts 0, \
                 as dockerd counts it",
                backend.namespace
            ),
        )));
    };
    let source = if snapshot.record.kind == Kind::Active {
        SizeSource::Measured
    } else {
        SizeSource::Snapshots
    };
    Ok(Usage::Known(size, source))
}

/// The content part of BuildKit's `cacheRecord.size` for the containerd worker: the size the
/// namespace records for blob `digest`, plus each other compression of it reachable through
/// [`BLOB_VARIANT_LABEL`] labels (`walkBlobVariantsOnly`) that carries
/// [`BLOB_MEDIA_TYPE_LABEL`], each blob once. 0 for a blob the namespace does not have.
fn content_size(backend: &Containerd, digest: &str) -> i64 {
    let (Some(ns), Some(start)) = (
        backend.meta.namespaces.get(&backend.namespace),
        Digest::parse(digest),
    ) else {
        return 0;
    };
    let mut added = HashSet::new();
    let mut total = 0_i64;
    if let Some(info) = ns.blobs.get(&start) {
        total = info.size;
        added.insert(start.clone());
    }
    let mut visited = HashSet::new();
    let mut pending = vec![start];
    while let Some(at) = pending.pop() {
        if !visited.insert(at.clone()) {
            continue;
        }
        let Some(info) = ns.blobs.get(&at) else {
            continue;
        };
        let variants = info
            .labels
            .iter()
            .filter(|(label, _)| label.starts_with(BLOB_VARIANT_LABEL))
            .filter_map(|(_, value)| Digest::parse(value))
            .filter(|v| *v != at);
        for variant in variants {
            if let Some(v) = ns.blobs.get(&variant) {
                if v.labels.contains_key(BLOB_MEDIA_TYPE_LABEL) && added.insert(variant.clone()) {
                    total = total.saturating_add(v.size);
                }
            }
            pending.push(variant);
        }
    }
    total
}

/// BuildKit's `imagerefchecker` for the containerd worker, per listed record: its blob chain
/// ([`blob_chain`]) is exactly the concatenated layer digests of some image manifest of the
/// namespace.
fn in_containerd_images(
    backend: &Containerd,
    listed: &[usize],
    items: &[Item],
    graph: &Graph,
) -> Vec<bool> {
    let images: HashSet<String> = backend
        .images
        .iter()
        .flat_map(|image| &image.reach.manifests)
        .map(|m| m.layers.iter().map(Digest::as_str).collect::<String>())
        .filter(|layers| !layers.is_empty())
        .collect();
    let mut chains = HashMap::new();
    listed
        .iter()
        .map(|&i| images.contains(blob_chain(i, items, graph, &mut chains)))
        .collect()
}

/// BuildKit's `layerDigestChain` of loaded item `i`, as the checker keys it (the digests
/// concatenated, an unset `cache.blob` adding nothing): a base layer's blob; a layer's parent's
/// chain then its blob; a merge's parents' chains in order; a diff's upper parent's chain when
/// it has no blob of its own, else its blob. `chains` keeps those already made. Iterative, in
/// post-order (the loaded graph has no cycle).
fn blob_chain<'c>(
    i: usize,
    items: &[Item],
    graph: &Graph,
    chains: &'c mut HashMap<usize, String>,
) -> &'c str {
    let mut stack = vec![(i, false)];
    while let Some((at, expanded)) = stack.pop() {
        if chains.contains_key(&at) {
            continue;
        }
        let Some(node) = &graph.nodes[at] else {
            chains.insert(at, String::new());
            continue;
        };
        if !expanded {
            stack.push((at, true));
            stack.extend(node.parents.iter().map(|&p| (p, false)));
            continue;
        }
        let blob: String = items[at].get(key::BLOB);
        let of = |p: &usize| chains.get(p).map_or("", String::as_str);
        let chain = match node.kind {
            RefKind::BaseLayer => blob,
            RefKind::Layer => node.parents.iter().map(of).chain([blob.as_str()]).collect(),
            RefKind::Merge => node.parents.iter().map(of).collect(),
            RefKind::Diff { upper: true } if blob.is_empty() => {
                node.parents.last().map(of).unwrap_or_default().to_owned()
            }
            RefKind::Diff { .. } => blob,
        };
        chains.insert(at, chain);
    }
    chains.get(&i).map_or("", String::as_str)
}

/// `InUse` per listed record: BuildKit's release cascade in `DiskUsage`. Each loaded record
/// holds its parents; a listed record nobody holds releases them (twice for a mutable record
/// with a twin, which holds the same parents); what is still held at the end is in use.
fn in_use(listed: &[usize], graph: &Graph) -> Vec<bool> {
    let mut refs: HashMap<usize, i64> = listed.iter().map(|&i| (i, graph.refs[i])).collect();
    let mut released = vec![false; graph.nodes.len()];
    let mut rescan: Vec<usize> = listed.iter().rev().copied().collect();
    // A record releases its parent once, when its count is exactly 0 (as in BuildKit, a count
    // that jumps past 0 never releases), so the loop ends after at most one push per release.
    while let Some(i) = rescan.pop() {
        let Some(node) = &graph.nodes[i] else {
            continue;
        };
        if node.parents.is_empty() || refs.get(&i) != Some(&0) || released[i] {
            continue;
        }
        released[i] = true;
        for parent in &node.parents {
            if let Some(r) = refs.get_mut(parent) {
                *r -= if node.equal_immutable.is_some() { 2 } else { 1 };
                rescan.push(*parent);
            }
        }
    }
    listed
        .iter()
        .map(|i| refs.get(i).is_some_and(|&r| r > 0))
        .collect()
}

/// Formats Unix nanoseconds as Go's `time.Time` JSON (RFC 3339, nanoseconds with trailing
/// zeros trimmed), in UTC.
fn go_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    let Some(t) = chrono::DateTime::from_timestamp(secs, nanos) else {
        return GO_ZERO_TIME.to_owned();
    };
    let mut text = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    if nanos != 0 {
        let fraction = format!("{nanos:09}");
        text.push('.');
        text.push_str(fraction.trim_end_matches('0'));
    }
    text.push('Z');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::bolt::{write, Layout, NewBucket};
    use crate::walk::TreeUsage;
    use serde_json::{json, Value};

    const T0: i64 = 1_795_396_085_034_591_955;

    /// A data root planted in a temporary directory, with the layers and images the graph
    /// would have loaded from it.
    struct Root {
        dir: tempfile::TempDir,
        layers: std::cell::RefCell<BTreeMap<ChainId, Layer>>,
        images: std::cell::RefCell<Vec<Vec<DiffId>>>,
    }

    /// A diff id named after `name`.
    fn diff(name: &str) -> DiffId {
        DiffId(Digest::of_bytes(name.as_bytes()))
    }

    fn chain(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    impl Root {
        fn new() -> Self {
            Root {
                dir: tempfile::tempdir().unwrap(),
                layers: std::cell::RefCell::default(),
                images: std::cell::RefCell::default(),
            }
        }

        fn path(&self) -> &Path {
            self.dir.path()
        }

        /// The build cache of the graphdriver worker on overlay2.
        fn read(&self) -> BuildCache {
            let jail = Jail::open(self.path()).unwrap();
            let driver = AnyDriver::for_name(&jail, "overlay2").unwrap();
            let layers = self.layers.borrow();
            let images = self.images.borrow();
            let worker = Worker::Graphdriver {
                loaded: Loaded {
                    layers: &layers,
                    image_diff_ids: images.iter().map(Vec::as_slice).collect(),
                    driver: &driver,
                },
            };
            read_worker(&jail, &self.path().join(layout::BUILDKIT_DIR), &worker)
        }

        fn file(&self, rel: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
            let path = self.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            path
        }

        /// `buildkit/metadata_v2.db` with these records (key -> JSON value, wrapped).
        fn records(&self, records: &[(&str, Vec<(&str, Value)>)]) {
            let mut main = NewBucket::new();
            for (id, values) in records {
                let mut b = NewBucket::inline();
                for (k, v) in values {
                    b = b.value(k, json!({ "value": v }).to_string());
                }
                main = main.bucket(id, b);
            }
            let db = write(
                &NewBucket::new().bucket(MAIN_BUCKET, main),
                &Layout::default(),
            );
            self.file("buildkit/metadata_v2.db", db);
        }

        /// `buildkit/snapshots.db` with these buckets (key -> text).
        fn snapshots(&self, buckets: &[(&str, Vec<(&str, &str)>)]) {
            let mut root = NewBucket::new();
            for (key, values) in buckets {
                let mut b = NewBucket::inline();
                for (k, v) in values {
                    b = b.value(k, v);
                }
                root = root.bucket(key, b);
            }
            self.file("buildkit/snapshots.db", write(&root, &Layout::default()));
        }

        /// A layer of the layer store: `diff_name` names its diff id ([`diff`]).
        fn layer(&self, chain_id: &str, diff_name: &str, parent: Option<&str>, size: i64) {
            let chain_id = ChainId::parse(chain_id).unwrap();
            let layer = Layer {
                chain_id: chain_id.clone(),
                diff_id: diff(diff_name),
                parent: parent.map(|p| ChainId::parse(p).unwrap()),
                cache_id: CacheId(format!("cache-{diff_name}")),
                size,
                record: self.path().join("layerdb").join(chain_id.0.hex()),
            };
            self.layers.borrow_mut().insert(chain_id, layer);
        }

        /// An image whose layers have the diff ids `diff_names` names, bottom first.
        fn image(&self, diff_names: &[&str]) {
            let ids = diff_names.iter().map(|n| diff(n)).collect();
            self.images.borrow_mut().push(ids);
        }
    }

    fn committed(extra: Vec<(&'static str, Value)>) -> Vec<(&'static str, Value)> {
        let mut v = vec![
            (key::COMMITTED, json!(true)),
            (key::CREATED_AT, json!(T0)),
            (key::SIZE, json!(-1)),
        ];
        v.extend(extra);
        v
    }

    fn by_id<'a>(cache: &'a BuildCache, id: &str) -> &'a BuildCacheRecord {
        cache
            .records
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id} not listed: {:#?}", cache.records))
    }

    fn ids(cache: &BuildCache) -> Vec<&str> {
        cache.records.iter().map(|r| r.id.as_str()).collect()
    }

    #[test]
    fn a_root_without_build_cache_has_none() {
        let root = Root::new();
        assert_eq!(root.read(), BuildCache::default());
        std::fs::create_dir(root.path().join("buildkit")).unwrap();
        assert_eq!(root.read(), BuildCache::default());
        root.file("buildkit/metadata.db", b"old");
        let cache = root.read();
        assert!(cache.records.is_empty());
        assert_eq!(cache.problems.len(), 1);
        assert_eq!(cache.problems[0].kind, ProblemKind::Missing);
    }

    #[test]
    fn a_damaged_database_is_one_problem_naming_it() {
        let root = Root::new();
        let path = root.file("buildkit/metadata_v2.db", vec![0u8; 8192]);
        let cache = root.read();
        assert!(cache.records.is_empty());
        assert_eq!(cache.problems.len(), 1);
        assert_eq!(cache.problems[0].kind, ProblemKind::InvalidDatabase);
        assert_eq!(cache.problems[0].path, path);
    }

    #[test]
    fn reports_fields_as_docker_does() {
        let root = Root::new();
        root.records(&[
            (
                "rec1",
                vec![
                    (key::COMMITTED, json!(true)),
                    (key::CREATED_AT, json!(T0)),
                    (key::LAST_USED_AT, json!(1_795_396_085_562_007_710_i64)),
                    (key::USAGE_COUNT, json!(3)),
                    (key::DESCRIPTION, json!("mount / from exec /bin/sh -c true")),
                    (key::SIZE, json!(123)),
                ],
            ),
            (
                "rec2",
                vec![
                    (key::PARENT, json!("rec1")),
                    (key::RECORD_TYPE, json!("exec.cachemount")),
                    (key::SIZE, json!(7)),
                    // Go reads a count without a time as "never used".
                    (key::LAST_USED_AT, json!(T0)),
                ],
            ),
        ]);
        let cache = root.read();
        assert_eq!(cache.problems, []);
        // No creation time sorts first, as Go's zero time.
        assert_eq!(ids(&cache), ["rec2", "rec1"]);
        assert_eq!(
            serde_json::to_value(&cache.records).unwrap(),
            json!([
                {
                    "ID": "rec2", "Parent": "rec1", "Type": "exec.cachemount",
                    "Description": "", "InUse": false, "Shared": false, "Size": 7,
                    "CreatedAt": "0001-01-01T00:00:00Z", "LastUsedAt": null, "UsageCount": 0
                },
                {
                    "ID": "rec1", "Parent": "", "Type": "regular",
                    "Description": "mount / from exec /bin/sh -c true", "InUse": false,
                    "Shared": false, "Size": 123, "CreatedAt": "2026-11-23T01:08:05.034591955Z",
                    "LastUsedAt": "2026-11-23T01:08:05.56200771Z", "UsageCount": 3
                }
            ])
        );
        // Docker's field order.
        let text = serde_json::to_string(&cache.records[1]).unwrap();
        let order = [
            "ID",
            "Parent",
            "Type",
            "Description",
            "InUse",
            "Shared",
            "Size",
            "CreatedAt",
            "LastUsedAt",
            "UsageCount",
        ];
        let at: Vec<usize> = order
            .iter()
            .map(|f| text.find(&format!("\"{f}\"")).unwrap())
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(cache.builder_size(), 130);
        assert_eq!(cache.records[1].size_source, SizeSource::Recorded);
    }

    #[test]
    fn formats_times_as_go_does() {
        assert_eq!(go_time(T0), "2026-11-23T01:08:05.034591955Z");
        assert_eq!(go_time(1_795_396_085_500_000_000), "2026-11-23T01:08:05.5Z");
        assert_eq!(go_time(1_795_396_085_000_000_000), "2026-11-23T01:08:05Z");
        assert_eq!(go_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(go_time(-1), "1969-12-31T23:59:59.999999999Z");
    }

    #[test]
    fn hides_twins_and_records_dockerd_would_drop() {
        let root = Root::new();
        root.records(&[
            // A mutable cache mount and its immutable twin: the mutable one is listed, with
            // its own type and counters and the twin's size.
            (
                "mut",
                vec![
                    (key::RECORD_TYPE, json!("exec.cachemount")),
                    (key::CREATED_AT, json!(T0 + 1)),
                    (key::USAGE_COUNT, json!(2)),
                ],
            ),
            (
                "twin",
                committed(vec![
                    (key::EQUAL_MUTABLE, json!("mut")),
                    (key::SIZE, json!(7000)),
                ]),
            ),
            // A twin that another record builds on is listed instead of its mutable record.
            (
                "mut3",
                vec![
                    (key::CREATED_AT, json!(T0 + 2)),
                    (key::RECORD_TYPE, json!("source.local")),
                ],
            ),
            (
                "twin3",
                committed(vec![
                    (key::EQUAL_MUTABLE, json!("mut3")),
                    (key::SIZE, json!(5)),
                ]),
            ),
            (
                "child3",
                committed(vec![(key::PARENT, json!("twin3")), (key::SIZE, json!(1))]),
            ),
            // Cleared equalMutable (an empty value) means no twin.
            (
                "plain",
                committed(vec![
                    (key::EQUAL_MUTABLE, Value::Null),
                    (key::SIZE, json!(2)),
                ]),
            ),
            (
                "deleted",
                committed(vec![(key::DELETED, json!(true)), (key::SIZE, json!(9))]),
            ),
            (
                "orphan",
                committed(vec![(key::PARENT, json!("gone")), (key::SIZE, json!(9))]),
            ),
            (
                "orphanchild",
                committed(vec![(key::PARENT, json!("orphan")), (key::SIZE, json!(9))]),
            ),
            (
                "badtwin",
                committed(vec![
                    (key::EQUAL_MUTABLE, json!("gone")),
                    (key::SIZE, json!(9)),
                ]),
            ),
            (
                "cyc1",
                committed(vec![(key::PARENT, json!("cyc2")), (key::SIZE, json!(9))]),
            ),
            (
                "cyc2",
                committed(vec![(key::PARENT, json!("cyc1")), (key::SIZE, json!(9))]),
            ),
        ]);
        let cache = root.read();
        let mut listed = ids(&cache);
        listed.sort_unstable();
        assert_eq!(listed, ["child3", "mut", "plain", "twin3"]);
        let m = by_id(&cache, "mut");
        assert_eq!(
            (m.size, m.record_type.as_str(), m.usage_count),
            (7000, "exec.cachemount", 2)
        );
        let t = by_id(&cache, "twin3");
        assert_eq!((t.record_type.as_str(), t.size), ("regular", 5));
        assert_eq!(by_id(&cache, "child3").parent.as_deref(), Some("twin3"));
        assert_eq!(cache.builder_size(), 7000 + 5 + 1 + 2);
        assert!(cache.records.iter().all(|r| !r.in_use));

        let mut kinds: Vec<(ProblemKind, String)> = cache
            .problems
            .iter()
            .map(|p| (p.kind, p.detail.split(':').next().unwrap().to_owned()))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                (ProblemKind::DanglingReference, "record badtwin".to_owned()),
                (ProblemKind::DanglingReference, "record cyc1".to_owned()),
                (ProblemKind::DanglingReference, "record cyc2".to_owned()),
                (ProblemKind::DanglingReference, "record orphan".to_owned()),
                (
                    ProblemKind::DanglingReference,
                    "record orphanchild".to_owned()
                ),
                (ProblemKind::Cycle, "record cyc1".to_owned()),
            ],
            "{:#?}",
            cache.problems
        );
        assert!(cache
            .problems
            .iter()
            .all(|p| p.path.ends_with("buildkit/metadata_v2.db")));
    }

    #[test]
    fn a_record_held_by_a_hidden_mutable_stays_in_use() {
        // BuildKit's cascade: `base` is held by `mut` (hidden, its twin is in use by `child`)
        // and by the twin; releasing the twin frees only one of the two holds.
        let root = Root::new();
        root.records(&[
            ("base", committed(vec![(key::SIZE, json!(1))])),
            ("mut", vec![(key::PARENT, json!("base"))]),
            (
                "twin",
                committed(vec![
                    (key::EQUAL_MUTABLE, json!("mut")),
                    (key::SIZE, json!(1)),
                ]),
            ),
            (
                "child",
                committed(vec![(key::PARENT, json!("twin")), (key::SIZE, json!(1))]),
            ),
        ]);
        let cache = root.read();
        assert_eq!(cache.problems, []);
        let in_use: Vec<(&str, bool)> = cache
            .records
            .iter()
            .map(|r| (r.id.as_str(), r.in_use))
            .collect();
        assert_eq!(in_use, [("base", true), ("child", false), ("twin", false)]);
    }

    #[test]
    fn sizes_what_buildkit_has_not_sized_yet() {
        let root = Root::new();
        let blob = "ab".repeat(32);
        root.records(&[
            // Exported as an image layer: the layer's size.
            ("layered", committed(vec![])),
            // A size dockerd stored in snapshots.db.
            ("stored", committed(vec![])),
            // Committed under another driver id: that directory is measured.
            ("comm", committed(vec![])),
            // A mutable record never sized, without a twin: its own directory.
            ("mutable", vec![(key::CREATED_AT, json!(T0))]),
            // A mutable record that another record uses as parent: 0.
            ("busy", vec![(key::CREATED_AT, json!(T0))]),
            (
                "onbusy",
                committed(vec![(key::PARENT, json!("busy")), (key::SIZE, json!(1))]),
            ),
            // Blob-only: no snapshot, only the blob (when the content store has it).
            (
                "bloby",
                committed(vec![
                    (key::BLOB_ONLY, json!(true)),
                    (key::BLOB, json!(format!("sha256:{blob}"))),
                ]),
            ),
            ("blobless", committed(vec![(key::BLOB_ONLY, json!(true))])),
            // Snapshot key given explicitly.
            ("keyed", committed(vec![(key::SNAPSHOT, json!("other"))])),
            // Problems: no snapshot at all; a layer that is gone; a directory that is gone.
            ("nosnap", committed(vec![])),
            ("nolayer", committed(vec![])),
            ("nodir", committed(vec![])),
        ]);
        root.snapshots(&[
            (
                "layered",
                vec![("chainid", chain(2).as_str()), ("committed", "prep1")],
            ),
            ("stored", vec![("parent", ""), ("size", "4567")]),
            ("comm", vec![("committed", "prep2")]),
            ("prep2", vec![("iscommitted", ""), ("parent", "")]),
            ("mutable", vec![("parent", "")]),
            ("other", vec![("size", "11")]),
            ("nolayer", vec![("chainid", chain(9).as_str())]),
            ("nodir", vec![("parent", "")]),
        ]);
        root.layer(&chain(2), "d2", None, 123_006);
        root.file(&format!("buildkit/content/blobs/sha256/{blob}"), [0u8; 33]);
        // prep2: 10 + 3 (symlink "abc") + 5, the hard link counted once.
        root.file("overlay2/prep2/diff/a", [1u8; 10]);
        std::fs::hard_link(
            root.path().join("overlay2/prep2/diff/a"),
            root.path().join("overlay2/prep2/diff/a2"),
        )
        .unwrap();
        std::os::unix::fs::symlink("abc", root.path().join("overlay2/prep2/diff/l")).unwrap();
        root.file("overlay2/prep2/diff/sub/dir/f", [2u8; 5]);
        root.file("overlay2/mutable/diff/m", [3u8; 77]);
        root.file("overlay2/busy/diff/m", [3u8; 99]);

        let cache = root.read();
        let size = |id| {
            let r = by_id(&cache, id);
            (r.size, r.size_source)
        };
        assert_eq!(size("layered"), (123_006, SizeSource::Layer));
        assert_eq!(size("stored"), (4567, SizeSource::Snapshots));
        assert_eq!(size("comm"), (18, SizeSource::Measured));
        assert_eq!(size("mutable"), (77, SizeSource::Measured));
        assert_eq!(size("busy"), (0, SizeSource::Rule));
        assert_eq!(size("bloby"), (33, SizeSource::Rule));
        assert_eq!(size("blobless"), (0, SizeSource::Rule));
        assert_eq!(size("keyed"), (11, SizeSource::Snapshots));
        assert_eq!(size("nosnap"), (0, SizeSource::Unknown));
        assert_eq!(size("nolayer"), (0, SizeSource::Unknown));
        assert_eq!(size("nodir"), (0, SizeSource::Unknown));
        let mut problems: Vec<(ProblemKind, String)> = cache
            .problems
            .iter()
            .map(|p| {
                (
                    p.kind,
                    p.path.file_name().unwrap().to_string_lossy().into_owned(),
                )
            })
            .collect();
        problems.sort();
        assert_eq!(
            problems,
            [
                (ProblemKind::Missing, "diff".to_owned()),
                (ProblemKind::DanglingReference, "snapshots.db".to_owned()),
                (ProblemKind::DanglingReference, "snapshots.db".to_owned()),
            ],
            "{:#?}",
            cache.problems
        );
    }

    #[test]
    fn shares_records_whose_layers_images_use() {
        let root = Root::new();
        root.records(&[
            ("base", committed(vec![(key::SIZE, json!(0))])),
            (
                "mid",
                committed(vec![(key::PARENT, json!("base")), (key::SIZE, json!(5))]),
            ),
            (
                "top",
                committed(vec![(key::PARENT, json!("mid")), (key::SIZE, json!(6))]),
            ),
            (
                "side",
                committed(vec![(key::PARENT, json!("base")), (key::SIZE, json!(7))]),
            ),
            ("lone", committed(vec![(key::SIZE, json!(8))])),
        ]);
        // `mid` became layer chain(2) on top of chain(1); `top` became chain(3), whose image
        // was removed; `lone` became a layer no image starts with.
        root.snapshots(&[
            ("mid", vec![("chainid", chain(2).as_str())]),
            ("top", vec![("chainid", chain(3).as_str())]),
            ("lone", vec![("chainid", chain(4).as_str())]),
        ]);
        root.layer(&chain(1), "d1", None, 1);
        root.layer(&chain(2), "d2", Some(&chain(1)), 5);
        root.layer(&chain(3), "d3", Some(&chain(2)), 6);
        root.layer(&chain(4), "d4", Some(&chain(1)), 8);
        root.image(&["d1", "d2", "d9"]);
        let cache = root.read();
        assert_eq!(cache.problems, []);
        let shared: Vec<(&str, bool)> = cache
            .records
            .iter()
            .map(|r| (r.id.as_str(), r.shared))
            .collect();
        assert_eq!(
            shared,
            [
                ("base", true),
                ("lone", false),
                ("mid", true),
                ("side", false),
                ("top", false)
            ]
        );
        // BuilderSize counts shared records too.
        assert_eq!(cache.builder_size(), 26);
    }

    #[test]
    fn a_record_with_invalid_json_is_skipped_and_reported() {
        let root = Root::new();
        let mut main = NewBucket::new();
        main = main.bucket("bad", NewBucket::inline().value(key::SIZE, "{not json"));
        main = main.bucket(
            "odd",
            NewBucket::inline()
                .value(key::COMMITTED, r#"{"value":true}"#)
                .value(key::SIZE, r#"{"value":3}"#)
                // Wrong types read as Go's zero values.
                .value(key::USAGE_COUNT, r#"{"value":"many"}"#)
                .value(key::DESCRIPTION, r#"{"value":42}"#)
                .value(key::CREATED_AT, r#"{"index":"x"}"#),
        );
        let db = write(
            &NewBucket::new().bucket(MAIN_BUCKET, main),
            &Layout::default(),
        );
        root.file("buildkit/metadata_v2.db", db);
        let cache = root.read();
        assert_eq!(ids(&cache), ["odd"]);
        let odd = &cache.records[0];
        assert_eq!((odd.usage_count, odd.description.as_str()), (0, ""));
        assert_eq!(odd.created_at, GO_ZERO_TIME);
        assert_eq!(cache.problems.len(), 1);
        assert_eq!(cache.problems[0].kind, ProblemKind::InvalidJson);
        assert!(cache.problems[0].detail.starts_with("record bad:"));
    }

    #[test]
    fn reads_the_records_dockerd_wrote() {
        // The metadata_v2.db of the bolt tests: dockerd 20.10.24 after three builds and one
        // `GET /system/df`, which answered 17 records and BuilderSize 236100 (with `Shared`
        // true where an image uses the layer; this root has no image store).
        let root = Root::new();
        let fixture = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/format/bolt/testdata/metadata_v2.db"
        ));
        std::fs::create_dir(root.path().join("buildkit")).unwrap();
        std::fs::copy(fixture, root.path().join("buildkit/metadata_v2.db")).unwrap();
        let cache = root.read();
        assert_eq!(cache.problems, []);
        assert_eq!(cache.records.len(), 17);
        assert_eq!(cache.builder_size(), 236_100);
        assert_eq!(
            serde_json::to_value(by_id(&cache, "xiu68xihcp8e09y6575h54svb")).unwrap(),
            json!({
                "ID": "xiu68xihcp8e09y6575h54svb", "Parent": "wggygu95a9wj1dx0u9anl1xya",
                "Type": "regular",
                "Description": "mount / from exec /bin/sh -c mkdir -p /data && dd if=/dev/zero of=/data/one bs=1000 count=123 && echo hello > /data/hello",
                "InUse": false, "Shared": false, "Size": 123006,
                "CreatedAt": "2026-11-23T01:08:05.128036764Z",
                "LastUsedAt": "2026-11-23T01:08:05.194900797Z", "UsageCount": 1
            })
        );
        // A mutable record listed with its twin's size.
        let stage = by_id(&cache, "tn0ispjbc4zt5gdr3sgvzpwh0");
        assert_eq!(
            (stage.size, stage.parent.as_deref()),
            (40968, Some("wggygu95a9wj1dx0u9anl1xya"))
        );
        // The cache mount whose count that df raised from 1 to 2.
        let mount = by_id(&cache, "mcmbim6t8wxmrpxefbiz7o5zk");
        assert_eq!(
            (mount.record_type.as_str(), mount.size, mount.usage_count),
            ("exec.cachemount", 7000, 2)
        );
        assert_eq!(
            mount.last_used_at.as_deref(),
            Some("2026-11-23T01:08:08.361703202Z")
        );
        let base = by_id(&cache, "wggygu95a9wj1dx0u9anl1xya");
        assert_eq!(
            (base.size, base.usage_count, base.description.as_str()),
            (0, 3, "from local ")
        );
    }

    /// A content blob of a test namespace: digest, size, labels.
    type TestBlob<'a> = (&'a str, i64, Vec<(String, &'a str)>);

    /// What a containerd worker's records need from the store: Docker's namespace with these
    /// snapshots (key, kind, recorded size), blobs (digest, size, labels) and image manifests
    /// (their layers), under `root`.
    fn containerd(
        root: &Path,
        snapshots: &[(&str, Kind, i64)],
        blobs: &[TestBlob],
        images: &[&[&str]],
    ) -> Containerd {
        use crate::backend::containerd::content::{ManifestUse, Reach};
        use crate::backend::containerd::{ListedImage, Located, Snapshot};
        use crate::backend::{DockerVersion, VersionProbe, VersionSource};
        use crate::format::containerd::meta::{BlobRecord, ImageRecord, MetaDb, Namespace, Target};
        use crate::format::containerd::snapshots::SnapshotDb;
        let digest = |d: &str| Digest::parse(d).unwrap();
        let ns = Namespace {
            name: "moby".into(),
            blobs: blobs
                .iter()
                .map(|(d, size, labels)| {
                    let record = BlobRecord {
                        digest: digest(d),
                        size: *size,
                        labels: labels
                            .iter()
                            .map(|(k, v)| (k.clone(), (*v).to_owned()))
                            .collect(),
                    };
                    (digest(d), record)
                })
                .collect(),
            ..Namespace::default()
        };
        let listed = images
            .iter()
            .enumerate()
            .map(|(n, layers)| {
                let target = digest(&chain(200 + u8::try_from(n).unwrap()));
                ListedImage {
                    record: ImageRecord {
                        name: format!("docker.io/library/i{n}:1"),
                        target: Target {
                            digest: target.clone(),
                            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                            size: 0,
                        },
                        created: None,
                        labels: BTreeMap::new(),
                    },
                    names: Vec::new(),
                    tags: Vec::new(),
                    reach: Reach {
                        target: target.clone(),
                        indexes: Vec::new(),
                        manifests: vec![ManifestUse {
                            digest: target,
                            pseudo: false,
                            available: true,
                            declared: 0,
                            present: Vec::new(),
                            layers: layers.iter().map(|l| digest(l)).collect(),
                            chain_ids: Vec::new(),
                            config: None,
                            layer_blobs: Vec::new(),
                        }],
                    },
                    intermediate: false,
                }
            })
            .collect();
        let snapshots = snapshots
            .iter()
            .zip(1..)
            .map(|(&(key, kind, size), id)| {
                let snapshot = Snapshot::for_test(root, key, None, kind, size, id);
                (key.to_owned(), snapshot)
            })
            .collect();
        let version = DockerVersion::new(26, 1, 5);
        Containerd {
            root: Located {
                path: root.to_path_buf(),
                found_by: "test".into(),
            },
            namespace: "moby".into(),
            docker: true,
            snapshotter: "overlayfs".into(),
            version: VersionProbe::known((version, VersionSource::Flag("--docker-version"))),
            accounting: std::sync::OnceLock::new(),
            images: listed,
            snapshots,
            meta: MetaDb {
                namespaces: [("moby".to_owned(), ns)].into_iter().collect(),
                ..MetaDb::default()
            },
            snapshot_db: SnapshotDb::default(),
        }
    }

    #[test]
    fn reads_the_containerd_workers_records() {
        // As dockerd 26.1 (BuildKit v0.13) leaves them after a build, before any df: sizes
        // unrecorded, the base image's record blob-only, a build context (mutable, with its
        // twin) and a cache mount (mutable, no twin) in active snapshots.
        let root = Root::new();
        let (b0, b1, b2, b2zstd, b2other, b6) =
            (chain(1), chain(2), chain(3), chain(4), chain(5), chain(6));
        let dir = "buildkit/containerd-overlayfs";
        let md_dir = root.path().join(dir);
        root.records(&[
            (
                "base",
                committed(vec![
                    (key::BLOB, json!(b0)),
                    (key::BLOB_ONLY, json!(true)),
                    (key::SNAPSHOT, json!(chain(9))),
                ]),
            ),
            (
                "step1",
                committed(vec![(key::PARENT, json!("base")), (key::BLOB, json!(b1))]),
            ),
            (
                "step2",
                committed(vec![
                    (key::PARENT, json!("step1")),
                    (key::BLOB, json!(b2)),
                    (key::SNAPSHOT, json!("step2-snap")),
                ]),
            ),
            (
                "ctx",
                vec![
                    (key::CREATED_AT, json!(T0 + 1)),
                    (key::RECORD_TYPE, json!("source.local")),
                ],
            ),
            (
                "ctxtwin",
                committed(vec![(key::EQUAL_MUTABLE, json!("ctx"))]),
            ),
            (
                "mount",
                vec![
                    (key::CREATED_AT, json!(T0 + 2)),
                    (key::RECORD_TYPE, json!("exec.cachemount")),
                ],
            ),
            ("gone", committed(vec![(key::SIZE, json!(-1))])),
            ("sized", committed(vec![(key::SIZE, json!(777))])),
            // `COPY --link`: a layer of its own, merged onto step1.
            ("lone", committed(vec![(key::BLOB, json!(chain(6)))])),
            (
                "linked",
                vec![
                    (key::CREATED_AT, json!(T0 + 3)),
                    (key::MERGE_PARENTS, json!(["step1", "lone"])),
                ],
            ),
        ]);
        std::fs::create_dir_all(&md_dir).unwrap();
        std::fs::rename(
            root.path().join("buildkit/metadata_v2.db"),
            md_dir.join(METADATA_DB),
        )
        .unwrap();
        let b2_labels = vec![
            (format!("{BLOB_VARIANT_LABEL}{b2zstd}"), b2zstd.as_str()),
            (format!("{BLOB_VARIANT_LABEL}{b2other}"), b2other.as_str()),
        ];
        let typed = vec![(BLOB_MEDIA_TYPE_LABEL.to_owned(), "application/x")];
        let mut backend = containerd(
            root.path(),
            &[
                (chain(9).as_str(), Kind::Committed, 999_999),
                ("step1", Kind::Committed, 4096),
                ("step2-snap", Kind::Committed, 8192),
                ("ctx", Kind::Active, 0),
                ("mount", Kind::Active, 0),
                ("sized", Kind::Committed, 1),
                ("lone", Kind::Committed, 4096),
                ("linked", Kind::Committed, 999),
            ],
            &[
                (b0.as_str(), 1000, Vec::new()),
                (b1.as_str(), 100, Vec::new()),
                (b2.as_str(), 50, b2_labels),
                // A variant BuildKit made (typed) is counted; another blob is not.
                (b2zstd.as_str(), 30, typed),
                (b2other.as_str(), 7, Vec::new()),
            ],
            &[
                &[b0.as_str(), b1.as_str()],
                &[b0.as_str(), b1.as_str(), b6.as_str()],
            ],
        );
        // The merge's true usage, in the label BuildKit's merge snapshotter put on it.
        let merged = crate::format::containerd::meta::SnapshotRef {
            key: "linked".into(),
            name: "moby/8/linked".into(),
            parent: None,
            created: None,
            labels: [(MERGE_USAGE_SIZE_LABEL.to_owned(), "4096".to_owned())].into(),
        };
        backend.meta.namespaces.get_mut("moby").unwrap().snapshots = [(
            "overlayfs".to_owned(),
            [("linked".to_owned(), merged)].into(),
        )]
        .into();
        let measured = |allocated| TreeUsage {
            entries: 1,
            allocated,
            ..TreeUsage::default()
        };
        let trees: Trees = [
            (backend.snapshots["ctx"].fs.clone(), measured(8192)),
            (backend.snapshots["mount"].fs.clone(), measured(12288)),
        ]
        .into_iter()
        .collect();
        let jail = Jail::open(root.path()).unwrap();
        let worker = Worker::Containerd {
            backend: &backend,
            trees: &trees,
        };
        let cache = read_worker(&jail, &md_dir, &worker);

        let sizes: Vec<(&str, i64, bool)> = cache
            .records
            .iter()
            .map(|r| (r.id.as_str(), r.size, r.shared))
            .collect();
        assert_eq!(
            sizes,
            [
                // Blob-only: the blob alone.
                ("base", 1000, true),
                // The snapshot's recorded usage plus the blob; an image has [b0, b1].
                ("gone", 0, false),
                ("lone", 4096, true),
                ("sized", 777, false),
                ("step1", 4196, true),
                // Plus the typed variant of its blob; [b0, b1, b2] is no image's.
                ("step2", 8192 + 50 + 30, false),
                // Active snapshots as containerd measures them.
                ("ctx", 8192, false),
                ("mount", 12288, false),
                // Its label's usage; its chain [b0, b1] + [b6] is an image's, so it and
                // both its parents are shared.
                ("linked", 4096, true),
            ]
        );
        assert_eq!(by_id(&cache, "linked").parents, ["step1", "lone"]);
        assert_eq!(cache.problems.len(), 1, "{:?}", cache.problems);
        assert_eq!(cache.problems[0].kind, ProblemKind::DanglingReference);
        assert!(cache.problems[0].detail.contains("\"gone\""));
        // API 1.45's answer: no `Parent`, `" Parents"` (with its space) when there is one.
        assert_eq!(
            serde_json::to_value(by_id(&cache, "step2")).unwrap(),
            json!({
                "ID": "step2", " Parents": ["step1"], "Type": "regular", "Description": "",
                "InUse": false, "Shared": false, "Size": 8272,
                "CreatedAt": "2026-11-23T01:08:05.034591955Z", "LastUsedAt": null,
                "UsageCount": 0
            })
        );
        let base = serde_json::to_value(by_id(&cache, "base")).unwrap();
        assert!(base.get("Parent").is_none() && base.get(" Parents").is_none());
        assert_eq!(by_id(&cache, "ctx").record_type, "source.local");
        assert_eq!(by_id(&cache, "mount").size_source, SizeSource::Measured);
    }
}
