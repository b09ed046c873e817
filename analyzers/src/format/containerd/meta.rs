//! containerd's metadata store, `meta.db`: per namespace, images, containers, snapshot
//! references, content blobs, ingests and leases (containerd `core/metadata/buckets.go`).
//!
//! ```text
//! v1/<ns>/images/<name>/{createdat, target/{digest,mediatype,size}, labels/}
//! v1/<ns>/containers/<id>/{createdat, image, snapshotter, snapshotKey, runtime/{name}, labels/}
//! v1/<ns>/snapshots/<snapshotter>/<key>/{name, parent, createdat, labels/}
//! v1/<ns>/content/blob/<digest>/{createdat, size, labels/}
//! v1/<ns>/content/ingests/<ref>/{ref, expected}
//! v1/<ns>/leases/<id>/{createdat, snapshots/<snapshotter>/<key>, content/<digest>, ingests/<ref>}
//! ```
//! Every record is validated where it is read: a digest must be a sha256 digest, a size a
//! varint; a record that fails is a [`Problem`] naming `meta.db` and the record, and is left out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Problem, ProblemKind};
use crate::format::bolt::{Bucket, Db};
use crate::fs::Jail;
use crate::ids::Digest;

use super::{go_time, varint, SCHEMA_V1};

/// A descriptor as containerd stores an image's target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The digest of the manifest or index.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its declared size in bytes.
    pub size: i64,
}

/// An image record: a name bound to a target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// The name (`docker.io/library/alpine:latest`, `moby-dangling@sha256:…`, `sha256:…`).
    pub name: String,
    /// What the name points at.
    pub target: Target,
    /// Creation time, Unix seconds.
    pub created: Option<i64>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A container record (containerd's own, as CRI and nerdctl make them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// The container id.
    pub id: String,
    /// The image name it was made from.
    pub image: String,
    /// The snapshotter of its root filesystem.
    pub snapshotter: String,
    /// Its snapshot's key in that snapshotter.
    pub snapshot_key: String,
    /// The runtime (`io.containerd.runc.v2`).
    pub runtime: String,
    /// Creation time, Unix seconds.
    pub created: Option<i64>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A namespace's reference to a snapshot of the backend snapshotter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRef {
    /// The key in this namespace (a chain id for image layers, a container id...).
    pub key: String,
    /// The snapshotter's own key (`<ns>/<seq>/<key>`).
    pub name: String,
    /// The parent's key in this namespace.
    pub parent: Option<String>,
    /// Creation time, Unix seconds.
    pub created: Option<i64>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// A content blob visible to a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: i64,
    /// Labels (`containerd.io/gc.ref.*`, `containerd.io/uncompressed`...).
    pub labels: BTreeMap<String, String>,
}

/// A lease: what it keeps from garbage collection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseRecord {
    /// The lease id.
    pub id: String,
    /// Snapshots held, `(snapshotter, key)`.
    pub snapshots: Vec<(String, String)>,
    /// Content held.
    pub content: Vec<Digest>,
    /// Ingests held, by ref.
    pub ingests: Vec<String>,
}

/// An ingest (a download in progress) recorded for a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestRecord {
    /// The ingest's ref.
    pub reference: String,
    /// The digest expected when it completes, if known.
    pub expected: Option<Digest>,
}

/// Everything one namespace of `meta.db` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace's name.
    pub name: String,
    /// Images, by name.
    pub images: BTreeMap<String, ImageRecord>,
    /// Containers, by id.
    pub containers: BTreeMap<String, ContainerRecord>,
    /// Snapshot references, by snapshotter then key.
    pub snapshots: BTreeMap<String, BTreeMap<String, SnapshotRef>>,
    /// Content blobs, by digest.
    pub blobs: BTreeMap<Digest, BlobRecord>,
    /// Ingests.
    pub ingests: Vec<IngestRecord>,
    /// Leases, by id.
    pub leases: BTreeMap<String, LeaseRecord>,
}

/// The decoded metadata store.
#[derive(Debug, Clone, Default)]
pub struct MetaDb {
    /// The file read.
    pub path: PathBuf,
    /// The schema version (`v1/version`), 4 for containerd 1.x and 2.x.
    pub version: Option<i64>,
    /// Namespaces, by name.
    pub namespaces: BTreeMap<String, Namespace>,
}

/// Reads `meta.db` at `path` through `jail`. Damaged records are `problems`; an unreadable
/// file, or one without the `v1` bucket, is the error.
pub fn read(jail: &Jail, path: &Path, problems: &mut Vec<Problem>) -> Result<MetaDb, Problem> {
    let db = Db::open(jail, path)?;
    let v1 = db.root().bucket(SCHEMA_V1).ok_or_else(|| {
        Problem::new(
            path,
            ProblemKind::InvalidDatabase,
            "no v1 bucket: not a containerd metadata store",
        )
    })?;
    let version = v1.get("version").and_then(varint);
    let mut namespaces = BTreeMap::new();
    for (name, entry) in v1.iter() {
        let Some(bucket) = entry.as_bucket() else {
            continue;
        };
        let name = String::from_utf8_lossy(name).into_owned();
        let mut ctx = Records {
            path,
            namespace: &name,
            problems,
        };
        let ns = ctx.namespace(bucket);
        namespaces.insert(name, ns);
    }
    Ok(MetaDb {
        path: path.to_path_buf(),
        version,
        namespaces,
    })
}

/// Decoding of one namespace, with the problems it finds.
struct Records<'a> {
    path: &'a Path,
    namespace: &'a str,
    problems: &'a mut Vec<Problem>,
}

