//! strata: where did the disk of this Docker host go?
//!
//! The binary only parses flags, calls the `analyzers` library and hands its reports to a
//! renderer. Exit codes: 0 ok; 1 the store has damaged records (listed as problems); 2 usage
//! error or a root that cannot be read at all. A closed pipe (`strata df | head`) exits
//! quietly.

mod cli;
mod cmd;
mod render;
mod tui;

use std::io::{self, Write};
use std::process::ExitCode;

use analyzers::Problem;
use clap::Parser;

use cli::{Cli, Format};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = stdout.lock();
    match cmd::dispatch(&cli, &mut out) {
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
            if e.downcast_ref::<cmd::FailOn>().is_some() {
                let _ = out.flush();
                eprintln!(
                    "strata: {}",
                    analyzers::text::escape_controls(&e.to_string())
                );
                return ExitCode::from(1);
            }
            // An error may quote a path or a name from the store: no control byte reaches the
            // terminal.
            eprintln!(
                "strata: {}",
                analyzers::text::escape_controls(&format!("{e:#}"))
            );
            ExitCode::from(2)
        }
    }
}

/// Problems go to stderr except in JSON (which lists them); any sets exit code 1.
fn report_problems(cli: &Cli, problems: &[Problem]) -> ExitCode {
    if problems.is_empty() {
        return ExitCode::SUCCESS;
    }
    if cli.format != Format::Json {
        for p in problems {
            // `Problem`'s Display escapes its path and detail (`analyzers::text::escape`): one
            // line each, whatever bytes the store's names hold.
            eprintln!("strata: problem: {p}");
        }
    }
    ExitCode::from(1)
}
