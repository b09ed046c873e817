//! moby's layer store records (`layer/filestore.go`), one small text file per field, under
//! `image/<driver>/layerdb/`:
//!
//! | record | files |
//! | --- | --- |
//! | `sha256/<chain id hex>/` (a read-only layer) | `diff` (diff id), `parent` (parent chain id, absent for a base layer), `cache-id` (the driver's directory), `size` (bytes, decimal `int64`), `tar-split.json.gz` |
//! | `mounts/<container id>/` (a container's writable layer) | `mount-id`, `init-id` (`<mount-id>-init`), `parent` (chain id of the image's top layer) |
//!
//! The names, the encoding ([`LayerRecord::files`], [`MountRecordFiles::files`]) and the
//! parsing ([`read_layer`], [`read_mount`]) are here; the analyzers load and check the whole
//! store with them (`graph`), the engine writes and reads its layers with them.

use std::path::Path;

use crate::error::{Problem, ProblemKind};
use crate::fs::Jail;
use crate::ids::{CacheId, ChainId, DiffId};

/// `image/<driver>/layerdb/sha256/<chain id>/`: read-only layer records.
pub const LAYERDB_SHA256: &str = "layerdb/sha256";
/// `image/<driver>/layerdb/mounts/<container id>/`: read-write layer records.
pub const LAYERDB_MOUNTS: &str = "layerdb/mounts";
/// `image/<driver>/layerdb/tmp/`: layers being written.
pub const LAYERDB_TMP: &str = "layerdb/tmp";

/// Layer record file: the layer's diff id.
pub const LAYER_DIFF: &str = "diff";
/// Layer record file: the parent's chain id (absent for a base layer).
pub const LAYER_PARENT: &str = "parent";
/// Layer record file: the driver's directory name for the layer.
pub const LAYER_CACHE_ID: &str = "cache-id";
/// Layer record file: the layer's size in bytes, decimal.
pub const LAYER_SIZE: &str = "size";
/// Layer record file: the gzipped tar-split metadata that rebuilds the exact tar
/// ([`crate::format::tarsplit`]).
pub const LAYER_TAR_SPLIT: &str = "tar-split.json.gz";
/// Mount record file: the driver's directory of the writable layer.
pub const MOUNT_ID: &str = "mount-id";
/// Mount record file: the driver's directory of the init layer.
pub const MOUNT_INIT_ID: &str = "init-id";
/// Suffix of a container's init layer's cache id (`<mount-id>-init`).
pub const INIT_SUFFIX: &str = "-init";

/// What a read-only layer's record holds (besides its tar-split).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRecord {
    /// The digest of the layer's own tar.
    pub diff_id: DiffId,
    /// The layer below, if any.
    pub parent: Option<ChainId>,
    /// The driver's directory name for the layer's content.
    pub cache_id: CacheId,
    /// The recorded size of the layer's own content, in bytes: moby's `int64`, as the driver
    /// measured it when the layer was made (what dockerd reports, not what is on disk now).
    pub size: i64,
}

impl LayerRecord {
    /// The record's files and their contents, as moby writes them (`parent` only when the
    /// layer has one).
    pub fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut out = vec![
            (LAYER_DIFF, self.diff_id.to_string().into_bytes()),
            (LAYER_SIZE, self.size.to_string().into_bytes()),
            (LAYER_CACHE_ID, self.cache_id.as_str().as_bytes().to_vec()),
        ];
        if let Some(parent) = &self.parent {
            out.push((LAYER_PARENT, parent.to_string().into_bytes()));
        }
        out
    }
}

/// What a container's mount record holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRecordFiles {
    /// The driver's directory of the writable layer.
    pub mount_id: CacheId,
    /// The driver's directory of the init layer (`<mount id>-init`), if any.
    pub init_id: Option<CacheId>,
    /// The image's top layer the container stands on, if any.
    pub parent: Option<ChainId>,
}

impl MountRecordFiles {
    /// The record's files and their contents (`init-id` and `parent` when there are some).
    pub fn files(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut out = vec![(MOUNT_ID, self.mount_id.as_str().as_bytes().to_vec())];
        if let Some(init) = &self.init_id {
            out.push((MOUNT_INIT_ID, init.as_str().as_bytes().to_vec()));
        }
        if let Some(parent) = &self.parent {
            out.push((LAYER_PARENT, parent.to_string().into_bytes()));
        }
        out
    }
}

/// The init layer's cache id of the writable layer `mount_id`: dockerd's `<mount-id>-init`.
pub fn init_id_of(mount_id: &CacheId) -> CacheId {
    CacheId(format!("{mount_id}{INIT_SUFFIX}"))
}

