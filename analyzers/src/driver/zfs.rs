//! The zfs driver (moby `daemon/graphdriver/zfs/zfs.go`): every layer is a zfs dataset
//! `<fs>/<id>` (`mountpoint=legacy`), a clone of a snapshot of its parent's, so a full tree;
//! `<fs>` is the `zfs.fsname` option, else the dataset mounted on the data root. dockerd
//! mounts a layer's dataset at `zfs/graph/<id>` only while it uses it (`Get`) and unmounts it
//! and removes the mount point after (`Put`): offline `zfs/graph/` is empty, and a layer's
//! files, and what they take, are in the pool, not under the data root.
//!
//! Docker measures naively (`NewNaiveDiffDriver`): a container's `SizeRw` compares its
//! mounted tree with its init layer's, and an image layer's recorded size is its tar's
//! (`ApplyDiff`). Here a layer's tree is read where `zfs/graph/<id>` is a mount point (its
//! `st_dev` differs from `zfs/graph`'s: a live host while the layer is in use); anything that
//! needs a layer not mounted is unknown, with a problem naming the dataset. On a live host the
//! kernel's mount table (`/proc/self/mountinfo`) names the datasets: the one on each
//! `zfs/graph/<id>`, and the one on the data root (the parent of the layers' datasets unless
//! `zfs.fsname` says otherwise).

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver, Pool};
use crate::error::{Problem, ProblemKind};
use crate::format::mountinfo::{self, Mount};
use crate::format::whiteout::Whiteouts;
use crate::fs::Jail;
use crate::ids::CacheId;
use crate::layout::{ZFS_DIR, ZFS_GRAPH_DIR};

/// The driver's name.
pub const NAME: &str = "zfs";

/// The mount table's name of zfs filesystems.
const ZFS_FSTYPE: &str = "zfs";

/// The zfs driver of one data root.
#[derive(Debug, Clone)]
pub struct Zfs {
    home: PathBuf,
    jail: Jail,
    /// The zfs mounts of the host's mount table (none off a live host).
    mounts: Vec<Mount>,
}

impl Zfs {
    /// The driver rooted at `<root of jail>/zfs`, with the zfs datasets the host has
    /// mounted (read from [`mountinfo::SELF_MOUNTINFO`]; none when it cannot be read).
    pub fn new(jail: &Jail) -> Self {
        let mounts = mountinfo::read_own().unwrap_or_default();
        Zfs::with_mounts(jail, mounts)
    }

    /// The driver with the host mounts `mounts` (the zfs ones are kept).
    fn with_mounts(jail: &Jail, mounts: Vec<Mount>) -> Self {
        Zfs {
            home: jail.path().join(ZFS_DIR),
            jail: jail.clone(),
            mounts: mounts
                .into_iter()
                .filter(|m| m.fs_type == ZFS_FSTYPE)
                .collect(),
        }
    }

    fn graph(&self) -> PathBuf {
        self.home.join(ZFS_GRAPH_DIR)
    }

    /// The zfs dataset whose files carry the device number of `path`, if the host has one
    /// mounted there.
    fn dataset_at(&self, path: &Path) -> Option<&str> {
        let st = self.jail.stat(path).ok()?;
        let dev = (
            nix::sys::stat::major(st.st_dev),
            nix::sys::stat::minor(st.st_dev),
        );
        self.mounts
            .iter()
            .find(|m| (m.major, m.minor) == dev)
            .map(|m| m.source.as_str())
    }

    /// Layer `id`'s dataset: the one mounted on its mount point, else `<fs>/<id>` with `<fs>`
    /// the dataset mounted on the data root (dockerd's default when `zfs.fsname` is not set).
    fn dataset(&self, id: &CacheId) -> String {
        let on_mount_point = self
            .mounted(id)
            .then(|| self.dataset_at(&self.layer_dir(id)))
            .flatten();
        if let Some(name) = on_mount_point {
            return name.to_owned();
        }
        match self.dataset_at(self.jail.path()) {
            Some(fs) => format!("{fs}/{id}"),
            None => format!("<zfs.fsname>/{id}"),
        }
    }

    /// True when `zfs/graph/<id>` is a mount point: a directory on another device than
    /// `zfs/graph`.
    fn mounted(&self, id: &CacheId) -> bool {
        let (Ok(graph), Ok(layer)) = (
            self.jail.stat(&self.graph()),
            self.jail.stat(&self.layer_dir(id)),
        ) else {
            return false;
        };
        crate::fs::is_dir_stat(&layer) && layer.st_dev != graph.st_dev
    }
}

