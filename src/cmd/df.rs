//! `strata df [-v]`.

use std::io::Write;

use analyzers::usage::df::{self, DfOptions};
use analyzers::Problem;

use super::Context;
use crate::cli::{DfArgs, Format};
use crate::render;

/// Computes and prints `docker system df [-v]`.
pub fn run(ctx: &Context, args: &DfArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let store = ctx.load_store()?;
    let now = chrono::Utc::now().timestamp();
    let report = df::compute(
        &store,
        &DfOptions {
            walk: ctx.walk.clone(),
            now: Some(now),
        },
    );
    if let Some(libpod) = report.libpod_report() {
        match (ctx.format, args.verbose) {
            (Format::Json, _) => render::write_json(out, &libpod)?,
            (Format::Prometheus, _) => render::df::prometheus(out, &report)?,
            (Format::Table, false) => render::libpod::summary(out, libpod.df, ctx.style)?,
            (Format::Table, true) => render::libpod::verbose(out, libpod.df, ctx.style, now)?,
        }
        return Ok(report.problems);
    }
    match (ctx.format, args.verbose) {
        (Format::Json, _) => render::write_json(out, &report)?,
        (Format::Prometheus, _) => render::df::prometheus(out, &report)?,
        (Format::Table, false) => render::df::summary(out, &report, ctx.style)?,
        (Format::Table, true) => render::df::verbose(out, &report, ctx.style, now)?,
    }
    Ok(report.problems)
}
