//! What `du` attributes in a containerd root: its databases, each content blob to the images
//! that use it, BuildKit's snapshots, unfinished downloads, and the root itself when it lies
//! outside the Docker data root. Image layers and containers' snapshots are the driver's
//! ([`crate::usage::du`] plans them from the graph); anything else in the root is the
//! daemon's.

use std::collections::{BTreeMap, HashSet};

use super::Containerd;
use crate::driver::Driver;
use crate::format::containerd::{CONTENT_DIR, INGEST_DIR, META_DB, SNAPSHOTTER_DB};
use crate::graph::Store;
use crate::ids::Digest;
use crate::usage::du::{Claim, OwnerKind};

/// The claims of `b`'s containerd root.
pub fn claims(b: &Containerd, store: &Store) -> Vec<Claim> {
    let root = &b.root.path;
    let mut out = Vec::new();
    if !root.starts_with(&store.root) {
        out.push(Claim::new(
            OwnerKind::Daemon,
            "containerd",
            "containerd root",
            root.clone(),
        ));
    }
    out.push(Claim::new(
        OwnerKind::ImageMetadata,
        "meta.db",
        "containerd metadata",
        root.join(META_DB),
    ));
    let driver = crate::driver::Overlayfs::new(root);
    // The root's other plugin directories (runtime state, other snapshotters, tmpmounts...).
    for e in store.jail.read_dir(root).unwrap_or_default() {
        let path = root.join(&e.name);
        if !driver.home().starts_with(&path) {
            let name = e.name.to_string_lossy();
            out.push(Claim::new(OwnerKind::Daemon, &name, &name, path));
        }
    }
    out.push(Claim::new(
        OwnerKind::ImageMetadata,
        "snapshots metadata.db",
        "snapshotter metadata",
        driver.home().join(SNAPSHOTTER_DB),
    ));
    let ingest = root.join(CONTENT_DIR).join(INGEST_DIR);
    for e in store.jail.read_dir(&ingest).unwrap_or_default() {
        out.push(Claim::new(
            OwnerKind::Tmp,
            "ingest",
            "unfinished downloads",
            ingest.join(&e.name),
        ));
    }
    if let Some(content) = b.content(store) {
        let mut users: BTreeMap<&Digest, Vec<String>> = BTreeMap::new();
        for img in &b.images {
            let label = img
                .tags
                .first()
                .cloned()
                .unwrap_or_else(|| img.reach.target.short().to_owned());
            let blobs = img
                .reach
                .indexes
                .iter()
                .chain(img.reach.manifests.iter().flat_map(|m| m.present.iter()))
                .map(|(d, _)| d);
            for d in blobs.chain(std::iter::once(&img.reach.target)) {
                let list = users.entry(d).or_default();
                if !list.contains(&label) {
                    list.push(label.clone());
                }
            }
        }
        for (digest, mut used_by) in users {
            if !content.present(digest) {
                continue;
            }
            used_by.sort();
            let first = used_by[0].clone();
            out.push(Claim {
                kind: OwnerKind::ImageContent,
                id: first.clone(),
                name: first,
                used_by,
                note: String::new(),
                path: content.blob_path(digest),
            });
        }
    }
    let layers: HashSet<&str> = store.layers.keys().map(|c| c.0.as_str()).collect();
    let containers: HashSet<&str> = store
        .mounts
        .values()
        .flat_map(|m| std::iter::once(&m.mount_id).chain(m.init()))
        .map(|c| c.as_str())
        .collect();
    let leased: HashSet<&str> = b
        .meta
        .namespaces
        .get(&b.namespace)
        .map(|ns| {
            ns.leases
                .values()
                .flat_map(|l| l.snapshots.iter().map(|(_, k)| k.as_str()))
                .collect()
        })
        .unwrap_or_default();
    for s in b.snapshots.values() {
        let id = s.record.id.to_string();
        if layers.contains(s.key.as_str()) || containers.contains(id.as_str()) {
            continue;
        }
        if leased.contains(s.key.as_str())
            || b.snapshots
                .values()
                .any(|o| o.parent.as_deref() == Some(&s.key) && leased.contains(o.key.as_str()))
        {
            out.push(Claim::new(
                OwnerKind::BuildCache,
                "snapshots",
                "BuildKit snapshots",
                s.dir.clone(),
            ));
        }
    }
    out
}
