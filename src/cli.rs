//! The command line: clap definitions only, turned into a resolved configuration in `main`.

use std::path::PathBuf;

use analyzers::units;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Where did the disk of this Docker host go? Offline, exact, read-only analysis of a Docker
/// data root.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, propagate_version = true)]
pub struct Cli {
    /// The Docker data root, or a containers/storage graphroot (podman, Buildah, CRI-O)
    /// [default: `data-root` from /etc/docker/daemon.json, else /var/lib/docker; when that is
    /// no Docker root, root's podman store: storage.conf's `graphroot`, else
    /// /var/lib/containers/storage].
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Read NAME's rootless store: their rootless Docker root (`data-root` of
    /// ~/.config/docker/daemon.json, else ~/.local/share/docker) or their podman store, found
    /// as their podman finds it (the graphroot of ~/.config/containers/storage.conf, else the
    /// `rootless_storage_path` of /etc/containers/storage.conf, else
    /// ~/.local/share/containers/storage; `root`: root's podman store); a user with both is
    /// asked to pick one with --root. Not for the engine verbs.
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        conflicts_with_all = ["root", "containerd_root", "all_users"]
    )]
    pub user: Option<String>,

    /// Report on every podman store of the host, one after another under a heading naming
    /// the user and the root: root's, then each rootless one (users with uid >= 1000) that
    /// exists. For df, du, images, layers, containers, volumes, orphans, dupes, verify and
    /// advise; JSON is an array of {User, Root, Report}; no Prometheus output.
    #[arg(long, global = true, conflicts_with_all = ["root", "containerd_root"])]
    pub all_users: bool,

    /// Read the host's files under DIR, a mounted disk image: /etc/passwd,
    /// /etc/docker/daemon.json, /etc/containerd/config.toml, /etc/containers/storage.conf,
    /// /var/lib/..., the users' homes and every path those files name, as a chroot would (a
    /// symlink leading out of DIR is refused). Not for the engine verbs.
    #[arg(long, global = true, value_name = "DIR")]
    pub sysroot: Option<PathBuf>,

    /// Read this storage driver's data [default: the one dockerd would use].
    #[arg(long, global = true, value_name = "NAME")]
    pub driver: Option<String>,

    /// The containerd root: of a Docker data root using the containerd image store [default:
    /// found as dockerd finds it], or, without --root, of a plain containerd host
    /// (/var/lib/containerd on a Kubernetes node).
    #[arg(long, global = true, value_name = "DIR")]
    pub containerd_root: Option<PathBuf>,

    /// The containerd namespace to read [default: `moby` under Docker; the only one of a
    /// plain containerd root].
    #[arg(long, global = true, value_name = "NS")]
    pub namespace: Option<String>,

    /// The dockerd version that wrote a containerd image store, whose accounting rules `df`
    /// follows (they changed in 28.0, 28.0.2, 28.2, 29.2, 29.5, 29.6) [default: `dockerd
    /// --version` of the host's dockerd, else the newest known].
    #[arg(long, global = true, value_name = "VERSION")]
    pub docker_version: Option<analyzers::backend::DockerVersion>,

    /// The runroot of a containers/storage graphroot (`/run/containers/storage` for root's
    /// podman): containers' run directories, which podman 4.6 and later count in their
    /// sizes; not read unless given.
    #[arg(long, global = true, value_name = "DIR")]
    pub runroot: Option<PathBuf>,

    /// The podman version whose `system df` rules apply to a containers/storage store (they
    /// changed in 4.4, 4.6 and 5.5) [default: `podman --version` of the host's podman, else
    /// the newest known].
    #[arg(long, global = true, value_name = "VERSION")]
    pub podman_version: Option<analyzers::backend::PodmanVersion>,

    /// Output format (`html`: du's self-contained page).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Print sizes as exact byte counts instead of Docker's units.
    #[arg(long, global = true)]
    pub bytes: bool,

    /// Engine verbs: the daemon to talk to (`unix:///run/strata.sock`,
    /// `tcp://127.0.0.1:2375`), like `docker -H`; without one they act on `--root` directly.
    /// `engine serve`: where to listen (repeatable).
    #[arg(
        short = 'H',
        long = "host",
        global = true,
        env = "STRATA_HOST",
        value_name = "HOST"
    )]
    pub hosts: Vec<String>,

    /// Walker threads [default: one per core].
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    /// What to report.
    #[command(subcommand)]
    pub command: Command,
}

