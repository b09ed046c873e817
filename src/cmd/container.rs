//! `strata stop`, `kill`, `wait`, `rm`, `logs`, and the hidden `engine-shim`.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use analyzers::Problem;
use engine::container::logs::LogLine;
use engine::container::remove::RemoveOptions;
use engine::container::shim as supervisor;

use super::Context;
use crate::cli::{ContainerArgs, KillArgs, LogsArgs, RmArgs, StopArgs};

/// `strata stop`.
pub fn stop(ctx: &Context, args: &StopArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    ctx.engine()?
        .stop(&args.container, args.time.map(Duration::from_secs))?;
    writeln!(out, "{}", args.container)?;
    Ok(Vec::new())
}

/// `strata kill`.
pub fn kill(ctx: &Context, args: &KillArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    ctx.engine()?.kill(&args.container, &args.signal)?;
    writeln!(out, "{}", args.container)?;
    Ok(Vec::new())
}

/// `strata wait`: prints the exit code.
pub fn wait(
    ctx: &Context,
    args: &ContainerArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    let code = ctx.engine()?.wait(&args.container)?;
    writeln!(out, "{code}")?;
    Ok(Vec::new())
}

/// `strata rm`.
pub fn rm(ctx: &Context, args: &RmArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let engine = ctx.engine()?;
    let opts = RemoveOptions {
        force: args.force,
        volumes: args.volumes,
    };
    for name in &args.containers {
        engine.remove(name, &opts)?;
        writeln!(out, "{name}")?;
    }
    Ok(Vec::new())
}

/// `strata logs [-f]`: stdout lines to stdout, stderr lines to stderr.
pub fn logs(ctx: &Context, args: &LogsArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let mut failed = None;
    ctx.engine()?
        .logs(&args.container, args.follow, &mut |line| {
            if failed.is_none() {
                failed = print_line(&line, out).err();
            }
        })?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(Vec::new()),
    }
}

/// Prints a logged line: a stdout line to `out`, a stderr line to standard error.
pub fn print_line(line: &LogLine, out: &mut dyn Write) -> std::io::Result<()> {
    if line.stream == "stderr" {
        eprint!("{}", line.log);
        Ok(())
    } else {
        write!(out, "{}", line.log)?;
        out.flush()
    }
}

/// The supervisor: runs the container and exits with its code.
pub fn shim(ctx: &Context, args: &ContainerArgs) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    // SAFETY: fd 1 is this process's standard output, which `start` made a pipe; nothing else
    // in the process owns it, and it is replaced by /dev/null below before anything prints.
    let ready = unsafe { OwnedFd::from_raw_fd(nix::libc::dup(1)) };
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    nix::unistd::dup2_stdout(&null)?;
    let code = supervisor::run(&root, &args.container, ready)?;
    std::process::exit(code);
}
