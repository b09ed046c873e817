//! A snapshotter's own store, `io.containerd.snapshotter.v1.<name>/metadata.db`
//! (containerd `core/snapshots/storage/bolt.go`):
//!
//! ```text
//! v1/snapshots/<key>/{id=uvarint, kind=1 byte, parent=<key>, createdat, updatedat, labels/,
//!                     inodes=varint, size=varint}
//! ```
//! `<key>` is the metadata store's name for it (`<ns>/<seq>/<key>`); the files of snapshot
//! `id` are in `snapshots/<id>/fs`. `size` and `inodes` are written when a snapshot is
//! committed (`fs.DiskUsage` of its directory then); they are zero for active ones.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Problem, ProblemKind};
use crate::format::bolt::Db;
use crate::fs::Jail;

use super::meta::{labels, sub_buckets, text, time};
use super::{uvarint, varint, SCHEMA_V1};

/// What a snapshot is (`snapshots.Kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Kind 0: not set.
    Unknown,
    /// A read-only view of a committed snapshot.
    View,
    /// Writable: a container's or a build step's layer being made.
    Active,
    /// Read-only, finished: an image layer.
    Committed,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::Unknown,
            1 => Kind::View,
            2 => Kind::Active,
            3 => Kind::Committed,
            _ => return None,
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Unknown => "unknown",
            Kind::View => "view",
            Kind::Active => "active",
            Kind::Committed => "committed",
        })
    }
}

/// One snapshot record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// The snapshotter's key (`<ns>/<seq>/<key>`).
    pub key: String,
    /// Its number: the files are in `snapshots/<id>/fs`.
    pub id: u64,
    /// What it is.
    pub kind: Kind,
    /// The parent's snapshotter key.
    pub parent: Option<String>,
    /// Recorded bytes (`fs.DiskUsage` at commit): blocks of every entry, once per inode.
    pub size: i64,
    /// Recorded inodes.
    pub inodes: i64,
    /// Creation time, Unix seconds.
    pub created: Option<i64>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// The decoded snapshotter store.
#[derive(Debug, Clone, Default)]
pub struct SnapshotDb {
    /// The file read.
    pub path: PathBuf,
    /// Snapshots, by the snapshotter's key.
    pub snapshots: BTreeMap<String, SnapshotRecord>,
}

/// Reads a snapshotter's `metadata.db` at `path`. A damaged record is a problem and is left
/// out; an unreadable file is the error.
pub fn read(jail: &Jail, path: &Path, problems: &mut Vec<Problem>) -> Result<SnapshotDb, Problem> {
    let db = Db::open(jail, path)?;
    let mut snapshots = BTreeMap::new();
    let bucket = db
        .root()
        .bucket(SCHEMA_V1)
        .and_then(|v| v.bucket("snapshots"));
    for (key, b) in sub_buckets(bucket) {
        let bad = |detail: &str| {
            Problem::new(
                path,
                ProblemKind::InvalidValue,
                format!("v1/snapshots/{key}: {detail}"),
            )
        };
        let Some(id) = b.get("id").and_then(uvarint) else {
            problems.push(bad("id is not a uvarint"));
            continue;
        };
        let Some(kind) = b
            .get("kind")
            .and_then(|k| (k.len() == 1).then(|| k[0]))
            .and_then(Kind::from_byte)
        else {
            problems.push(bad("kind is not one of 0-3"));
            continue;
        };
        let number = |field: &str| match b.get(field) {
            None => Some(0),
            Some(v) => varint(v).filter(|n| (0..=crate::graph::layer::PLAUSIBLE_SIZE).contains(n)),
        };
        let (Some(size), Some(inodes)) = (number("size"), number("inodes")) else {
            problems.push(bad("size or inodes is not a plausible varint"));
            continue;
        };
        let parent = b
            .get("parent")
            .map(|p| text(Some(p)))
            .filter(|p| !p.is_empty());
        snapshots.insert(
            key.clone(),
            SnapshotRecord {
                key,
                id,
                kind,
                parent,
                size,
                inodes,
                created: time(b.get("createdat")),
                labels: labels(b),
            },
        );
    }
    Ok(SnapshotDb {
        path: path.to_path_buf(),
        snapshots,
    })
}
