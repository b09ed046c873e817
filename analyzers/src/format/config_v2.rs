//! `containers/<id>/config.v2.json`: moby's `container.Container` as dockerd saves it, and the
//! container state word (`running`, `exited`...).
//!
//! [`Record`] types the fields strata reads or writes; any other field (one dockerd wrote)
//! is kept as it was in [`Record::rest`], so the engine rewrites a record without losing what
//! it does not know. The analyzers read it with their own small view of `Config`, the engine
//! with its full `container.Config`: the record is generic over that one field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Go's zero `time.Time` as dockerd writes it, for "never".
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// True when `time` (RFC 3339, as recorded) is Go's zero time, or absent: what
/// `time.Time.IsZero` says of the value dockerd decodes from it.
pub fn is_zero_time(time: &str) -> bool {
    /// Seconds from the Unix epoch to Go's zero time, 0001-01-01T00:00:00Z.
    const GO_ZERO_UNIX: i64 = -62_135_596_800;
    if time.is_empty() {
        return true;
    }
    match chrono::DateTime::parse_from_rfc3339(time) {
        Ok(t) => t.timestamp() == GO_ZERO_UNIX && t.timestamp_subsec_nanos() == 0,
        // Not a time Go would have written; read as dockerd's zero when it looks like one.
        Err(_) => time.starts_with("0001-01-01"),
    }
}

/// moby's `container.State`, as `config.v2.json` `State` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct State {
    /// The container's process was running when the state was last written.
    pub running: bool,
    /// Frozen.
    pub paused: bool,
    /// Being restarted.
    pub restarting: bool,
    /// The kernel's OOM killer ended it.
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    /// Being removed.
    pub removal_in_progress: bool,
    /// Removal failed.
    pub dead: bool,
    /// The main process's pid on the host (0 when not running); Go's `int`.
    pub pid: i64,
    /// Exit code of the last run (128 + signal when a signal ended it); Go's `int`.
    pub exit_code: i64,
    /// Why it could not start.
    pub error: String,
    /// When the last run started (RFC 3339; [`ZERO_TIME`] when never).
    pub started_at: String,
    /// When the last run ended (RFC 3339; [`ZERO_TIME`] when never).
    pub finished_at: String,
    /// Nothing on disk records the state (a plain containerd root: its tasks live in its
    /// state directory, under /run); never read from nor written to a record.
    #[serde(skip)]
    pub unrecorded: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            running: false,
            paused: false,
            restarting: false,
            oom_killed: false,
            removal_in_progress: false,
            dead: false,
            pid: 0,
            exit_code: 0,
            error: String::new(),
            started_at: ZERO_TIME.to_owned(),
            finished_at: ZERO_TIME.to_owned(),
            unrecorded: false,
        }
    }
}

impl State {
    /// Docker's one-word state, moby's `container/state.go` `StateString()`: `paused` and
    /// `restarting` only while running, then `running`, `removing`, `dead`, `created` (never
    /// started: `StartedAt.IsZero()`), else `exited`.
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

    /// True when the container was created but never started (`StartedAt` is zero).
    pub fn never_started(&self) -> bool {
        is_zero_time(&self.started_at)
    }

    /// The running process's host pid as the kernel types it (`pid_t`); `None` when not
    /// running or when the recorded pid is not one.
    pub fn running_pid(&self) -> Option<i32> {
        i32::try_from(self.pid)
            .ok()
            .filter(|&pid| self.running && pid > 0)
    }

    /// True when no run has ended (`FinishedAt` is zero).
    pub fn never_finished(&self) -> bool {
        is_zero_time(&self.finished_at)
    }
}

/// One of a container's mounts (`config.v2.json` `MountPoints`, moby
/// `volume/mounts.MountPoint`); fields dockerd leaves out read as empty.
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

/// `config.v2.json`: the fields strata reads or writes, `Config` as `C`, the rest kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<C> {
    /// Run state.
    #[serde(rename = "State", default)]
    pub state: State,
    /// Full id (64 hex digits; the directory's name).
    #[serde(rename = "ID")]
    pub id: String,
    /// When it was created (RFC 3339).
    #[serde(rename = "Created", default)]
    pub created: String,
    /// The program run.
    #[serde(rename = "Path", default)]
    pub path: String,
    /// Its arguments.
    #[serde(rename = "Args", default)]
    pub args: Vec<String>,
    /// The configuration it was created with (moby `container.Config`).
    #[serde(rename = "Config", default)]
    pub config: C,
    /// The image id (`sha256:<hex>`).
    #[serde(rename = "Image")]
    pub image: String,
    /// `/<name>`.
    #[serde(rename = "Name", default)]
    pub name: String,
    /// The storage driver it was made with.
    #[serde(rename = "Driver", default)]
    pub driver: String,
    /// The json-file log's path.
    #[serde(rename = "LogPath", default)]
    pub log_path: String,
    /// Volumes and binds by destination.
    #[serde(rename = "MountPoints", default)]
    pub mount_points: BTreeMap<String, MountPoint>,
    /// Everything else dockerd keeps, as it was.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_words_follow_moby_state_string() {
        let mut s = State::default();
        assert_eq!(s.word(), "created");
        s.started_at = "2026-01-01T00:00:00Z".into();
        assert_eq!(s.word(), "exited");
        s.dead = true;
        assert_eq!(s.word(), "dead");
        s.removal_in_progress = true;
        assert_eq!(s.word(), "removing");
        s.running = true;
        assert_eq!(s.word(), "running", "running wins over removing and dead");
        s.restarting = true;
        assert_eq!(s.word(), "restarting");
        s.paused = true;
        assert_eq!(s.word(), "paused", "paused wins over restarting");
        // Never started, however the zero time is spelled.
        for zero in [
            "",
            ZERO_TIME,
            "0001-01-01T00:00:00.000000000Z",
            "0001-01-01T00:00:00+00:00",
        ] {
            let s = State {
                started_at: zero.to_owned(),
                ..State::default()
            };
            assert_eq!(s.word(), "created", "{zero:?}");
        }
        assert!(!is_zero_time("0001-01-01T00:00:01Z"));
    }

    /// A record written and read back is the same record, the fields strata does not know
    /// included; a missing `State` reads as never started.
    #[test]
    fn a_record_round_trips_with_the_fields_it_does_not_know() {
        let text = r#"{"ID":"ab","Image":"sha256:00","Config":{"Image":"bb"},
            "MountPoints":{"/data":{"Name":"v","Destination":"/data","RW":true,"Type":"volume"}},
            "NetworkSettings":{"Bridge":""},"HostnamePath":"/x/hostname"}"#;
        let rec: Record<Value> = serde_json::from_str(text).unwrap();
        assert_eq!(rec.state.word(), "created");
        assert_eq!(rec.mount_points["/data"].name, "v");
        assert_eq!(rec.rest["HostnamePath"], "/x/hostname");
        let again: Record<Value> =
            serde_json::from_slice(&serde_json::to_vec(&rec).unwrap()).unwrap();
        assert_eq!(again, rec);
    }
}
