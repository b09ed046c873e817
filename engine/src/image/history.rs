//! `GET /images/{name}/history` (`docker history`): dockerd's `ImageHistory`, newest step
//! first. A step that made a layer has that layer's own recorded size; the newest row is
//! the image's id, the next its local parent's and so on, the rest `<missing>`; each id'd row
//! carries that image's tags.

use analyzers::graph::Store;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::root::Root;

/// dockerd's `image.HistoryResponseItem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryRow {
    /// The image the step's result is, or `<missing>`.
    pub id: String,
    /// When it ran, Unix seconds.
    pub created: i64,
    /// The command.
    pub created_by: String,
    /// The image's tags (null for `<missing>` rows and untagged images).
    pub tags: Option<Vec<String>>,
    /// Bytes of the layer the step made (0 for an empty layer).
    pub size: i64,
    /// The step's comment.
    pub comment: String,
}

/// The history of image `name`.
pub fn history(root: &Root, name: &str) -> Result<Vec<HistoryRow>> {
    let store = root.load()?;
    let img = crate::image::find(&store, name)?;
    let mut rows = Vec::new();
    let mut layer = 0;
    for step in &img.history {
        let size = if step.empty_layer {
            0
        } else {
            let chain = img.chain_ids.get(layer).ok_or_else(|| {
                Error::malformed(
                    &img.config_path,
                    "the history has more layer steps than rootfs.diff_ids",
                )
            })?;
            layer += 1;
            store.layers.get(chain).map_or(0, |l| l.size)
        };
        rows.push(HistoryRow {
            id: "<missing>".to_owned(),
            created: step.created.as_deref().map_or(0, unix_seconds),
            created_by: step.created_by.clone().unwrap_or_default(),
            tags: None,
            size,
            comment: step.comment.clone().unwrap_or_default(),
        });
    }
    rows.reverse();
    name_rows(&store, &img.id, &mut rows);
    Ok(rows)
}

/// Gives the rows, newest first, the ids of the image and its local parents.
fn name_rows(store: &Store, top: &analyzers::ids::ImageId, rows: &mut [HistoryRow]) {
    let mut current = store.images.get(top);
    for row in rows {
        let Some(img) = current else { break };
        row.id = img.id.to_string();
        row.tags = (!img.repo_tags.is_empty()).then(|| img.repo_tags.clone());
        current = img.parent.as_ref().and_then(|p| store.images.get(p));
    }
}

/// Unix seconds of an RFC 3339 time (0 for one that does not parse, as Go's zero would
/// print far in the past; a config strata can read always has a valid one).
pub fn unix_seconds(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).map_or(0, |t| t.timestamp())
}
