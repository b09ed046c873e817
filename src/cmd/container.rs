//! `strata stop`, `kill`, `wait`, `rm`, `logs`, and the hidden `engine-shim`.

use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use analyzers::Problem;
use engine::container::remove::{remove, RemoveOptions};
use engine::container::{
    logs as log_file, resolve, shim as supervisor, stop as stopping, wait as waiting,
};

use super::Context;
use crate::cli::{ContainerArgs, KillArgs, RmArgs, StopArgs};

/// `strata stop`.
pub fn stop(ctx: &Context, args: &StopArgs) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    let id = resolve(&root, &args.container)?;
    stopping::stop(&root, &id, Duration::from_secs(args.time))?;
    println!("{}", args.container);
    Ok(Vec::new())
}

/// `strata kill`.
pub fn kill(ctx: &Context, args: &KillArgs) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    let id = resolve(&root, &args.container)?;
    let name = format!("SIG{}", args.signal.trim_start_matches("SIG"));
    let signal: nix::sys::signal::Signal = name
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid signal {:?}", args.signal))?;
    stopping::kill(&root, &id, signal)?;
    println!("{}", args.container);
    Ok(Vec::new())
}

/// `strata wait`: prints the exit code.
pub fn wait(
    ctx: &Context,
    args: &ContainerArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    let id = resolve(&root, &args.container)?;
    let code = waiting::until_stopped(&root, &id, None)?.unwrap_or(0);
    writeln!(out, "{code}")?;
    Ok(Vec::new())
}

/// `strata rm`.
pub fn rm(ctx: &Context, args: &RmArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    let opts = RemoveOptions {
        force: args.force,
        volumes: args.volumes,
    };
    for name in &args.containers {
        let id = resolve(&root, name)?;
        remove(&root, &id, &opts)?;
        writeln!(out, "{name}")?;
    }
    Ok(Vec::new())
}

/// `strata logs`: stdout lines to stdout, stderr lines to stderr.
pub fn logs(
    ctx: &Context,
    args: &ContainerArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    let id = resolve(&root, &args.container)?;
    print_lines(&log_file::read(&root, &id)?, out)?;
    Ok(Vec::new())
}

/// Prints logged lines: stdout lines to `out`, stderr lines to standard error.
pub fn print_lines(lines: &[log_file::LogLine], out: &mut dyn Write) -> std::io::Result<()> {
    for line in lines {
        if line.stream == "stderr" {
            eprint!("{}", line.log);
        } else {
            write!(out, "{}", line.log)?;
        }
    }
    Ok(())
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
