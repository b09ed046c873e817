//! `strata orphans`: one row per leftover, largest first; Prometheus bytes per kind.

use std::collections::BTreeMap;
use std::io::{self, Write};

use analyzers::forensics::orphans::OrphansReport;

use super::{docker_table, name, path, write_table, SizeStyle};

fn kind_name(kind: impl serde::Serialize) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `KIND SIZE PATH WHY`, then the total.
pub fn table(out: &mut dyn Write, r: &OrphansReport, style: SizeStyle) -> io::Result<()> {
    let mut t = docker_table(&["KIND", "SIZE", "PATH", "WHY"]);
    for o in &r.orphans {
        t.add_row(vec![
            kind_name(o.kind),
            style.bytes(o.bytes),
            path(&o.path),
            name(&o.reason),
        ]);
    }
    write_table(out, &t)?;
    writeln!(
        out,
        "\n{} orphans, {} on disk ({})",
        r.orphans.len(),
        style.bytes(r.bytes),
        r.driver
    )
}

/// `strata_orphan_bytes{kind=...}`: allocated bytes per kind of leftover.
pub fn prometheus(out: &mut dyn Write, r: &OrphansReport) -> io::Result<()> {
    let by_kind = bytes_by_kind(r);
    let mut g = super::prometheus::Gauge::new(
        out,
        "strata_orphan_bytes",
        "Allocated bytes of leftovers nothing references, by kind.",
    )?;
    for (kind, bytes) in by_kind {
        g.sample(
            &[("driver", &r.driver), ("kind", &kind)],
            i64::try_from(bytes).unwrap_or(i64::MAX),
        )?;
    }
    Ok(())
}

/// Allocated bytes of the leftovers by kind (the kind's JSON name).
pub fn bytes_by_kind(r: &OrphansReport) -> BTreeMap<String, u64> {
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for o in &r.orphans {
        *by_kind.entry(kind_name(o.kind)).or_default() += o.bytes;
    }
    by_kind
}
