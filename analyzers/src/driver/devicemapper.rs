//! The devicemapper driver (moby `daemon/graphdriver/devmapper`, removed in Docker 25):
//! every layer is a thin device of one thin pool, a snapshot of its parent's, holding a full
//! filesystem. The data root keeps what describes them ([`crate::format::devicemapper`]):
//! one JSON file per device in `devicemapper/metadata/` (the layer's record here: its
//! [`Driver::layer_dir`]), the pool's records, and, with loop-lvm (the default), the pool
//! itself as two sparse loop files, `devicemapper/devicemapper/{data,metadata}`. dockerd
//! mounts a device at `devicemapper/mnt/<id>` only while it uses it (`Get`), the layer's
//! files in its `rootfs/`, and unmounts it and removes the mount point after (`Put`).
//!
//! Docker measures naively (`NewNaiveDiffDriver`): a container's `SizeRw` compares its
//! mounted tree with its init layer's, and an image layer's recorded size is its tar's
//! (`ApplyDiff`). Here a layer's tree is read where `mnt/<id>` is a mount point (its
//! `st_dev` differs from `mnt`'s: a live host while the layer is in use); anything that needs
//! a layer not mounted is unknown, with a problem naming its device. What is known offline is
//! each device's virtual size, and the loop files' allocated blocks, which are all the pool
//! takes on disk ([`Pool`]).

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver, Pool, PoolFile};
use crate::error::{Problem, ProblemKind};
use crate::format::devicemapper::{
    parse_device, parse_device_set, parse_transaction, Device, MetadataFile,
};
use crate::format::whiteout::Whiteouts;
use crate::fs::{Jail, TEXT_LIMIT};
use crate::ids::CacheId;
use crate::layout::{
    DEVICEMAPPER_DIR, DM_BASE_DEVICE, DM_DATA_FILE, DM_DEVICESET_METADATA, DM_LOOPBACK_DIR,
    DM_METADATA_DIR, DM_METADATA_FILE, DM_MNT, DM_ROOTFS, DM_SETUP_CONFIG, DM_TRANSACTION_METADATA,
};
use crate::units::human_size;

/// The driver's name.
pub const NAME: &str = "devicemapper";

/// What dockerd does with a device file it cannot load.
const REFUSED: &str = "dockerd's devicemapper driver fails to start on it (loadDeviceFilesOnStart)";

/// The devicemapper driver of one data root. It reads the device files through the root's
/// jail.
#[derive(Debug, Clone)]
pub struct Devicemapper {
    home: PathBuf,
    jail: Jail,
}

impl Devicemapper {
    /// The driver rooted at `<root of jail>/devicemapper`.
    pub fn new(jail: &Jail) -> Self {
        Devicemapper {
            home: jail.path().join(DEVICEMAPPER_DIR),
            jail: jail.clone(),
        }
    }

    fn metadata_dir(&self) -> PathBuf {
        self.home.join(DM_METADATA_DIR)
    }

    fn mount_point(&self, id: &CacheId) -> PathBuf {
        self.home.join(DM_MNT).join(id.as_str())
    }

    /// The device file `path`, parsed; a damaged one is a problem naming it.
    fn device_at(&self, path: &Path) -> Result<Device, Problem> {
        let bytes = self
            .jail
            .read(path, TEXT_LIMIT)
            .map_err(|e| crate::fs::io_problem(path, &e))?;
        parse_device(&bytes)
            .map_err(|e| Problem::new(path, ProblemKind::InvalidJson, format!("{e}: {REFUSED}")))
    }

    /// True when `mnt/<id>` is a mount point: a directory on another device than `mnt`.
    fn mounted(&self, id: &CacheId) -> bool {
        let (Ok(mnt), Ok(layer)) = (
            self.jail.stat(&self.home.join(DM_MNT)),
            self.jail.stat(&self.mount_point(id)),
        ) else {
            return false;
        };
        crate::fs::is_dir_stat(&layer) && layer.st_dev != mnt.st_dev
    }

