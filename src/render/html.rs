//! `strata du --format html`: one self-contained page, readable offline in a browser, a chat or
//! an incident document: a zoomable treemap of every byte by owner, the owners' table, the
//! `system df` summary (`docker`'s, or `podman`'s on a containers/storage store) and the
//! `advise` list.
//!
//! The page itself (markup, style and the script that lays out the treemap) is `du.html`;
//! this module only serializes the reports into the page's one data slot. Names in the
//! reports come from the store, which a compromised host controls: the JSON is made safe to
//! sit inside `<script type="application/json">` here, and the page's script only ever sets
//! them as text, never as markup.

use std::collections::BTreeMap;
use std::io::{self, Write};

use analyzers::advice::AdviceReport;
use analyzers::usage::du::{DuReport, OwnerKind};
use serde::Serialize;

use super::df::{summary_rows, SummaryRow};
use super::du::View;

/// The page, with [`DATA_SLOT`] where the data goes.
const TEMPLATE: &str = include_str!("du.html");
/// The placeholder in [`TEMPLATE`] that the page's data replaces (it occurs once).
const DATA_SLOT: &str = "\"__STRATA_DATA__\"";

/// Everything the page shows, as its script reads it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PageData<'a> {
    /// The `du` report, as `strata --format json du` prints it.
    du: &'a DuReport,
    /// Each kind of owner's human name.
    kind_labels: BTreeMap<OwnerKind, &'static str>,
    /// The `system df` summary of the same store.
    df_summary: DfSummary,
    /// The `advise` report.
    advice: &'a AdviceReport,
    /// Whether the treemap starts with apparent bytes (`--apparent-size`) rather than
    /// allocated ones.
    apparent: bool,
    /// Sizes as exact byte counts (`--bytes`) rather than Docker's units.
    exact_bytes: bool,
    /// When the page was made (RFC 3339, UTC).
    made: &'a str,
}

/// A `system df` summary: the command it is the answer of, and its rows.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DfSummary {
    /// `docker system df`, or `podman system df` for a containers/storage store.
    command: &'static str,
    /// The rows, as `strata df` prints them.
    rows: Vec<SummaryRow>,
}

impl DfSummary {
    /// The summary `strata df` prints for the store of `du`.
    fn of(du: &DuReport) -> DfSummary {
        match du.df.libpod_report() {
            Some(libpod) => DfSummary {
                command: "podman system df",
                rows: super::libpod::summary_rows(libpod.df),
            },
            None => DfSummary {
                command: "docker system df",
                rows: summary_rows(&du.df),
            },
        }
    }
}

/// Writes the page for `du` and `advice`, made at `made` (RFC 3339).
pub fn page(
    out: &mut dyn Write,
    du: &DuReport,
    advice: &AdviceReport,
    view: &View,
    made: &str,
) -> io::Result<()> {
    let data = PageData {
        du,
        kind_labels: du.kinds.iter().map(|k| (k.kind, k.kind.label())).collect(),
        df_summary: DfSummary::of(du),
        advice,
        apparent: view.apparent,
        exact_bytes: view.style.bytes,
        made,
    };
    let json = serde_json::to_string(&data)?;
    out.write_all(
        TEMPLATE
            .replacen(DATA_SLOT, &script_safe(&json), 1)
            .as_bytes(),
    )
}

/// `json` safe inside a `<script>` element: `<`, `>` and `&` written as JSON escapes, so no
/// string in it can close the element (`</script>`) or open a comment (`<!--`). They occur
/// only inside JSON strings, where the escapes mean the same characters.
fn script_safe(json: &str) -> String {
    let mut safe = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            c => safe.push(c),
        }
    }
    safe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_has_one_data_slot_inside_a_json_script() {
        assert_eq!(TEMPLATE.matches(DATA_SLOT).count(), 1);
        let slot = TEMPLATE.find(DATA_SLOT).unwrap();
        let opening = TEMPLATE[..slot].rfind("<script").unwrap();
        assert!(TEMPLATE[opening..slot].contains("type=\"application/json\""));
    }

    #[test]
    fn no_store_string_can_close_the_script() {
        let hostile = serde_json::to_string("</script><img src=x onerror=alert(1)><!--&").unwrap();
        let safe = script_safe(&hostile);
        assert!(!safe.contains('<') && !safe.contains('>') && !safe.contains('&'));
        let back: String = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, "</script><img src=x onerror=alert(1)><!--&");
    }
}
