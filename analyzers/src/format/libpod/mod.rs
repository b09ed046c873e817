//! podman's own state, libpod's database: container names, configs and states, and volumes,
//! kept beside containers/storage. Read here without taking podman's locks and without writing
//! a byte of the store.
//!
//! Two databases hold the same JSON records (podman `libpod/boltdb_state.go`,
//! `libpod/sqlite_state.go`):
//!
//! - [`bolt`]: the BoltDB `<graphroot>/libpod/bolt_state.db` ([`BOLT_STATE`]), the only
//!   backend before podman 4.5 and the default until 4.8 (Debian's podman 4.3.1 writes it).
//! - [`sqlite`]: the SQLite `<graphroot>/db.sql` ([`SQLITE_STATE`]), the default of new
//!   installs since 4.8 and the only backend of podman 6. It moves to `<static_dir>/db.sql`
//!   when `static_dir` is set in `containers.conf`, to `<runroot>/db.sql` with a transient
//!   store (`libpod/sqlite_state_internal.go sqliteStatePath`); [`sqlite::read`] reads one
//!   there.
//!
//! # Which database, when both exist
//!
//! podman 4.8 to 5.x with the default `database_backend` use BoltDB whenever
//! `bolt_state.db` exists and SQLite only when it does not (`libpod/runtime.go getDBState`:
//! "for backwards compatibility check if boltdb exists"). [`read`] does the same and records
//! the SQLite file it did not read in [`LibpodState::ignored`]. (Podman 6 no longer reads
//! BoltDB: it refuses to start until `podman system migrate --migrate-db`, which renames the
//! BoltDB file to `bolt_state.db-old`; a `database_backend = "sqlite"` setting, which this
//! crate does not read, also makes 4.8+ use SQLite.)
//!
//! # The records
//!
//! A container is two JSON documents: its config (`libpod/container_config.go
//! ContainerConfig`, written once at creation and on rename) and its state
//! (`libpod/container.go ContainerState`, rewritten at every state change). A volume is its
//! config (`libpod/volume.go VolumeConfig`) and an optional state (`VolumeState`). Both
//! backends store these exact documents, so they are decoded once here; the readers only find
//! them. Every id is checked (64 lowercase hex), every name against podman's name rule, every
//! time parsed; a record that does not decode is a [`Problem`] naming the database file and
//! the record, and the other records are still read.

pub mod bolt;
pub mod sqlite;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Problem, ProblemKind};
use crate::fs::Jail;
use crate::ids::is_hex64;

/// The BoltDB state, relative to the graphroot (podman's `static_dir` defaults to
/// `<graphroot>/libpod`).
pub const BOLT_STATE: &str = "libpod/bolt_state.db";
/// The SQLite state, relative to the graphroot.
pub const SQLITE_STATE: &str = "db.sql";
/// The volume driver of volumes kept under `<graphroot>/volumes` (`define.VolumeDriverLocal`).
pub const LOCAL_DRIVER: &str = "local";

/// Reads the libpod state of the containers/storage root `graphroot`: the BoltDB when it
/// exists (as podman 4.8 to 5.x choose, see the module docs), else the SQLite database;
/// `None` when neither exists. Damaged records are `problems`.
///
/// # Errors
///
/// A [`Problem`] naming the database when it cannot be read at all (unreadable, not a
/// BoltDB or SQLite file, or not a libpod database).
pub fn read(
    jail: &Jail,
    graphroot: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Option<LibpodState>, Problem> {
    let bolt_path = graphroot.join(BOLT_STATE);
    let sqlite_path = graphroot.join(SQLITE_STATE);
    let sqlite_exists = jail.exists(&sqlite_path);
    if jail.exists(&bolt_path) {
        let mut state = bolt::read(jail, &bolt_path, problems)?;
        state.ignored = sqlite_exists.then_some(sqlite_path);
        return Ok(Some(state));
    }
    if sqlite_exists {
        return sqlite::read(jail, &sqlite_path, problems).map(Some);
    }
    Ok(None)
}

/// Everything read from one libpod database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibpodState {
    /// The database file read.
    pub database: PathBuf,
    /// Which kind of database it is.
    pub kind: DatabaseKind,
    /// Containers, by id.
    pub containers: BTreeMap<LibpodContainerId, LibpodContainer>,
    /// Volumes, by name.
    pub volumes: BTreeMap<String, LibpodVolume>,
    /// The other database, present beside the one read but not read, because podman does not
    /// read it either (see the module docs). The containers/storage backend reports it as a
    /// problem: which one podman uses is a setting strata does not read.
    pub ignored: Option<PathBuf>,
}

/// The two libpod database backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    /// `bolt_state.db`.
    BoltDb,
    /// `db.sql`.
    Sqlite,
}

