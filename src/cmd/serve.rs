//! `strata engine serve`: runs the daemon until SIGINT or SIGTERM. Warnings (a TCP port open
//! beyond loopback) and what the start repaired go to standard error.

use analyzers::Problem;
use engine::daemon::{self, Listener, ServeOptions};

use super::Context;
use crate::cli::EngineCommand;

/// Runs an `engine` subcommand.
pub fn run(ctx: &Context, cmd: &EngineCommand) -> anyhow::Result<Vec<Problem>> {
    let EngineCommand::Serve(args) = cmd;
    let root = ctx.engine_root_path()?;
    let program = std::env::current_exe()?;
    let opts = ServeOptions {
        root,
        driver: ctx.cli.driver.clone(),
        hosts: ctx.cli.hosts.clone(),
        allow_remote: args.allow_remote,
        force: args.force,
        program,
    };
    daemon::run(&opts, |prepared| {
        for warning in &prepared.warnings {
            eprintln!("strata engine: WARNING: {warning}");
        }
        let r = &prepared.reconciled;
        eprintln!(
            "strata engine: {}: {} live, {} stopped ({} removed) after a crash; {} stale \
             mounts, {} cgroups, {} staged layer files cleared",
            prepared.root.path.display(),
            r.live.len(),
            r.stopped.len(),
            r.removed.len(),
            r.unmounted.len(),
            r.cgroups.len(),
            r.staged.len()
        );
        for listener in &prepared.listeners {
            match listener {
                Listener::Unix(_, path) => {
                    eprintln!("strata engine: listening on unix://{}", path.display());
                }
                Listener::Tcp(_, addr) => eprintln!("strata engine: listening on tcp://{addr}"),
            }
        }
    })?;
    Ok(Vec::new())
}