    /// The layer devices `metadata/` records: each file's name and what it holds.
    fn devices(&self) -> Vec<(PathBuf, Result<Device, Problem>)> {
        let dir = self.metadata_dir();
        self.jail
            .read_dir(&dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|e| self.is_layer_entry(&e.name, e.is_dir))
            .map(|e| {
                let path = dir.join(&e.name);
                let device = self.device_at(&path);
                (path, device)
            })
            .collect()
    }
}

impl Driver for Devicemapper {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layers_dir(&self) -> PathBuf {
        self.metadata_dir()
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.metadata_dir().join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.mount_point(id).join(DM_ROOTFS)
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
        let device = match self.device_at(&self.layer_dir(id)) {
            Ok(d) => format!(
                "thin device {} ({} virtual)",
                d.device_id,
                human_size(d.size as f64)
            ),
            Err(_) => "thin device (its metadata file unreadable)".to_owned(),
        };
        Some(Problem::new(
            self.mount_point(id),
            ProblemKind::NotRead,
            format!(
                "layer {id}'s {device} is not mounted here (dockerd mounts it only while the \
                 layer is in use): its files are in the thin pool, readable only with the pool \
                 activated; what needs them is unknown"
            ),
        ))
    }
    fn missing_data(&self, jail: &Jail, id: &CacheId) -> Option<PathBuf> {
        let file = self.layer_dir(id);
        let present = jail.stat(&file).is_ok_and(|st| crate::fs::is_regular(&st));
        (!present).then_some(file)
    }
    fn bookkeeping_problems(&self, jail: &Jail) -> Vec<Problem> {
        let mut problems: Vec<Problem> = self
            .devices()
            .into_iter()
            .filter_map(|(path, device)| match device {
                Ok(d) if d.deleted => Some(Problem::new(
                    path,
                    ProblemKind::InvalidValue,
                    "the device is marked for deferred deletion: dockerd will not mount it",
                )),
                Ok(_) => None,
                Err(p) => Some(p),
            })
            .collect();
        let meta = self.metadata_dir();
        type Check = fn(&[u8]) -> Result<(), String>;
        let records: [(&str, Check, &str); 3] = [
            (DM_BASE_DEVICE, |b| parse_device(b).map(drop), REFUSED),
            (
                DM_DEVICESET_METADATA,
                |b| parse_device_set(b).map(drop),
                "dockerd's devicemapper driver fails to start on it (loadDeviceSetMetaData)",
            ),
            (
                DM_TRANSACTION_METADATA,
                |b| parse_transaction(b).map(drop),
                "dockerd ignores it (loadTransactionMetaData), so an interrupted transaction \
                 is not rolled back",
            ),
        ];
        for (name, parse, consequence) in records {
            let path = meta.join(name);
            match jail.read(&path, TEXT_LIMIT) {
                Ok(bytes) => {
                    if let Err(e) = parse(&bytes) {
                        problems.push(Problem::new(
                            &path,
                            ProblemKind::InvalidJson,
                            format!("{e}: {consequence}"),
                        ));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => problems.push(crate::fs::io_problem(&path, &e)),
            }
        }
        problems
    }
    fn is_layer_entry(&self, name: &std::ffi::OsStr, is_dir: bool) -> bool {
        !is_dir
            && matches!(
                MetadataFile::of(&name.to_string_lossy()),
                MetadataFile::Layer(_)
            )
    }
    fn own_files(&self) -> Vec<PathBuf> {
        let meta = self.metadata_dir();
        vec![
            meta.join(DM_BASE_DEVICE),
            meta.join(DM_DEVICESET_METADATA),
            meta.join(DM_TRANSACTION_METADATA),
            self.home.join(DM_MNT),
            self.home.join(DM_LOOPBACK_DIR),
            self.home.join(DM_SETUP_CONFIG),
        ]
    }
    fn pool(&self, jail: &Jail) -> Option<Pool> {
        let loops = self.home.join(DM_LOOPBACK_DIR);
        let files: Vec<PoolFile> = [DM_DATA_FILE, DM_METADATA_FILE]
            .into_iter()
            .filter_map(|name| PoolFile::of(jail, loops.join(name)))
            .collect();
        let devices = self.devices();
        let filesystem = jail
            .read(&self.metadata_dir().join(DM_DEVICESET_METADATA), TEXT_LIMIT)
            .ok()
            .and_then(|b| parse_device_set(&b).ok())
            .map(|s| s.base_device_filesystem)
            .filter(|f| !f.is_empty());
        let on = if files.is_empty() {
            "on a block device (direct-lvm or dm.thinpooldev: not under the data root)"
        } else {
            "on sparse loop files (loop-lvm)"
        };
        Some(Pool {
            kind: match filesystem {
                Some(fs) => format!("thin pool of {fs} devices {on}"),
                None => format!("thin pool {on}"),
            },
            devices: Some(devices.len() as u64),
            virtual_bytes: Some(
                devices
                    .iter()
                    .filter_map(|(_, d)| d.as_ref().ok())
                    .map(|d| d.size)
                    .fold(0, u64::saturating_add),
            ),
            files,
            unknown: "each layer is a thin device of the pool, mounted at devicemapper/mnt/<id> \
                      only while in use: what each takes in the pool is not knowable without \
                      activating it; the loop files' allocated bytes are what the whole pool \
                      takes"
                .to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn device(id: u32, size: u64) -> String {
        format!(
            r#"{{"device_id":{id},"size":{size},"transaction_id":{id},"initialized":false,"deleted":false}}"#
        )
    }

    /// Offline every layer is unknown, its device named; the device files are the layers'
    /// entries and the pool's records are not; a damaged device file is a problem naming it;
    /// the loop files' allocated bytes are reported beside their apparent size.
    #[test]
    fn devices_are_described_but_not_read_offline() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join(DEVICEMAPPER_DIR);
        let meta = home.join(DM_METADATA_DIR);
        fs::create_dir_all(&meta).unwrap();
        fs::write(meta.join("base"), device(1, 10_000_000_000)).unwrap();
        fs::write(meta.join("lay"), device(2, 10_000_000_000)).unwrap();
        fs::write(meta.join("lay-init"), device(3, 10_000_000_000)).unwrap();
        fs::write(meta.join("broken"), "{\"device_id\": 4,").unwrap();
        fs::write(
            meta.join(DM_DEVICESET_METADATA),
            r#"{"next_device_id":5,"BaseDeviceUUID":"u","BaseDeviceFilesystem":"xfs"}"#,
        )
        .unwrap();
        fs::create_dir_all(home.join("devicemapper")).unwrap();
        let data = fs::File::create(home.join("devicemapper/data")).unwrap();
        data.set_len(100 << 30).unwrap();
        drop(data);
        let jail = Jail::open(tmp.path()).unwrap();
        let d = Devicemapper::new(&jail);
        let id = |s: &str| CacheId(s.into());
        let p = d.unreadable(&jail, &id("lay")).expect("not mounted");
        assert_eq!(p.path, home.join("mnt/lay"));
        assert!(p.detail.contains("thin device 2 (10GB virtual)"), "{p}");
        let m = d.diff_measure(&jail, &id("lay"), &[id("lay-init")]);
        assert!(m.unknown().is_some());
        assert_eq!(d.missing_data(&jail, &id("lay")), None);
        assert_eq!(d.missing_data(&jail, &id("gone")), Some(meta.join("gone")));
        let problems = d.bookkeeping_problems(&jail);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].path, meta.join("broken"));
        assert!(d.is_layer_entry("lay".as_ref(), false));
        for other in ["base", DM_DEVICESET_METADATA, ".tmp1"] {
            assert!(!d.is_layer_entry(other.as_ref(), false), "{other}");
        }
        let pool = d.pool(&jail).unwrap();
        assert_eq!(pool.devices, Some(3));
        assert_eq!(pool.virtual_bytes, Some(20_000_000_000));
        assert!(
            pool.kind.contains("xfs") && pool.kind.contains("loop"),
            "{pool:?}"
        );
        assert_eq!(pool.files.len(), 1);
        assert_eq!(pool.files[0].apparent_bytes, 100 << 30);
        assert!(pool.files[0].allocated_bytes < 1 << 20, "sparse: {pool:?}");
    }
}
