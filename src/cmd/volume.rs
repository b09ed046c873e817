//! `strata volume create|ls|inspect|rm|prune`.

use std::io::Write;

use analyzers::Problem;
use engine::volume;

use super::Context;
use crate::cli::VolumeCommand;
use crate::render;

/// Runs one volume verb.
pub fn run(
    ctx: &Context,
    cmd: &VolumeCommand,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    match cmd {
        VolumeCommand::Create { name } => {
            writeln!(out, "{}", volume::create(&root, name.as_deref())?.name)?
        }
        VolumeCommand::Ls => {
            writeln!(out, "DRIVER    VOLUME NAME")?;
            for v in volume::list(&root)? {
                writeln!(out, "{:<10}{}", v.driver, v.name)?;
            }
        }
        VolumeCommand::Inspect { name } => {
            render::write_json(out, &[volume::inspect(&root, name)?])?
        }
        VolumeCommand::Rm { names } => {
            for name in names {
                volume::remove(&root, name)?;
                writeln!(out, "{name}")?;
            }
        }
        VolumeCommand::Prune => {
            writeln!(out, "Deleted Volumes:")?;
            for name in volume::prune(&root)? {
                writeln!(out, "{name}")?;
            }
        }
    }
    Ok(Vec::new())
}
