//! `strata dupes`: duplicate groups, then per-image efficiency.

use std::io::{self, Write};

use analyzers::forensics::dupes::DupesReport;

use super::inventory::short;
use super::{docker_table, name, path, write_table, SizeStyle};

/// Groups (`WASTED SIZE COPIES SHA256 PATHS`), images (`IMAGE EFFICIENCY STORED FINAL
/// SHADOWED`), then the totals.
pub fn table(out: &mut dyn Write, r: &DupesReport, style: SizeStyle) -> io::Result<()> {
    let mut t = docker_table(&["WASTED", "SIZE", "COPIES", "SHA256", "PATHS"]);
    for g in &r.groups {
        let paths: Vec<String> = g
            .copies
            .iter()
            .map(|c| format!("{}:{}", short(&c.layer.to_string()), path(&c.path)))
            .collect();
        t.add_row(vec![
            style.bytes(g.wasted_bytes),
            style.bytes(g.size),
            g.copies.len().to_string(),
            g.sha256[..12.min(g.sha256.len())].to_owned(),
            paths.join(" "),
        ]);
    }
    write_table(out, &t)?;
    writeln!(out)?;
    let mut t = docker_table(&["IMAGE", "TAG", "EFFICIENCY", "STORED", "FINAL", "SHADOWED"]);
    for i in &r.images {
        t.add_row(vec![
            short(&i.id.to_string()).to_owned(),
            i.repo_tags
                .first()
                .map_or_else(|| "<none>".into(), |t| name(t)),
            format!("{:.1}%", i.efficiency * 100.0),
            style.bytes(i.stored_bytes),
            style.bytes(i.final_bytes),
            i.shadowed.len().to_string(),
        ]);
    }
    write_table(out, &t)?;
    let secs = (r.millis as f64 / 1000.0).max(0.001);
    writeln!(
        out,
        "\n{} duplicate groups, {} wasted; {} files, {} hashed in {:.2}s ({:.0} MB/s)",
        r.groups.len(),
        style.bytes(r.wasted_bytes),
        r.files,
        style.bytes(r.hashed_bytes),
        secs,
        r.hashed_bytes as f64 / 1e6 / secs
    )
}

/// `strata_dupes_wasted_bytes` and `strata_image_efficiency_ratio{image}`.
pub fn prometheus(out: &mut dyn Write, r: &DupesReport) -> io::Result<()> {
    use super::prometheus::Gauge;
    Gauge::new(
        out,
        "strata_dupes_wasted_bytes",
        "Bytes stored more than once in layers that are not shared.",
    )?
    .sample(
        &[("driver", &r.driver)],
        i64::try_from(r.wasted_bytes).unwrap_or(i64::MAX),
    )?;
    let mut g = Gauge::new(
        out,
        "strata_image_stored_bytes",
        "Bytes of every file of an image's layers.",
    )?;
    for i in &r.images {
        g.sample(
            &[("image", short(&i.id.to_string()))],
            i64::try_from(i.stored_bytes).unwrap_or(i64::MAX),
        )?;
    }
    let mut g = Gauge::new(
        out,
        "strata_image_final_bytes",
        "Bytes of the files an image's filesystem shows (efficiency = final / stored).",
    )?;
    for i in &r.images {
        g.sample(
            &[("image", short(&i.id.to_string()))],
            i64::try_from(i.final_bytes).unwrap_or(i64::MAX),
        )?;
    }
    Ok(())
}
