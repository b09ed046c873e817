//! Containers: one file per operation ([`create`], [`start`], [`stop`], [`remove`],
//! [`logs`], [`wait`], [`changes`]), the supervisor that runs one container ([`shim`]) with its pid-1
//! init ([`init`]) and OCI spec ([`spec`]), and the JSON files dockerd keeps for each
//! container ([`record`]), the image's users ([`user`]), and what create checks and start
//! applies: capabilities ([`caps`]), security options ([`security`]), tmpfs mounts
//! ([`tmpfs`]).
//!
//! Runtime state that must not outlive the machine (libcontainer's state, OCI bundles, the
//! supervisor's pid) lives in an exec root under `/run/strata`, one per data root.

pub mod caps;
pub mod changes;
pub mod create;
pub mod init;
pub mod logs;
pub mod record;
pub mod remove;
pub mod security;
pub mod shim;
pub mod spec;
pub mod start;
pub mod stop;
pub mod tmpfs;
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

/// Checks a container name given at create (`--name`, the API's `?name=`), with or without
/// its leading `/`, against dockerd's pattern ([`crate::ids::restricted_name`]); returns it
/// as recorded (`/name`). The error names it (escaped: it may hold control characters).
pub fn validate_name(name: &str) -> Result<String> {
    let bare = name.strip_prefix('/').unwrap_or(name);
    if !crate::ids::restricted_name(bare) {
        return Err(Error::Invalid(format!(
            "invalid container name {name:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )));
    }
    Ok(format!("/{bare}"))
}

/// The ids of the root's containers (their directories under `containers/`).
fn ids(root: &Root) -> Result<Vec<String>> {
    let dir = root.path.join(CONTAINERS_DIR);
    Ok(std::fs::read_dir(&dir)
        .map_err(|e| Error::io(&dir, e))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| analyzers::ids::is_hex64(n))
        .collect())
}

/// The id of the container among `ids` whose recorded name is `name` (with or without the
/// leading `/`).
fn named(root: &Root, ids: &[String], name: &str) -> Option<String> {
    let wanted = format!("/{}", name.strip_prefix('/').unwrap_or(name));
    ids.iter()
        .find(|id| record::load(root, id).is_ok_and(|rec| rec.name == wanted))
        .cloned()
}

/// Whether a container of `root` is named `name` (with or without the leading `/`): only
/// names count, not ids or id prefixes, as dockerd's name registry.
pub fn name_in_use(root: &Root, name: &str) -> Result<bool> {
    let dir = root.path.join(CONTAINERS_DIR);
    if !dir.exists() {
        return Ok(false);
    }
    Ok(named(root, &ids(root)?, name).is_some())
}

/// The full id of the container a user names, in dockerd's order (`daemon.GetContainer`):
/// its full id, else its exact name (with or without the leading `/`), else a unique prefix
/// of its id. A name that is also a prefix of another container's id is the named one.
pub fn resolve(root: &Root, name: &str) -> Result<String> {
    let ids = ids(root)?;
    if ids.iter().any(|id| id == name) {
        return Ok(name.to_owned());
    }
    if let Some(id) = named(root, &ids, name) {
        return Ok(id);
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
