//! `strata load [-i FILE]`: prints `Loaded image: REPO:TAG` (or `Loaded image ID: sha256:…`
//! for an untagged image), as `docker load` does.

use std::io::Write;

use analyzers::Problem;
use engine::image::load::load;

use super::Context;
use crate::cli::LoadArgs;

/// Loads the archive and names what it loaded.
pub fn run(ctx: &Context, args: &LoadArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    let written = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            load(&root, file, &path.display().to_string())?
        }
        None => load(&root, std::io::stdin().lock(), "-")?,
    };
    for image in written {
        if image.repo_tags.is_empty() {
            writeln!(out, "Loaded image ID: {}", image.id)?;
        }
        for tag in &image.repo_tags {
            writeln!(out, "Loaded image: {tag}")?;
        }
    }
    Ok(Vec::new())
}
