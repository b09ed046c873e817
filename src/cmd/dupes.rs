//! `strata dupes`.

use std::io::Write;

use analyzers::forensics::dupes;
use analyzers::Problem;

use super::Context;
use crate::cli::Format;
use crate::render;

/// Finds duplicate files across layers and each image's efficiency.
pub fn run(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let store = ctx.load_store()?;
    let report = ctx.in_pool(|| dupes::find(&store))?;
    match ctx.format {
        Format::Json => render::write_json(out, &report)?,
        Format::Table => render::dupes::table(out, &report, ctx.style)?,
        Format::Prometheus => render::dupes::prometheus(out, &report)?,
    }
    Ok(report.problems)
}