/// A libpod container, with what `podman ps` and `podman system df` show of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibpodContainer {
    /// Its id, which is also its containers/storage container id (`containers.json`).
    pub id: LibpodContainerId,
    /// Its name (`name`). Checked against podman's rule; one that fails is a problem and is
    /// kept as recorded.
    pub name: String,
    /// The pod it belongs to (`pod`).
    pub pod: Option<PodId>,
    /// The libpod namespace it was created in (`namespace`; podman lists every namespace
    /// unless told one).
    pub namespace: Option<String>,
    /// The containers/storage image its root filesystem was made from (`rootfsImageID`);
    /// `None` for a `--rootfs` container.
    pub image_id: Option<StorageImageId>,
    /// That image's name, normalized (`rootfsImageName`).
    pub image_name: Option<String>,
    /// The image name as the user gave it (`RawImageName`).
    pub raw_image_name: Option<String>,
    /// The host directory used as the root filesystem of a `--rootfs` container (`rootfs`);
    /// `podman system df` sizes it instead of a layer.
    pub rootfs: Option<PathBuf>,
    /// The entrypoint (`entrypoint`).
    pub entrypoint: Vec<String>,
    /// The command (`command`), what `podman ps` shows.
    pub command: Vec<String>,
    /// When it was created (`createdTime`).
    pub created: Option<Timestamp>,
    /// Its labels (`labels`).
    pub labels: BTreeMap<String, String>,
    /// The named volumes mounted into it (`namedVolumes`), anonymous ones included.
    pub named_volumes: Vec<NamedVolume>,
    /// The user's bind mounts: the OCI spec's mounts (`spec.mounts`) at a destination the
    /// user asked for (`userVolumes`) that is no named volume and no tmpfs, as `podman
    /// inspect` lists them (`libpod/container_internal.go SortUserVolumes`).
    pub bind_mounts: Vec<BindMount>,
    /// The destinations of every volume the user asked for (`userVolumes`: named,
    /// anonymous, bind), which `podman system df` counts as `LocalVolumes`.
    pub user_volumes: Vec<String>,
    /// Its persistent directory (`staticDir`: `<graphroot>/overlay-containers/<id>/userdata`),
    /// which `podman system df` adds to the container's size.
    pub static_dir: Option<PathBuf>,
    /// Its log file (`logPath`), for the `k8s-file` driver.
    pub log_path: Option<PathBuf>,
    /// Its log driver (`logDriver`: `k8s-file`, `journald`, `passthrough`...).
    pub log_driver: Option<String>,
    /// A pod's infra container (`pause`).
    pub infra: bool,
    /// Its runtime state; `None` when the state record is missing or damaged (a problem says
    /// which).
    pub state: Option<RunState>,
}

/// A container's runtime state (`ContainerState`), as last saved by podman.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunState {
    /// The state word (`state`).
    pub status: ContainerStatus,
    /// Its root filesystem is mounted (`mounted`).
    pub mounted: bool,
    /// Where its root filesystem is mounted (`mountPoint`: the layer's `merged` directory
    /// under the driver's home), while mounted.
    pub mount_point: Option<PathBuf>,
    /// The container's main process on the host (`pid`; 0 when none).
    pub pid: i64,
    /// Its conmon process (`conmonPid`; 0 when none).
    pub conmon_pid: i64,
    /// The last run's exit code (`exitCode`).
    pub exit_code: i32,
    /// The last run has exited (`exited`).
    pub exited: bool,
    /// The kernel's OOM killer ended the last run (`oomKilled`).
    pub oom_killed: bool,
    /// When the last run started (`startedTime`); `None` when never.
    pub started: Option<Timestamp>,
    /// When the last run ended (`finishedTime`); `None` when never.
    pub finished: Option<Timestamp>,
}

/// A named volume mounted into a container (`ContainerNamedVolume`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NamedVolume {
    /// The volume's name (`volumeName`).
    pub name: String,
    /// Where it is mounted in the container (`dest`).
    pub dest: String,
    /// Its mount options (`options`).
    pub options: Vec<String>,
}

/// A bind mount of a host path into a container (an OCI spec mount).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BindMount {
    /// The host path (`source`).
    pub source: PathBuf,
    /// Where it is mounted in the container (`destination`).
    pub destination: String,
    /// Its mount options (`options`).
    pub options: Vec<String>,
}