/// What `--format` takes: the [`Format`]s every report verb prints, and `du`'s page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Aligned tables, like the Docker CLI.
    Table,
    /// JSON; for `df`, a superset of the Docker Engine API's `GET /system/df`.
    Json,
    /// Prometheus text (node-exporter textfile collector), sizes in bytes.
    Prometheus,
    /// `du` only: one self-contained HTML page (inline script and style, no network): a
    /// zoomable treemap of every byte by owner, the owners' table, the df summary and the
    /// advise list.
    Html,
}

/// The formats the report verbs print. `--format html` is du's alone: [`parse`] refuses it
/// for every other verb, and `du` reads it from [`Cli::format`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned tables, like the Docker CLI.
    Table,
    /// JSON; for `df`, a superset of the Docker Engine API's `GET /system/df`.
    Json,
    /// Prometheus text (node-exporter textfile collector), sizes in bytes.
    Prometheus,
}

impl From<OutputFormat> for Format {
    /// `html` is a page for people, drawn from the report a table shows.
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Table | OutputFormat::Html => Format::Table,
            OutputFormat::Json => Format::Json,
            OutputFormat::Prometheus => Format::Prometheus,
        }
    }
}

/// Parses the command line (a usage error exits as clap does), then refuses `--format html`
/// for every verb but `du`, the only one with a page: the error names the verb.
pub fn parse() -> Result<Cli, String> {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match matches.subcommand_name() {
        Some(verb) if cli.format == OutputFormat::Html && verb != "du" => Err(format!(
            "--format html is only for `du` (its treemap page), not `{verb}`"
        )),
        _ => Ok(cli),
    }
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Disk usage as `docker system df` reports it, offline and exact.
    Df(DfArgs),
    /// Every byte of the data root attributed to its owner, like du.
    Du(DuArgs),
    /// Images with sizes, layers and the containers made from them.
    Images(NameArgs),
    /// Read-only layers with sizes and the images and containers that use them.
    Layers(NameArgs),
    /// containerd stores: every snapshot of the namespace with its size and inodes, as
    /// `ctr snapshots usage` reports them, kind and parent.
    Snapshots(NameArgs),
    /// Containers with their writable layer's size, image and volumes.
    Containers(NameArgs),
    /// Local volumes with sizes and the containers that mount them.
    Volumes(VolumesArgs),
    /// A container's copy-on-write changes (`docker diff`), with bytes and content/metadata.
    Diff(DiffArgs),
    /// Layer integrity: each diff id recomputed from the content, and each recorded size.
    Verify(VerifyArgs),
    /// Leftovers nothing references: leaked layer directories, broken records, dangling
    /// volumes, temporary files; with bytes and why.
    Orphans,
    /// Identical files stored in several layers, wasted bytes, per-image efficiency, and
    /// files written in one layer and deleted or overwritten in a later one.
    Dupes,
    /// Cleanup recommendations: what, why, exact bytes reclaimed, risk, the command to run.
    Advise(AdviseArgs),
    /// Every container store of this host in one report: each Docker root (the system's,
    /// rootless ones, userns-remap sub-roots, other drivers' data), containerd root and
    /// containers/storage graphroot, with its bytes, its filesystem and how full that is, and
    /// what is reclaimable with the command for it; no byte counted twice.
    Host,
    /// Live writable-layer and copy-on-write growth of running containers.
    Watch(WatchArgs),
    /// Serve the store's figures as Prometheus metrics on `/metrics` (metadata refreshed on
    /// each scrape, walks in the background), or write them once for node_exporter's
    /// textfile collector.
    Exporter(ExporterArgs),
    /// Build a sample store with the engine in a temporary root (as root; no Docker needed),
    /// show `df -v`, `du` and `diff` on it, and remove it.
    Demo(DemoArgs),
    /// Engine: the daemon serving the Docker-compatible API.
    #[command(subcommand)]
    Engine(EngineCommand),
    /// Engine: import a root filesystem tar as a one-layer image (`docker import`).
    Import(ImportArgs),
    /// Engine: load images from a `docker save` archive or an OCI layout tar (`docker load`).
    Load(LoadArgs),
    /// Engine: build an image from a Dockerfile, with the classic builder's layer cache.
    Build(BuildArgs),
    /// Engine: create a container (`docker create`); prints its id.
    Create(CreateArgs),
    /// Engine: create and start a container (`docker run`).
    Run(RunArgs),
    /// Engine: start a created or stopped container.
    Start(ContainerArgs),
    /// Engine: stop a container (stop signal, then SIGKILL after the grace period).
    Stop(StopArgs),
    /// Engine: send a signal to a running container.
    Kill(KillArgs),
    /// Engine: wait for a container to stop; prints its exit code.
    Wait(ContainerArgs),
    /// Engine: remove a container.
    Rm(RmArgs),
    /// Engine: print a container's logs.
    Logs(LogsArgs),
    /// Engine: manage volumes.
    #[command(subcommand)]
    Volume(VolumeCommand),
    /// Engine internal: supervise one container (started by `start`).
    #[command(name = "engine-shim", hide = true)]
    EngineShim(ContainerArgs),
}

