//! `strata exporter`: the store the global flags name, served as Prometheus metrics or written
//! once for node_exporter's textfile collector.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::OnceLock;

use analyzers::backend::Found;
use analyzers::Problem;

use super::{owner_version, Context};
use crate::cli::ExporterArgs;
use crate::exporter::{catalog, refresh::Exporter, server, textfile, Source};

/// Serves until SIGTERM/SIGINT, or writes the textfile; a store that cannot be read is an
/// error before anything is served.
pub fn run(
    ctx: &Context,
    args: &ExporterArgs,
    out: &mut dyn Write,
) -> anyhow::Result<Vec<Problem>> {
    if args.list_families {
        write!(out, "{}", catalog::markdown_table())?;
        return Ok(Vec::new());
    }
    let listen: SocketAddr = args
        .listen
        .parse()
        .map_err(|e| anyhow::anyhow!("--listen {}: not ADDR:PORT ({e})", args.listen))?;
    let (data_root, mut options) = ctx.store_root()?;
    // The owner's version is asked once, not on every scrape (it runs a program).
    if options.detect_docker_version.is_some() {
        options.detect_docker_version = Some(docker_version_once);
    }
    if options.detect_podman_version.is_some() {
        options.detect_podman_version = Some(podman_version_once);
    }
    let source = Source::open(data_root, options)?;
    let exporter = Exporter::new(source, args.top, ctx.walk.clone())?;
    match &args.textfile {
        Some(dir) => {
            let path = textfile::write(&exporter, dir)?;
            writeln!(out, "{}", path.display())?;
        }
        None => server::serve(exporter, listen, args.walk_interval)?,
    }
    Ok(Vec::new())
}

fn docker_version_once(root: &Path) -> Option<Found> {
    static FOUND: OnceLock<Option<Found>> = OnceLock::new();
    FOUND.get_or_init(|| owner_version::detect(root)).clone()
}

fn podman_version_once(root: &Path) -> Option<Found> {
    static FOUND: OnceLock<Option<Found>> = OnceLock::new();
    FOUND
        .get_or_init(|| owner_version::detect_podman(root))
        .clone()
}
