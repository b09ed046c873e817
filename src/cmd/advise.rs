//! `strata advise [--fail-over SIZE]`.

use std::io::Write;

use analyzers::advice::{self, AdviceReport};
use analyzers::forensics::orphans;
use analyzers::graph::Store;
use analyzers::Problem;

use super::{Context, FailOn};
use crate::cli::{AdviseArgs, Format};
use crate::render;

/// Prints the recommendations; fails (exit 1) when they reclaim more than `--fail-over`.
pub fn run(ctx: &Context, args: &AdviseArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let store = ctx.load_store()?;
    let report = recommendations(ctx, &store);
    match ctx.format {
        Format::Json => render::write_json(out, &report)?,
        Format::Table => render::advise::table(out, &report, ctx.style)?,
        Format::Prometheus => render::advise::prometheus(out, &report)?,
    }
    if let Some(limit) = args.fail_over {
        if report.reclaimable_bytes > limit {
            return Err(FailOn(format!(
                "{} bytes are reclaimable, over the --fail-over limit of {limit}",
                report.reclaimable_bytes
            ))
            .into());
        }
    }
    Ok(report.problems)
}

/// The recommendations for `store`: its leftovers found, then the advice on it and them.
pub fn recommendations(ctx: &Context, store: &Store) -> AdviceReport {
    let leftovers = orphans::find(store, &ctx.walk);
    advice::advise(store, &leftovers, &ctx.walk)
}
