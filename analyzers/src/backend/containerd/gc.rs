//! What containerd's garbage collector would find (containerd `core/metadata/gc.go`): from the
//! roots (image targets, containers, leases, anything labelled `containerd.io/gc.root`)
//! through the references (`containerd.io/gc.ref.content*` and
//! `containerd.io/gc.ref.snapshot.<snapshotter>*` labels, snapshot parents, an image's
//! manifests, configs and layers), every snapshot and blob of the namespace that nothing
//! reaches; plus what no record names at all (snapshot directories, blob files) and
//! unfinished downloads.

use std::collections::{BTreeSet, HashSet};

use super::Containerd;
use crate::driver::Driver;
use crate::error::Problem;
use crate::forensics::orphans::{Finding, OrphanKind};
use crate::format::containerd::meta::Namespace;
use crate::format::containerd::{CONTENT_DIR, INGEST_DIR, SNAPSHOTS_DIR};
use crate::graph::Store;
use crate::ids::Digest;

const GC_ROOT: &str = "containerd.io/gc.root";
const GC_REF_CONTENT: &str = "containerd.io/gc.ref.content";
const GC_REF_SNAPSHOT: &str = "containerd.io/gc.ref.snapshot.";

/// What the mark phase reached.
#[derive(Default)]
struct Marked<'a> {
    blobs: HashSet<Digest>,
    snapshots: HashSet<&'a str>,
}

/// The references the labels of one record make.
fn label_refs<'a>(
    labels: &'a std::collections::BTreeMap<String, String>,
    snapshotter: &str,
) -> (Vec<Digest>, Vec<&'a str>) {
    let snapshot_prefix = format!("{GC_REF_SNAPSHOT}{snapshotter}");
    let blobs = labels
        .iter()
        .filter(|(k, _)| k.starts_with(GC_REF_CONTENT))
        .filter_map(|(_, v)| Digest::parse(v))
        .collect();
    let snapshots = labels
        .iter()
        .filter(|(k, _)| k.starts_with(&snapshot_prefix))
        .map(|(_, v)| v.as_str())
        .collect();
    (blobs, snapshots)
}

/// The blobs of namespace `ns` that only the images with a target in `gone` reach: what
/// containerd's collection deletes with them.
pub fn blobs_only_reached_by(
    b: &Containerd,
    ns: &Namespace,
    gone: &HashSet<Digest>,
) -> HashSet<Digest> {
    let all = mark(b, ns, &HashSet::new()).blobs;
    let kept = mark(b, ns, gone).blobs;
    all.difference(&kept).cloned().collect()
}

/// What the roots reach, leaving out the images whose target is in `without`.
fn mark<'a>(b: &'a Containerd, ns: &'a Namespace, without: &HashSet<Digest>) -> Marked<'a> {
    let sn = b.snapshotter.as_str();
    let mut marked = Marked::default();
    let mut blob_queue: Vec<Digest> = Vec::new();
    let mut snap_queue: Vec<&str> = Vec::new();
    for img in ns
        .images
        .values()
        .filter(|i| !without.contains(&i.target.digest))
    {
        blob_queue.push(img.target.digest.clone());
    }
    for listed in b
        .images
        .iter()
        .filter(|i| !without.contains(&i.reach.target))
    {
        blob_queue.extend(listed.reach.indexes.iter().map(|(d, _)| d.clone()));
        for m in &listed.reach.manifests {
            blob_queue.extend(m.present.iter().map(|(d, _)| d.clone()));
        }
    }
    for c in ns.containers.values() {
        if c.snapshotter == sn {
            snap_queue.push(&c.snapshot_key);
        }
        let (bl, sl) = label_refs(&c.labels, sn);
        blob_queue.extend(bl);
        snap_queue.extend(sl);
    }
    for lease in ns.leases.values() {
        blob_queue.extend(lease.content.iter().cloned());
        snap_queue.extend(
            lease
                .snapshots
                .iter()
                .filter(|(s, _)| s == sn)
                .map(|(_, k)| k.as_str()),
        );
    }
    for blob in ns.blobs.values().filter(|b| b.labels.contains_key(GC_ROOT)) {
        blob_queue.push(blob.digest.clone());
    }
    if let Some(refs) = ns.snapshots.get(sn) {
        snap_queue.extend(
            refs.values()
                .filter(|r| r.labels.contains_key(GC_ROOT))
                .map(|r| r.key.as_str()),
        );
    }
    while !blob_queue.is_empty() || !snap_queue.is_empty() {
        while let Some(d) = blob_queue.pop() {
            let Some(blob) = ns.blobs.get(&d) else {
                continue;
            };
            if !marked.blobs.insert(d) {
                continue;
            }
            let (bl, sl) = label_refs(&blob.labels, sn);
            blob_queue.extend(bl);
            snap_queue.extend(sl);
        }
        while let Some(k) = snap_queue.pop() {
            let Some(r) = ns.snapshots.get(sn).and_then(|refs| refs.get(k)) else {
                continue;
            };
            if !marked.snapshots.insert(r.key.as_str()) {
                continue;
            }
            snap_queue.extend(r.parent.as_deref());
            let (bl, sl) = label_refs(&r.labels, sn);
            blob_queue.extend(bl);
            snap_queue.extend(sl);
        }
    }
    marked
}

