//! Finding the containerd root of a store, as dockerd finds it (moby
//! `daemon/command/daemon.go` `initializeContainerd`): a system containerd's root when one runs
//! (`root` of `/etc/containerd/config.toml`, else `/var/lib/containerd`), else the one dockerd
//! starts itself, `<data-root>/containerd/daemon`. The system's files are the host's, under
//! its [`Sysroot`].

use std::path::{Path, PathBuf};

use crate::format::containerd::META_DB;
use crate::fs::Jail;
use crate::host::Sysroot;

/// A system containerd's socket: when it exists, dockerd uses that containerd.
pub const SYSTEM_SOCKET: &str = "/run/containerd/containerd.sock";
/// A system containerd's configuration.
pub const SYSTEM_CONFIG: &str = "/etc/containerd/config.toml";
/// A system containerd's default root.
pub const SYSTEM_ROOT: &str = "/var/lib/containerd";
/// The root of the containerd dockerd starts itself, under the data root.
pub const DOCKER_MANAGED_ROOT: &str = "containerd/daemon";

/// A containerd root and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The root directory.
    pub path: PathBuf,
    /// Why this one: `--containerd-root`, `dockerd's own`, `system containerd`.
    pub found_by: String,
}

/// The containerd root of the Docker data root `data_root` (whose jail is `jail`) on the host
/// under `sysroot`, or `None` when no candidate has a `meta.db`.
pub fn for_docker(jail: &Jail, data_root: &Path, sysroot: &Sysroot) -> Option<Located> {
    let own = Located {
        path: data_root.join(DOCKER_MANAGED_ROOT),
        found_by: "the containerd dockerd starts itself (<data-root>/containerd/daemon)".into(),
    };
    let system = Located {
        path: system_root(sysroot),
        found_by: format!("the system containerd ({SYSTEM_CONFIG} root, else {SYSTEM_ROOT})"),
    };
    let system_runs = sysroot.path(SYSTEM_SOCKET).exists();
    let order = if system_runs {
        [system, own]
    } else {
        [own, system]
    };
    order.into_iter().find(|c| has_meta_db(jail, &c.path))
}

/// True when `root` holds containerd's `meta.db` (read through `jail` when the path is in it,
/// else checked as a host path).
pub fn has_meta_db(jail: &Jail, root: &Path) -> bool {
    let db = root.join(META_DB);
    if db.starts_with(jail.path()) {
        return jail.exists(&db);
    }
    is_containerd_root(root)
}

/// True when the host directory `root` holds containerd's `meta.db` (a regular file).
pub fn is_containerd_root(root: &Path) -> bool {
    std::fs::symlink_metadata(root.join(META_DB)).is_ok_and(|m| m.is_file())
}

/// The system containerd's root on the host under `sysroot`: `root = "..."` of its config
/// (top level), else the default; under `sysroot`.
pub fn system_root(sysroot: &Sysroot) -> PathBuf {
    let root = sysroot
        .read(&sysroot.path(SYSTEM_CONFIG))
        .ok()
        .and_then(|bytes| config_root(&String::from_utf8_lossy(&bytes)))
        .unwrap_or_else(|| PathBuf::from(SYSTEM_ROOT));
    sysroot.path(root)
}

/// The top-level `root` key of a containerd `config.toml` (before any `[table]`).
fn config_root(toml: &str) -> Option<PathBuf> {
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            return None;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "root" {
            continue;
        }
        let value = value.split('#').next()?.trim();
        let unquoted = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))?;
        return (!unquoted.is_empty()).then(|| PathBuf::from(unquoted));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_root_reads_the_top_level_key_only() {
        let cfg = "version = 2\nroot = \"/srv/containerd\" # moved\nstate = \"/run/c\"\n";
        assert_eq!(config_root(cfg), Some(PathBuf::from("/srv/containerd")));
        assert_eq!(config_root("[plugins]\nroot = \"/x\"\n"), None);
        assert_eq!(config_root("root = ''\n"), None);
    }
}
