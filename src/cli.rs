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
    /// Every byte of the data root attributed to its owner, like du.
    Du(DuArgs),
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

/// `strata df`.
#[derive(Debug, clap::Args)]
pub struct DfArgs {
    /// Per image, container, volume and build cache record (`docker system df -v`).
    #[arg(short, long)]
    pub verbose: bool,
}
