//! `containers/<id>/`: each container's `config.v2.json` and `hostconfig.json`, joined with its
//! writable layer record.
//!
//! A container loads as dockerd loads it (moby `daemon/daemon.go` restore): its config must
//! parse and name the same id as its directory, its `hostconfig.json` (when present) must
//! parse, it must belong to the driver being read, and its writable layer record must exist.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::layer::{list_dirs, MountRecord};
use crate::error::{Problem, ProblemKind};
use crate::format::containerd::meta::ContainerRecord;
use crate::fs::Jail;
use crate::ids::{is_hex64, ContainerId, Digest, ImageId};
use crate::layout::{CONTAINER_CONFIG, CONTAINER_HOSTCONFIG};

/// A container as recorded on disk.
#[derive(Debug, Clone)]
pub struct Container {
    /// The container id.
    pub id: ContainerId,
    /// `containers/<id>/`.
    pub dir: PathBuf,
    /// The name with its leading `/`, as the API reports it.
    pub name: String,
    /// The image the container was created from.
    pub image_id: ImageId,
    /// The reference the user gave (`Config.Image`), e.g. `bb:1`.
    pub image_ref: String,
    /// Creation time (RFC 3339) as recorded.
    pub created: String,
    /// The command: `Path` then `Args`.
    pub path: String,
    /// The command's arguments.
    pub args: Vec<String>,
    /// `Config.Labels`.
    pub labels: BTreeMap<String, String>,
    /// The recorded state.
    pub state: State,
    /// The storage driver the container was made with.
    pub driver: String,
    /// Volumes and binds, keyed by destination.
    pub mounts: Vec<MountPoint>,
    /// `HostConfig.NetworkMode`.
    pub network_mode: String,
    /// The log file (`LogPath`), if any.
    pub log_path: Option<PathBuf>,
    /// The writable layer record.
    pub rw_layer: MountRecord,
    /// The platform manifest the container was made from (containerd image store only).
    pub image_manifest: Option<Digest>,
}

/// A container's recorded state (`config.v2.json` `State`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct State {
    /// The container's process was running when the state was last written.
    pub running: bool,
    /// Paused.
    pub paused: bool,
    /// Restarting.
    pub restarting: bool,
    /// Being removed.
    pub removal_in_progress: bool,
    /// Dead (removal failed).
    pub dead: bool,
    /// The main process's pid on the host, when running.
    pub pid: i64,
    /// The last exit code.
    pub exit_code: i64,
    /// When it last started (RFC 3339; Go's zero time when never).
    pub started_at: String,
    /// When it last stopped (RFC 3339; Go's zero time when never).
    pub finished_at: String,
    /// Nothing on disk records the state (a plain containerd root: tasks live in its state
    /// directory, under /run).
    #[serde(skip)]
    pub unrecorded: bool,
}

/// Go's zero `time.Time`, which Docker writes for "never".
const ZERO_TIME_PREFIX: &str = "0001-01-01";

impl State {
    /// Docker's one-word state (`running`, `exited`, `created`...): `State.StateString()`.
    pub fn word(&self) -> &'static str {
        if self.unrecorded {
            return "unknown";
        }
        if self.running {
            if self.paused {
                return "paused";
            }
            if self.restarting {
                return "restarting";
            }
            return "running";
        }
        if self.removal_in_progress {
            return "removing";
        }
        if self.dead {
            return "dead";
        }
        if self.never_started() {
            return "created";
        }
        "exited"
    }

    /// True when the container was created but never started.
    pub fn never_started(&self) -> bool {
        self.started_at.is_empty() || self.started_at.starts_with(ZERO_TIME_PREFIX)
    }
}

/// One of a container's mounts (`config.v2.json` `MountPoints`, moby
/// `volume/mounts.MountPoint`); fields dockerd leaves out read as empty. The analyzers read it,
/// the engine writes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    /// Host path mounted (the volume's `_data`, or the bind source).
    pub source: String,
    /// Path inside the container.
    pub destination: String,
    /// Writable.
    #[serde(rename = "RW")]
    pub rw: bool,
    /// The volume's name (empty for binds).
    pub name: String,
    /// The volume driver (`local`; empty for binds).
    pub driver: String,
    /// `volume`, `bind`, `tmpfs`...
    #[serde(rename = "Type")]
    pub kind: String,
    /// SELinux relabeling (`z`, `Z`), as given.
    pub relabel: String,
    /// Mount propagation (`rprivate` for binds).
    pub propagation: String,
    /// Copy the image's content into an empty volume on first use.
    #[serde(rename = "CopyData")]
    pub copy_data: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigV2 {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default)]
    name: String,
    image: String,
    #[serde(default)]
    created: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    config: Option<Config>,
    #[serde(default)]
    state: State,
    #[serde(default)]
    driver: String,
    #[serde(default)]
    mount_points: BTreeMap<String, MountPoint>,
    #[serde(default)]
    log_path: String,
    #[serde(default)]
    image_manifest: Option<ImageManifest>,
}

