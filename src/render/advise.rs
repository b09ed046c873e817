//! `strata advise`: one block per recommendation, most bytes first; Prometheus gauges.

use std::io::{self, Write};

use analyzers::advice::{self, AdviceReport, Recommendation};

use super::{docker_table, name, write_table, SizeStyle};

/// `RECLAIMS RISK ACTION WHAT`, then each command with its why and risk.
pub fn table(out: &mut dyn Write, r: &AdviceReport, style: SizeStyle) -> io::Result<()> {
    let mut t = docker_table(&["RECLAIMS", "RISK", "ACTION", "WHAT"]);
    for rec in &r.recommendations {
        t.add_row(vec![
            style.bytes(rec.bytes),
            format!("{:?}", rec.risk).to_lowercase(),
            name(&rec.action),
            name(&rec.what),
        ]);
    }
    write_table(out, &t)?;
    for rec in &r.recommendations {
        writeln!(out)?;
        block(out, rec, "", style)?;
    }
    writeln!(
        out,
        "\nReclaimable: {} ({})",
        style.bytes(r.reclaimable_bytes),
        r.driver
    )?;
    if r.shared_extents {
        writeln!(
            out,
            "note: {} layers are snapshots sharing extents: each figure counts the blocks its \
             paths hold, shared ones included, so the disk gains at most that (only the \
             extents they hold alone; `btrfs filesystem du` tells them apart)",
            r.driver
        )?;
    }
    Ok(())
}

/// One recommendation: `# ACTION<where> (BYTES): WHY`, `# risk: ...`, then its command.
pub fn block(
    out: &mut dyn Write,
    rec: &Recommendation,
    place: &str,
    style: SizeStyle,
) -> io::Result<()> {
    writeln!(
        out,
        "# {}{place} ({}): {}",
        name(&rec.action),
        style.bytes(rec.bytes),
        name(&rec.why)
    )?;
    writeln!(out, "# risk: {}", name(&rec.risk_note))?;
    writeln!(out, "{}", name(&rec.command))
}

/// `strata_advise_reclaimable_bytes{action}` and the total.
pub fn prometheus(out: &mut dyn Write, r: &AdviceReport) -> io::Result<()> {
    use super::prometheus::Gauge;
    let as_i64 = |b: u64| i64::try_from(b).unwrap_or(i64::MAX);
    let mut g = Gauge::new(
        out,
        "strata_advise_reclaimable_bytes",
        "Bytes a recommended cleanup command frees, by action.",
    )?;
    for (action, bytes) in advice::by_action(r) {
        g.sample(&[("driver", &r.driver), ("action", action)], as_i64(bytes))?;
    }
    Gauge::new(
        out,
        "strata_advise_reclaimable_total_bytes",
        "Bytes all recommended cleanup commands free, each counted on its own.",
    )?
    .sample(&[("driver", &r.driver)], as_i64(r.reclaimable_bytes))
}