/// A libpod volume (`VolumeConfig` and `VolumeState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibpodVolume {
    /// Its name (`name`; an anonymous volume's is 64 hex).
    pub name: String,
    /// Its driver (`volumeDriver`; `local` when recorded empty).
    pub driver: String,
    /// Where its data is on the host, as `Volume.MountPoint` says: the config's
    /// `mountPoint` (`<graphroot>/volumes/<name>/_data`) for the `local` driver, the state's
    /// for a plugin or `image` volume; `None` when not recorded (`podman system df` skips
    /// such a volume).
    pub mount_point: Option<PathBuf>,
    /// Its labels (`labels`).
    pub labels: BTreeMap<String, String>,
    /// Its driver options (`volumeOptions`: `o`, `type`, `device`, `UID`...).
    pub options: BTreeMap<String, String>,
    /// When it was created (`createdAt`).
    pub created: Option<Timestamp>,
    /// Made for one container (`-v /dest`) and removed with it (`isAnon`).
    pub anonymous: bool,
    /// The owner given at creation (`uid`).
    pub uid: i64,
    /// The group given at creation (`gid`).
    pub gid: i64,
    /// Containers currently mounting it (`mountCount`).
    pub mount_count: u64,
    /// Not mounted yet: the image's content at the mount point is copied up on first mount
    /// (`notYetMounted`).
    pub needs_copy_up: bool,
    /// Not chowned yet to the first container's user (`notYetChowned`).
    pub needs_chown: bool,
}

/// A time as podman records it (Go's `time.Time` JSON, RFC 3339 with nanoseconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timestamp {
    /// The text as recorded.
    pub text: String,
    /// The same instant in seconds since the Unix epoch.
    pub unix: i64,
}

/// Seconds from the Unix epoch to Go's zero `time.Time` (0001-01-01T00:00:00Z), which
/// podman writes for "never".
const GO_ZERO_UNIX: i64 = -62_135_596_800;

impl Timestamp {
    /// Parses a recorded time: `Ok(None)` for an empty text or Go's zero time (never),
    /// `Err` when it is not RFC 3339.
    pub fn parse(text: &str) -> Result<Option<Timestamp>, String> {
        if text.is_empty() {
            return Ok(None);
        }
        let t = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|e| format!("time {text:?} is not RFC 3339: {e}"))?;
        if t.timestamp() == GO_ZERO_UNIX && t.timestamp_subsec_nanos() == 0 {
            return Ok(None);
        }
        Ok(Some(Timestamp {
            text: text.to_owned(),
            unix: t.timestamp(),
        }))
    }
}

/// libpod's `define.ContainerStatus`, an int enum in the state JSON (`state`) and in the
/// SQLite `ContainerState.State` column. The variants are named after podman's constants
/// (`ContainerStateConfigured`...); [`ContainerStatus::as_str`] gives the word podman prints,
/// which differs for two of them (Docker's words: configured is "created", created is
/// "initialized").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContainerStatus {
    /// 0: its state could not be retrieved.
    Unknown,
    /// 1: storage set up, not yet created in the OCI runtime (`podman create`).
    Configured,
    /// 2: created in the OCI runtime, not started.
    Created,
    /// 3: running.
    Running,
    /// 4: its process exited, not yet cleaned up.
    Stopped,
    /// 5: frozen.
    Paused,
    /// 6: exited and cleaned up.
    Exited,
    /// 7: being removed.
    Removing,
    /// 8: being stopped.
    Stopping,
}

impl ContainerStatus {
    /// Every status, in the order of their numbers.
    pub const ALL: [ContainerStatus; 9] = [
        ContainerStatus::Unknown,
        ContainerStatus::Configured,
        ContainerStatus::Created,
        ContainerStatus::Running,
        ContainerStatus::Stopped,
        ContainerStatus::Paused,
        ContainerStatus::Exited,
        ContainerStatus::Removing,
        ContainerStatus::Stopping,
    ];

    /// The status with podman's number `code`; `None` for a number podman never writes.
    pub fn from_code(code: i64) -> Option<ContainerStatus> {
        usize::try_from(code)
            .ok()
            .and_then(|i| Self::ALL.get(i).copied())
    }

    /// podman's number for this status.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The word podman prints for it (`ContainerStatus.String`).
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerStatus::Unknown => "unknown",
            ContainerStatus::Configured => "created",
            ContainerStatus::Created => "initialized",
            ContainerStatus::Running => "running",
            ContainerStatus::Stopped => "stopped",
            ContainerStatus::Paused => "paused",
            ContainerStatus::Exited => "exited",
            ContainerStatus::Removing => "removing",
            ContainerStatus::Stopping => "stopping",
        }
    }
}

impl fmt::Display for ContainerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ContainerStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

