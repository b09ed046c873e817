//! `strata orphans`.

use std::io::Write;

use analyzers::forensics::orphans;
use analyzers::Problem;

use super::Context;
use crate::cli::Format;
use crate::render;

/// Lists every leftover of the store.
pub fn run(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let store = ctx.load_store()?;
    let report = orphans::find(&store, &ctx.walk);
    match ctx.format {
        Format::Json => render::write_json(out, &report)?,
        Format::Table => render::orphans::table(out, &report, ctx.style)?,
        Format::Prometheus => render::orphans::prometheus(out, &report)?,
    }
    Ok(report.problems)
}
