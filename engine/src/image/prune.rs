//! `POST /images/prune?filters=` (`docker image prune`), as dockerd's `ImagesPrune`: with
//! `dangling=true` (the default) the untagged images no other image builds on; with
//! `dangling=false` (`-a`) every image, tagged or not, that no container uses. `until` and
//! `label`/`label!` narrow the choice. Each image goes through [`remove`] without force (an
//! image a container uses is skipped, as dockerd skips its conflict); `SpaceReclaimed` is the
//! recorded size of every layer deleted.

use analyzers::ids::ChainId;
use serde::Serialize;

use crate::api::filters::Filters;
use crate::error::{Error, Result};
use crate::events::{self, Event, EventType};
use crate::image::remove::{remove, DeleteItem, RemoveOptions};
use crate::root::Root;

/// The filter keys `POST /images/prune` knows.
pub const PRUNE_FILTERS: &[&str] = &["dangling", "until", "label", "label!"];

/// dockerd's `types.ImagesPruneReport`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PruneReport {
    /// What was untagged and deleted (null when nothing).
    pub images_deleted: Option<Vec<DeleteItem>>,
    /// Bytes of the layers deleted.
    pub space_reclaimed: u64,
}

/// Prunes the images `filters` choose.
pub fn prune(root: &Root, filters: &Filters) -> Result<PruneReport> {
    let dangling_only = filters.boolean("dangling")?.unwrap_or(true);
    let until = filters
        .values("until")
        .first()
        .map(|t| until_seconds(t))
        .transpose()?;
    let before = root.load()?;
    let children: std::collections::BTreeSet<_> = before.parents();
    let mut deleted = Vec::new();
    for img in before.images.values() {
        let tagged = !img.repo_tags.is_empty();
        let referenced = tagged || !img.repo_digests.is_empty();
        let has_children = children.contains(&img.id);
        if has_children && (dangling_only || !referenced) {
            continue;
        }
        if until.is_some_and(|u| img.created.is_some_and(|c| c > u)) {
            continue;
        }
        let labels_match = filters.labels("label", &img.labels)
            && filters
                .values("label!")
                .iter()
                .all(|l| !label_matches(l, &img.labels));
        if !labels_match || (dangling_only && tagged) {
            continue;
        }
        let names: Vec<String> = if referenced {
            img.repo_tags.clone()
        } else {
            vec![img.id.0.hex().to_owned()]
        };
        for name in names {
            let opts = RemoveOptions {
                force: false,
                no_prune: false,
            };
            // dockerd skips an image it cannot delete (a conflict: a container uses it).
            if let Ok(items) = remove(root, &name, opts) {
                deleted.extend(items);
            }
        }
    }
    let space_reclaimed: u64 = deleted
        .iter()
        .filter_map(|d| match d {
            DeleteItem::Deleted(id) => ChainId::parse(id).and_then(|c| before.layers.get(&c)),
            DeleteItem::Untagged(_) => None,
        })
        .map(|l| u64::try_from(l.size).unwrap_or(0))
        .sum();
    events::record(
        root,
        &Event::now(
            EventType::Image,
            "prune",
            "",
            &[("reclaimed", &space_reclaimed.to_string())],
        ),
    );
    Ok(PruneReport {
        images_deleted: (!deleted.is_empty()).then_some(deleted),
        space_reclaimed,
    })
}

/// Whether `labels` have `wanted` (`k`: present; `k=v`: with that value).
fn label_matches(wanted: &str, labels: &std::collections::BTreeMap<String, String>) -> bool {
    match wanted.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(wanted),
    }
}

/// The `until` value as Unix seconds: a Go duration before now (`24h`, `90m`, `1h30m`,
/// `45s`), Unix seconds (`1700000000`, `1700000000.5`) or an RFC 3339 time, as dockerd's
/// `GetTimestamp` reads it.
pub fn until_seconds(text: &str) -> Result<i64> {
    let bad = || {
        Error::Invalid(format!(
            "invalid filter 'until={text}': not a time or duration"
        ))
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(secs.floor() as i64);
    }
    let mut total = 0f64;
    let mut number = String::new();
    let mut unit = String::new();
    let mut parts = Vec::new();
    for c in text.chars() {
        if c.is_ascii_digit() || c == '.' {
            if !unit.is_empty() {
                parts.push((std::mem::take(&mut number), std::mem::take(&mut unit)));
            }
            number.push(c);
        } else {
            unit.push(c);
        }
    }
    parts.push((number, unit));
    for (n, u) in parts {
        let n: f64 = n.parse().map_err(|_| bad())?;
        let scale = match u.as_str() {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        total += n * scale;
    }
    Ok(chrono::Utc::now().timestamp() - total as i64)
}
