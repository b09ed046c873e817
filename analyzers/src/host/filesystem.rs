//! The filesystems the stores live on: each one's device, where the kernel has it mounted, and
//! how full it is, as `df` says it (`statvfs` of the store's directory, through its open fd;
//! the mount from [`crate::format::mountinfo`]).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::format::mountinfo::{self, Mount};
use crate::fs::Jail;

/// One filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Filesystem {
    /// The device, `major:minor` (`st_dev` of the store's directory).
    pub device: String,
    /// What the kernel mounted (`/dev/sda1`, `/dev/loop0`...); empty when the mount table
    /// does not list the device.
    pub source: String,
    /// Where it is mounted (the deepest mount of the device above the first store's
    /// directory); empty when unknown.
    #[serde(flatten, serialize_with = "crate::text::json::mountpoint")]
    pub mount_point: PathBuf,
    /// The filesystem type (`ext4`, `xfs`, `btrfs`...); empty when unknown.
    pub fs_type: String,
    /// Bytes of the filesystem (`f_blocks * f_frsize`).
    pub size: u64,
    /// Bytes in use (`(f_blocks - f_bfree) * f_frsize`).
    pub used: u64,
    /// Bytes an unprivileged user can still write (`f_bavail * f_frsize`).
    pub available: u64,
    /// `df`'s `Use%`: used bytes per hundred of used plus available ones, rounded up.
    pub use_percent: u64,
}

/// The kernel's mount table, read once for every store.
pub struct Mounts(Vec<Mount>);

impl Mounts {
    /// The caller's mount table (empty when `/proc` cannot be read).
    pub fn read() -> Mounts {
        Mounts(mountinfo::read_own().unwrap_or_default())
    }

    /// The filesystem of the directory `path` (under `jail`'s root), and its device number.
    pub fn of(&self, jail: &Jail, path: &Path) -> std::io::Result<(u64, Filesystem)> {
        let dir = jail.dir(path)?;
        let st = nix::sys::stat::fstat(&dir)?;
        let vfs = nix::sys::statvfs::fstatvfs(&dir)?;
        let frsize = vfs.fragment_size();
        let blocks = vfs.blocks();
        let free = vfs.blocks_free();
        let avail = vfs.blocks_available();
        let used = blocks.saturating_sub(free) * frsize;
        let available = avail * frsize;
        let (major, minor) = (
            nix::sys::stat::major(st.st_dev),
            nix::sys::stat::minor(st.st_dev),
        );
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mount = self
            .0
            .iter()
            .filter(|m| m.major == major && m.minor == minor && real.starts_with(&m.mount_point))
            .max_by_key(|m| m.mount_point.as_os_str().len());
        Ok((
            st.st_dev,
            Filesystem {
                device: format!("{major}:{minor}"),
                source: mount.map(|m| m.source.clone()).unwrap_or_default(),
                mount_point: mount.map(|m| m.mount_point.clone()).unwrap_or_default(),
                fs_type: mount.map(|m| m.fs_type.clone()).unwrap_or_default(),
                size: blocks * frsize,
                used,
                available,
                use_percent: use_percent(used, available),
            },
        ))
    }
}

/// `df`'s `Use%` (coreutils `df.c`): `used * 100 / (used + available)`, rounded up.
fn use_percent(used: u64, available: u64) -> u64 {
    let total = used + available;
    if total == 0 {
        return 0;
    }
    (u128::from(used) * 100).div_ceil(u128::from(total)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_percent_rounds_up_as_df_does() {
        assert_eq!(use_percent(0, 0), 0);
        assert_eq!(use_percent(1, 999), 1);
        assert_eq!(use_percent(50, 50), 50);
        assert_eq!(use_percent(10, 0), 100);
    }

    #[test]
    fn a_directory_gets_its_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let (dev, fs) = Mounts::read().of(&jail, dir.path()).unwrap();
        let st = nix::sys::stat::stat(dir.path()).unwrap();
        assert_eq!(dev, st.st_dev);
        assert!(fs.size >= fs.used && fs.size > 0, "{fs:?}");
        assert!(fs.use_percent <= 100);
    }
}
