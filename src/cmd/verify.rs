//! `strata verify [IMAGE|LAYER]`.

use std::io::Write;

use analyzers::forensics::verify;
use analyzers::graph::Layer;
use analyzers::Problem;

use super::Context;
use crate::cli::{Format, VerifyArgs};
use crate::render;

/// Verifies every layer, an image's layers, or one layer; a mismatch is a problem (exit 1).
pub fn run(ctx: &Context, args: &VerifyArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let store = ctx.load_store()?;
    let layers: Vec<&Layer> = match &args.target {
        None => store.layers.values().collect(),
        Some(name) => match store.find_image(name) {
            Ok(img) => img
                .chain_ids
                .iter()
                .filter_map(|c| store.layers.get(c))
                .collect(),
            Err(image_err) => vec![store
                .find_layer(name)
                .map_err(|_| anyhow::anyhow!("{image_err}; no layer either"))?],
        },
    };
    let report = ctx.in_pool(|| verify::verify(&store, &layers))?;
    match ctx.format {
        Format::Json => render::write_json(out, &report)?,
        Format::Table => render::verify::table(out, &report, ctx.style)?,
        Format::Prometheus => render::verify::prometheus(out, &report)?,
    }
    Ok(report.problems)
}
