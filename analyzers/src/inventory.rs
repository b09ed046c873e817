//! Inventories: `strata images`, `layers`, `containers`, `volumes`, each row with its sizes and
//! its references in both directions (which images use a layer, which containers use an image
//! or a volume).
//!
//! The sizes are the df report's (one walk for all four lists; see [`crate::usage::df`]); this
//! module only joins them with the graph. It never walks, writes or prints.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::Backend;
use crate::driver::Driver;
use crate::error::Problem;
use crate::format::containerd::snapshots::Kind;
use crate::graph::Store;
use crate::ids::{CacheId, ChainId, DiffId, ImageId};
use crate::usage::df::{ContainerDf, DfReport, ImageDf, VolumeDf};

/// A container as the inventories name it: id and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerRef {
    /// Full container id.
    pub id: String,
    /// Its name, without the leading `/`.
    pub name: String,
}

/// `strata images`: an image row of `docker system df -v` plus its layers and containers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageEntry {
    /// The df row (`Id`, `RepoTags`, `Size`, `SharedSize`, `UniqueSize`...).
    #[serde(flatten)]
    pub df: ImageDf,
    /// Its layers, bottom-up, by chain id.
    pub layers: Vec<ChainId>,
    /// Containers made from it.
    pub container_refs: Vec<ContainerRef>,
}

/// `strata layers`: one read-only layer and what uses it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerEntry {
    /// Chain id (the layerdb directory).
    pub chain_id: ChainId,
    /// Diff id (digest of the layer's tar).
    pub diff_id: DiffId,
    /// The driver's directory for its content.
    pub cache_id: CacheId,
    /// The layer below, if any.
    pub parent: Option<ChainId>,
    /// Recorded size of the layer's own content, bytes (layerdb `size`).
    pub size: i64,
    /// Every image whose layer stack contains it (intermediate images included).
    pub images: Vec<ImageId>,
    /// Containers standing on it (directly or through layers above it).
    pub container_refs: Vec<ContainerRef>,
}

/// `strata containers`: a container row of `docker system df -v` plus its volumes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerEntry {
    /// The df row (`Id`, `Names`, `Image`, `State`, `SizeRw`, `SizeRootFs`...).
    #[serde(flatten)]
    pub df: ContainerDf,
    /// Names of the volumes it mounts.
    pub volumes: Vec<String>,
}

/// `strata volumes`: a volume row of `docker system df -v` plus the containers mounting it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeEntry {
    /// The df row (`Name`, `UsageData.Size`, `UsageData.RefCount`, `Anonymous`...).
    #[serde(flatten)]
    pub df: VolumeDf,
    /// Containers that mount it.
    pub container_refs: Vec<ContainerRef>,
}

/// `strata snapshots`: one snapshot of a containerd store, sized as `ctr snapshots usage`
/// sizes it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SnapshotEntry {
    /// The namespace.
    pub namespace: String,
    /// Its key in the namespace.
    pub key: String,
    /// The parent's key.
    pub parent: Option<String>,
    /// `view`, `active` or `committed`.
    pub kind: Kind,
    /// The snapshotter's number for it (`snapshots/<id>/`).
    pub id: u64,
    /// Bytes: recorded at commit, measured now for an active snapshot (blocks of every
    /// entry, once per inode).
    pub size: i64,
    /// Inodes, the same way.
    pub inodes: i64,
}

/// One inventory list and the problems met while making it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Inventory<T> {
    /// The storage driver whose data is listed.
    pub driver: String,
    /// The rows.
    pub items: Vec<T>,
    /// Damaged or inconsistent records met on the way.
    pub problems: Vec<Problem>,
}

fn container_ref(store: &Store, id: &str) -> ContainerRef {
    let name = store
        .containers
        .iter()
        .find(|c| c.id.0 == id)
        .map(|c| c.name.trim_start_matches('/').to_owned())
        .unwrap_or_default();
    ContainerRef {
        id: id.to_owned(),
        name,
    }
}

