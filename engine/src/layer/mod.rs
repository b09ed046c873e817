//! The layer store, write side: registering a layer tar as dockerd's `layer.Store.Register`
//! does, and the storage drivers that hold layer content.
//!
//! A layer is staged where a crash leaves nothing that counts: its content under the data
//! root's `tmp/` and its record in `layerdb/tmp/write-set-*`; only when the whole tar has been
//! applied, hashed and measured are both renamed into place (content first, then the record
//! that makes the layer exist). A failure removes both.

pub mod extract;
pub mod overlay2;
pub mod tarsplit;
pub mod vfs;

use std::fs;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use analyzers::format::layerdb::{self, LayerRecord, LAYERDB_SHA256, LAYERDB_TMP, LAYER_TAR_SPLIT};
use analyzers::ids::{CacheId, ChainId, DiffId};
use analyzers::walk::{self, WalkOptions};
use flate2::write::GzEncoder;

use crate::error::{Error, IoContext, Result};
use crate::root::Root;
use extract::{Extractor, Whiteouts};
use overlay2::Overlay2;
use vfs::Vfs;

/// The storage driver the engine writes with.
#[derive(Debug, Clone)]
pub enum LayerDriver {
    /// overlay2 (the default).
    Overlay2(Overlay2),
    /// vfs (full copies, no mounts).
    Vfs(Vfs),
}

impl LayerDriver {
    /// The driver's name as dockerd spells it.
    pub fn name(&self) -> &'static str {
        match self {
            LayerDriver::Overlay2(_) => "overlay2",
            LayerDriver::Vfs(_) => "vfs",
        }
    }

    /// Creates the driver's home.
    pub fn init(&self) -> Result<()> {
        match self {
            LayerDriver::Overlay2(d) => d.init(),
            LayerDriver::Vfs(d) => d.init(),
        }
    }

    /// Builds layer bookkeeping in `dir`; returns the directory the layer's files go in.
    pub fn build(&self, dir: &Path, parent: Option<&CacheId>) -> Result<PathBuf> {
        match self {
            LayerDriver::Overlay2(d) => d.build(dir, parent),
            LayerDriver::Vfs(d) => d.build(dir, parent),
        }
    }

    /// Moves a layer built in `staged` to its place under the driver's home.
    pub fn publish(&self, staged: &Path, id: &CacheId) -> Result<()> {
        match self {
            LayerDriver::Overlay2(d) => d.publish(staged, id),
            LayerDriver::Vfs(d) => d.publish(staged, id),
        }
    }

    /// Removes layer `id`'s content.
    pub fn remove(&self, id: &CacheId) -> Result<()> {
        match self {
            LayerDriver::Overlay2(d) => d.remove(id),
            LayerDriver::Vfs(d) => d.remove(id),
        }
    }

    /// Everything the driver keeps for layer `id`.
    pub fn layer_dir(&self, id: &CacheId) -> PathBuf {
        match self {
            LayerDriver::Overlay2(d) => d.layer_dir(id),
            LayerDriver::Vfs(d) => d.layer_dir(id),
        }
    }

    /// The directory holding layer `id`'s own files: overlay2's `diff/` (the upper directory
    /// of its mount), a vfs layer's whole copy.
    pub fn content_dir(&self, id: &CacheId) -> PathBuf {
        match self {
            LayerDriver::Overlay2(d) => d.content_dir(id),
            LayerDriver::Vfs(d) => d.layer_dir(id),
        }
    }

    /// Where layer `id` is mounted while in use (overlay2 `merged/`); `None` for a driver
    /// whose layers are used in place (vfs).
    pub fn mount_point(&self, id: &CacheId) -> Option<PathBuf> {
        match self {
            LayerDriver::Overlay2(d) => Some(d.mount_point(id)),
            LayerDriver::Vfs(_) => None,
        }
    }

    /// Makes layer `id` (which has a parent) usable as a root filesystem: overlay2 mounts it
    /// on `merged/`; a vfs layer is its own directory. Returns the path.
    pub fn mount(&self, id: &CacheId) -> Result<PathBuf> {
        match self {
            LayerDriver::Overlay2(d) => d.mount(id),
            LayerDriver::Vfs(d) => Ok(d.layer_dir(id)),
        }
    }

    /// Undoes [`LayerDriver::mount`]; a layer that is not mounted is fine.
    pub fn unmount(&self, id: &CacheId) -> Result<()> {
        match self {
            LayerDriver::Overlay2(d) => d.unmount(id),
            LayerDriver::Vfs(_) => Ok(()),
        }
    }

    fn whiteouts(&self) -> Whiteouts {
        match self {
            LayerDriver::Overlay2(_) => Whiteouts::Overlay,
            LayerDriver::Vfs(_) => Whiteouts::Delete,
        }
    }

    /// The size dockerd records for a freshly applied layer: overlay2 measures the `diff/`
    /// directory (moby `directory.Size`: apparent size of non-directories, hard links once);
    /// vfs (moby's naive diff driver) sums the tar entries' sizes.
    fn applied_size(&self, content: &Path, entries_size: u64) -> Result<i64> {
        match self {
            LayerDriver::Overlay2(_) => {
                let jail = analyzers::fs::Jail::open(content).at(content)?;
                let usage = walk::measure(&jail, &[content.to_owned()], &WalkOptions::default())
                    .pop()
                    .unwrap_or_default();
                match usage.errors.first() {
                    Some(e) => Err(Error::malformed(&e.path, e.detail.clone())),
                    None => layer_size(content, usage.files_apparent),
                }
            }
            LayerDriver::Vfs(_) => layer_size(content, entries_size),
        }
    }
}