impl Driver for Zfs {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layers_dir(&self) -> PathBuf {
        self.graph()
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.graph().join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id)
    }
    fn layer_view(&self, jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        super::full_copy_view(self, jail, id, below)
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        None
    }
    fn records_tar_size(&self) -> bool {
        true
    }
    fn unreadable(&self, _jail: &Jail, id: &CacheId) -> Option<Problem> {
        if self.mounted(id) {
            return None;
        }
        let fs_known = self.dataset_at(self.jail.path()).is_some();
        Some(Problem::new(
            self.layer_dir(id),
            ProblemKind::NotRead,
            format!(
                "layer {id}'s zfs dataset {}{} is not mounted here (dockerd mounts it only while \
                 the layer is in use, and removes the mount point after): its files are in the \
                 pool, not under the data root; what needs them is unknown",
                self.dataset(id),
                if fs_known {
                    ""
                } else {
                    " (the parent dataset, zfs.fsname or the one mounted on the data root, is \
                     not known here)"
                }
            ),
        ))
    }
    fn missing_data(&self, _jail: &Jail, _id: &CacheId) -> Option<PathBuf> {
        None
    }
    fn pool(&self, _jail: &Jail) -> Option<Pool> {
        let fs = self
            .dataset_at(self.jail.path())
            .unwrap_or("<zfs.fsname>")
            .to_owned();
        Some(Pool {
            kind: "zfs datasets".to_owned(),
            files: Vec::new(),
            devices: None,
            virtual_bytes: None,
            unknown: format!(
                "each layer is a zfs dataset {fs}/<id>, mounted at zfs/graph/<id> only while in \
                 use: its files and bytes are in the pool, not under the data root (`zfs list \
                 -r -o name,used,refer {fs}` lists them)"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// Offline (the mount points plain directories, or gone) every layer is unknown, with its
    /// dataset named; a layer whose mount point is another filesystem (a tmpfs here, as
    /// root) is read, and compared with its parent's when both are mounted.
    #[test]
    fn only_mounted_datasets_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let graph = tmp.path().join("zfs/graph");
        fs::create_dir_all(graph.join("rw")).unwrap();
        let jail = Jail::open(tmp.path()).unwrap();
        let d = Zfs::with_mounts(&jail, Vec::new());
        let id = |s: &str| CacheId(s.into());
        for layer in ["rw", "gone"] {
            let p = d.unreadable(&jail, &id(layer)).expect("not mounted");
            assert_eq!(p.path, graph.join(layer));
            assert!(p.detail.contains(&format!("<zfs.fsname>/{layer}")), "{p}");
        }
        let m = d.diff_measure(&jail, &id("rw"), &[id("init")]);
        assert_eq!(m.unknown().map(|p| p.path.clone()), Some(graph.join("rw")));
        assert_eq!(d.missing_data(&jail, &id("gone")), None);
        assert!(d.records_tar_size() && !d.keeps_whiteouts());
        assert!(d.pool(&jail).is_some_and(|p| p.files.is_empty()));
    }

    #[test]
    fn a_mounted_dataset_is_named_from_the_mount_table() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir_all(tmp.path().join("zfs/graph/abc")).unwrap();
        let jail = Jail::open(tmp.path()).unwrap();
        let st = jail.stat(&tmp.path().join("zfs/graph/abc")).unwrap();
        let mounts = vec![Mount {
            major: nix::sys::stat::major(st.st_dev),
            minor: nix::sys::stat::minor(st.st_dev),
            mount_point: tmp.path().to_path_buf(),
            fs_type: ZFS_FSTYPE.into(),
            source: "tank/docker".into(),
        }];
        let d = Zfs::with_mounts(&jail, mounts);
        // The data root's dataset is the parent; `abc` itself is on the same device, so it is
        // no mount point: unknown, named after the parent.
        for layer in ["abc", "new"] {
            let p = d.unreadable(&jail, &CacheId(layer.into())).unwrap();
            assert!(p.detail.contains(&format!("tank/docker/{layer} ")), "{p}");
            assert!(!p.detail.contains("not known here"), "{p}");
        }
    }
}