/// `strata du`.
#[derive(Debug, clap::Args)]
pub struct DuArgs {
    /// Levels of the tree to show (1: totals per kind or item, 2: their parts...).
    #[arg(short = 'd', long = "depth", value_name = "N", default_value_t = 2)]
    pub depth: usize,
    /// How to group the owners.
    #[arg(long, value_enum, default_value_t = By::Kind)]
    pub by: By,
    /// Show apparent sizes (as `du --apparent-size`) instead of allocated bytes.
    #[arg(long)]
    pub apparent_size: bool,
    /// Stay on the root's filesystem (the default; like `du -x`: running containers'
    /// `merged/` overlays are never entered).
    #[arg(short = 'x', long = "one-file-system", conflicts_with = "cross_mounts")]
    pub one_file_system: bool,
    /// Walk into other filesystems mounted under the root (counts `merged/` overlays twice,
    /// as plain `du` does).
    #[arg(long)]
    pub cross_mounts: bool,
    /// A flat table even on a terminal (the tree is shown only on a terminal).
    #[arg(long)]
    pub flat: bool,
    /// Browse the owner tree in a full-screen terminal browser (as ncdu): drill down into
    /// layers' and volumes' directories, sort, toggle apparent sizes, see what `advise` says
    /// of each item. Read-only: it shows commands, never runs them.
    #[arg(short = 'i', long, conflicts_with_all = ["flat", "depth"])]
    pub interactive: bool,
}

/// `strata watch`.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Containers to watch (names or id prefixes); all running ones by default.
    pub containers: Vec<String>,
    /// Time between samples (`500ms`, `2s`, `1m`).
    #[arg(long, default_value = "2s", value_parser = crate::cmd::watch::parse_interval)]
    pub interval: std::time::Duration,
    /// Stop after this many samples (the first is taken at once).
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Growing paths listed per container.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub top: usize,
}

/// Groupings of `strata du`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum By {
    /// Kinds of owner (image layers, container logs, volumes...), then owners.
    Kind,
    /// Images, then their layers (a shared layer under each image that uses it).
    Image,
    /// Image layers, with the images that use them.
    Layer,
    /// Containers, then their writable layers, logs and other files.
    Container,
    /// Volumes.
    Volume,
}

/// One container, by id, id prefix or name.
#[derive(Debug, clap::Args)]
pub struct ContainerArgs {
    /// The container.
    pub container: String,
}

