//! Running a command with a deadline and keeping everything it said.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long one strata run may take before it is killed (a cyclic parent chain must not hang).
const STRATA_TIMEOUT: Duration = Duration::from_secs(120);

/// A finished (or killed) command: its exit code and everything it printed.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, for messages.
    pub command: String,
    /// The exit code; `None` when a signal ended it (including the deadline's kill).
    pub code: Option<i32>,
    /// Whether the deadline passed and the command was killed.
    pub timed_out: bool,
    /// Standard output, lossily decoded.
    pub stdout: String,
    /// Standard error, lossily decoded.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Run {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Whether it panicked: Rust's panic exit code 101, or a panic message on stderr.
    pub fn panicked(&self) -> bool {
        self.code == Some(101) || self.stderr.contains("panicked")
    }

    /// Standard output parsed as JSON; panics with the whole run when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// Panics with the whole run unless it exited 0.
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "command failed:\n{self}");
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ending = match (self.timed_out, self.code) {
            (true, _) => "was killed at its deadline".to_owned(),
            (false, Some(code)) => format!("exited {code}"),
            (false, None) => "was killed by a signal".to_owned(),
        };
        writeln!(f, "`{}` {ending} after {:.1?}", self.command, self.elapsed)?;
        writeln!(f, "--- stdout ---\n{}", clip(&self.stdout))?;
        write!(f, "--- stderr ---\n{}", clip(&self.stderr))
    }
}

/// At most the first 8000 characters, so a failure stays readable.
fn clip(text: &str) -> &str {
    match text.char_indices().nth(8000) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// Runs `cmd` (stdin closed, stdout and stderr captured), killing it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Run {
    let command = format!("{cmd:?}").replace('"', "");
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
    let stdout = drain(child.stdout.take().expect("piped stdout"));
    let stderr = drain(child.stderr.take().expect("piped stderr"));
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            break status;
        }
        if start.elapsed() > timeout {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("waiting for a killed child");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Run {
        command,
        code: status.code(),
        timed_out,
        stdout: stdout.join().expect("stdout reader"),
        stderr: stderr.join().expect("stderr reader"),
        elapsed: start.elapsed(),
    }
}

/// Reads a pipe to its end on a thread (so a chatty child never blocks on a full pipe).
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Runs the strata binary built for these tests with exactly `args`, in a clean environment:
/// no `STRATA_*` variable of the caller leaks in.
pub fn strata(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STRATA_") {
            cmd.env_remove(name);
        }
    }
    run_with_timeout(cmd, STRATA_TIMEOUT)
}

/// `strata --root <root> <args...>`.
pub fn strata_on(root: &Path, args: &[&str]) -> Run {
    let root = root.to_str().expect("temporary paths are UTF-8");
    let mut full = vec!["--root", root];
    full.extend_from_slice(args);
    strata(&full)
}
