//! strata: where did the disk of this Docker host go?
//!
//! The binary only parses flags, calls the `analyzers` library and hands its reports to a
//! renderer. Exit codes: 0 ok; 1 the store has damaged records (listed as problems); 2 usage
//! error or a root that cannot be read at all. A closed pipe (`strata df | head`) exits
//! quietly.

mod cli;
mod render;

use std::io::{self, Write};
use std::process::ExitCode;

use analyzers::graph::{LoadOptions, Store};
use analyzers::root::{self, DataRoot};
use analyzers::usage::df::{self, DfOptions};
use analyzers::walk::WalkOptions;
use analyzers::Problem;
use clap::Parser;

use cli::{Cli, Command, Format};
use render::SizeStyle;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match run(&cli, &mut out) {
        Ok(problems) => {
            let _ = out.flush();
            report_problems(&cli, &problems)
        }
        Err(e) => {
            if e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("strata: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Problems go to stderr in table mode (they are in the JSON otherwise); any sets exit code 1.
fn report_problems(cli: &Cli, problems: &[Problem]) -> ExitCode {
    if problems.is_empty() {
        return ExitCode::SUCCESS;
    }
    if cli.format == Format::Table {
        for p in problems {
            eprintln!("strata: problem: {p}");
        }
    }
    ExitCode::from(1)
}

/// Runs the verb and returns the problems found in the store.
fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<Vec<Problem>> {
    let path = root::locate(cli.root.as_deref(), std::path::Path::new(root::DAEMON_JSON))?;
    let data_root = DataRoot::open(&path)?;
    let store = Store::load(
        &data_root,
        &LoadOptions {
            driver: cli.driver.clone(),
        },
    )?;
    let walk = WalkOptions {
        threads: cli.threads,
        one_file_system: false,
    };
    let style = SizeStyle { bytes: cli.bytes };
    match &cli.command {
        Command::Df { verbose } => {
            let now = chrono::Utc::now().timestamp();
            let report = df::compute(
                &store,
                &DfOptions {
                    walk,
                    now: Some(now),
                },
            );
            match (cli.format, verbose) {
                (Format::Json, _) => render::write_json(out, &report)?,
                (Format::Table, false) => render::df::summary(out, &report, style)?,
                (Format::Table, true) => render::df::verbose(out, &report, style, now)?,
            }
            Ok(report.problems)
        }
    }
}