/// `docker create`'s flags that strata implements.
#[derive(Debug, clap::Args)]
pub struct CreateArgs {
    /// Name the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set an environment variable (`NAME=value`).
    #[arg(short, long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Working directory inside the container.
    #[arg(short, long = "workdir")]
    pub workdir: Option<String>,
    /// Override the image's entrypoint.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// The container's hostname.
    #[arg(long)]
    pub hostname: Option<String>,
    /// CPUs (`0.5` is half a core).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Memory limit (`64m`, `1g` = 2^30 bytes, bytes), as `docker run --memory` reads it.
    #[arg(short, long, value_parser = parse_memory)]
    pub memory: Option<i64>,
    /// Bind or volume: `NAME:DST`, `/HOST:DST[:ro]`, or `DST` (anonymous).
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// `type=bind|volume|tmpfs,source=…,target=…[,readonly]`.
    #[arg(long)]
    pub mount: Vec<String>,
    /// Mount the root filesystem read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Remove the container when it exits.
    #[arg(long)]
    pub rm: bool,
    /// Run as `USER[:GROUP]` (names or ids of the image's `/etc/passwd` and `/etc/group`).
    /// Only `-u`: the long `--user` is the global flag naming a rootless store.
    #[arg(short = 'u', id = "run_user", value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Add a capability (`SYS_ADMIN`, `CAP_NET_ADMIN`, `ALL`).
    #[arg(long = "cap-add", value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop a capability (`NET_RAW`, `ALL`).
    #[arg(long = "cap-drop", value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Security option: only `no-new-privileges[:true|false]`.
    #[arg(long = "security-opt", value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// Most processes the container may have (0 or -1: no limit).
    #[arg(long = "pids-limit", value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Set a label (`KEY=VALUE`, or `KEY` for an empty value).
    #[arg(short, long = "label", value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Add the process to a group (a name of the image's `/etc/group`, or a gid).
    #[arg(long = "group-add", value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// The signal `stop` sends (`SIGINT`, `USR1`, `15`; the image's, else SIGTERM).
    #[arg(long = "stop-signal", value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// Seconds `stop` waits before SIGKILL when it is given none (10 by default).
    #[arg(long = "stop-timeout", value_name = "SECONDS")]
    pub stop_timeout: Option<i64>,
    /// Mount a tmpfs: `PATH[:OPTIONS]` (`/t:size=64m,mode=1777`).
    #[arg(long, value_name = "PATH[:OPTIONS]")]
    pub tmpfs: Vec<String>,
    /// The image.
    pub image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `strata build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Name and optionally a tag of the image (`NAME[:TAG]`); may be repeated.
    #[arg(short, long = "tag", value_name = "NAME[:TAG]")]
    pub tag: Vec<String>,
    /// The Dockerfile (default: `CONTEXT/Dockerfile`).
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A build argument, `NAME=value` (`NAME` alone: the value of that environment variable).
    #[arg(long = "build-arg", value_name = "NAME[=VALUE]")]
    pub build_arg: Vec<String>,
    /// Do not use the cache: run every step.
    #[arg(long)]
    pub no_cache: bool,
    /// Print only the image id.
    #[arg(short, long)]
    pub quiet: bool,
    /// The build context directory.
    #[arg(value_name = "CONTEXT")]
    pub context: PathBuf,
}

/// `strata run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Run in the background and print the container's id.
    #[arg(short, long)]
    pub detach: bool,
    /// The container.
    #[command(flatten)]
    pub create: CreateArgs,
}

/// `strata logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// Keep following the output until the container stops.
    #[arg(short, long)]
    pub follow: bool,
    /// The container.
    pub container: String,
}

/// `strata stop`.
#[derive(Debug, clap::Args)]
pub struct StopArgs {
    /// Seconds to wait before SIGKILL (default: the container's `--stop-timeout`, else 10).
    #[arg(short = 't', long = "time")]
    pub time: Option<u64>,
    /// The container.
    pub container: String,
}

/// `strata kill`.
#[derive(Debug, clap::Args)]
pub struct KillArgs {
    /// The signal (`KILL`, `TERM`, `SIGHUP`...).
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    /// The container.
    pub container: String,
}

/// `strata rm`.
#[derive(Debug, clap::Args)]
pub struct RmArgs {
    /// Kill it first if it runs.
    #[arg(short, long)]
    pub force: bool,
    /// Remove its anonymous volumes too.
    #[arg(short, long)]
    pub volumes: bool,
    /// The containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

/// `strata demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The static busybox the sample image is made of; when it does not exist, the host's
    /// `sh` and a few coreutils (with their shared libraries) are used instead.
    #[arg(long, value_name = "PATH", default_value = "/bin/busybox")]
    pub busybox: PathBuf,
}

/// `strata engine ...`.
#[derive(Debug, Subcommand)]
pub enum EngineCommand {
    /// Serve the API on `-H` hosts [default: unix:///run/strata.sock] until SIGINT/SIGTERM.
    Serve(ServeArgs),
}

/// `strata engine serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen on TCP addresses that are not loopback (an unauthenticated engine port is a
    /// root shell for whoever reaches it).
    #[arg(long)]
    pub allow_remote: bool,
    /// Serve a data root that a running dockerd uses.
    #[arg(long)]
    pub force: bool,
}

/// `strata volume ...`.
#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume (a random name when none is given); prints its name.
    Create {
        /// Set a label (`KEY=VALUE`).
        #[arg(long = "label", value_name = "KEY=VALUE")]
        labels: Vec<String>,
        /// The name.
        name: Option<String>,
    },
    /// List volumes.
    Ls,
    /// Show a volume as JSON.
    Inspect {
        /// The name.
        name: String,
    },
    /// Remove volumes.
    Rm {
        /// The names.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove every volume no container uses.
    Prune,
}

