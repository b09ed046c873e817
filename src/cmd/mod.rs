//! One module per verb: each takes the resolved [`Context`], calls the library and hands the
//! report to a renderer. Adding a verb is a variant in `cli::Command`, a module here and one
//! arm in [`dispatch`].

pub mod advise;
pub mod containers;
pub mod df;
pub mod diff;
pub mod dupes;
pub mod images;
pub mod inventory;
pub mod layers;
pub mod orphans;
pub mod verify;
pub mod volumes;

use std::io::Write;

use analyzers::graph::{LoadOptions, Store};
use analyzers::root::{self, DataRoot};
use analyzers::walk::WalkOptions;
use analyzers::Problem;

use crate::cli::{Cli, Command, Format};
use crate::render::SizeStyle;

/// The global options, resolved.
pub struct Context<'a> {
    /// The parsed command line.
    pub cli: &'a Cli,
    /// How sizes print.
    pub style: SizeStyle,
    /// Output format.
    pub format: Format,
    /// Walker settings from the command line.
    pub walk: WalkOptions,
}

impl Context<'_> {
    /// Finds, validates and loads the data root the command line names.
    pub fn load_store(&self) -> anyhow::Result<Store> {
        let path = root::locate(
            self.cli.root.as_deref(),
            std::path::Path::new(root::DAEMON_JSON),
        )?;
        let data_root = DataRoot::open(&path)?;
        Ok(Store::load(
            &data_root,
            &LoadOptions {
                driver: self.cli.driver.clone(),
            },
        )?)
    }
}

impl Context<'_> {
    /// Runs `job` on a rayon pool of `--threads` workers (the global pool by default).
    pub fn in_pool<T: Send>(&self, job: impl FnOnce() -> T + Send) -> anyhow::Result<T> {
        match self.walk.threads {
            Some(n) => Ok(rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()?
                .install(job)),
            None => Ok(job()),
        }
    }
}

/// A verb found what it was asked to fail on (`advise --fail-over`): exit 1 after its report.
#[derive(Debug)]
pub struct FailOn(pub String);

impl std::fmt::Display for FailOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FailOn {}

/// Runs the verb; returns the problems found in the store (they decide the exit code).
pub fn dispatch(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let ctx = Context {
        cli,
        style: SizeStyle { bytes: cli.bytes },
        format: cli.format,
        walk: WalkOptions {
            threads: cli.threads,
            one_file_system: false,
        },
    };
    match &cli.command {
        Command::Df(args) => df::run(&ctx, args, out),
        Command::Images(args) => images::run(&ctx, args, out),
        Command::Layers(args) => layers::run(&ctx, args, out),
        Command::Containers(args) => containers::run(&ctx, args, out),
        Command::Volumes(args) => volumes::run(&ctx, args, out),
        Command::Diff(args) => diff::run(&ctx, args, out),
        Command::Verify(args) => verify::run(&ctx, args, out),
        Command::Orphans => orphans::run(&ctx, out),
        Command::Advise(args) => advise::run(&ctx, args, out),
        Command::Dupes => dupes::run(&ctx, out),
    }
}
