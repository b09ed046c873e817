//! `volumes/metadata.db`: dockerd's volume store (moby `volume/service/db.go`), a BoltDB file
//! with a bucket `volumes` holding one JSON record `{Name, Driver, Labels, Options}` per
//! volume. dockerd reads labels and options from it; a volume directory without a record is
//! still listed, as a plain local volume.
//!
//! Each change reads the current records (with the analyzers' reader), changes them and
//! writes the whole file anew ([`analyzers::format::bolt::single_bucket`]) under an exclusive `flock` of `volumes/`,
//! replacing it atomically. dockerd holds the file open while it runs; the engine never
//! writes a root a running dockerd uses (see [`crate::root`]).

use std::collections::BTreeMap;

use analyzers::layout::{VOLUMES_DIR, VOLUMES_METADATA_DB};
use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;

use crate::error::{Error, IoContext, Result};
use crate::image::reference::atomic_write;
use crate::root::Root;

/// The bucket dockerd keeps volume records in.
pub const VOLUMES_BUCKET: &[u8] = b"volumes";

/// One record, fields in dockerd's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VolumeRecord<'a> {
    name: &'a str,
    driver: &'a str,
    labels: Option<&'a BTreeMap<String, String>>,
    options: Option<&'a BTreeMap<String, String>>,
}

/// Records volume `name` (driver `local`) with its labels and options.
pub fn record(
    root: &Root,
    name: &str,
    labels: Option<&BTreeMap<String, String>>,
    options: Option<&BTreeMap<String, String>>,
) -> Result<()> {
    let json = serde_json::to_vec(&VolumeRecord {
        name,
        driver: "local",
        labels,
        options,
    })
    .map_err(|e| Error::Invalid(format!("volume {name}: {e}")))?;
    update(root, |records| {
        records.insert(name.as_bytes().to_vec(), json);
    })
}

/// Removes volume `name`'s record, if any.
pub fn forget(root: &Root, name: &str) -> Result<()> {
    update(root, |records| {
        records.remove(name.as_bytes());
    })
}

fn update(root: &Root, change: impl FnOnce(&mut BTreeMap<Vec<u8>, Vec<u8>>)) -> Result<()> {
    let dir = root.path.join(VOLUMES_DIR);
    let handle = std::fs::File::open(&dir).at(&dir)?;
    let _lock = Flock::lock(handle, FlockArg::LockExclusive)
        .map_err(|(_, e)| Error::sys(&dir, "flock", e))?;
    let path = dir.join(VOLUMES_METADATA_DB);
    let mut records = BTreeMap::new();
    if path.exists() {
        let db = analyzers::format::bolt::Db::open(&root.jail, &path)
            .map_err(|p| Error::malformed(&path, p.detail))?;
        if let Some(bucket) = db.root().bucket(VOLUMES_BUCKET) {
            for (key, entry) in bucket.iter() {
                if let Some(value) = entry.as_value() {
                    records.insert(key.to_vec(), value.to_vec());
                }
            }
        }
    }
    change(&mut records);
    let items: Vec<(Vec<u8>, Vec<u8>)> = records.into_iter().collect();
    atomic_write(
        &path,
        &analyzers::format::bolt::single_bucket(VOLUMES_BUCKET, &items),
        0o600,
    )
}