fn inventory<T>(store: &Store, df: &DfReport, items: Vec<T>) -> Inventory<T> {
    Inventory {
        driver: store.driver.name().to_owned(),
        items,
        problems: df.problems.clone(),
    }
}

/// The images `docker images` lists, with their layers and containers.
pub fn images(store: &Store, df: &DfReport) -> Inventory<ImageEntry> {
    let items = df
        .images
        .iter()
        .map(|row| ImageEntry {
            layers: store
                .images
                .get(&row.id)
                .map(|i| i.chain_ids.clone())
                .unwrap_or_default(),
            container_refs: store
                .containers
                .iter()
                .filter(|c| c.image_id == row.id)
                .map(|c| container_ref(store, &c.id.0))
                .collect(),
            df: row.clone(),
        })
        .collect();
    inventory(store, df, items)
}

/// Every read-only layer, bottom layers first within each chain, with its users.
pub fn layers(store: &Store, df: &DfReport) -> Inventory<LayerEntry> {
    let mut images_of: BTreeMap<&ChainId, Vec<ImageId>> = BTreeMap::new();
    for img in store.images.values() {
        for chain in &img.chain_ids {
            images_of.entry(chain).or_default().push(img.id.clone());
        }
    }
    let mut containers_of: BTreeMap<&ChainId, Vec<ContainerRef>> = BTreeMap::new();
    for c in &store.containers {
        for layer in store.chain_below(c.rw_layer.parent.as_ref()) {
            containers_of
                .entry(&layer.chain_id)
                .or_default()
                .push(container_ref(store, &c.id.0));
        }
    }
    let items = store
        .layers
        .values()
        .map(|l| LayerEntry {
            chain_id: l.chain_id.clone(),
            diff_id: l.diff_id.clone(),
            cache_id: l.cache_id.clone(),
            parent: l.parent.clone(),
            size: l.size,
            images: images_of.remove(&l.chain_id).unwrap_or_default(),
            container_refs: containers_of.remove(&l.chain_id).unwrap_or_default(),
        })
        .collect();
    inventory(store, df, items)
}

/// Every container of the driver, newest first, with its volumes.
pub fn containers(store: &Store, df: &DfReport) -> Inventory<ContainerEntry> {
    let items = df
        .containers
        .iter()
        .map(|row| ContainerEntry {
            volumes: row
                .mounts
                .iter()
                .filter(|m| m.kind == "volume")
                .map(|m| m.name.clone())
                .collect(),
            df: row.clone(),
        })
        .collect();
    inventory(store, df, items)
}

/// Every snapshot of the namespace read, by key; an error for a store that has none (a
/// graphdriver store has layers).
pub fn snapshots(store: &Store, df: &DfReport) -> crate::Result<Inventory<SnapshotEntry>> {
    let items = store
        .backend
        .snapshots(df)
        .ok_or_else(|| crate::Error::NotADataRoot {
            path: store.root.clone(),
            reason: format!(
                "a {} store keeps layers, not containerd snapshots (see `strata layers`)",
                store.driver.name()
            ),
        })?;
    Ok(inventory(store, df, items))
}

/// Local volumes, with the containers that mount them; only those no container mounts
/// (`RefCount` 0) when `orphaned_only`.
pub fn volumes(store: &Store, df: &DfReport, orphaned_only: bool) -> Inventory<VolumeEntry> {
    let items = df
        .volumes
        .iter()
        .filter(|v| !orphaned_only || v.usage_data.ref_count == 0)
        .map(|row| VolumeEntry {
            container_refs: store
                .containers
                .iter()
                .filter(|c| {
                    c.mounts
                        .iter()
                        .any(|m| m.name == row.name && !m.driver.is_empty())
                })
                .map(|c| container_ref(store, &c.id.0))
                .collect(),
            df: row.clone(),
        })
        .collect();
    inventory(store, df, items)
}
