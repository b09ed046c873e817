//! `strata import TAR [REPO[:TAG]]`: prints the new image's id, as `docker import` does.

use std::io::Write;

use analyzers::Problem;
use engine::image::import::ImportOptions;

use super::Context;
use crate::cli::ImportArgs;

/// Imports the tar and prints `sha256:<id>`.
pub fn run(ctx: &Context, args: &ImportArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let engine = ctx.engine()?;
    let source = args.tar.display().to_string();
    let opts = ImportOptions {
        reference: args.reference.clone(),
        source: source.clone(),
        message: args.message.clone(),
    };
    let id = if source == "-" {
        engine.import(std::io::stdin(), &opts)?
    } else {
        let file = std::fs::File::open(&args.tar)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.tar.display()))?;
        engine.import(file, &opts)?
    };
    writeln!(out, "{id}")?;
    Ok(Vec::new())
}
