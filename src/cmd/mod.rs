//! One module per verb: each takes the resolved [`Context`], calls the library and hands the
//! report to a renderer. Adding a verb is a variant in `cli::Command`, a module here and one
//! arm in [`dispatch`].
//!
//! Which store a verb reads is the [`Context`]'s to say ([`Context::store_root`]): `--root`,
//! `--user`, or the host's default (its files under `--sysroot`); with `--all-users`,
//! [`each_store`] runs the verb once per store, each with a context naming it; `host` reads
//! every store of the host.

pub mod advise;
pub mod build;
pub mod container;
pub mod containers;
pub mod demo;
pub mod df;
pub mod diff;
pub mod du;
pub mod dupes;
mod each_store;
pub mod exporter;
pub mod host;
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
use analyzers::graphroot::{Graphroot, HostConfig};
use analyzers::host::Sysroot;
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
    /// The store `--all-users` is reporting on now; `None`: the one the flags name.
    graphroot: Option<Graphroot>,
    /// The store opened by [`Context::store_root`], to say afterwards whether reading it
    /// moved access times.
    opened: std::sync::OnceLock<Jail>,
}

/// Where the host's files are: `--sysroot`, else this machine's `/`.
fn sysroot(cli: &Cli) -> anyhow::Result<Sysroot> {
    Ok(match &cli.sysroot {
        Some(dir) => Sysroot::new(dir)?,
        None => Sysroot::default(),
    })
}

/// The host's files that say where the stores are, under `--sysroot`; on this machine with
/// the caller's `$CONTAINERS_STORAGE_CONF` (which podman run by root here would read; a disk
/// image's podman never saw it).
fn host_config(cli: &Cli) -> anyhow::Result<HostConfig> {
    let sysroot = sysroot(cli)?;
    let storage_conf_env = sysroot
        .is_host()
        .then(|| std::env::var_os("CONTAINERS_STORAGE_CONF").map(Into::into))
        .flatten();
    Ok(HostConfig {
        storage_conf_env,
        ..HostConfig::under(sysroot)
    })
}

impl<'a> Context<'a> {
    /// The context of `cli`, reading the store `graphroot` when given (one of `--all-users`),
    /// else the one the flags name.
    fn new(cli: &'a Cli, graphroot: Option<Graphroot>) -> Context<'a> {
        Context {
            cli,
            style: SizeStyle { bytes: cli.bytes },
            format: cli.format.into(),
            walk: WalkOptions {
                threads: cli.threads,
                one_file_system: false,
                progress: None,
            },
            graphroot,
            opened: std::sync::OnceLock::new(),
        }
    }
}

impl Context<'_> {
    /// Refuses `--user` and `--all-users`, which name rootless and podman stores, and
    /// `--sysroot`, a disk image's, for the engine verbs.
    fn engine_refuses_users(&self) -> anyhow::Result<()> {
        if self.cli.user.is_some() || self.cli.all_users || self.cli.sysroot.is_some() {
            anyhow::bail!(
                "--user, --all-users and --sysroot name rootless, podman (containers/storage) \
                 or a disk image's stores, which the engine verbs do not write; give --root"
            );
        }
        Ok(())
    }

    /// The data root the engine verbs write and serve: `--root`, else dockerd's default
    /// location on this machine.
    pub fn engine_root_path(&self) -> anyhow::Result<std::path::PathBuf> {
        self.engine_refuses_users()?;
        Ok(root::locate(self.cli.root.as_deref(), &Sysroot::default())?)
    }

    /// The data root the engine verbs write: [`Context::engine_root_path`], opened.
    pub fn engine_root(&self) -> anyhow::Result<engine::Root> {
        let path = self.engine_root_path()?;
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
        self.engine_refuses_users()?;
        Ok(match self.cli.hosts.last() {
            Some(host) => engine::backend::Backend::Remote(engine::api::client::Client::new(host)?),
            None => engine::backend::Backend::Local {
                root: self.engine_root()?,
                program: std::env::current_exe()?,
            },
        })
    }

