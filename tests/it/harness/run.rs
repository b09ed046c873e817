//! Running a command with a deadline and keeping everything it said.

use std::ffi::OsStr;
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
    /// Standard output as the bytes printed (to check, say, that JSON is valid UTF-8).
    pub stdout_bytes: Vec<u8>,
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
    let stdout_bytes = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    Run {
        command,
        code: status.code(),
        timed_out,
        stdout: String::from_utf8_lossy(&stdout_bytes).into_owned(),
        stdout_bytes,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Reads a pipe to its end on a thread (so a chatty child never blocks on a full pipe).
fn drain(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

/// The strata binary built for these tests.
pub const STRATA_BIN: &str = env!("CARGO_BIN_EXE_strata");

/// The strata binary with exactly `args`, run through `wrapper` (a program and its first
/// arguments, such as `setpriv ...` or `strace ...`; empty for none), in a clean environment:
/// no `STRATA_*` variable of the caller leaks in.
pub fn strata_command(wrapper: &[&str], args: &[&OsStr]) -> Command {
    let mut cmd = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = Command::new(program);
            c.args(rest).arg(STRATA_BIN);
            c
        }
        None => Command::new(STRATA_BIN),
    };
    cmd.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("STRATA_") {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// `strata <args...>`, with no `--root` (a plain containerd store is named by
/// `--containerd-root` alone).
pub fn strata(args: &[&str]) -> Run {
    let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
    run_with_timeout(strata_command(&[], &args), STRATA_TIMEOUT)
}

/// `strata --root <root> <args...>`.
pub fn strata_on(root: &Path, args: &[&str]) -> Run {
    strata_on_within(root, args, STRATA_TIMEOUT)
}

/// `strata --root <root> <args...>` with `PATH` set to `path`: the host's programs strata may
/// ask (the dockerd whose version decides the containerd image store's accounting).
pub fn strata_on_with_path(root: &Path, args: &[&str], path: &str) -> Run {
    let mut cmd = strata_command(&[], &root_args(root, args));
    cmd.env("PATH", path);
    run_with_timeout(cmd, STRATA_TIMEOUT)
}

/// `strata --root <root> <args...>`, killed after `timeout` (a shorter deadline than the
/// default's, for a probe that must not hang).
pub fn strata_on_within(root: &Path, args: &[&str], timeout: Duration) -> Run {
    run_with_timeout(strata_command(&[], &root_args(root, args)), timeout)
}

/// `strata --root <root> <args...>` as an unprivileged user (uid and gid 65534, no groups,
/// through `setpriv`) when we are root, so that permissions apply; as ourselves otherwise.
pub fn strata_unprivileged(root: &Path, args: &[&str]) -> Run {
    let wrapper: &[&str] = if super::is_root() {
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ]
    } else {
        &[]
    };
    run_with_timeout(
        strata_command(wrapper, &root_args(root, args)),
        STRATA_TIMEOUT,
    )
}

/// `--root <root> <args...>`.
pub fn root_args<'a>(root: &'a Path, args: &'a [&'a str]) -> Vec<&'a OsStr> {
    let mut full = vec![OsStr::new("--root"), root.as_os_str()];
    full.extend(args.iter().map(OsStr::new));
    full
}
