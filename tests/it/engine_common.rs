//! Helpers shared by the engine tests: crafted tars they import, what a store's layerdb
//! records, and a store's tree without times (the busybox rootfs tar is
//! `fixture::busybox_rootfs_tar`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::Driver;
use crate::tree::TreeState;

/// One crafted tar entry: name, type flag, link target, content.
pub type RawEntry<'a> = (&'a str, u8, &'a str, &'a [u8]);

/// A tar in `dir` named `<name>.tar` with exactly `entries`: (name, type flag, link target,
/// content), written header by header so that names a safe archiver would refuse stay as
/// given.
pub fn tar_with(dir: &Path, name: &str, entries: &[RawEntry<'_>]) -> PathBuf {
    let mut out = Vec::new();
    for (entry, kind, link, data) in entries {
        let mut header = [0u8; 512];
        header[..entry.len()].copy_from_slice(entry.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[108..115].copy_from_slice(b"0000000");
        header[116..123].copy_from_slice(b"0000000");
        header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        header[136..147].copy_from_slice(b"14000000000");
        header[156] = *kind;
        header[157..157 + link.len()].copy_from_slice(link.as_bytes());
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    let path = dir.join(format!("{name}.tar"));
    fs::write(&path, out).unwrap();
    path
}

/// Every layer record of the store: chain id → (diff id, recorded size).
pub fn layerdb(root: &Path, driver: Driver) -> BTreeMap<String, (String, u64)> {
    let dir = root
        .join("image")
        .join(driver.name())
        .join("layerdb/sha256");
    fs::read_dir(&dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let diff = fs::read_to_string(path.join("diff")).unwrap();
            let size = fs::read_to_string(path.join("size")).unwrap();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                (diff, size.trim().parse().unwrap()),
            )
        })
        .collect()
}

/// The tree without times: staging directories come and go in `tmp/` and `layerdb/tmp/`,
/// which moves their parents' mtimes, but no entry may appear, vanish or change.
pub fn without_times(mut tree: TreeState) -> TreeState {
    for entry in tree.entries.values_mut() {
        entry.atime = (0, 0);
        entry.mtime = (0, 0);
        entry.ctime = (0, 0);
    }
    tree
}