    /// Finds and validates the store the analyzer verbs read, and how to load it: the one
    /// `--all-users` is at; `--user`'s; `--root`; a plain containerd root given with
    /// `--containerd-root`; else dockerd's, or, when that is no Docker root, root's podman
    /// store when it exists.
    pub fn store_root(&self) -> anyhow::Result<(DataRoot, LoadOptions)> {
        let (data_root, found) = self.open_root()?;
        let _ = self.opened.set(data_root.jail.clone());
        let defaults = LoadOptions {
            sysroot: sysroot(self.cli)?,
            ..self.load_options()
        };
        let options = LoadOptions {
            runroot: defaults
                .runroot
                .clone()
                .or_else(|| found.as_ref().and_then(Graphroot::runroot)),
            storage_conf: found.map(|g| g.settings),
            ..defaults
        };
        Ok((data_root, options))
    }

    /// The root [`Context::store_root`] reads, with how the host's configuration found it
    /// when it did.
    fn open_root(&self) -> anyhow::Result<(DataRoot, Option<Graphroot>)> {
        let open = |g: Graphroot| -> anyhow::Result<(DataRoot, Option<Graphroot>)> {
            Ok((DataRoot::open(&g.path)?, Some(g)))
        };
        if let Some(g) = &self.graphroot {
            return open(g.clone());
        }
        if let Some(name) = &self.cli.user {
            return self.open_user_root(name);
        }
        let explicit = self
            .cli
            .root
            .as_deref()
            .or(self.cli.containerd_root.as_deref());
        let path = root::locate(explicit, &sysroot(self.cli)?)?;
        match DataRoot::open(&path) {
            Ok(data_root) => Ok((data_root, None)),
            Err(docker) if explicit.is_none() => {
                let podman = host_config(self.cli)?.rootful()?;
                if podman.path.is_dir() {
                    open(podman)
                } else {
                    Err(docker.into())
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// `--user NAME`'s store: their rootless Docker root or their podman store, whichever
    /// exists (root has no rootless Docker root); both is an error saying how to pick one.
    fn open_user_root(&self, name: &str) -> anyhow::Result<(DataRoot, Option<Graphroot>)> {
        let host = host_config(self.cli)?;
        let account = host.account(name)?;
        let docker = match account.uid {
            0 => None,
            _ => Some(root::rootless(
                std::path::Path::new(&account.home),
                &host.sysroot,
            )?),
        };
        let podman = host.of_user(name)?;
        let has_docker = docker.as_ref().is_some_and(|d| host.sysroot.is_dir(d));
        let has_podman = host.sysroot.is_dir(&podman.path);
        let docker_text = docker
            .as_ref()
            .map_or_else(|| "root has none".to_owned(), |d| d.display().to_string());
        let podman_text = podman.path.display().to_string();
        match (docker, has_docker, has_podman) {
            (_, true, true) => anyhow::bail!(
                "{name} has two stores, a rootless Docker root ({docker_text}) and a podman \
                 store ({podman_text}): give --root {docker_text} or --root {podman_text}"
            ),
            (Some(d), true, false) => Ok((DataRoot::open(&d)?, None)),
            (_, false, true) => Ok((DataRoot::open(&podman.path)?, Some(podman))),
            _ => anyhow::bail!(
                "{name} has no store: no rootless Docker root ({docker_text}) and no podman \
                 store ({podman_text}: the graphroot their podman would use)"
            ),
        }
    }

    /// Finds, validates and loads the store the command line names.
    pub fn load_store(&self) -> anyhow::Result<Store> {
        let (data_root, options) = self.store_root()?;
        Ok(Store::load(&data_root, &options)?)
    }

    /// How the command line says to load the store (without what the store's own
    /// configuration says: [`Context::store_root`] adds it).
    fn load_options(&self) -> LoadOptions {
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
            storage_conf: None,
            sysroot: Sysroot::default(),
        }
    }

    /// True for the verbs whose output includes `docker system df`'s figures (the inventories
    /// and `du` draw theirs from the same report), whose rules depend on dockerd's version.
    fn reports_docker_figures(&self) -> bool {
        matches!(
            self.cli.command,
            Command::Df(_)
                | Command::Du(_)
                | Command::Exporter(_)
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

/// Runs the verb (once per store with `--all-users`); returns the problems found in the
/// store (they decide the exit code).
pub fn dispatch(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    if cli.all_users {
        return each_store::run(cli, out);
    }
    run_in(&Context::new(cli, None), out)
}

/// Runs the verb of `ctx`, then warns if reading its store moved access times.
fn run_in(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let result = run_verb(ctx, out);
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
        Command::Exporter(args) => exporter::run(ctx, args, out),
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
        Command::Host => host::run(ctx, out),
    }
}
