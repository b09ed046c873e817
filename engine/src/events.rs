//! The engine's event journal: what `GET /events` reports. Every process that acts on a root
//! (the daemon, a container's supervisor when the container dies) appends one JSON line per
//! event to `<exec root>/events.jsonl`, in the shape dockerd sends on `/events` (`Type`,
//! `Action`, `Actor` with `ID` and `Attributes`, `scope`, `time`, `timeNano`, and for
//! containers and images the legacy `status`, `id`, `from`). The journal lives in the exec
//! root under `/run`, so, like dockerd's in-memory events, it does not outlive the machine.
//!
//! Appends are single `write`s of one line to a file opened with `O_APPEND`, so lines of
//! concurrent writers never interleave.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::root::Root;

/// The journal's file name in the exec root.
pub const JOURNAL: &str = "events.jsonl";

/// What an event concerns (`Type` on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// A container (create, start, die, destroy...).
    Container,
    /// An image (pull, push, tag, untag, delete, import, load, save...).
    Image,
    /// A volume (create, mount, unmount, destroy).
    Volume,
    /// A network (create, connect, disconnect, destroy).
    Network,
}

/// The object an event concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Its id (a container or image id, a volume or network name/id).
    #[serde(rename = "ID")]
    pub id: String,
    /// What dockerd attaches (`name`, `image`, labels, `exitCode`, `signal`...).
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// One event, as `GET /events` sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What it concerns.
    #[serde(rename = "Type")]
    pub kind: EventType,
    /// What happened (`start`, `die`, `tag`...).
    #[serde(rename = "Action")]
    pub action: String,
    /// The object.
    #[serde(rename = "Actor")]
    pub actor: Actor,
    /// Always `local`.
    pub scope: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// Nanoseconds since the epoch.
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
    /// The legacy `status` (the action), for containers and images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The legacy `id` (the actor's), for containers and images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The legacy `from` (a container's image), for containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl Event {
    /// An event happening now.
    pub fn now(kind: EventType, action: &str, id: &str, attributes: &[(&str, &str)]) -> Event {
        let at = chrono::Utc::now();
        let attributes: BTreeMap<String, String> = attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let legacy = matches!(kind, EventType::Container | EventType::Image);
        let from = (kind == EventType::Container)
            .then(|| attributes.get("image").cloned())
            .flatten();
        Event {
            kind,
            action: action.to_owned(),
            actor: Actor {
                id: id.to_owned(),
                attributes,
            },
            scope: "local".to_owned(),
            time: at.timestamp(),
            time_nano: at.timestamp_nanos_opt().unwrap_or_default(),
            status: legacy.then(|| action.to_owned()),
            id: legacy.then(|| id.to_owned()),
            from,
        }
    }
}

/// The journal of `root`.
pub fn journal_path(root: &Root) -> PathBuf {
    crate::container::exec_root(root).join(JOURNAL)
}

/// Appends `event` to the journal of `root`. Best effort, as dockerd's events are: an
/// operation that succeeded is not failed because its event could not be written.
pub fn record(root: &Root, event: &Event) {
    let path = journal_path(root);
    let Ok(mut line) = serde_json::to_vec(event) else {
        return;
    };
    line.push(b'\n');
    if let Some(dir) = path.parent() {
        let _ = fs::create_dir_all(dir);
    }
    if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(&path) {
        let _ = file.write_all(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_events_carry_the_legacy_fields() {
        let e = Event::now(
            EventType::Container,
            "start",
            "abc",
            &[("image", "busybox")],
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["Type"], "container");
        assert_eq!(v["Actor"]["Attributes"]["image"], "busybox");
        assert_eq!(v["status"], "start");
        assert_eq!(v["from"], "busybox");
        let vol = serde_json::to_value(Event::now(EventType::Volume, "create", "v", &[])).unwrap();
        assert!(vol.get("status").is_none());
        let back: Event = serde_json::from_value(v).unwrap();
        assert_eq!(back, e);
    }
}
