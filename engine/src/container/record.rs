//! `containers/<id>/config.v2.json` and `hostconfig.json`, in dockerd's format: the fields
//! strata sets are typed; any other field (one dockerd wrote) is kept as it was. The
//! `config.v2.json` record, its state and mount points are `analyzers::format::config_v2`'s,
//! the types the analyzers read it with.

use std::collections::BTreeMap;
use std::path::PathBuf;

use analyzers::layout::{CONTAINER_CONFIG, CONTAINER_HOSTCONFIG};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::image::config::ContainerConfig;
use crate::image::reference::atomic_write;
use crate::root::Root;

pub use analyzers::format::config_v2::{MountPoint, State, ZERO_TIME};

/// `config.v2.json`, with moby's full `container.Config`.
pub type Record = analyzers::format::config_v2::Record<ContainerConfig>;

/// The parts of `hostconfig.json` strata acts on; the rest is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostConfig {
    /// `-v` binds (`SRC:DST[:ro]`).
    #[serde(rename = "Binds")]
    pub binds: Option<Vec<String>>,
    /// `--rm`.
    #[serde(rename = "AutoRemove", default)]
    pub auto_remove: bool,
    /// `--memory`, bytes (0: no limit).
    #[serde(rename = "Memory", default)]
    pub memory: i64,
    /// `--cpus`, in billionths of a CPU.
    #[serde(rename = "NanoCpus", default)]
    pub nano_cpus: i64,
    /// `--read-only`.
    #[serde(rename = "ReadonlyRootfs", default)]
    pub readonly_rootfs: bool,
    /// `--cap-add`.
    #[serde(rename = "CapAdd", default)]
    pub cap_add: Option<Vec<String>>,
    /// `--cap-drop`.
    #[serde(rename = "CapDrop", default)]
    pub cap_drop: Option<Vec<String>>,
    /// `--security-opt`.
    #[serde(rename = "SecurityOpt", default)]
    pub security_opt: Option<Vec<String>>,
    /// `--pids-limit` (none when absent, 0 or -1).
    #[serde(rename = "PidsLimit", default)]
    pub pids_limit: Option<i64>,
    /// `--tmpfs`: options by path.
    #[serde(rename = "Tmpfs", default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<BTreeMap<String, String>>,
    /// `--group-add`.
    #[serde(rename = "GroupAdd", default)]
    pub group_add: Option<Vec<String>>,
    /// Everything else, as it was.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

fn path_of(root: &Root, id: &str, file: &str) -> PathBuf {
    super::container_dir(root, id).join(file)
}

fn read<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::malformed(path, format!("invalid JSON: {e}")))
}

fn write<T: Serialize>(path: &std::path::Path, value: &T) -> Result<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| Error::malformed(path, e.to_string()))?;
    atomic_write(path, &bytes, 0o600)
}

/// `containers/<id>/config.v2.json`.
pub fn config_path(root: &Root, id: &str) -> PathBuf {
    path_of(root, id, CONTAINER_CONFIG)
}

/// Reads `config.v2.json` of container `id`. Its `ID` must be `id`: [`save`] writes a record
/// where its `ID` says, so a record naming another (`../../etc`) is refused, naming the file.
pub fn load(root: &Root, id: &str) -> Result<Record> {
    let path = config_path(root, id);
    let record: Record = read(&path)?;
    if record.id != id {
        return Err(Error::malformed(
            &path,
            format!("ID {:?} is not the container's id {id}: refused", record.id),
        ));
    }
    Ok(record)
}

/// Writes `config.v2.json` (atomically).
pub fn save(root: &Root, record: &Record) -> Result<()> {
    write(&path_of(root, &record.id, CONTAINER_CONFIG), record)
}

/// Reads `hostconfig.json` of container `id`.
pub fn load_host(root: &Root, id: &str) -> Result<HostConfig> {
    read(&path_of(root, id, CONTAINER_HOSTCONFIG))
}

/// Writes `hostconfig.json` (atomically).
pub fn save_host(root: &Root, id: &str, host: &HostConfig) -> Result<()> {
    write(&path_of(root, id, CONTAINER_HOSTCONFIG), host)
}

/// Changes the state in `config.v2.json` with `change`.
pub fn update_state(root: &Root, id: &str, change: impl FnOnce(&mut State)) -> Result<Record> {
    let mut record = load(root, id)?;
    change(&mut record.state);
    save(root, &record)?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_naming_another_id_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path(), Some("vfs")).unwrap();
        let id = crate::ids::random_hex64();
        let path = config_path(&root, &id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = |rec_id: &str| {
            format!(r#"{{"State":{{}},"ID":"{rec_id}","Config":{{}},"Image":"","Name":"/ab"}}"#)
        };
        std::fs::write(&path, text(&id)).unwrap();
        assert_eq!(load(&root, &id).unwrap().id, id);
        std::fs::write(&path, text("../../../../etc")).unwrap();
        let err = load(&root, &id).unwrap_err().to_string();
        assert!(
            err.contains(path.to_str().unwrap()) && err.contains("../../../../etc"),
            "{err}"
        );
    }
}
