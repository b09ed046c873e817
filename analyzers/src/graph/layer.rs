//! `image/<driver>/layerdb/`: read-only layers (`sha256/<chain id>/`) and the writable layers
//! of containers (`mounts/<container id>/`).
//!
//! A layer record loads the way dockerd loads it (moby `layer/layer_store.go`): `diff`,
//! `cache-id` and `size` must parse, `parent` is optional but must itself load. Records that
//! fail are reported and left out, exactly as dockerd leaves them out; a record whose chain id
//! does not match its parent and diff id, or whose content directory is gone, still loads (as
//! in dockerd) but is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::driver::{AnyDriver, Driver};
use crate::error::{Problem, ProblemKind};
use crate::format::layerdb::{
    self, LAYERDB_MOUNTS, LAYERDB_SHA256, LAYER_CACHE_ID, LAYER_PARENT, LAYER_SIZE,
};
use crate::fs::Jail;
use crate::ids::{is_hex64, CacheId, ChainId, ContainerId, DiffId};

/// A read-only layer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// The layer's chain id (its layerdb directory name).
    pub chain_id: ChainId,
    /// The digest of the layer's own tar.
    pub diff_id: DiffId,
    /// The layer below, if any.
    pub parent: Option<ChainId>,
    /// The driver's directory name for the layer's content.
    pub cache_id: CacheId,
    /// The recorded size of the layer's own content, in bytes (layerdb `size`, moby's
    /// `int64`): what dockerd reports, not what is on disk now.
    pub size: i64,
    /// The layerdb record directory.
    pub record: PathBuf,
}

/// A container's writable layer record (`layerdb/mounts/<container id>/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRecord {
    /// The container the layer belongs to.
    pub container: ContainerId,
    /// The driver's directory of the writable layer.
    pub mount_id: CacheId,
    /// The driver's directory of the init layer (`<mount id>-init`), if any.
    pub init_id: Option<CacheId>,
    /// The image's top layer the container stands on, if any.
    pub parent: Option<ChainId>,
    /// The record directory.
    pub record: PathBuf,
}

impl MountRecord {
    /// The init layer's driver directory, if the container has one (a plain containerd
    /// container has none).
    pub fn init(&self) -> Option<&CacheId> {
        self.init_id.as_ref()
    }
}

/// The largest layer size taken as real (1 PiB): a bigger recorded size is damage, reported
/// (sums over layers saturate rather than wrap).
pub const PLAUSIBLE_SIZE: i64 = 1 << 50;

