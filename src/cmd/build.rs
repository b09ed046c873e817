//! `strata build`: renders the builder's progress as Docker's classic builder prints it
//! (`Step 1/5 : FROM …`, ` ---> Using cache`, ` ---> <short id>`, `Successfully built …`,
//! `Successfully tagged …`). A failed step prints Docker's message and exits 1, as
//! `docker build` does; so does a build cancelled by SIGINT or SIGTERM, after removing the
//! step it was running.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use analyzers::Problem;
use engine::build::progress::{self, Stream};
use engine::build::{build, BuildError, BuildOptions, Event};
use nix::sys::signal::{SigSet, Signal};

use super::Context;
use crate::cli::BuildArgs;

/// `--build-arg` values: `NAME=value`, or `NAME` taking the environment's value (skipped
/// when unset, as the Docker CLI does).
fn build_args(given: &[String]) -> BTreeMap<String, String> {
    given
        .iter()
        .filter_map(|a| match a.split_once('=') {
            Some((k, v)) => Some((k.to_owned(), v.to_owned())),
            None => std::env::var(a).ok().map(|v| (a.clone(), v)),
        })
        .collect()
}

/// Prints a progress event as Docker's classic builder does (a `RUN`'s standard error to
/// standard error).
fn render(event: &Event, out: &mut dyn Write) -> std::io::Result<()> {
    match progress::text(event) {
        (text, Stream::Err) => {
            eprint!("{text}");
            Ok(())
        }
        (text, Stream::Out) => write!(out, "{text}"),
    }
}

/// A flag set when SIGINT or SIGTERM arrives: they are blocked in this thread (and so in the
/// threads it starts; child processes start with an empty mask) and taken by a thread of
/// their own, so that a cancelled build removes its running step instead of dying mid-way.
fn cancel_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    let cancel = Arc::new(AtomicBool::new(false));
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGINT);
    signals.add(Signal::SIGTERM);
    signals.thread_block()?;
    let flag = Arc::clone(&cancel);
    std::thread::spawn(move || {
        if signals.wait().is_ok() {
            flag.store(true, Ordering::Relaxed);
        }
    });
    Ok(cancel)
}

/// Builds the image and prints the progress (or, with `-q`, the id alone).
pub fn run(ctx: &Context, args: &BuildArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let root = ctx.engine_root()?;
    let opts = BuildOptions {
        dockerfile: args
            .file
            .clone()
            .unwrap_or_else(|| args.context.join("Dockerfile")),
        context: args.context.clone(),
        tags: args.tag.clone(),
        build_args: build_args(&args.build_arg),
        no_cache: args.no_cache,
        program: std::env::current_exe()?,
        cancel: cancel_on_signals()?,
    };
    let mut written = Ok(());
    let result = build(&root, &opts, &mut |event| {
        if !args.quiet && written.is_ok() {
            written = render(&event, out).and_then(|()| out.flush());
        }
    });
    written?;
    match result {
        Ok(built) if args.quiet => writeln!(out, "{}", built.id)?,
        Ok(built) => {
            for line in progress::finished(&built) {
                write!(out, "{line}")?;
            }
        }
        Err(
            e @ (BuildError::Command { .. } | BuildError::Source { .. } | BuildError::Cancelled),
        ) => {
            out.flush()?;
            eprintln!("{e}");
            std::process::exit(1);
        }
        Err(e) => return Err(e.into()),
    }
    Ok(Vec::new())
}
