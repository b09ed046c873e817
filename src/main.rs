//! strata: where did the disk of this Docker host go?
//!
//! The binary only parses flags, calls the `analyzers` library and hands its reports to a
//! renderer. Exit codes: 0 ok; 1 the store has damaged records (listed as problems); 2 usage
//! error or a root that cannot be read at all. A closed pipe (`strata df | head`) exits
//! quietly.

mod cli;
mod cmd;
mod exporter;
mod render;
mod tui;

use std::io::{self, Write};
use std::process::ExitCode;

use analyzers::Problem;
use cli::{Cli, OutputFormat};

fn main() -> ExitCode {
    let cli = match cli::parse() {
        Ok(cli) => cli,
        Err(refused) => {
            eprintln!("strata: {refused}");
            return ExitCode::from(2);
        }
    };
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
                analyzers::text::escape_controls(&error_line(&e))
            );
            ExitCode::from(2)
        }
    }
}

/// `e` and its causes on one line, each cause said once: a cause its context already quotes
/// (`Error::Io` names its source) is not repeated.
fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.is_empty() {
            line = text;
        } else if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
    }
    line
}

/// Problems go to stderr except in JSON (which lists them); any sets exit code 1.
fn report_problems(cli: &Cli, problems: &[Problem]) -> ExitCode {
    if problems.is_empty() {
        return ExitCode::SUCCESS;
    }
    if cli.format != OutputFormat::Json {
        for p in problems {
            // `Problem`'s Display escapes its path and detail (`analyzers::text::escape`): one
            // line each, whatever bytes the store's names hold.
            eprintln!("strata: problem: {p}");
        }
    }
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::error_line;

    #[test]
    fn a_cause_already_quoted_is_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let quoted = anyhow::Error::new(analyzers::Error::io(std::path::Path::new("/x"), io));
        let line = error_line(&quoted);
        assert_eq!(line.matches("not found").count(), 1, "{line}");
        let added = anyhow::anyhow!("disk gone").context("reading /y");
        assert_eq!(error_line(&added), "reading /y: disk gone");
    }
}