macro_rules! hex_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses 64 lowercase hex digits; `None` for anything else.
            pub fn parse(text: &str) -> Option<Self> {
                is_hex64(text).then(|| $name(text.to_owned()))
            }

            /// The 64 hex digits.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The first 12, as podman prints ids.
            pub fn short(&self) -> &str {
                &self.0[..12]
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

hex_id!(
    /// A libpod container id: 64 hex digits, no algorithm (also the containers/storage
    /// container id).
    LibpodContainerId
);
hex_id!(
    /// A libpod pod id: 64 hex digits.
    PodId
);
hex_id!(
    /// A containers/storage image id: 64 hex digits, no `sha256:` (the image config's
    /// digest).
    StorageImageId
);

/// True when `name` passes podman's rule for container, pod and volume names
/// (`define.NameRegex`, `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`).
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Go's `nil` slices and maps are JSON `null`: read as empty.
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The fields of `ContainerConfig` read (podman `libpod/container_config.go`).
#[derive(Deserialize)]
struct RawContainerConfig {
    id: String,
    name: String,
    #[serde(default)]
    pod: String,
    #[serde(default)]
    namespace: String,
    #[serde(rename = "rootfsImageID", default)]
    rootfs_image_id: String,
    #[serde(rename = "rootfsImageName", default)]
    rootfs_image_name: String,
    #[serde(rename = "RawImageName", default)]
    raw_image_name: String,
    #[serde(default)]
    rootfs: String,
    #[serde(rename = "staticDir", default)]
    static_dir: String,
    #[serde(rename = "namedVolumes", default, deserialize_with = "null_as_default")]
    named_volumes: Vec<RawNamedVolume>,
    #[serde(rename = "userVolumes", default, deserialize_with = "null_as_default")]
    user_volumes: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    entrypoint: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    command: Vec<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    labels: BTreeMap<String, String>,
    #[serde(rename = "createdTime", default)]
    created_time: String,
    #[serde(rename = "logPath", default)]
    log_path: String,
    #[serde(rename = "logDriver", default)]
    log_driver: String,
    #[serde(rename = "pause", default)]
    infra: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    spec: RawSpec,
}

/// `ContainerNamedVolume`.
#[derive(Deserialize)]
struct RawNamedVolume {
    #[serde(rename = "volumeName")]
    name: String,
    dest: String,
    #[serde(default, deserialize_with = "null_as_default")]
    options: Vec<String>,
}

/// The part of the OCI runtime spec read: its mounts.
#[derive(Deserialize, Default)]
struct RawSpec {
    #[serde(default, deserialize_with = "null_as_default")]
    mounts: Vec<RawMount>,
}

/// An OCI spec mount.
#[derive(Deserialize)]
struct RawMount {
    destination: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    source: String,
    #[serde(default, deserialize_with = "null_as_default")]
    options: Vec<String>,
}

/// The fields of `ContainerState` read (podman `libpod/container.go`).
#[derive(Deserialize)]
struct RawContainerState {
    state: i64,
    #[serde(default)]
    mounted: bool,
    #[serde(rename = "mountPoint", default)]
    mount_point: String,
    #[serde(default)]
    pid: i64,
    #[serde(rename = "conmonPid", default)]
    conmon_pid: i64,
    #[serde(rename = "exitCode", default)]
    exit_code: i32,
    #[serde(default)]
    exited: bool,
    #[serde(rename = "oomKilled", default)]
    oom_killed: bool,
    #[serde(rename = "startedTime", default)]
    started_time: String,
    #[serde(rename = "finishedTime", default)]
    finished_time: String,
}

/// The fields of `VolumeConfig` read (podman `libpod/volume.go`).
#[derive(Deserialize)]
struct RawVolumeConfig {
    name: String,
    #[serde(rename = "volumeDriver", default)]
    driver: String,
    #[serde(rename = "mountPoint", default)]
    mount_point: String,
    #[serde(default, deserialize_with = "null_as_default")]
    labels: BTreeMap<String, String>,
    #[serde(
        rename = "volumeOptions",
        default,
        deserialize_with = "null_as_default"
    )]
    options: BTreeMap<String, String>,
    #[serde(rename = "createdAt", default)]
    created_at: String,
    #[serde(rename = "isAnon", default)]
    anonymous: bool,
    #[serde(default)]
    uid: i64,
    #[serde(default)]
    gid: i64,
}

/// The fields of `VolumeState` read.
#[derive(Deserialize, Default)]
struct RawVolumeState {
    #[serde(rename = "mountPoint", default)]
    mount_point: String,
    #[serde(rename = "mountCount", default)]
    mount_count: u64,
    #[serde(rename = "notYetMounted", default)]
    needs_copy_up: bool,
    #[serde(rename = "notYetChowned", default)]
    needs_chown: bool,
}

/// Decoding of one database's records, with the problems found: each names the database
/// file and the record (`ctr/<id>`, `ContainerConfig <id>`...).
struct Records<'a> {
    database: &'a Path,
    problems: &'a mut Vec<Problem>,
}

