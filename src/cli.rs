//! The command line: clap definitions only, turned into a resolved configuration in `main`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Where did the disk of this Docker host go? Offline, exact, read-only analysis of a Docker
/// data root.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, propagate_version = true)]
pub struct Cli {
    /// The Docker data root [default: `data-root` from /etc/docker/daemon.json, else
    /// /var/lib/docker].
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Read this storage driver's data [default: the one dockerd would use].
    #[arg(long, global = true, value_name = "NAME")]
    pub driver: Option<String>,

    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Print sizes as exact byte counts instead of Docker's units.
    #[arg(long, global = true)]
    pub bytes: bool,

    /// Walker threads [default: one per core].
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,

    /// What to report.
    #[command(subcommand)]
    pub command: Command,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables, like the Docker CLI.
    Table,
    /// JSON; for `df`, a superset of the Docker Engine API's `GET /system/df`.
    Json,
    /// Prometheus text (node-exporter textfile collector), sizes in bytes.
    Prometheus,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Disk usage as `docker system df` reports it, offline and exact.
    Df(DfArgs),
    /// Images with sizes, layers and the containers made from them.
    Images(NameArgs),
    /// Read-only layers with sizes and the images and containers that use them.
    Layers(NameArgs),
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

/// `strata df`.
#[derive(Debug, clap::Args)]
pub struct DfArgs {
    /// Per image, container, volume and build cache record (`docker system df -v`).
    #[arg(short, long)]
    pub verbose: bool,
}
