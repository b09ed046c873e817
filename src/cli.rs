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
    /// Cleanup recommendations: what, why, exact bytes reclaimed, risk, the command to run.
    Advise(AdviseArgs),
    /// Identical files stored in several layers, wasted bytes, per-image efficiency, and
    /// files written in one layer and deleted or overwritten in a later one.
    Dupes,
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
/// Docker prints them) or binary (`KiB`, `MiB`, `GiB`, `TiB`); case-insensitive, `B` optional.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size (e.g. 10GB, 500MiB, 1234)"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor: f64 = match unit.trim_end_matches('b') {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        "ki" => 1024.0,
        "mi" => 1024.0 * 1024.0,
        "gi" => 1024.0 * 1024.0 * 1024.0,
        "ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}")),
    };
    Ok((value * factor).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse_in_docker_and_binary_units() {
        assert_eq!(parse_size("1234"), Ok(1234));
        assert_eq!(parse_size("10GB"), Ok(10_000_000_000));
        assert_eq!(parse_size("1.5kB"), Ok(1500));
        assert_eq!(parse_size("2MiB"), Ok(2 << 20));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5XB").is_err());
    }
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
