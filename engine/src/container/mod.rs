//! Containers: one file per operation ([`create`], [`start`], [`stop`], [`remove`],
//! [`logs`], [`wait`], [`changes`]), the supervisor that runs one container ([`shim`]) with its pid-1
//! init ([`init`]) and OCI spec ([`spec`]), and the JSON files dockerd keeps for each
//! container ([`record`]), and the image's users ([`user`]).
//!
//! Runtime state that must not outlive the machine (libcontainer's state, OCI bundles, the
//! supervisor's pid) lives in an exec root under `/run/strata`, one per data root.

pub mod changes;
pub mod create;
pub mod init;
pub mod logs;
pub mod record;
pub mod remove;
pub mod shim;
pub mod spec;
pub mod start;
pub mod stop;
pub mod user;
pub mod wait;

use std::path::PathBuf;

use analyzers::ids::Digest;
use analyzers::layout::CONTAINERS_DIR;

use crate::error::{Error, Result};
use crate::root::Root;

/// Where exec roots live (one directory per data root).
pub const EXEC_BASE: &str = "/run/strata";

/// The exec root of `root`: `/run/strata/<first 12 hex of sha256(data root path)>`, short
/// so that libcontainer's socket paths stay under the 108-byte limit.
pub fn exec_root(root: &Root) -> PathBuf {
    let key = Digest::of_bytes(root.path.as_os_str().as_encoded_bytes());
    PathBuf::from(EXEC_BASE).join(&key.hex()[..12])
}

/// `containers/<id>/`.
pub fn container_dir(root: &Root, id: &str) -> PathBuf {
    root.path.join(CONTAINERS_DIR).join(id)
}

/// The full id of the container a user names: full id, unique id prefix, or name (with or
/// without the leading `/`), as the Docker CLI accepts them.
pub fn resolve(root: &Root, name: &str) -> Result<String> {
    let dir = root.path.join(CONTAINERS_DIR);
    let ids: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| Error::io(&dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| analyzers::ids::is_hex64(n))
        .collect();
    if ids.iter().any(|id| id == name) {
        return Ok(name.to_owned());
    }
    let wanted = format!("/{}", name.trim_start_matches('/'));
    for id in &ids {
        if let Ok(rec) = record::load(root, id) {
            if rec.name == wanted {
                return Ok(id.clone());
            }
        }
    }
    let mut hits = ids
        .iter()
        .filter(|id| id.starts_with(name) && !name.is_empty());
    match (hits.next(), hits.next()) {
        (Some(one), None) => Ok(one.clone()),
        (Some(_), Some(_)) => Err(Error::Lookup {
            kind: "container",
            name: name.to_owned(),
            detail: "ambiguous: several containers have ids starting so".to_owned(),
        }),
        _ => Err(Error::not_found("container", name)),
    }
}
