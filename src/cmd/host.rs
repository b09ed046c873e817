//! `strata host`: every container store of the host (its files under `--sysroot`) in one
//! report.

use std::io::Write;

use analyzers::backend::VersionSource;
use analyzers::graph::LoadOptions;
use analyzers::host::{self, HostOptions};
use analyzers::Problem;

use super::{host_config, Context};
use crate::cli::Format;
use crate::render;

/// Finds, reads and measures every store and prints the report.
pub fn run(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let cli = ctx.cli;
    let one_store = cli.root.is_some()
        || cli.user.is_some()
        || cli.all_users
        || cli.containerd_root.is_some()
        || cli.driver.is_some()
        || cli.namespace.is_some()
        || cli.runroot.is_some();
    if one_store {
        anyhow::bail!(
            "host reports every store of the host as its owner reads it; --root, \
             --containerd-root, --user, --all-users, --driver, --namespace and --runroot are \
             for one store: give --sysroot DIR to read a disk image's"
        );
    }
    // The owners' versions only as the flags say: asking a dockerd or podman of this machine
    // says nothing of a disk image's stores.
    let load = LoadOptions {
        docker_version: cli
            .docker_version
            .map(|v| (v, VersionSource::Flag("--docker-version"))),
        podman_version: cli
            .podman_version
            .map(|v| (v, VersionSource::Flag("--podman-version"))),
        ..LoadOptions::default()
    };
    let opts = HostOptions {
        config: host_config(cli)?,
        load,
        walk: ctx.walk.clone(),
    };
    let report = host::report(&opts);
    match ctx.format {
        Format::Json => render::write_json(out, &report)?,
        Format::Table => render::host::table(out, &report, ctx.style)?,
        Format::Prometheus => render::host::prometheus(out, &report)?,
    }
    Ok(report.problems)
}