/// Every leftover of the containerd store `b` (read from `store`).
pub fn leftovers(
    b: &Containerd,
    store: &Store,
    found: &mut Vec<Finding>,
    _problems: &mut Vec<Problem>,
) {
    let jail = &store.jail;
    let ns = b
        .meta
        .namespaces
        .get(&b.namespace)
        .cloned()
        .unwrap_or_default();
    let marked = mark(b, &ns, &HashSet::new());
    for s in b.snapshots.values() {
        if !marked.snapshots.contains(s.key.as_str()) {
            found.push((
                OrphanKind::UnreachableSnapshot,
                s.dir.clone(),
                format!(
                    "snapshot {} of namespace {}: no image, container, lease or GC root \
                     reaches it",
                    s.key, b.namespace
                ),
            ));
        }
    }
    let named: BTreeSet<&str> = b
        .meta
        .namespaces
        .values()
        .filter_map(|n| n.snapshots.get(&b.snapshotter))
        .flat_map(|refs| refs.values().map(|r| r.name.as_str()))
        .collect();
    let driver = crate::driver::Overlayfs::new(&b.root.path);
    let known: HashSet<String> = b
        .snapshot_db
        .snapshots
        .values()
        .map(|r| r.id.to_string())
        .collect();
    for r in b.snapshot_db.snapshots.values() {
        if !named.contains(r.key.as_str()) {
            found.push((
                OrphanKind::UnreachableSnapshot,
                driver.layer_dir(&crate::ids::CacheId(r.id.to_string())),
                format!(
                    "snapshot {}: no namespace of the metadata store names it",
                    r.key
                ),
            ));
        }
    }
    let snapshots_dir = driver.home().join(SNAPSHOTS_DIR);
    for e in jail.read_dir(&snapshots_dir).unwrap_or_default() {
        let name = e.name.to_string_lossy();
        if e.is_dir && !known.contains(name.as_ref()) {
            found.push((
                OrphanKind::SnapshotDir,
                snapshots_dir.join(&e.name),
                "the snapshotter has no record of this directory".into(),
            ));
        }
    }
    let Some(content) = b.content(store) else {
        return;
    };
    for blob in ns.blobs.values() {
        if !marked.blobs.contains(&blob.digest) {
            found.push((
                OrphanKind::UnreachableBlob,
                content.blob_path(&blob.digest),
                format!(
                    "blob {} of namespace {}: no image, lease or GC root reaches it",
                    blob.digest, b.namespace
                ),
            ));
        }
    }
    let recorded: HashSet<&Digest> = b
        .meta
        .namespaces
        .values()
        .flat_map(|n| n.blobs.keys())
        .collect();
    for e in jail.read_dir(&content.blobs).unwrap_or_default() {
        let recorded_blob =
            Digest::from_hex(&e.name.to_string_lossy()).is_some_and(|d| recorded.contains(&d));
        if !recorded_blob {
            found.push((
                OrphanKind::BlobWithoutRecord,
                content.blobs.join(&e.name),
                "no namespace of the metadata store records this blob".into(),
            ));
        }
    }
    let ingest = b.root.path.join(CONTENT_DIR).join(INGEST_DIR);
    for e in jail.read_dir(&ingest).unwrap_or_default() {
        found.push((
            OrphanKind::Ingest,
            ingest.join(&e.name),
            "a download containerd never finished".into(),
        ));
    }
}