impl Records<'_> {
    fn problem(&mut self, kind: ProblemKind, record: &str, detail: impl fmt::Display) {
        self.problems.push(Problem::new(
            self.database,
            kind,
            format!("{record}: {detail}"),
        ));
    }

    /// Decodes the config JSON of the `what` (container, volume) stored under `key` in
    /// `record`: `None` (with a problem) when it does not decode or names another object
    /// (`key_and_name` gives its key and its name); a name podman would refuse is a problem.
    fn config<T: serde::de::DeserializeOwned>(
        &mut self,
        record: &str,
        key: &str,
        what: &str,
        json: &[u8],
        key_and_name: impl Fn(&T) -> (&str, &str),
    ) -> Option<T> {
        let config: T = match serde_json::from_slice(json) {
            Ok(c) => c,
            Err(e) => {
                self.problem(
                    ProblemKind::InvalidJson,
                    record,
                    format!("config: {e}: not read"),
                );
                return None;
            }
        };
        let (own_key, name) = key_and_name(&config);
        if own_key != key {
            self.problem(
                ProblemKind::InvalidValue,
                record,
                format!("config is of {what} {own_key:?}: not read"),
            );
            return None;
        }
        if !is_valid_name(name) {
            self.problem(
                ProblemKind::InvalidValue,
                record,
                format!("name {name:?} is not a valid podman name"),
            );
        }
        Some(config)
    }

    /// Decodes the container stored under `key` in `record` from its config and state JSON;
    /// `None` (with a problem) when the key is not an id or the config does not decode or
    /// names another container. A damaged state is a problem and leaves
    /// [`LibpodContainer::state`] empty.
    fn container(
        &mut self,
        record: &str,
        key: &str,
        config: &[u8],
        state: Option<&[u8]>,
    ) -> Option<LibpodContainer> {
        let Some(id) = LibpodContainerId::parse(key) else {
            self.problem(
                ProblemKind::InvalidValue,
                record,
                "not a container id (64 hex): not read",
            );
            return None;
        };
        let config: RawContainerConfig = self.config(
            record,
            key,
            "container",
            config,
            |c: &RawContainerConfig| (c.id.as_str(), c.name.as_str()),
        )?;
        let pod = self.optional_id(record, "pod", &config.pod, PodId::parse);
        let image_id = self.optional_id(
            record,
            "rootfsImageID",
            &config.rootfs_image_id,
            StorageImageId::parse,
        );
        let created = self.time(record, "createdTime", &config.created_time);
        let bind_mounts = bind_mounts(&config);
        let state = match state {
            None => {
                self.problem(ProblemKind::Missing, record, "no state");
                None
            }
            Some(json) => self.run_state(record, json),
        };
        Some(LibpodContainer {
            id,
            name: config.name,
            pod,
            namespace: non_empty(config.namespace),
            image_id,
            image_name: non_empty(config.rootfs_image_name),
            raw_image_name: non_empty(config.raw_image_name),
            rootfs: non_empty(config.rootfs).map(PathBuf::from),
            entrypoint: config.entrypoint,
            command: config.command,
            created,
            labels: config.labels,
            named_volumes: config
                .named_volumes
                .into_iter()
                .map(|v| NamedVolume {
                    name: v.name,
                    dest: v.dest,
                    options: v.options,
                })
                .collect(),
            bind_mounts,
            user_volumes: config.user_volumes,
            static_dir: non_empty(config.static_dir).map(PathBuf::from),
            log_path: non_empty(config.log_path).map(PathBuf::from),
            log_driver: non_empty(config.log_driver),
            infra: config.infra,
            state,
        })
    }

    fn run_state(&mut self, record: &str, json: &[u8]) -> Option<RunState> {
        let raw: RawContainerState = match serde_json::from_slice(json) {
            Ok(s) => s,
            Err(e) => {
                self.problem(ProblemKind::InvalidJson, record, format!("state: {e}"));
                return None;
            }
        };
        let Some(status) = ContainerStatus::from_code(raw.state) else {
            self.problem(
                ProblemKind::InvalidValue,
                record,
                format!("state {} is no libpod container status", raw.state),
            );
            return None;
        };
        Some(RunState {
            status,
            mounted: raw.mounted,
            mount_point: non_empty(raw.mount_point).map(PathBuf::from),
            pid: raw.pid,
            conmon_pid: raw.conmon_pid,
            exit_code: raw.exit_code,
            exited: raw.exited,
            oom_killed: raw.oom_killed,
            started: self.time(record, "startedTime", &raw.started_time),
            finished: self.time(record, "finishedTime", &raw.finished_time),
        })
    }

    /// Decodes the volume stored under `key` in `record`; `None` (with a problem) when its
    /// config does not decode or names another volume. A volume may have no state (podman
    /// allows it, for volumes of old versions); a damaged one is a problem and read as none.
    fn volume(
        &mut self,
        record: &str,
        key: &str,
        config: &[u8],
        state: Option<&[u8]>,
    ) -> Option<LibpodVolume> {
        let config: RawVolumeConfig =
            self.config(record, key, "volume", config, |c: &RawVolumeConfig| {
                (c.name.as_str(), c.name.as_str())
            })?;
        let state: RawVolumeState = match state.map(serde_json::from_slice).transpose() {
            Ok(s) => s.unwrap_or_default(),
            Err(e) => {
                self.problem(ProblemKind::InvalidJson, record, format!("state: {e}"));
                RawVolumeState::default()
            }
        };
        let driver = if config.driver.is_empty() {
            LOCAL_DRIVER.to_owned()
        } else {
            config.driver
        };
        // libpod/volume.go mountPoint(): a plugin's or the image driver's mount point is in
        // the state, the local driver's in the config.
        let mount_point = if driver == LOCAL_DRIVER {
            config.mount_point
        } else {
            state.mount_point
        };
        Some(LibpodVolume {
            created: self.time(record, "createdAt", &config.created_at),
            name: config.name,
            driver,
            mount_point: non_empty(mount_point).map(PathBuf::from),
            labels: config.labels,
            options: config.options,
            anonymous: config.anonymous,
            uid: config.uid,
            gid: config.gid,
            mount_count: state.mount_count,
            needs_copy_up: state.needs_copy_up,
            needs_chown: state.needs_chown,
        })
    }

    /// An id field that may be empty; one that is neither empty nor an id is a problem.
    fn optional_id<T>(
        &mut self,
        record: &str,
        field: &str,
        text: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        if text.is_empty() {
            return None;
        }
        let id = parse(text);
        if id.is_none() {
            self.problem(
                ProblemKind::InvalidValue,
                record,
                format!("{field} {text:?} is not an id (64 hex)"),
            );
        }
        id
    }

    fn time(&mut self, record: &str, field: &str, text: &str) -> Option<Timestamp> {
        Timestamp::parse(text).unwrap_or_else(|e| {
            self.problem(ProblemKind::InvalidValue, record, format!("{field}: {e}"));
            None
        })
    }
}

