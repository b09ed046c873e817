//! Finding and validating the Docker data root.
//!
//! The root is `--root DIR` when given; else `data-root` (or the legacy `graph`) from
//! `/etc/docker/daemon.json`; else `/var/lib/docker`. A directory qualifies as a data root when
//! it holds Docker's own layout (`image/`, `containers/`, `volumes/` or a driver's home). With
//! `userns-remap` the whole store lives one level down in `<uid>.<gid>/`; such sub-roots are
//! listed so that they are never missed.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::fs::{self, Jail};
use crate::layout::{CONTAINERS_DIR, IMAGE_DIR, VOLUMES_DIR};

/// Where dockerd keeps its configuration.
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
/// dockerd's default data root.
pub const DEFAULT_ROOT: &str = "/var/lib/docker";

/// Names of the storage drivers' home directories that mark a data root.
pub const DRIVER_HOMES: &[&str] = &[
    "overlay2",
    "overlay",
    "fuse-overlayfs",
    "aufs",
    "btrfs",
    "zfs",
    "devicemapper",
    "vfs",
];

/// A validated Docker data root.
#[derive(Debug, Clone)]
pub struct DataRoot {
    /// The directory itself.
    pub path: PathBuf,
    /// The root handle every read of this root goes through.
    pub jail: Jail,
    /// `<uid>.<gid>` sub-roots made by `userns-remap`, each a data root of its own.
    pub remapped: Vec<PathBuf>,
}

#[derive(Deserialize)]
struct DaemonJson {
    #[serde(rename = "data-root")]
    data_root: Option<PathBuf>,
    graph: Option<PathBuf>,
}

/// Resolves the data root path: `explicit` if given, else `daemon_json`'s `data-root`, else
/// [`DEFAULT_ROOT`]. A daemon.json that exists but cannot be parsed is an error naming it.
pub fn locate(explicit: Option<&Path>, daemon_json: &Path) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    match fs::read_host_file(daemon_json) {
        Ok(bytes) => {
            let cfg: DaemonJson = serde_json::from_slice(&bytes).map_err(|e| Error::Malformed {
                path: daemon_json.to_path_buf(),
                detail: format!("invalid JSON: {e}"),
            })?;
            Ok(cfg
                .data_root
                .or(cfg.graph)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(PathBuf::from(DEFAULT_ROOT)),
        Err(e) => Err(Error::io(daemon_json, e)),
    }
}

impl DataRoot {
    /// Checks that `path` is a readable Docker data root.
    pub fn open(path: &Path) -> Result<DataRoot> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        if !meta.is_dir() {
            return Err(not_root(path, "not a directory"));
        }
        let jail = Jail::open(path).map_err(|e| Error::io(path, e))?;
        let names = entry_names(&jail, path).map_err(|e| Error::io(path, e))?;
        let remapped: Vec<PathBuf> = names
            .iter()
            .filter(|n| is_remap_dir(n))
            .map(|n| path.join(n))
            .filter(|p| looks_like_root(&jail, p))
            .collect();
        if !has_docker_layout(&names) && remapped.is_empty() {
            return Err(not_root(
                path,
                "no image/, containers/, volumes/, storage driver or containerd metadata \
                 directory",
            ));
        }
        Ok(DataRoot {
            path: path.to_path_buf(),
            jail,
            remapped,
        })
    }

    /// The path of `rel` under the root.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }
}

fn not_root(path: &Path, reason: &str) -> Error {
    Error::NotADataRoot {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    }
}

fn has_docker_layout(names: &[String]) -> bool {
    names.iter().any(|n| {
        n == IMAGE_DIR
            || n == CONTAINERS_DIR
            || n == VOLUMES_DIR
            || n == CONTAINERD_METADATA_DIR
            || DRIVER_HOMES.contains(&&**n)
            || crate::format::containers_storage::driver_of_layers_dir(n).is_some()
    })
}

/// The directory of containerd's metadata store: it marks a plain containerd root.
const CONTAINERD_METADATA_DIR: &str = "io.containerd.metadata.v1.bolt";

fn looks_like_root(jail: &Jail, path: &Path) -> bool {
    entry_names(jail, path).is_ok_and(|names| has_docker_layout(&names))
}

fn entry_names(jail: &Jail, path: &Path) -> std::io::Result<Vec<String>> {
    Ok(jail
        .read_dir(path)?
        .into_iter()
        .map(|e| e.name.to_string_lossy().into_owned())
        .collect())
}

/// `userns-remap` names its sub-root `<uid>.<gid>`.
pub fn is_remap_dir(name: &str) -> bool {
    name.split_once('.').is_some_and(|(u, g)| {
        !u.is_empty()
            && !g.is_empty()
            && u.bytes().all(|b| b.is_ascii_digit())
            && g.bytes().all(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_prefers_explicit_then_daemon_json() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("daemon.json");
        assert_eq!(
            locate(Some(Path::new("/x")), &cfg).unwrap(),
            PathBuf::from("/x")
        );
        assert_eq!(locate(None, &cfg).unwrap(), PathBuf::from(DEFAULT_ROOT));
        std::fs::write(&cfg, r#"{"data-root": "/srv/docker"}"#).unwrap();
        assert_eq!(locate(None, &cfg).unwrap(), PathBuf::from("/srv/docker"));
        std::fs::write(&cfg, "{").unwrap();
        let err = locate(None, &cfg).unwrap_err().to_string();
        assert!(err.contains("daemon.json"), "{err}");
    }

    #[test]
    fn open_rejects_non_roots() {
        let dir = tempfile::tempdir().unwrap();
        assert!(DataRoot::open(dir.path()).is_err());
        assert!(DataRoot::open(&dir.path().join("missing")).is_err());
        std::fs::create_dir(dir.path().join("1000.1000")).unwrap();
        std::fs::create_dir(dir.path().join("1000.1000/image")).unwrap();
        let root = DataRoot::open(dir.path()).unwrap();
        assert_eq!(root.remapped, vec![dir.path().join("1000.1000")]);
    }
}