/// Reads the layer record in the directory `record`, as dockerd loads it: `diff`, `cache-id`
/// and `size` must parse, `parent` is optional.
pub fn read_layer(jail: &Jail, record: &Path) -> Result<LayerRecord, Problem> {
    let diff_path = record.join(LAYER_DIFF);
    let diff_text = jail.read_text(&diff_path)?;
    let diff_id = DiffId::parse(&diff_text).ok_or_else(|| {
        Problem::new(
            &diff_path,
            ProblemKind::InvalidValue,
            format!("{diff_text:?} is not a sha256 digest"),
        )
    })?;
    let cache_id = read_cache_id(jail, &record.join(LAYER_CACHE_ID))?;
    let size_path = record.join(LAYER_SIZE);
    let size_text = jail.read_text(&size_path)?;
    let size = size_text.parse::<i64>().map_err(|_| {
        Problem::new(
            &size_path,
            ProblemKind::InvalidValue,
            format!("{size_text:?} is not a byte count"),
        )
    })?;
    let parent = read_optional_chain(jail, &record.join(LAYER_PARENT))?;
    Ok(LayerRecord {
        diff_id,
        parent,
        cache_id,
        size,
    })
}

/// Reads the mount record in the directory `record`: `mount-id` must parse; an empty or
/// absent `init-id` is none, and so is an absent `parent`.
pub fn read_mount(jail: &Jail, record: &Path) -> Result<MountRecordFiles, Problem> {
    let mount_id = read_cache_id(jail, &record.join(MOUNT_ID))?;
    let init_path = record.join(MOUNT_INIT_ID);
    let init_id = match jail.read_text(&init_path) {
        Ok(s) if s.is_empty() => None,
        Ok(_) => Some(read_cache_id(jail, &init_path)?),
        Err(p) if p.kind == ProblemKind::Missing => None,
        Err(p) => return Err(p),
    };
    let parent = read_optional_chain(jail, &record.join(LAYER_PARENT))?;
    Ok(MountRecordFiles {
        mount_id,
        init_id,
        parent,
    })
}

/// Reads a record naming a driver directory (`cache-id`, `mount-id`, `init-id`): one
/// directory name, never a path (`../../x` would lead out of the driver's home).
fn read_cache_id(jail: &Jail, path: &Path) -> Result<CacheId, Problem> {
    let text = jail.read_text(path)?;
    CacheId::parse(&text).ok_or_else(|| {
        Problem::new(
            path,
            ProblemKind::InvalidValue,
            format!("{text:?} is not a directory name"),
        )
    })
}

fn read_optional_chain(jail: &Jail, path: &Path) -> Result<Option<ChainId>, Problem> {
    match jail.read_text(path) {
        Ok(text) => ChainId::parse(&text).map(Some).ok_or_else(|| {
            Problem::new(
                path,
                ProblemKind::InvalidValue,
                format!("{text:?} is not a chain id"),
            )
        }),
        Err(p) if p.kind == ProblemKind::Missing => Ok(None),
        Err(p) => Err(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Digest;

    fn write_files(dir: &Path, files: &[(&'static str, Vec<u8>)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }

    /// Records encoded by `files()` read back as the same records, with and without their
    /// optional files.
    #[test]
    fn records_round_trip() {
        let tmp = tempfile::tempdir().unwrap();
        let jail = Jail::open(tmp.path()).unwrap();
        let diff_id = DiffId(Digest::of_bytes(b"layer"));
        let base = LayerRecord {
            diff_id: diff_id.clone(),
            parent: None,
            cache_id: CacheId("c1".into()),
            size: 12_345,
        };
        let child = LayerRecord {
            parent: Some(ChainId::of(None, &diff_id)),
            cache_id: CacheId("c2".into()),
            size: 0,
            ..base.clone()
        };
        for (n, layer) in [base, child].into_iter().enumerate() {
            let dir = tmp.path().join(format!("layer{n}"));
            write_files(&dir, &layer.files());
            assert_eq!(read_layer(&jail, &dir).unwrap(), layer);
        }
        let mount_id = CacheId("m1".into());
        for mount in [
            MountRecordFiles {
                init_id: Some(init_id_of(&mount_id)),
                parent: Some(ChainId::of(None, &diff_id)),
                mount_id: mount_id.clone(),
            },
            MountRecordFiles {
                mount_id,
                init_id: None,
                parent: None,
            },
        ] {
            let dir = tmp.path().join(format!("mount-{}", mount.files().len()));
            write_files(&dir, &mount.files());
            assert_eq!(read_mount(&jail, &dir).unwrap(), mount);
        }
        assert_eq!(init_id_of(&CacheId("ab".into())).as_str(), "ab-init");
    }

    #[test]
    fn damaged_records_name_their_file() {
        let tmp = tempfile::tempdir().unwrap();
        let jail = Jail::open(tmp.path()).unwrap();
        let dir = tmp.path().join("l");
        let good = LayerRecord {
            diff_id: DiffId(Digest::of_bytes(b"x")),
            parent: None,
            cache_id: CacheId("c".into()),
            size: 1,
        };
        write_files(&dir, &good.files());
        std::fs::write(dir.join(LAYER_CACHE_ID), "../../etc").unwrap();
        let p = read_layer(&jail, &dir).unwrap_err();
        assert_eq!(
            (p.kind, p.path),
            (ProblemKind::InvalidValue, dir.join(LAYER_CACHE_ID))
        );
        write_files(&dir, &good.files());
        std::fs::write(dir.join(LAYER_SIZE), "12k").unwrap();
        let p = read_layer(&jail, &dir).unwrap_err();
        assert_eq!(p.path, dir.join(LAYER_SIZE));
    }
}
