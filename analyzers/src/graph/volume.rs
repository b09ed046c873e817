//! `volumes/`: the local volume driver's volumes (`volumes/<name>/_data`, `opts.json`).
//!
//! The local driver lists every directory under `volumes/` as a volume (moby
//! `volume/local/local.go`); one created with mount options (`opts.json`, e.g. a tmpfs volume)
//! keeps its data elsewhere, and Docker leaves it out of `system df`. Labels and options live
//! in the volume store's BoltDB, `volumes/metadata.db` (bucket `volumes`, one JSON record
//! `{Name, Driver, Labels, Options}` per volume), read without locking it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::layer::list_dirs;
use crate::error::{Problem, ProblemKind};
use crate::fs::Jail;
use crate::layout::{VOLUMES_METADATA_DB, VOLUME_DATA, VOLUME_OPTS};

/// A local volume.
#[derive(Debug, Clone)]
pub struct Volume {
    /// The volume's name (64 hex characters for an anonymous volume).
    pub name: String,
    /// `volumes/<name>`.
    pub dir: PathBuf,
    /// `volumes/<name>/_data`: the content, and the `Mountpoint` Docker reports.
    pub data: PathBuf,
    /// Mount options from `opts.json` (`type`, `device`, `o`); empty for a plain volume.
    pub options: BTreeMap<String, String>,
    /// Creation time as Docker reports it (the ctime of `volumes/<name>`), Unix seconds.
    pub created: Option<i64>,
    /// Labels from `metadata.db` (`None` where it records null or nothing).
    pub labels: Option<BTreeMap<String, String>>,
    /// Options from `metadata.db`, as the API reports them (`None` for null).
    pub recorded_options: Option<BTreeMap<String, String>>,
}

impl Volume {
    /// True when the name is 64 hex characters: Docker made it for an anonymous `-v /path`.
    pub fn is_anonymous(&self) -> bool {
        crate::ids::is_hex64(&self.name)
    }
}

#[derive(Deserialize, Default, PartialEq)]
#[serde(rename_all = "PascalCase", default)]
struct OptsJson {
    mount_type: String,
    mount_opts: String,
    mount_device: String,
}

/// One record of `metadata.db`'s `volumes` bucket.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct VolumeRecord {
    labels: Option<BTreeMap<String, String>>,
    options: Option<BTreeMap<String, String>>,
}

/// The bucket of `metadata.db` that holds one record per volume.
const VOLUMES_BUCKET: &str = "volumes";

/// Reads `metadata.db`; an absent database means no records, a damaged one is reported.
fn load_records(
    jail: &Jail,
    db_path: &Path,
    problems: &mut Vec<Problem>,
) -> BTreeMap<String, VolumeRecord> {
    let mut out = BTreeMap::new();
    if !jail.exists(db_path) {
        return out;
    }
    let db = match crate::format::bolt::Db::open(jail, db_path) {
        Ok(db) => db,
        Err(p) => {
            problems.push(p);
            return out;
        }
    };
    let Some(bucket) = db.root().bucket(VOLUMES_BUCKET) else {
        return out;
    };
    for (key, entry) in bucket.iter() {
        let Some(value) = entry.as_value() else {
            continue;
        };
        let name = String::from_utf8_lossy(key).into_owned();
        match serde_json::from_slice::<VolumeRecord>(value) {
            Ok(r) => {
                out.insert(name, r);
            }
            Err(e) => problems.push(Problem::new(
                db_path,
                ProblemKind::InvalidJson,
                format!("record of volume {name:?}: {e}"),
            )),
        }
    }
    out
}

/// Loads every local volume under `volumes_dir`.
pub fn load(jail: &Jail, volumes_dir: &Path, problems: &mut Vec<Problem>) -> Vec<Volume> {
    let mut records = load_records(jail, &volumes_dir.join(VOLUMES_METADATA_DB), problems);
    list_dirs(jail, volumes_dir)
        .into_iter()
        .filter_map(|(name, dir)| {
            let opts_path = dir.join(VOLUME_OPTS);
            let options = match jail.read_json::<OptsJson>(&opts_path) {
                Ok(o) if o != OptsJson::default() => BTreeMap::from([
                    ("type".to_owned(), o.mount_type),
                    ("device".to_owned(), o.mount_device),
                    ("o".to_owned(), o.mount_opts),
                ]),
                Ok(_) => BTreeMap::new(),
                Err(p) if p.kind == ProblemKind::Missing => BTreeMap::new(),
                Err(p) => {
                    // dockerd refuses to start with a damaged opts.json; strata reports it.
                    problems.push(p);
                    return None;
                }
            };
            let created = jail.stat(&dir).ok().map(|st| st.st_ctime);
            let record = records.remove(&name).unwrap_or_default();
            Some(Volume {
                labels: record.labels,
                recorded_options: record.options,
                data: dir.join(VOLUME_DATA),
                name,
                dir,
                options,
                created,
            })
        })
        .collect()
}
