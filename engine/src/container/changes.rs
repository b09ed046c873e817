//! `changes` (`docker diff`): what a container changed in its image's tree, by the analyzers'
//! naive diff ([`analyzers::changes::compare`], moby `archive.ChangesDirs`) of the
//! container's full tree against its init layer's.
//!
//! With vfs both trees are directories already. With overlay2 they are views: the
//! container's (its `merged/`, mounted while it runs, mounted here otherwise) and the init
//! layer's, mounted here for the comparison; what is mounted here is unmounted afterwards.

use analyzers::changes::{compare, Change, ChangeKind};
use analyzers::format::layerdb::init_id_of;

use super::shim;
use crate::error::{Error, Result};
use crate::root::Root;

/// Every change of container `id`, sorted by path.
pub fn changes(root: &Root, id: &str) -> Result<Vec<Change>> {
    let mount = shim::mount_id(root, id)?;
    let init = init_id_of(&mount);
    let (found, errors) = match root.driver.mount_point(&mount) {
        None => compare(
            &root.jail,
            &root.driver.layer_dir(&mount),
            &root.driver.layer_dir(&init),
        ),
        Some(merged) => {
            let mounted_here = !is_mount_point(&merged);
            let tree = if mounted_here {
                root.driver.mount(&mount)?
            } else {
                merged
            };
            let result = root
                .driver
                .mount(&init)
                .map(|base| compare(&root.jail, &tree, &base));
            let _ = root.driver.unmount(&init);
            if mounted_here {
                let _ = root.driver.unmount(&mount);
            }
            result?
        }
    };
    match errors.first() {
        Some(e) => Err(Error::malformed(&e.path, &e.detail)),
        None => Ok(found),
    }
}

/// The `Kind` number the API gives a change: 0 modified, 1 added, 2 deleted.
pub fn docker_kind(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Modified => 0,
        ChangeKind::Added => 1,
        ChangeKind::Deleted => 2,
    }
}

fn is_mount_point(path: &std::path::Path) -> bool {
    crate::daemon::reconcile::mount_points_under(path)
        .iter()
        .any(|p| p == path)
}
