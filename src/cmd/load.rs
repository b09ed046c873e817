//! `strata load [-i FILE]`: prints `Loaded image: REPO:TAG` (or `Loaded image ID: sha256:…`
//! for an untagged image), as `docker load` does.

use std::io::Write;

use analyzers::Problem;

use super::Context;
use crate::cli::LoadArgs;

/// Loads the archive and names what it loaded.
pub fn run(ctx: &Context, args: &LoadArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let engine = ctx.engine()?;
    let lines = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            engine.load(file, &path.display().to_string())?
        }
        None => engine.load(std::io::stdin(), "-")?,
    };
    for line in lines {
        writeln!(out, "{line}")?;
    }
    Ok(Vec::new())
}
