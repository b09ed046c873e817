//! `strata du`: every byte of the data root attributed to its owner.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use analyzers::usage::du::{self, DuOptions};
use analyzers::Problem;

use super::Context;
use crate::cli::{DuArgs, Format, OutputFormat};
use crate::render::du::{self as view, View};
use crate::render::html;
use crate::tui::{catalog, model, terminal};

/// Walks the root once and prints the attribution.
pub fn run(ctx: &Context, args: &DuArgs, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    if args.interactive {
        return browse(ctx, args);
    }
    let store = ctx.load_store()?;
    let mut walk = ctx.walk.clone();
    walk.one_file_system = !args.cross_mounts;
    let counter = Arc::new(AtomicU64::new(0));
    walk.progress = Some(Arc::clone(&counter));
    let report = with_progress(&counter, || du::compute(&store, &DuOptions { walk }));
    let view = View {
        by: args.by,
        depth: args.depth,
        apparent: args.apparent_size,
        style: ctx.style,
    };
    if ctx.cli.format == OutputFormat::Html {
        let advice = super::advise::recommendations(ctx, &store);
        let made = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        html::page(out, &report, &advice, &view, &made)?;
        return Ok(report.problems);
    }
    match ctx.format {
        Format::Json => crate::render::write_json(out, &report)?,
        Format::Prometheus => view::prometheus(out, &report, &view)?,
        Format::Table if std::io::stdout().is_terminal() && !args.flat => {
            view::tree(out, &report, &view)?;
        }
        Format::Table => view::flat(out, &report, &view)?,
    }
    Ok(report.problems)
}

/// `du -i`: walks once (the report, then the leftovers and advice, as `strata advise` does),
/// then browses the owner tree on the terminal.
fn browse(ctx: &Context, args: &DuArgs) -> anyhow::Result<Vec<Problem>> {
    if !std::io::stdout().is_terminal() {
        anyhow::bail!(
            "du -i needs a terminal: stdout is not one (for a pipe: `strata du --flat`, or \
             `--format json du`)"
        );
    }
    if ctx.cli.format != OutputFormat::Table {
        anyhow::bail!(
            "du -i draws on the terminal: --format json, prometheus and html do not apply"
        );
    }
    let store = ctx.load_store()?;
    let mut walk = ctx.walk.clone();
    walk.one_file_system = !args.cross_mounts;
    let counter = Arc::new(AtomicU64::new(0));
    let counted = analyzers::walk::WalkOptions {
        progress: Some(Arc::clone(&counter)),
        ..walk.clone()
    };
    let (report, advice) = with_progress(&counter, || {
        let report = du::compute(&store, &DuOptions { walk: counted });
        (report, super::advise::recommendations(ctx, &store))
    });
    let measure = if args.apparent_size {
        model::Measure::Apparent
    } else {
        model::Measure::Allocated
    };
    let source = model::Source {
        jail: store.jail.clone(),
        walk,
    };
    let catalog = catalog::of_report(&report, args.by);
    let mut browser = model::Browser::new(catalog, advice, source, measure, ctx.style);
    terminal::run(&mut browser)?;
    Ok(report.problems)
}

/// Runs `work` while a spinner on stderr (only when it is a terminal) shows the entries
/// counted so far.
fn with_progress<T>(counter: &Arc<AtomicU64>, work: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let done = Arc::new(AtomicBool::new(false));
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} walking: {msg} entries")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let ticker = {
        let (bar, done, counter) = (bar.clone(), Arc::clone(&done), Arc::clone(counter));
        std::thread::spawn(move || {
            // Quick scans finish before anything is drawn.
            std::thread::sleep(Duration::from_millis(300));
            while !done.load(Ordering::Relaxed) {
                bar.set_message(counter.load(Ordering::Relaxed).to_string());
                bar.tick();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let result = work();
    done.store(true, Ordering::Relaxed);
    let _ = ticker.join();
    bar.finish_and_clear();
    result
}