/// A measured size as layerdb records it (`int64`); one beyond it is refused.
fn layer_size(content: &Path, bytes: u64) -> Result<i64> {
    i64::try_from(bytes).map_err(|_| {
        Error::malformed(
            content,
            format!("{bytes} bytes: more than a layer size holds"),
        )
    })
}

/// A layer in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// Its chain id (the layerdb directory name).
    pub chain_id: ChainId,
    /// The digest of its tar.
    pub diff_id: DiffId,
    /// The driver's directory name.
    pub cache_id: CacheId,
    /// Recorded size in bytes (layerdb `size`, moby's `int64`).
    pub size: i64,
}

/// `layerdb/sha256/<chain>`.
pub fn record_dir(root: &Root, chain: &ChainId) -> PathBuf {
    root.image_dir().join(LAYERDB_SHA256).join(chain.0.hex())
}

/// The layer `chain`, if the store has it.
pub fn get(root: &Root, chain: &ChainId) -> Result<Option<Layer>> {
    let dir = record_dir(root, chain);
    if !dir.is_dir() {
        return Ok(None);
    }
    let record =
        layerdb::read_layer(&root.jail, &dir).map_err(|p| Error::malformed(p.path, p.detail))?;
    Ok(Some(Layer {
        chain_id: chain.clone(),
        diff_id: record.diff_id,
        cache_id: record.cache_id,
        size: record.size,
    }))
}

/// Reads a possibly gzip-compressed tar stream as an uncompressed one.
pub fn decompressed<'a>(input: impl Read + 'a) -> Result<Box<dyn Read + 'a>> {
    let mut buffered = BufReader::with_capacity(256 * 1024, input);
    let head = std::io::BufRead::fill_buf(&mut buffered)
        .map_err(|e| Error::io("<input>", e))?
        .to_vec();
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else {
        Box::new(buffered)
    })
}

/// Applies the uncompressed layer tar `input` on top of `parent` and records it, unless the
/// resulting chain is already in the store (then the staged copy is dropped and the existing
/// layer returned, as dockerd does). When `expected` is given, a tar whose digest differs is
/// refused and nothing is kept. `archive` names the input in errors.
pub fn register(
    root: &Root,
    input: &mut dyn Read,
    parent: Option<&ChainId>,
    expected: Option<&DiffId>,
    archive: &str,
) -> Result<Layer> {
    let driver = &root.driver;
    let parent_cache = match parent {
        Some(p) => Some(
            get(root, p)?
                .ok_or_else(|| Error::not_found("layer", p.0.as_str()))?
                .cache_id,
        ),
        None => None,
    };
    let cache_id = CacheId(crate::ids::random_hex64());
    let staged = root.tmp_dir().join(format!("layer-{}", cache_id.as_str()));
    let set = root
        .image_dir()
        .join(LAYERDB_TMP)
        .join(format!("write-set-{}", &crate::ids::random_hex64()[..16]));
    let outcome =
        stage(root, input, parent_cache.as_ref(), &staged, &set, archive).and_then(|applied| {
            match expected {
                Some(want) if *want != applied.0 => Err(Error::malformed(
                    archive,
                    format!(
                        "layer diff id is {}, the image config says {want}",
                        applied.0
                    ),
                )),
                _ => Ok(applied),
            }
        });
    let layer = match outcome {
        Ok(applied) => applied,
        Err(e) => {
            let _ = extract::remove_all(&staged);
            let _ = extract::remove_all(&set);
            return Err(e);
        }
    };
    let chain_id = ChainId::of(parent, &layer.0);
    let final_record = record_dir(root, &chain_id);
    if final_record.exists() {
        extract::remove_all(&staged)?;
        extract::remove_all(&set)?;
        return get(root, &chain_id)?.ok_or_else(|| Error::not_found("layer", chain_id.0.as_str()));
    }
    let record = LayerRecord {
        diff_id: layer.0,
        parent: parent.cloned(),
        cache_id,
        size: layer.1,
    };
    for (name, bytes) in record.files() {
        overlay2::write(&set.join(name), &bytes, 0o644)?;
    }
    driver.publish(&staged, &record.cache_id)?;
    fs::rename(&set, &final_record).at(&final_record)?;
    Ok(Layer {
        chain_id,
        diff_id: record.diff_id,
        cache_id: record.cache_id,
        size: record.size,
    })
}

/// Builds and fills the staged layer and its tar-split; the diff id and recorded size.
fn stage(
    root: &Root,
    input: &mut dyn Read,
    parent_cache: Option<&CacheId>,
    staged: &Path,
    set: &Path,
    archive: &str,
) -> Result<(DiffId, i64)> {
    let driver = &root.driver;
    fs::create_dir_all(set).at(set)?;
    let content = driver.build(staged, parent_cache)?;
    let split_path = set.join(LAYER_TAR_SPLIT);
    let split_file = fs::File::create(&split_path).at(&split_path)?;
    let mut gz = GzEncoder::new(
        std::io::BufWriter::new(split_file),
        flate2::Compression::default(),
    );
    let mut extractor = Extractor::new(&content, archive, driver.whiteouts());
    let done = tarsplit::disassemble(input, &mut gz, |meta, data| extractor.entry(meta, data))
        .map_err(|e| match e {
            tarsplit::TarError::Entry(inner) => inner,
            other => Error::malformed(archive, other.to_string()),
        })?;
    extractor.finish()?;
    gz.finish()
        .and_then(|mut w| std::io::Write::flush(&mut w))
        .at(&split_path)?;
    let size = driver.applied_size(&content, done.entries_size)?;
    Ok((done.diff_id, size))
}