#[derive(Deserialize)]
struct ImageManifest {
    digest: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Config {
    #[serde(default)]
    image: String,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct HostConfig {
    #[serde(default)]
    network_mode: String,
}

/// Loads every container of `driver` under `containers_dir`.
pub fn load(
    jail: &Jail,
    containers_dir: &Path,
    driver: &str,
    mounts: &BTreeMap<ContainerId, MountRecord>,
    problems: &mut Vec<Problem>,
) -> Vec<Container> {
    let raw: Vec<Result<Option<Container>, Problem>> = list_dirs(jail, containers_dir)
        .into_par_iter()
        .filter(|(name, _)| is_hex64(name))
        .map(|(name, dir)| read_container(jail, ContainerId(name), dir, driver, mounts))
        .collect();
    let mut out = Vec::new();
    for r in raw {
        match r {
            Ok(Some(c)) => out.push(c),
            Ok(None) => {}
            Err(p) => problems.push(p),
        }
    }
    out
}

fn read_container(
    jail: &Jail,
    id: ContainerId,
    dir: PathBuf,
    driver: &str,
    mounts: &BTreeMap<ContainerId, MountRecord>,
) -> Result<Option<Container>, Problem> {
    let config_path = dir.join(CONTAINER_CONFIG);
    let cfg: ConfigV2 = jail.read_json(&config_path)?;
    if cfg.id != id.0 {
        return Err(Problem::new(
            &config_path,
            ProblemKind::InvalidValue,
            format!("ID {:?} does not match the directory name", cfg.id),
        ));
    }
    if cfg.driver != driver {
        return Ok(None);
    }
    let host_path = dir.join(CONTAINER_HOSTCONFIG);
    let host: HostConfig = match jail.read_json(&host_path) {
        Ok(h) => h,
        Err(p) if p.kind == ProblemKind::Missing => HostConfig::default(),
        Err(p) => return Err(p),
    };
    let image_id = ImageId::parse(&cfg.image).ok_or_else(|| {
        Problem::new(
            &config_path,
            ProblemKind::InvalidValue,
            format!("Image {:?} is not an image id", cfg.image),
        )
    })?;
    let rw_layer = mounts.get(&id).cloned().ok_or_else(|| {
        Problem::new(
            &config_path,
            ProblemKind::DanglingReference,
            "no writable layer record in layerdb/mounts; dockerd does not load it",
        )
    })?;
    let log_path = contained_log_path(&cfg.log_path, &id, &dir, &config_path)?;
    let config = cfg.config.unwrap_or_default();
    Ok(Some(Container {
        name: cfg.name,
        image_id,
        image_ref: config.image,
        created: cfg.created,
        path: cfg.path,
        args: cfg.args,
        labels: config.labels.unwrap_or_default(),
        state: cfg.state,
        driver: cfg.driver,
        mounts: cfg.mount_points.into_values().collect(),
        network_mode: host.network_mode,
        log_path,
        rw_layer,
        image_manifest: cfg.image_manifest.and_then(|m| Digest::parse(&m.digest)),
        id,
        dir,
    }))
}

impl Container {
    /// A container of a plain containerd root (its `meta.db` record): no `config.v2.json`,
    /// no recorded state, the name from the CRI or nerdctl labels.
    pub fn from_containerd(
        record: &ContainerRecord,
        image_id: ImageId,
        rw_layer: MountRecord,
    ) -> Container {
        let name = ["io.kubernetes.container.name", "nerdctl/name"]
            .iter()
            .find_map(|l| record.labels.get(*l))
            .map_or_else(|| record.id.clone(), Clone::clone);
        Container {
            id: ContainerId(record.id.clone()),
            dir: rw_layer.record.clone(),
            name: format!("/{name}"),
            image_id,
            image_ref: record.image.clone(),
            created: record
                .created
                .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            path: String::new(),
            args: Vec::new(),
            labels: record.labels.clone(),
            state: State {
                unrecorded: true,
                ..State::default()
            },
            driver: record.snapshotter.clone(),
            mounts: Vec::new(),
            network_mode: String::new(),
            log_path: None,
            rw_layer,
            image_manifest: None,
        }
    }
}

/// The container's log file from its recorded `LogPath`, taken as a name in the container's
/// own directory (`<id>-json.log`, wherever the root was when dockerd wrote it: a copied
/// root keeps its old absolute paths). A `LogPath` that names another container's directory
/// or any other place is refused: a record never leads a read out of the store.
fn contained_log_path(
    recorded: &str,
    id: &ContainerId,
    dir: &Path,
    config_path: &Path,
) -> Result<Option<PathBuf>, Problem> {
    if recorded.is_empty() {
        return Ok(None);
    }
    let path = Path::new(recorded);
    let name = path.file_name().and_then(|n| n.to_str());
    let parent = path.parent().and_then(Path::file_name);
    match name {
        Some(n) if crate::ids::is_component(n) && parent == Some(id.0.as_ref()) => {
            Ok(Some(dir.join(n)))
        }
        _ => Err(Problem::new(
            config_path,
            ProblemKind::InvalidValue,
            format!("LogPath {recorded:?} is not a file of the container's own directory"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_words_follow_docker() {
        let zero = "0001-01-01T00:00:00Z".to_owned();
        let mut s = State {
            started_at: zero.clone(),
            finished_at: zero,
            ..State::default()
        };
        assert_eq!(s.word(), "created");
        s.started_at = "2026-01-01T00:00:00Z".into();
        assert_eq!(s.word(), "exited");
        s.running = true;
        assert_eq!(s.word(), "running");
        s.paused = true;
        assert_eq!(s.word(), "paused");
    }
}
