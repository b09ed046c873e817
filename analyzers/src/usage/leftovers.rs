//! What a data root holds that the store read does not use, so that `du`, `df`, `advise` and
//! `host` count it apart and never as the store's:
//!
//! - **other storage drivers' data.** dockerd reads one driver's data (moby
//!   `daemon/graphdriver/driver.go` `New`: the configured driver, else the prior one); a root
//!   whose driver was switched keeps every earlier driver's home directory and its
//!   `image/<driver>/` (images, layer records), which the daemon no longer lists, counts or
//!   prunes. containers/storage keeps `<driver>/` and `<driver>-{layers,images,containers}/`
//!   the same way. Which directories they are is the backend's to say
//!   ([`crate::backend::Backend::inactive_drivers`]); [`graphdriver_data`] is Docker's.
//! - **a userns-remap parent's own data.** With `--userns-remap` dockerd keeps its whole store
//!   in `<root>/<uid>.<gid>/` and reads nothing else of `<root>` (moby `daemon/daemon_unix.go`
//!   `setupRemappedRoot`): what the parent holds besides its sub-roots is from a daemon run
//!   without remapping ([`pre_remap`]).
//!
//! Only listings are read here; the callers measure the paths in their own walk.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::backend::Backend;
use crate::driver::{self, Driver};
use crate::graph::Store;
use crate::layout::IMAGE_DIR;
use crate::walk::TreeUsage;

/// The data a storage driver other than the one read left in the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InactiveDriver {
    /// The driver's name (`aufs`, `vfs`...).
    pub name: String,
    /// Its directories that exist (its home, its image metadata...), sorted.
    pub paths: Vec<PathBuf>,
}

/// Docker's other drivers' data in `store`'s root (a graphdriver root, or the Docker data root
/// of a containerd image store, whose driver is the snapshotter): for every driver
/// [`driver::detect`] finds besides the one read, its home directory and `image/<driver>/`.
pub fn graphdriver_data(store: &Store) -> Vec<InactiveDriver> {
    let active = store.driver.name();
    driver::detect(&store.jail)
        .into_iter()
        .filter(|d| d.name != active)
        .filter_map(|d| {
            let mut paths: Vec<PathBuf> = [
                store.root.join(&d.name),
                store.root.join(IMAGE_DIR).join(&d.name),
            ]
            .into_iter()
            .filter(|p| store.jail.is_dir(p))
            .collect();
            paths.sort();
            (!paths.is_empty()).then_some(InactiveDriver {
                name: d.name,
                paths,
            })
        })
        .collect()
}

/// A userns-remap parent's own data: every entry of the root but its sub-roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRemap {
    /// The `<uid>.<gid>` sub-roots, each a data root of its own.
    pub subroots: Vec<PathBuf>,
    /// The root's other entries (`image/`, `containers/`, `volumes/`, driver homes...),
    /// sorted.
    pub paths: Vec<PathBuf>,
}

/// The parent's own data when `store`'s root holds userns-remap sub-roots; `None` otherwise.
pub fn pre_remap(store: &Store) -> Option<PreRemap> {
    let subroots = crate::root::remapped(&store.jail, &store.root);
    if subroots.is_empty() {
        return None;
    }
    let paths = store
        .jail
        .read_dir(&store.root)
        .unwrap_or_default()
        .into_iter()
        .map(|e| store.root.join(e.name))
        .filter(|p| !subroots.contains(p))
        .collect();
    Some(PreRemap { subroots, paths })
}

/// One other driver's data as `df` reports it (strata's addition to `GET /system/df`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OtherDriverDf {
    /// The driver.
    pub name: String,
    /// Its directories.
    #[serde(flatten, serialize_with = "crate::text::json::paths")]
    pub paths: Vec<PathBuf>,
    /// Apparent bytes under them, directories included (`du -sb`), each inode once per
    /// directory.
    pub size: u64,
    /// Allocated bytes under them (`du -sB1`): all reclaimable, by deleting the directories
    /// while the store's owner is stopped (nothing it runs reads them).
    pub disk_usage: u64,
}

/// The directories of `store`'s other drivers, to measure with the store's other trees.
pub fn other_driver_dirs(store: &Store) -> Vec<PathBuf> {
    store
        .backend
        .inactive_drivers(store)
        .into_iter()
        .flat_map(|d| d.paths)
        .collect()
}

/// `df`'s rows for `store`'s other drivers, from the walks `trees` (which hold
/// [`other_driver_dirs`]).
pub fn other_driver_rows(store: &Store, trees: &HashMap<PathBuf, TreeUsage>) -> Vec<OtherDriverDf> {
    store
        .backend
        .inactive_drivers(store)
        .into_iter()
        .map(|d| {
            let walked = || d.paths.iter().filter_map(|p| trees.get(p));
            OtherDriverDf {
                size: walked().map(TreeUsage::apparent).sum(),
                disk_usage: walked().map(|u| u.allocated).sum(),
                name: d.name,
                paths: d.paths,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::LoadOptions;
    use crate::root::DataRoot;

    fn load(root: &std::path::Path) -> Store {
        Store::load(&DataRoot::open(root).unwrap(), &LoadOptions::default()).unwrap()
    }

    #[test]
    fn other_drivers_and_a_remap_parents_own_data_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "overlay2",
            "image/overlay2",
            "aufs/diff/x",
            "image/aufs",
            "zfs/graph",
            "image/zfs",
            "vfs/dir",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        // The driver in use is the one whose repositories.json dockerd wrote last.
        std::fs::write(
            root.join("image/overlay2/repositories.json"),
            r#"{"Repositories":{}}"#,
        )
        .unwrap();
        let store = load(root);
        assert_eq!(store.driver.name(), "overlay2");
        assert_eq!(
            graphdriver_data(&store),
            [
                InactiveDriver {
                    name: "aufs".into(),
                    paths: vec![root.join("aufs"), root.join("image/aufs")],
                },
                InactiveDriver {
                    name: "zfs".into(),
                    paths: vec![root.join("image/zfs"), root.join("zfs")],
                },
                InactiveDriver {
                    name: "vfs".into(),
                    paths: vec![root.join("vfs")],
                },
            ]
        );
        assert_eq!(other_driver_dirs(&store).len(), 5);
        assert_eq!(pre_remap(&store), None);

        std::fs::create_dir_all(root.join("1000.1000/image")).unwrap();
        let store = load(root);
        assert_eq!(
            pre_remap(&store),
            Some(PreRemap {
                subroots: vec![root.join("1000.1000")],
                paths: ["aufs", "image", "overlay2", "vfs", "zfs"]
                    .iter()
                    .map(|n| root.join(n))
                    .collect(),
            })
        );
    }
}