/// `strata import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The tar (plain or gzip); `-` reads standard input.
    #[arg(value_name = "TAR")]
    pub tar: PathBuf,
    /// The tag to give the image.
    #[arg(value_name = "REPO[:TAG]")]
    pub reference: Option<String>,
    /// The commit message recorded in the image's history.
    #[arg(short, long)]
    pub message: Option<String>,
}

/// `strata load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// The archive; standard input when not given.
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// `strata exporter`.
#[derive(Debug, clap::Args)]
pub struct ExporterArgs {
    /// Where to serve `/metrics`: ADDR:PORT (checked by the verb, for a one-line error).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:9489")]
    pub listen: String,
    /// How often the background walk (du, container and volume sizes, advise, orphans)
    /// runs: `30s`, `5m`, `1h` (at most a day).
    #[arg(long, value_name = "INTERVAL", default_value = "5m", value_parser = crate::cmd::watch::parse_interval)]
    pub walk_interval: std::time::Duration,
    /// Series for the N largest images, containers and volumes; the rest summed into one
    /// series labelled `_other`.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Instead of serving: scan once (metadata and walk), write DIR/strata.prom atomically
    /// for node_exporter's textfile collector, and exit.
    #[arg(long, value_name = "DIR", conflicts_with = "listen")]
    pub textfile: Option<PathBuf>,
    /// Print every metric family (name, type, labels, when refreshed, meaning) as a Markdown
    /// table and exit.
    #[arg(long)]
    pub list_families: bool,
}

/// `strata df`.
#[derive(Debug, clap::Args)]
pub struct DfArgs {
    /// Per image, container, volume and build cache record (`docker system df -v`).
    #[arg(short, long)]
    pub verbose: bool,
}

/// `strata advise`.
#[derive(Debug, clap::Args)]
pub struct AdviseArgs {
    /// Exit 1 when the reclaimable bytes exceed SIZE (`10GB`, `500MiB`, `1234`): for
    /// monitoring jobs.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub fail_over: Option<u64>,
}

/// A size in bytes: a number with an optional unit, decimal (`kB`, `MB`, `GB`, `TB`, as
/// Docker prints them: go-units `FromHumanSize`) or binary when spelled so (`KiB`, `MiB`,
/// `GiB`, `TiB`: go-units `RAMInBytes`); case-insensitive, `B` optional.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let binary = t.to_ascii_lowercase().ends_with("ib");
    let parsed = if binary {
        units::ram_in_bytes(t)
    } else {
        units::from_human_size(t)
    };
    let bytes =
        parsed.map_err(|e| format!("{text:?} is not a size (e.g. 10GB, 500MiB, 1234): {e}"))?;
    u64::try_from(bytes).map_err(|_| format!("{text:?} is not a size"))
}

/// A memory limit in bytes, as `docker run --memory` reads it (go-units `RAMInBytes`: `1g`
/// is 2^30).
pub fn parse_memory(text: &str) -> Result<i64, String> {
    units::ram_in_bytes(text).map_err(|e| e.to_string())
}

/// `strata verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Only this image's layers, or this layer (chain id or cache id prefix); all by default.
    pub target: Option<String>,
}

/// `strata diff`.
#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The container: name, full id or unique id prefix.
    pub container: String,
}

/// An inventory verb: everything, or the one object a name or id prefix names.
#[derive(Debug, clap::Args)]
pub struct NameArgs {
    /// A name, tag, full id or unique id prefix, as the Docker CLI takes them.
    pub name: Option<String>,
}

/// `strata volumes`.
#[derive(Debug, clap::Args)]
pub struct VolumesArgs {
    /// A volume name or unique prefix of one.
    pub name: Option<String>,
    /// Only volumes no container mounts (`RefCount` 0: what `docker volume prune` removes,
    /// anonymous ones by default, named ones with `--all`).
    #[arg(long)]
    pub orphaned: bool,
}

#[cfg(test)]
mod tests {
    use super::{parse_memory, parse_size};

    #[test]
    fn sizes_parse_in_docker_and_binary_units() {
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_size("1.5kB"), Ok(1500));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5XB").is_err());
        // The same `1g`, decimal for a size Docker prints, binary for memory as Docker reads it.
        assert_eq!(parse_size("1g"), Ok(1_000_000_000));
        assert_eq!(parse_memory("1g"), Ok(1 << 30));
        assert_eq!(parse_memory("64m"), Ok(64 << 20));
    }
}