/// The user's bind mounts of `config` (see [`LibpodContainer::bind_mounts`]).
fn bind_mounts(config: &RawContainerConfig) -> Vec<BindMount> {
    let named: std::collections::BTreeSet<&str> = config
        .named_volumes
        .iter()
        .map(|v| v.dest.as_str())
        .collect();
    config
        .user_volumes
        .iter()
        .filter(|dest| !named.contains(dest.as_str()))
        .filter_map(|dest| config.spec.mounts.iter().rfind(|m| &m.destination == dest))
        .filter(|m| m.kind != "tmpfs")
        .map(|m| BindMount {
            source: PathBuf::from(&m.source),
            destination: m.destination.clone(),
            options: m.options.clone(),
        })
        .collect()
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// Records shaped exactly as podman writes them (field for field from a podman 4.3.1
/// `bolt_state.db`), for the readers' tests.
#[cfg(test)]
mod fixtures {
    use super::{ContainerStatus, LibpodContainer, LibpodVolume};

    /// The container made by `podman create --name made -l k=v -v v1:/data -v
    /// /host/bind:/bind:ro`.
    pub const CTR_A: &str = "33a947544408dc53b8d740a434c736ec8320bfe0aecbf61ba3b824e524c66c7b";
    /// The container `podman run --name ran ... sh -c 'exit 3'` left.
    pub const CTR_B: &str = "06618bc394f440635594c6c5bc525dd0674683daac43467b53c67b375adfb8f7";
    /// A running container.
    pub const CTR_C: &str = "19834b92c16b178c2d29ccb48965de5acf54f9fb541b0be7272b5b7eef4cbd0c";
    /// The image all three were made from.
    pub const IMAGE: &str = "2bf9b6c76d0ceed595f0ec8d177a79c56be1a29ffb087894b3f6b9770742c0b7";

    /// A `ContainerConfig` JSON for container `id` called `name` in the store `root`; the one
    /// called `made` has the labels, named volume and bind mount of [`CTR_A`].
    pub fn container_config(id: &str, name: &str, root: &str) -> String {
        let userdata = format!("{root}/overlay-containers/{id}/userdata");
        let made = name == "made";
        let spec = serde_json::json!({
                "ociVersion": "1.0.2-dev",
                "process": {"user": {"uid": 0, "gid": 0}, "args": ["sleep", "100"], "cwd": "/"},
                "root": {"path": ""},
                "hostname": id.get(..12).unwrap_or(id),
                "mounts": [
                    {"destination": "/bind", "type": "bind", "source": "/host/bind",
                     "options": ["ro", "rprivate", "rbind"]},
                    {"destination": "/proc", "type": "proc", "source": "proc",
                     "options": ["nosuid", "noexec", "nodev"]},
                    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                     "options": ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]}
                ],
                "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
        });
        let mut config = serde_json::json!({
            "spec": spec,
            "id": id,
            "name": name,
            "lockID": 5,
            "CreateCommand": ["podman", "create", "--name", name, "localhost/bb:1", "sleep", "100"],
            "RawImageName": "localhost/bb:1",
            "idMappingsOptions": {"HostUIDMapping": true, "HostGIDMapping": true,
                                  "UIDMap": null, "GIDMap": null, "AutoUserNs": false},
            "Dependencies": null,
            "rootfsImageID": IMAGE,
            "rootfsImageName": "localhost/bb:1",
            "ShmDir": format!("{userdata}/shm"),
            "shmSize": 65_536_000,
            "staticDir": userdata,
            "mounts": [format!("{userdata}/shm")],
            "createWorkingDir": true,
            "secretsPath": format!("{userdata}/secrets"),
            "storageOpts": null,
            "passwd": true,
            "privileged": false,
            "labelopts": ["disable"],
            "createNetNS": false,
            "UseImageResolvConf": false,
            "UseImageHosts": false,
            "command": ["sleep", "100"],
            "stopSignal": 15,
            "stopTimeout": 10,
            "createdTime": "2024-05-01T10:00:00.964271944Z",
            "cgroupManager": "cgroupfs",
            "cgroupsMode": "enabled",
            "cgroupParent": "/libpod_parent",
            "logPath": format!("{userdata}/ctr.log"),
            "logTag": "",
            "logSize": 0,
            "logDriver": "k8s-file",
            "conmonPidFile": format!("/run/containers/storage/overlay-containers/{id}/userdata/conmon.pid"),
        });
        let rest = serde_json::json!({
            "postConfigureNetNS": false,
            "runtime": "runc",
            "pause": false,
            "isService": false,
            "sdnotifyMode": "container",
            "healthcheck": null,
            "healthcheck_on_failure_action": 0,
            "umask": "0022",
            "mountAllDevices": false
        });
        let map = config.as_object_mut().unwrap();
        map.extend(rest.as_object().unwrap().clone());
        if made {
            let extra = serde_json::json!({
                "namedVolumes": [{"volumeName": "v1", "dest": "/data",
                                  "options": ["rw", "rprivate", "nosuid", "nodev", "rbind"]}],
                "userVolumes": ["/bind", "/data"],
                "labels": {"k": "v"}
            });
            map.extend(extra.as_object().unwrap().clone());
        }
        config.to_string()
    }

    /// A `ContainerState` JSON with podman's number `state`; `running` gives it a pid and a
    /// mounted root filesystem.
    pub fn container_state(state: i64, exit_code: i32, running: bool) -> String {
        let mut json = serde_json::json!({
            "state": state,
            "runDir": "/run/containers/storage/overlay-containers/x/userdata",
            "startedTime": "0001-01-01T00:00:00Z",
            "finishedTime": "0001-01-01T00:00:00Z",
            "Service": {"servicePods": null},
            "checkpointedTime": "0001-01-01T00:00:00Z",
            "restoredTime": "0001-01-01T00:00:00Z"
        });
        let map = json.as_object_mut().unwrap();
        if running {
            map.insert("mounted".into(), true.into());
            map.insert(
                "mountPoint".into(),
                "/var/lib/containers/storage/overlay/c0f22a7ec119e80fa06e41bc3fd2b27a2a81bc7b80a5c07a0d22faadac290ef3/merged".into(),
            );
            map.insert("pid".into(), 4242.into());
            map.insert("conmonPid".into(), 4241.into());
            map.insert(
                "startedTime".into(),
                "2024-05-01T10:00:03.278588211Z".into(),
            );
        }
        if state == ContainerStatus::Exited.code() {
            map.insert("exitCode".into(), exit_code.into());
            map.insert("exited".into(), true.into());
            map.insert(
                "startedTime".into(),
                "2024-05-01T10:00:02.102185341Z".into(),
            );
            map.insert(
                "finishedTime".into(),
                "2024-05-01T10:00:02.103060282Z".into(),
            );
        }
        json.to_string()
    }

    /// A `VolumeConfig` JSON for the local volume `name`, as `podman volume create --label
    /// a=b --opt o=uid=0` writes it.
    pub fn volume_config(name: &str, root: &str) -> String {
        serde_json::json!({
            "name": name,
            "lockID": 3,
            "labels": {"a": "b"},
            "volumeDriver": "local",
            "mountPoint": format!("{root}/volumes/{name}/_data"),
            "createdAt": "2024-05-01T09:59:59.890652963Z",
            "volumeOptions": {"UID": "0", "o": "uid=0"},
            "isAnon": false,
            "uid": 0,
            "gid": 0,
            "size": 0,
            "inodes": 0
        })
        .to_string()
    }

    /// A new volume's `VolumeState` JSON.
    pub const VOLUME_STATE: &str = r#"{"mountCount":0,"notYetMounted":true,"notYetChowned":true}"#;

    /// Checks what the readers make of [`CTR_A`]'s records.
    pub fn check_made(made: &LibpodContainer, root: &str) {
        assert_eq!(made.name, "made");
        assert_eq!(made.image_id.as_ref().unwrap().as_str(), IMAGE);
        assert_eq!(made.image_name.as_deref(), Some("localhost/bb:1"));
        assert_eq!(made.command, ["sleep", "100"]);
        let created = made.created.as_ref().unwrap();
        assert_eq!(created.text, "2024-05-01T10:00:00.964271944Z");
        assert_eq!(created.unix, 1_714_557_600);
        assert_eq!(made.labels["k"], "v");
        assert_eq!(made.named_volumes.len(), 1);
        assert_eq!(
            (
                made.named_volumes[0].name.as_str(),
                made.named_volumes[0].dest.as_str()
            ),
            ("v1", "/data")
        );
        assert_eq!(made.bind_mounts.len(), 1);
        assert_eq!(made.bind_mounts[0].source.to_str(), Some("/host/bind"));
        assert_eq!(made.bind_mounts[0].destination, "/bind");
        assert_eq!(
            made.log_path.as_ref().unwrap().to_str().unwrap(),
            format!("{root}/overlay-containers/{CTR_A}/userdata/ctr.log")
        );
        let state = made.state.as_ref().unwrap();
        assert_eq!(state.status, ContainerStatus::Configured);
        assert_eq!(state.status.as_str(), "created");
        assert_eq!((state.started.as_ref(), state.pid), (None, 0));
    }

    /// Checks what the readers make of volume `v1`'s records.
    pub fn check_v1(v1: &LibpodVolume, root: &str) {
        assert_eq!(v1.driver, "local");
        assert_eq!(
            v1.mount_point.as_ref().unwrap().to_str().unwrap(),
            format!("{root}/volumes/v1/_data")
        );
        assert_eq!(v1.labels["a"], "b");
        assert_eq!(v1.options["o"], "uid=0");
        assert_eq!(v1.created.as_ref().unwrap().unix, 1_714_557_599);
        assert!(!v1.anonymous);
        assert!(v1.needs_copy_up && v1.needs_chown);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_podman_numbers_and_words() {
        let words: Vec<_> = (0..9)
            .map(|c| ContainerStatus::from_code(c).unwrap().as_str())
            .collect();
        assert_eq!(
            words,
            [
                "unknown",
                "created",
                "initialized",
                "running",
                "stopped",
                "paused",
                "exited",
                "removing",
                "stopping"
            ]
        );
        assert_eq!(ContainerStatus::from_code(9), None);
        assert_eq!(ContainerStatus::from_code(-1), None);
        assert_eq!(ContainerStatus::Stopping.code(), 8);
    }

    #[test]
    fn times_names_and_ids_are_checked() {
        assert_eq!(Timestamp::parse("0001-01-01T00:00:00Z"), Ok(None));
        assert_eq!(Timestamp::parse(""), Ok(None));
        assert!(Timestamp::parse("yesterday").is_err());
        let t = Timestamp::parse("2024-05-01T10:00:00.5+02:00")
            .unwrap()
            .unwrap();
        assert_eq!(t.unix, 1_714_550_400);
        assert!(is_valid_name("my-ctr_1.a"));
        for bad in ["", "-a", ".a", "a/b", "a b", "é"] {
            assert!(!is_valid_name(bad), "{bad:?}");
        }
        assert!(LibpodContainerId::parse(fixtures::CTR_A).is_some());
        assert!(LibpodContainerId::parse(&fixtures::CTR_A.to_uppercase()).is_none());
        assert!(StorageImageId::parse(&format!("sha256:{}", fixtures::IMAGE)).is_none());
    }

    #[test]
    fn neither_database_is_none_and_bolt_wins_over_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let mut problems = Vec::new();
        assert_eq!(read(&jail, dir.path(), &mut problems), Ok(None));
        std::fs::create_dir(dir.path().join("libpod")).unwrap();
        let empty = crate::format::bolt::write(
            &crate::format::bolt::NewBucket::new()
                .bucket(bolt::CTR_BUCKET, crate::format::bolt::NewBucket::new()),
            &crate::format::bolt::Layout::default(),
        );
        std::fs::write(dir.path().join(BOLT_STATE), empty).unwrap();
        std::fs::write(dir.path().join(SQLITE_STATE), b"not read").unwrap();
        let state = read(&jail, dir.path(), &mut problems).unwrap().unwrap();
        assert_eq!(state.kind, DatabaseKind::BoltDb);
        assert_eq!(state.ignored, Some(dir.path().join(SQLITE_STATE)));
        assert!(problems.is_empty(), "{problems:?}");
    }
}
