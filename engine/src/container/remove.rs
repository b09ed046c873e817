//! `rm`: everything `create` and a run made for a container: its writable and init layers,
//! `layerdb/mounts/<id>`, `containers/<id>/`, leftover runtime state, cgroups and mounts, and
//! with `volumes` its anonymous volumes.

use std::time::Duration;

use analyzers::format::layerdb::{init_id_of, LAYERDB_MOUNTS};

use super::{record, shim};
use crate::error::{Error, Result};
use crate::layer::extract::remove_all;
use crate::root::Root;

/// `docker rm` flags.
#[derive(Debug, Clone, Copy, Default)]
pub struct RemoveOptions {
    /// `-f`: kill a running container first.
    pub force: bool,
    /// `-v`: remove its anonymous volumes.
    pub volumes: bool,
}

/// Removes container `id`.
pub fn remove(root: &Root, id: &str, opts: &RemoveOptions) -> Result<()> {
    let rec = record::load(root, id)?;
    if rec.state.running {
        if !opts.force {
            return Err(Error::Conflict(format!(
                "You cannot remove a running container {id}. Stop the container before \
                 attempting removal or force remove"
            )));
        }
        super::stop::stop(root, id, Duration::ZERO)?;
    }
    shim::cleanup(root, id, None);
    if let Ok(mount) = shim::mount_id(root, id) {
        root.driver.remove(&mount)?;
        root.driver.remove(&init_id_of(&mount))?;
    }
    remove_all(&root.image_dir().join(LAYERDB_MOUNTS).join(id))?;
    remove_all(&super::container_dir(root, id))?;
    if opts.volumes {
        crate::volume::remove_anonymous(root, &rec)?;
    }
    Ok(())
}
