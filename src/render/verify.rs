//! `strata verify`: one row per layer, then the verdict; Prometheus gauges for monitoring.

use std::io::{self, Write};

use analyzers::forensics::verify::VerifyReport;

use super::inventory::short;
use super::{docker_table, write_table, SizeStyle};

/// `LAYER CACHE ID TAR BYTES SIZE STATUS`, then a summary line.
pub fn table(out: &mut dyn Write, r: &VerifyReport, style: SizeStyle) -> io::Result<()> {
    let mut t = docker_table(&["LAYER", "CACHE ID", "TAR", "SIZE", "STATUS"]);
    for l in &r.layers {
        let status = if l.ok {
            "ok".to_owned()
        } else if l.computed_diff_id.is_none() {
            "not verifiable".to_owned()
        } else if l.computed_diff_id.as_ref() != Some(&l.recorded_diff_id) {
            format!("DIFF ID MISMATCH ({} paths)", l.mismatches.len())
        } else {
            format!("MISMATCH ({} paths)", l.mismatches.len())
        };
        t.add_row(vec![
            short(&l.chain_id.to_string()).to_owned(),
            short(l.cache_id.as_str()).to_owned(),
            style.bytes(l.tar_bytes),
            style.size(l.recorded_size),
            status,
        ]);
    }
    write_table(out, &t)?;
    let secs = (r.millis as f64 / 1000.0).max(0.001);
    writeln!(
        out,
        "\n{} verified, {} failed; {} hashed in {:.2}s ({:.0} MB/s)",
        r.verified,
        r.failed,
        style.bytes(r.bytes),
        secs,
        r.bytes as f64 / 1e6 / secs
    )
}

/// Gauges: layers verified and failed, bytes hashed.
pub fn prometheus(out: &mut dyn Write, r: &VerifyReport) -> io::Result<()> {
    use super::prometheus::Gauge;
    let driver = r.driver.as_str();
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    Gauge::new(
        out,
        "strata_verify_layers_ok",
        "Layers whose content rebuilds to their diff id and measures their recorded size.",
    )?
    .sample(&[("driver", driver)], count(r.verified))?;
    Gauge::new(
        out,
        "strata_verify_layers_failed",
        "Layers whose content no longer matches their record, or cannot be checked.",
    )?
    .sample(&[("driver", driver)], count(r.failed))?;
    Gauge::new(
        out,
        "strata_verify_hashed_bytes",
        "Bytes of rebuilt layer tar streams hashed.",
    )?
    .sample(
        &[("driver", driver)],
        i64::try_from(r.bytes).unwrap_or(i64::MAX),
    )
}