/// Loads every layer record in `<image_dir>/layerdb/sha256`.
pub fn load_layers(
    jail: &Jail,
    image_dir: &Path,
    driver: Option<&AnyDriver>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<ChainId, Layer> {
    let base = image_dir.join(LAYERDB_SHA256);
    let raw: Vec<Result<Layer, Problem>> = list_dirs(jail, &base)
        .into_par_iter()
        .filter_map(|(name, path)| {
            let chain_id = ChainId::from_hex(&name)?;
            Some(read_layer(jail, chain_id, path))
        })
        .collect();
    let mut found = BTreeMap::new();
    for r in raw {
        match r {
            Ok(l) => {
                found.insert(l.chain_id.clone(), l);
            }
            Err(p) => problems.push(p),
        }
    }
    let loaded = drop_unloadable(found, problems);
    for layer in loaded.values() {
        check_layer(jail, layer, driver, problems);
    }
    loaded
}

fn read_layer(jail: &Jail, chain_id: ChainId, record: PathBuf) -> Result<Layer, Problem> {
    let r = layerdb::read_layer(jail, &record)?;
    Ok(Layer {
        chain_id,
        diff_id: r.diff_id,
        parent: r.parent,
        cache_id: r.cache_id,
        size: r.size,
        record,
    })
}

/// Keeps the layers whose whole parent chain loads; reports missing parents and cycles.
///
/// Each layer's verdict is memoized, so the check is linear in the number of layers whatever
/// the shape of the chains (a ring of thousands of layers included).
fn drop_unloadable(
    mut found: BTreeMap<ChainId, Layer>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<ChainId, Layer> {
    let mut verdict: BTreeMap<ChainId, bool> = BTreeMap::new();
    for id in found.keys() {
        if verdict.contains_key(id) {
            continue;
        }
        // Follow the chain until a layer with a verdict, a missing parent or a loop.
        let mut path: Vec<&ChainId> = vec![id];
        let mut on_path: BTreeSet<&ChainId> = BTreeSet::from([id]);
        let good = loop {
            let cur = &found[*path.last().expect("path starts non-empty")];
            let Some(parent) = &cur.parent else {
                break true;
            };
            if let Some(&v) = verdict.get(parent) {
                break v;
            }
            if on_path.contains(parent) {
                problems.push(Problem::new(
                    cur.record.join(LAYER_PARENT),
                    ProblemKind::Cycle,
                    format!("parent chain loops back to {parent}; layers on the loop left out"),
                ));
                break false;
            }
            if !found.contains_key(parent) {
                problems.push(Problem::new(
                    cur.record.join(LAYER_PARENT),
                    ProblemKind::DanglingReference,
                    format!("parent layer {parent} does not exist; layer left out"),
                ));
                break false;
            }
            path.push(parent);
            on_path.insert(parent);
        };
        for l in path {
            verdict.insert(l.clone(), good);
        }
    }
    found.retain(|id, _| verdict.get(id) == Some(&true));
    found
}

fn check_layer(
    jail: &Jail,
    layer: &Layer,
    driver: Option<&AnyDriver>,
    problems: &mut Vec<Problem>,
) {
    let expect = ChainId::of(layer.parent.as_ref(), &layer.diff_id);
    if expect != layer.chain_id {
        problems.push(Problem::new(
            &layer.record,
            ProblemKind::ChainIdMismatch,
            format!("parent and diff give chain id {expect}"),
        ));
    }
    if let Some(missing) = driver.and_then(|d| d.missing_data(jail, &layer.cache_id)) {
        problems.push(Problem::new(
            layer.record.join(LAYER_CACHE_ID),
            ProblemKind::DanglingReference,
            format!("the driver's {} is missing", missing.display()),
        ));
    }
    if layer.size < 0 || layer.size > PLAUSIBLE_SIZE {
        problems.push(Problem::new(
            layer.record.join(LAYER_SIZE),
            ProblemKind::InvalidValue,
            format!(
                "size {} is not a layer's (negative, or above {PLAUSIBLE_SIZE}); sums that \
                 include it saturate",
                layer.size
            ),
        ));
    }
}

/// Loads every container mount record in `<image_dir>/layerdb/mounts`, keeping those whose
/// parent layer exists (dockerd drops the others).
pub fn load_mounts(
    jail: &Jail,
    image_dir: &Path,
    layers: &BTreeMap<ChainId, Layer>,
    problems: &mut Vec<Problem>,
) -> BTreeMap<ContainerId, MountRecord> {
    let base = image_dir.join(LAYERDB_MOUNTS);
    let raw: Vec<Result<MountRecord, Problem>> = list_dirs(jail, &base)
        .into_par_iter()
        .map(|(name, record)| read_mount(jail, ContainerId(name), record))
        .collect();
    let mut out = BTreeMap::new();
    for r in raw {
        match r {
            Ok(m) => {
                if let Some(parent) = &m.parent {
                    if !layers.contains_key(parent) {
                        problems.push(Problem::new(
                            m.record.join(LAYER_PARENT),
                            ProblemKind::DanglingReference,
                            format!("image layer {parent} does not exist"),
                        ));
                        continue;
                    }
                }
                out.insert(m.container.clone(), m);
            }
            Err(p) => problems.push(p),
        }
    }
    out
}

fn read_mount(
    jail: &Jail,
    container: ContainerId,
    record: PathBuf,
) -> Result<MountRecord, Problem> {
    let r = layerdb::read_mount(jail, &record)?;
    Ok(MountRecord {
        container,
        // dockerd's `<mount-id>-init` when the record does not name it.
        init_id: Some(
            r.init_id
                .unwrap_or_else(|| layerdb::init_id_of(&r.mount_id)),
        ),
        mount_id: r.mount_id,
        parent: r.parent,
        record,
    })
}

/// The subdirectories of `dir` as `(name, path)`, sorted; an absent `dir` gives none.
pub(crate) fn list_dirs(jail: &Jail, dir: &Path) -> Vec<(String, PathBuf)> {
    jail.read_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.is_dir)
        .map(|e| (e.name.to_string_lossy().into_owned(), dir.join(&e.name)))
        .collect()
}

impl ChainId {
    /// The chain id named by a layerdb directory (64 hex characters).
    pub fn from_hex(hex: &str) -> Option<ChainId> {
        is_hex64(hex).then(|| ChainId::parse(&format!("sha256:{hex}")))?
    }
}

/// Every entry of `dir` as `(name, path, is_dir)`, sorted; an absent `dir` gives none.
pub(crate) fn list_entries(jail: &Jail, dir: &Path) -> Vec<(String, PathBuf, bool)> {
    jail.read_dir(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|e| {
            (
                e.name.to_string_lossy().into_owned(),
                dir.join(&e.name),
                e.is_dir,
            )
        })
        .collect()
}