impl Records<'_> {
    fn problem(&mut self, record: &str, detail: impl std::fmt::Display) {
        self.problems.push(Problem::new(
            self.path,
            ProblemKind::InvalidValue,
            format!("v1/{}/{record}: {detail}", self.namespace),
        ));
    }

    fn namespace(&mut self, bucket: &Bucket) -> Namespace {
        let mut ns = Namespace {
            name: self.namespace.to_owned(),
            ..Namespace::default()
        };
        for (name, b) in sub_buckets(bucket.bucket("images")) {
            if let Some(img) = self.image(&name, b) {
                ns.images.insert(name, img);
            }
        }
        for (id, b) in sub_buckets(bucket.bucket("containers")) {
            ns.containers.insert(id.clone(), container(&id, b));
        }
        for (snapshotter, sb) in sub_buckets(bucket.bucket("snapshots")) {
            let refs = sub_buckets(Some(sb))
                .into_iter()
                .filter_map(|(key, b)| {
                    let name = text(b.get("name"));
                    if name.is_empty() {
                        self.problem(&format!("snapshots/{snapshotter}/{key}"), "no name");
                        return None;
                    }
                    let parent = b.get("parent").map(|p| text(Some(p)));
                    Some((
                        key.clone(),
                        SnapshotRef {
                            key,
                            name,
                            parent: parent.filter(|p| !p.is_empty()),
                            created: time(b.get("createdat")),
                            labels: labels(b),
                        },
                    ))
                })
                .collect();
            ns.snapshots.insert(snapshotter, refs);
        }
        let content = bucket.bucket("content");
        for (digest, b) in sub_buckets(content.and_then(|c| c.bucket("blob"))) {
            let record = format!("content/blob/{digest}");
            let Some(d) = Digest::parse(&digest) else {
                self.problem(&record, "not a sha256 digest");
                continue;
            };
            let Some(size) = b.get("size").and_then(varint).filter(|s| *s >= 0) else {
                self.problem(&record, "size is not a varint");
                continue;
            };
            ns.blobs.insert(
                d.clone(),
                BlobRecord {
                    digest: d,
                    size,
                    labels: labels(b),
                },
            );
        }
        for (reference, b) in sub_buckets(content.and_then(|c| c.bucket("ingests"))) {
            let expected = b
                .get("expected")
                .and_then(|e| Digest::parse(&text(Some(e))));
            ns.ingests.push(IngestRecord {
                reference,
                expected,
            });
        }
        for (id, b) in sub_buckets(bucket.bucket("leases")) {
            ns.leases.insert(id.clone(), lease(id, b));
        }
        ns
    }

    fn image(&mut self, name: &str, b: &Bucket) -> Option<ImageRecord> {
        let record = format!("images/{name}");
        let Some(t) = b.bucket("target") else {
            self.problem(&record, "no target");
            return None;
        };
        let Some(digest) = Digest::parse(&text(t.get("digest"))) else {
            self.problem(&record, "target digest is not a sha256 digest");
            return None;
        };
        let Some(size) = t.get("size").and_then(varint).filter(|s| *s >= 0) else {
            self.problem(&record, "target size is not a varint");
            return None;
        };
        Some(ImageRecord {
            name: name.to_owned(),
            target: Target {
                digest,
                media_type: text(t.get("mediatype")),
                size,
            },
            created: time(b.get("createdat")),
            labels: labels(b),
        })
    }
}

fn container(id: &str, b: &Bucket) -> ContainerRecord {
    ContainerRecord {
        id: id.to_owned(),
        image: text(b.get("image")),
        snapshotter: text(b.get("snapshotter")),
        snapshot_key: text(b.get("snapshotKey")),
        runtime: text(b.bucket("runtime").and_then(|r| r.get("name"))),
        created: time(b.get("createdat")),
        labels: labels(b),
    }
}

fn lease(id: String, b: &Bucket) -> LeaseRecord {
    let snapshots = sub_buckets(b.bucket("snapshots"))
        .into_iter()
        .flat_map(|(snapshotter, keys)| {
            keys.iter()
                .map(|(k, _)| (snapshotter.clone(), String::from_utf8_lossy(k).into_owned()))
                .collect::<Vec<_>>()
        })
        .collect();
    let content = b
        .bucket("content")
        .map(|c| {
            c.iter()
                .filter_map(|(k, _)| Digest::parse(&String::from_utf8_lossy(k)))
                .collect()
        })
        .unwrap_or_default();
    let ingests = b
        .bucket("ingests")
        .map(|c| {
            c.iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect()
        })
        .unwrap_or_default();
    LeaseRecord {
        id,
        snapshots,
        content,
        ingests,
    }
}

/// The nested buckets of `bucket`, by name (values are skipped).
pub(super) fn sub_buckets(bucket: Option<&Bucket>) -> Vec<(String, &Bucket)> {
    bucket
        .map(|b| {
            b.iter()
                .filter_map(|(k, e)| {
                    e.as_bucket()
                        .map(|b| (String::from_utf8_lossy(k).into_owned(), b))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The `labels/` sub-bucket of a record.
pub(super) fn labels(b: &Bucket) -> BTreeMap<String, String> {
    b.bucket("labels")
        .map(|l| {
            l.iter()
                .filter_map(|(k, e)| {
                    e.as_value().map(|v| {
                        (
                            String::from_utf8_lossy(k).into_owned(),
                            String::from_utf8_lossy(v).into_owned(),
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn text(v: Option<&[u8]>) -> String {
    v.map(|v| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default()
}

pub(super) fn time(v: Option<&[u8]>) -> Option<i64> {
    v.and_then(go_time).map(|(s, _)| s)
}
