//! One module per verb: each takes the resolved [`Context`], calls the library and hands the
//! report to a renderer. Adding a verb is a variant in `cli::Command`, a module here and one
//! arm in [`dispatch`].

pub mod advise;
pub mod build;
pub mod container;
pub mod containers;
pub mod demo;
pub mod df;
pub mod diff;
pub mod du;
pub mod dupes;
pub mod images;
pub mod import;
pub mod inventory;
pub mod layers;
pub mod load;
pub mod orphans;
mod owner_version;
pub mod run;
pub mod serve;
pub mod snapshots;
pub mod verify;
pub mod volume;
pub mod volumes;
pub mod watch;

use std::io::Write;

use analyzers::backend::VersionSource;
use analyzers::fs::Jail;
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
    /// The store opened by [`Context::data_root`], to say afterwards whether reading it moved
    /// access times.
    opened: std::sync::OnceLock<Jail>,
}

impl Context<'_> {
    /// The data root the engine verbs write: `--root`, else dockerd's default location.
    pub fn engine_root(&self) -> anyhow::Result<engine::Root> {
        let path = root::locate(
            self.cli.root.as_deref(),
            std::path::Path::new(root::DAEMON_JSON),
        )?;
        // The engine writes the store: never under a running dockerd's feet (its daemon,
        // `strata engine serve`, refuses such a root the same way).
        if let Some(d) = std::fs::canonicalize(&path)
            .ok()
            .and_then(|p| engine::daemon::guard::dockerd_using(&p))
        {
            anyhow::bail!(
                "{}: in use by a running dockerd (pid {}); stop it first, strata's engine and \
                 dockerd must not write one store at once",
                path.display(),
                d.pid
            );
        }
        Ok(engine::Root::open(&path, self.cli.driver.as_deref())?)
    }

    /// Where the engine verbs act: the daemon at `-H`/`STRATA_HOST` (the last given), else
    /// the data root directly.
    pub fn engine(&self) -> anyhow::Result<engine::backend::Backend> {
        Ok(match self.cli.hosts.last() {
            Some(host) => engine::backend::Backend::Remote(engine::api::client::Client::new(host)?),
            None => engine::backend::Backend::Local {
                root: self.engine_root()?,
                program: std::env::current_exe()?,
            },
        })
    }

    /// Finds and validates the data root the command line names: `--root`, else a plain
    /// containerd root given with `--containerd-root`, else dockerd's.
    pub fn data_root(&self) -> anyhow::Result<DataRoot> {
        let explicit = self
            .cli
            .root
            .as_deref()
            .or(self.cli.containerd_root.as_deref());
        let path = root::locate(explicit, std::path::Path::new(root::DAEMON_JSON))?;
        let data_root = DataRoot::open(&path)?;
        let _ = self.opened.set(data_root.jail.clone());
        Ok(data_root)
    }

    /// Finds, validates and loads the data root the command line names.
    pub fn load_store(&self) -> anyhow::Result<Store> {
        let data_root = self.data_root()?;
        Ok(Store::load(&data_root, &self.load_options())?)
    }

    /// How the command line says to load the store.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            driver: self.cli.driver.clone(),
            // Without --root, --containerd-root names the root itself (a plain containerd).
            containerd_root: self.cli.root.as_ref().and(self.cli.containerd_root.clone()),
            namespace: self.cli.namespace.clone(),
            docker_version: self
                .cli
                .docker_version
                .map(|v| (v, VersionSource::Flag("--docker-version"))),
            runroot: self.cli.runroot.clone(),
            podman_version: self
                .cli
                .podman_version
                .map(|v| (v, VersionSource::Flag("--podman-version"))),
            // Asking dockerd or podman runs a program: only for the verbs that report their
            // figures.
            detect_docker_version: self
                .reports_docker_figures()
                .then_some(owner_version::detect as _),
            detect_podman_version: self
                .reports_docker_figures()
                .then_some(owner_version::detect_podman as _),
        }
    }

    /// True for the verbs whose output includes `docker system df`'s figures (the inventories
    /// and `du` draw theirs from the same report), whose rules depend on dockerd's version.
    fn reports_docker_figures(&self) -> bool {
        matches!(
            self.cli.command,
            Command::Df(_)
                | Command::Du(_)
                | Command::Images(_)
                | Command::Layers(_)
                | Command::Containers(_)
                | Command::Volumes(_)
                | Command::Snapshots(_)
        )
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
            progress: None,
        },
        opened: std::sync::OnceLock::new(),
    };
    let result = run_verb(&ctx, out);
    if let Some(jail) = ctx.opened.get() {
        warn_atime_changes(jail);
    }
    result
}

/// Says so when the kernel refused `O_NOATIME` (the caller neither owns the files nor has
/// `CAP_FOWNER`): reading them moved their access times, which matters on evidence.
fn warn_atime_changes(jail: &Jail) {
    let n = jail.atime_changes();
    if n > 0 {
        eprintln!(
            "strata: warning: {n} files and directories under {} were read without O_NOATIME \
             (not their owner and no CAP_FOWNER): their access times changed; run as root to \
             leave them untouched",
            jail.path().display()
        );
    }
}

fn run_verb(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let cli = ctx.cli;
    match &cli.command {
        Command::Df(args) => df::run(ctx, args, out),
        Command::Du(args) => du::run(ctx, args, out),
        Command::Watch(args) => watch::run(ctx, args, out),
        Command::Import(args) => import::run(ctx, args, out),
        Command::Load(args) => load::run(ctx, args, out),
        Command::Build(args) => build::run(ctx, args, out),
        Command::Create(args) => run::create(ctx, args, out),
        Command::Run(args) => run::run(ctx, args, out),
        Command::Start(args) => run::start(ctx, args, out),
        Command::Stop(args) => container::stop(ctx, args, out),
        Command::Kill(args) => container::kill(ctx, args, out),
        Command::Wait(args) => container::wait(ctx, args, out),
        Command::Rm(args) => container::rm(ctx, args, out),
        Command::Logs(args) => container::logs(ctx, args, out),
        Command::Volume(cmd) => volume::run(ctx, cmd, out),
        Command::Demo(args) => demo::run(ctx, args, out),
        Command::Engine(cmd) => serve::run(ctx, cmd),
        Command::EngineShim(args) => container::shim(ctx, args),
        Command::Images(args) => images::run(ctx, args, out),
        Command::Layers(args) => layers::run(ctx, args, out),
        Command::Snapshots(args) => snapshots::run(ctx, args, out),
        Command::Containers(args) => containers::run(ctx, args, out),
        Command::Volumes(args) => volumes::run(ctx, args, out),
        Command::Diff(args) => diff::run(ctx, args, out),
        Command::Verify(args) => verify::run(ctx, args, out),
        Command::Orphans => orphans::run(ctx, out),
        Command::Advise(args) => advise::run(ctx, args, out),
        Command::Dupes => dupes::run(ctx, out),
    }
}
