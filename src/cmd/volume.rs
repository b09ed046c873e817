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
    let engine = ctx.engine()?;
    match cmd {
        VolumeCommand::Create { labels, name } => {
            let opts = volume::CreateOptions {
                name: name.clone(),
                labels: Some(
                    labels
                        .iter()
                        .map(|l| {
                            let (k, v) = l.split_once('=').unwrap_or((l, ""));
                            (k.to_owned(), v.to_owned())
                        })
                        .collect(),
                ),
            };
            writeln!(out, "{}", engine.volume_create(&opts)?.name)?
        }
        VolumeCommand::Ls => {
            writeln!(out, "DRIVER    VOLUME NAME")?;
            for v in engine.volume_list()? {
                writeln!(out, "{:<10}{}", v.driver, v.name)?;
            }
        }
        VolumeCommand::Inspect { name } => {
            render::write_json(out, &[engine.volume_inspect(name)?])?
        }
        VolumeCommand::Rm { names } => {
            for name in names {
                engine.volume_remove(name)?;
                writeln!(out, "{name}")?;
            }
        }
        VolumeCommand::Prune => {
            let pruned = engine.volume_prune()?;
            writeln!(out, "Deleted Volumes:")?;
            for name in &pruned.volumes_deleted {
                writeln!(out, "{name}")?;
            }
            writeln!(
                out,
                "\nTotal reclaimed space: {}",
                analyzers::units::human_size(pruned.space_reclaimed as f64)
            )?;
        }
    }
    Ok(Vec::new())
}
