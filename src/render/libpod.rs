//! `strata df [-v]` on a containers/storage store, as podman 4.3 prints `podman system df
//! [-v]` (`cmd/podman/system/df.go`).

use std::io::{self, Write};

use analyzers::units::human_duration;
use analyzers::usage::libpod::LibpodDf;

use super::df::{summary_table, SummaryRow, CONTAINERS_HEADER, IMAGES_HEADER, VOLUMES_HEADER};
use super::{docker_table, name, write_table, SizeStyle};

/// The summary: TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE (with its share, rounded).
pub fn summary(out: &mut dyn Write, df: &LibpodDf, style: SizeStyle) -> io::Result<()> {
    write_table(out, &summary_table(&summary_rows(df), style))
}

/// podman's summary as the rows `strata df` prints: its share of size rounded half away from
/// zero as Go's `math.Round`, `0%` of an empty size.
pub fn summary_rows(df: &LibpodDf) -> Vec<SummaryRow> {
    df.summary
        .iter()
        .map(|row| SummaryRow {
            line: row.clone(),
            unknown: 0,
            reclaimable_percent: Some(if row.size > 0 {
                (row.reclaimable as f64 / row.size as f64 * 100.0).round() as i64
            } else {
                0
            }),
        })
        .collect()
}

/// The three verbose tables. `now` is Unix seconds, for the ages.
pub fn verbose(out: &mut dyn Write, df: &LibpodDf, style: SizeStyle, now: i64) -> io::Result<()> {
    let age = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| human_duration(now - t.timestamp()))
            .unwrap_or_default()
    };
    let short = |id: &str| id.get(..12).unwrap_or(id).to_owned();
    writeln!(out, "Images space usage:\n")?;
    let mut t = docker_table(IMAGES_HEADER);
    for i in &df.images {
        t.add_row(vec![
            name(&i.repository),
            name(&i.tag),
            short(&i.image_id),
            age(&i.created),
            style.size(i.size),
            style.size(i.shared_size),
            style.size(i.unique_size),
            i.containers.to_string(),
        ]);
    }
    write_table(out, &t)?;
    writeln!(out, "\nContainers space usage:\n")?;
    let mut t = docker_table(CONTAINERS_HEADER);
    for c in &df.containers {
        t.add_row(vec![
            short(&c.container_id),
            short(&c.image),
            name(&c.command.join(" ")),
            c.local_volumes.to_string(),
            style.size(c.rw_size),
            age(&c.created),
            c.status.clone(),
            name(&c.names),
        ]);
    }
    write_table(out, &t)?;
    writeln!(out, "\nLocal Volumes space usage:\n")?;
    let mut t = docker_table(VOLUMES_HEADER);
    for v in &df.volumes {
        t.add_row(vec![
            name(&v.volume_name),
            v.links.to_string(),
            style.size(v.size),
        ]);
    }
    write_table(out, &t)
}
