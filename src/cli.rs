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
    /// Engine: import a root filesystem tar as a one-layer image (`docker import`).
    Import(ImportArgs),
    /// Engine: load images from a `docker save` archive or an OCI layout tar (`docker load`).
    Load(LoadArgs),
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

/// `strata df`.
#[derive(Debug, clap::Args)]
pub struct DfArgs {
    /// Per image, container, volume and build cache record (`docker system df -v`).
    #[arg(short, long)]
    pub verbose: bool,
}
