//! `strata diff CONTAINER`.

use std::io::Write;

use analyzers::forensics::diff;
use analyzers::Problem;

use super::Context;
use crate::cli::{DiffArgs, Format};
use crate::render;

/// Lists the container's changes.
pub fn run(ctx: &Context, args: &DiffArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let store = ctx.load_store()?;
    let container = store.find_container(&args.container)?;
    let report = diff::diff(&store, container);
    match ctx.format {
        Format::Json => render::write_json(out, &report)?,
        Format::Table => render::diff::table(out, &report, ctx.style)?,
        Format::Prometheus => anyhow::bail!("--format prometheus is not available for `diff`"),
    }
    Ok(report.problems)
}
