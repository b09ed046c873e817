//! Finding and validating the Docker data root.
//!
//! The root is `--root DIR` when given; else `data-root` (or the legacy `graph`) from
//! `/etc/docker/daemon.json`; else `/var/lib/docker`. A user's rootless dockerd keeps its own
//! (moby `daemon/config/config_linux.go`, `pkg/homedir GetDataHome`): `data-root` of
//! `$XDG_CONFIG_HOME/docker/daemon.json`, else `$XDG_DATA_HOME/docker`, i.e.
//! `~/.local/share/docker` ([`rootless`]; the XDG variables are taken at their defaults, as
//! strata cannot see the user's environment). Host paths are taken under the [`Sysroot`].
//!
//! A directory qualifies as a data root when it holds Docker's own layout (`image/`,
//! `containers/`, `volumes/` or a driver's home). With `userns-remap` the whole store lives one
//! level down in `<uid>.<gid>/` (moby `daemon/daemon_unix.go` `setupRemappedRoot`), a data root
//! of its own, and what the parent holds besides is from a daemon run without remapping
//! (STORES.md 5): such sub-roots are listed ([`DataRoot::remapped`]) and every report on the
//! parent says so ([`DataRoot::notices`]), so that they are never missed.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Problem, ProblemKind, Result};
use crate::fs::Jail;
use crate::host::Sysroot;
use crate::layout::{CONTAINERS_DIR, IMAGE_DIR, VOLUMES_DIR};

/// Where dockerd keeps its configuration.
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
/// dockerd's default data root.
pub const DEFAULT_ROOT: &str = "/var/lib/docker";
/// A rootless dockerd's configuration, under the user's home (`$XDG_CONFIG_HOME/docker`).
pub const ROOTLESS_DAEMON_JSON: &str = ".config/docker/daemon.json";
/// A rootless dockerd's default data root, under the user's home (`$XDG_DATA_HOME/docker`).
pub const ROOTLESS_ROOT: &str = ".local/share/docker";

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

/// Resolves the data root path: `explicit` if given, else the `data-root` of the host's
/// [`DAEMON_JSON`], else [`DEFAULT_ROOT`] (both under `sysroot`). A daemon.json that exists but
/// cannot be parsed is an error naming it.
pub fn locate(explicit: Option<&Path>, sysroot: &Sysroot) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    configured(
        &sysroot.path(DAEMON_JSON),
        &sysroot.path(DEFAULT_ROOT),
        sysroot,
    )
}

/// The data root of the rootless dockerd of the user whose home (as the host's account
/// database names it) is `home`: `data-root` of its [`ROOTLESS_DAEMON_JSON`], else
/// [`ROOTLESS_ROOT`] under the home, under `sysroot`. The directory may not exist.
pub fn rootless(home: &Path, sysroot: &Sysroot) -> Result<PathBuf> {
    let home = sysroot.path(home);
    configured(
        &home.join(ROOTLESS_DAEMON_JSON),
        &home.join(ROOTLESS_ROOT),
        sysroot,
    )
}

/// The `data-root` (or legacy `graph`) of the daemon.json at `daemon_json` (a path under
/// `sysroot`), taken under `sysroot`; `default` (already under it) when the file does not
/// exist or names none.
fn configured(daemon_json: &Path, default: &Path, sysroot: &Sysroot) -> Result<PathBuf> {
    match sysroot.read(daemon_json) {
        Ok(bytes) => {
            let cfg: DaemonJson = serde_json::from_slice(&bytes).map_err(|e| Error::Malformed {
                path: daemon_json.to_path_buf(),
                detail: format!("invalid JSON: {e}"),
            })?;
            Ok(cfg
                .data_root
                .or(cfg.graph)
                .map_or_else(|| default.to_path_buf(), |p| sysroot.path(p)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(default.to_path_buf()),
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
        let remapped = remapped_in(&jail, path, &names);
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

    /// What every report on this root says beyond its records: each userns-remap sub-root,
    /// as not read with it ([`ProblemKind::NotRead`]), with how to read it.
    pub fn notices(&self) -> Vec<Problem> {
        self.remapped
            .iter()
            .map(|sub| {
                Problem::new(
                    sub,
                    ProblemKind::NotRead,
                    format!(
                        "a userns-remap sub-root: dockerd --userns-remap keeps its whole store \
                         there, a data root of its own, and reads nothing of {}; not read with \
                         it: read it with --root {}; the parent's own data (image/, \
                         containers/, volumes/, driver directories) is from a daemon run \
                         without remapping",
                        self.path.display(),
                        sub.display()
                    ),
                )
            })
            .collect()
    }
}

/// The userns-remap sub-roots of the directory `path` (whose jail is `jail`): its `<uid>.<gid>`
/// entries that hold a data root's layout, sorted.
pub fn remapped(jail: &Jail, path: &Path) -> Vec<PathBuf> {
    entry_names(jail, path).map_or_else(|_| Vec::new(), |names| remapped_in(jail, path, &names))
}

fn remapped_in(jail: &Jail, path: &Path, names: &[String]) -> Vec<PathBuf> {
    names
        .iter()
        .filter(|n| is_remap_dir(n))
        .map(|n| path.join(n))
        .filter(|p| looks_like_root(jail, p))
        .collect()
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
    fn locate_prefers_explicit_then_daemon_json_under_the_sysroot() {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = Sysroot::new(dir.path()).unwrap();
        let base = sysroot.dir().to_path_buf();
        let cfg = base.join("etc/docker/daemon.json");
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        assert_eq!(
            locate(Some(Path::new("/x")), &sysroot).unwrap(),
            PathBuf::from("/x")
        );
        assert_eq!(locate(None, &sysroot).unwrap(), base.join("var/lib/docker"));
        std::fs::write(&cfg, r#"{"data-root": "/srv/docker"}"#).unwrap();
        assert_eq!(locate(None, &sysroot).unwrap(), base.join("srv/docker"));
        std::fs::write(&cfg, "{").unwrap();
        let err = locate(None, &sysroot).unwrap_err().to_string();
        assert!(err.contains("daemon.json"), "{err}");
    }

    #[test]
    fn a_rootless_root_is_the_users_daemon_json_data_root_or_the_xdg_default() {
        let dir = tempfile::tempdir().unwrap();
        let sysroot = Sysroot::new(dir.path()).unwrap();
        let home = sysroot.dir().join("home/alice");
        assert_eq!(
            rootless(Path::new("/home/alice"), &sysroot).unwrap(),
            home.join(ROOTLESS_ROOT)
        );
        let cfg = home.join(ROOTLESS_DAEMON_JSON);
        std::fs::create_dir_all(cfg.parent().unwrap()).unwrap();
        std::fs::write(&cfg, r#"{"data-root": "/data/alice-docker"}"#).unwrap();
        assert_eq!(
            rootless(Path::new("/home/alice"), &sysroot).unwrap(),
            sysroot.dir().join("data/alice-docker")
        );
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
        let notices = root.notices();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].kind, ProblemKind::NotRead);
        assert!(
            notices[0].detail.contains(&format!(
                "--root {}",
                dir.path().join("1000.1000").display()
            )),
            "{}",
            notices[0]
        );
        assert_eq!(remapped(&root.jail, dir.path()), root.remapped);
    }
}
