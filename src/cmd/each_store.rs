//! `--all-users`: one report verb run on every podman store of the host in turn, root's first
//! (the library's [`analyzers::graphroot::HostConfig::all`]), each with a [`Context`] naming that store.
//!
//! A table is printed under a heading line per store (`== alice (uid 1000): ROOT ==`); JSON
//! is one array of `{User, Root, Report}` objects, `Report` being the verb's own JSON (or
//! `Error` instead, for a store that could not be read). A store that fails is said on stderr
//! and the others are still reported; the run then ends with exit 2.

use std::io::Write;

use analyzers::graphroot::{Graphroot, Listed};
use analyzers::Problem;
use serde::Serialize;
use serde_json::Value;

use super::{host_config, run_in, Context, FailOn};
use crate::cli::{Cli, Command, OutputFormat};
use crate::render;

/// One store's entry of the JSON array.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Entry {
    /// The account whose store it is.
    user: String,
    /// The graphroot.
    #[serde(skip_serializing_if = "Option::is_none")]
    root: Option<String>,
    /// The verb's JSON report.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<Value>,
    /// Why the store could not be reported on.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The verbs `--all-users` runs: those reporting on a whole store and ending on their own.
fn whole_store_report(command: &Command) -> bool {
    matches!(
        command,
        Command::Df(_)
            | Command::Du(_)
            | Command::Images(_)
            | Command::Layers(_)
            | Command::Containers(_)
            | Command::Volumes(_)
            | Command::Orphans
            | Command::Dupes
            | Command::Verify(_)
            | Command::Advise(_)
    )
}

/// Runs the verb of `cli` on every store `HostConfig::all` finds.
pub fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    if !whole_store_report(&cli.command) {
        anyhow::bail!(
            "--all-users runs df, du, images, layers, containers, volumes, orphans, dupes, \
             verify and advise; for one user's store give --user NAME"
        );
    }
    if matches!(&cli.command, Command::Du(args) if args.interactive) {
        anyhow::bail!("du -i browses one store: give --user NAME or --root DIR, not --all-users");
    }
    if cli.format == OutputFormat::Prometheus {
        anyhow::bail!(
            "--all-users has no Prometheus output (the stores' series would collide); run \
             once per store with --user NAME"
        );
    }
    if cli.format == OutputFormat::Html {
        anyhow::bail!("--all-users has no HTML output (one page per store: run with --user NAME)");
    }
    let host = host_config(cli)?;
    let stores = host.all()?;
    if stores.is_empty() {
        anyhow::bail!(
            "--all-users: no podman store on this host (root's, or a rootless one of a user \
             with uid >= {} in {})",
            analyzers::graphroot::FIRST_USER_UID,
            host.passwd.display()
        );
    }
    let mut problems = Vec::new();
    let mut entries = Vec::new();
    let mut failed = 0usize;
    let mut over_limit = Vec::new();
    for (i, Listed { user, found }) in stores.into_iter().enumerate() {
        let mut entry = Entry {
            user: user.name.clone(),
            root: None,
            report: None,
            error: None,
        };
        let result = found.map_err(anyhow::Error::from).and_then(|g| {
            entry.root = Some(g.path.display().to_string());
            if cli.format == OutputFormat::Table {
                heading(out, i, &g)?;
            }
            let mut buf = Vec::new();
            let result = run_in(&Context::new(cli, Some(g)), &mut buf);
            match cli.format {
                OutputFormat::Json if !buf.is_empty() => {
                    entry.report = Some(serde_json::from_slice(&buf)?);
                }
                _ => out.write_all(&buf)?,
            }
            result
        });
        match result {
            Ok(found) => problems.extend(found),
            Err(e) if e.downcast_ref::<FailOn>().is_some() => {
                over_limit.push(format!("{}: {e}", user.name));
            }
            Err(e) => {
                failed += 1;
                let text = format!("{e:#}");
                eprintln!(
                    "strata: {}: {}",
                    analyzers::text::escape_controls(&user.name),
                    analyzers::text::escape_controls(&text)
                );
                entry.error = Some(text);
            }
        }
        entries.push(entry);
    }
    if cli.format == OutputFormat::Json {
        render::write_json(out, &entries)?;
    }
    if failed > 0 {
        anyhow::bail!(
            "{failed} of {} stores could not be reported on (see above)",
            entries.len()
        );
    }
    if !over_limit.is_empty() {
        return Err(FailOn(over_limit.join("; ")).into());
    }
    Ok(problems)
}

/// The line naming the store before its table (a blank line before all but the first).
fn heading(out: &mut dyn Write, index: usize, g: &Graphroot) -> std::io::Result<()> {
    if index > 0 {
        writeln!(out)?;
    }
    let (name, root) = (g.user.name.as_str(), g.path.display().to_string());
    let escape = analyzers::text::escape_controls;
    writeln!(
        out,
        "== {} (uid {}): {} ==",
        escape(name),
        g.user.uid,
        escape(&root)
    )
}
