//! `strata demo`: the engine builds a sample store in a temporary root; then `df -v`, `du` and
//! the copy-on-write `diff` of two containers are shown on it exactly as on any root, and the
//! store is removed.

use std::io::Write;

use analyzers::Problem;
use clap::Parser as _;
use engine::demo::{Demo, Rootfs};

use super::Context;
use crate::cli::{Cli, DemoArgs};

/// Builds, shows and removes the demo store.
pub fn run(ctx: &Context, args: &DemoArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let demo = Demo::build(&std::env::current_exe()?, &args.busybox)?;
    let root = demo.root.display().to_string();
    let made_of = match &demo.rootfs {
        Rootfs::Busybox(path) => format!("{} and its applets", path.display()),
        Rootfs::HostPrograms(names) => format!("the host's {}", names.join(", ")),
    };
    writeln!(out, "strata demo: a sample store in {root}")?;
    writeln!(
        out,
        "  image {} ({made_of}), imported by the engine",
        engine::demo::IMAGE
    )?;
    for step in &demo.steps {
        let state = step
            .exit_code
            .map_or_else(|| "running".to_owned(), |c| format!("exited {c}"));
        writeln!(out, "  container {:<8} {} ({state})", step.name, step.what)?;
    }
    let mut problems = Vec::new();
    let verbs: [&[&str]; 4] = [
        &["df", "-v"],
        &["du"],
        &["diff", "copier"],
        &["diff", "deleter"],
    ];
    for verb in verbs {
        let mut argv = vec!["strata", "--root", root.as_str()];
        if ctx.cli.bytes {
            argv.push("--bytes");
        }
        argv.extend_from_slice(verb);
        writeln!(out, "\n$ strata --root {root} {}", verb.join(" "))?;
        let cli = Cli::try_parse_from(&argv)?;
        problems.extend(super::dispatch(&cli, out)?);
    }
    demo.clean()?;
    writeln!(out, "\nstrata demo: removed {root}")?;
    Ok(problems)
}
