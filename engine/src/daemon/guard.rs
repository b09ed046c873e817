//! The guard that refuses a data root a running dockerd uses: two daemons writing one store
//! corrupt it (each keeps its own view of layers, mounts and `metadata.db`).
//!
//! A dockerd uses a root when a live process whose program is `dockerd` was started with
//! `--data-root` (or the old `-g`/`--graph`) naming it, or with none while its
//! configuration file (`--config-file`, else `/etc/docker/daemon.json`) names it as
//! `data-root`, or names none and the root is `/var/lib/docker`. dockerd's own pidfile
//! (`/var/run/docker.pid` unless `--pidfile` says otherwise) is not needed: the process table
//! is what the pidfile would point to.

use std::fs;
use std::path::{Path, PathBuf};

/// dockerd's default data root.
const DEFAULT_DATA_ROOT: &str = "/var/lib/docker";
/// dockerd's default configuration file.
const DEFAULT_CONFIG: &str = "/etc/docker/daemon.json";

/// A dockerd using the root: its pid and command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerd {
    /// Its process id.
    pub pid: u32,
    /// Its command line, arguments joined by spaces.
    pub cmdline: String,
}

/// The running dockerd whose data root is `root` (already canonical), if any.
pub fn dockerd_using(root: &Path) -> Option<Dockerd> {
    let entries = fs::read_dir("/proc").ok()?;
    entries.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let raw = fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let program = Path::new(args.first()?).file_name()?;
        if program != "dockerd" {
            return None;
        }
        let data_root = data_root_of(&args[1..]);
        let same = fs::canonicalize(&data_root).is_ok_and(|d| d == root);
        same.then(|| Dockerd {
            pid,
            cmdline: args.join(" "),
        })
    })
}

/// The data root a dockerd started with `args` uses.
fn data_root_of(args: &[String]) -> PathBuf {
    let flag = |names: &[&str]| -> Option<String> {
        args.iter().enumerate().find_map(|(i, a)| {
            names.iter().find_map(|n| {
                if a == n {
                    args.get(i + 1).cloned()
                } else {
                    a.strip_prefix(&format!("{n}=")).map(str::to_owned)
                }
            })
        })
    };
    if let Some(dir) = flag(&["--data-root", "-g", "--graph"]) {
        return PathBuf::from(dir);
    }
    let config = flag(&["--config-file"]).unwrap_or_else(|| DEFAULT_CONFIG.to_owned());
    fs::read(&config)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v["data-root"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_ROOT))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_root_is_read_from_dockerds_flags() {
        let args = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            data_root_of(&args("--data-root /srv/d --debug")),
            Path::new("/srv/d")
        );
        assert_eq!(
            data_root_of(&args("--data-root=/srv/e")),
            Path::new("/srv/e")
        );
        assert_eq!(data_root_of(&args("-g /old")), Path::new("/old"));
        assert_eq!(
            data_root_of(&args("--config-file /nonexistent.json")),
            Path::new(DEFAULT_DATA_ROOT)
        );
    }
}
