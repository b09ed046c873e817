//! `stop` and `kill`: signals to the container's pid 1 (strata's init, which forwards them to
//! the program). `stop` sends the stop signal (SIGTERM unless the image says otherwise),
//! waits the grace period, then SIGKILLs, as `docker stop` does.

use std::time::{Duration, Instant};

use nix::sys::signal::{kill as send, Signal};
use nix::unistd::Pid;

use super::record;
use crate::error::{Error, Result};
use crate::root::Root;

/// How long `kill` with SIGKILL waits for the container to be recorded stopped (moby's
/// `Kill` waits 2 s, kills the process again, then 10 s more).
const KILLED_WITHIN: Duration = Duration::from_secs(12);

/// Sends `signal` to container `id`, which must be running. With SIGKILL it returns once the
/// container is stopped, as `docker kill` does (so a `docker ps` right after shows it exited);
/// any other signal returns once delivered.
pub fn kill(root: &Root, id: &str, signal: Signal) -> Result<()> {
    let rec = record::load(root, id)?;
    let Some(pid) = rec.state.running_pid() else {
        return Err(Error::Conflict(format!("container {id} is not running")));
    };
    send(Pid::from_raw(pid), signal).map_err(|e| Error::Runtime {
        id: id.to_owned(),
        action: "kill",
        detail: e.to_string(),
    })?;
    if signal != Signal::SIGKILL {
        return Ok(());
    }
    super::wait::until_stopped(root, id, Some(Instant::now() + KILLED_WITHIN))?
        .map(|_| ())
        .ok_or_else(|| Error::Runtime {
            id: id.to_owned(),
            action: "kill",
            detail: format!("still running {} s after SIGKILL", KILLED_WITHIN.as_secs()),
        })
}

/// Stops container `id`: its stop signal, then SIGKILL after `grace`. A container that is not
/// running is left as it is.
pub fn stop(root: &Root, id: &str, grace: Duration) -> Result<()> {
    let rec = record::load(root, id)?;
    if !rec.state.running {
        return Ok(());
    }
    let signal = rec
        .config
        .stop_signal
        .as_deref()
        .and_then(|s| parse_signal(s).ok())
        .unwrap_or(Signal::SIGTERM);
    let _ = kill(root, id, signal);
    if super::wait::until_stopped(root, id, Some(Instant::now() + grace))?.is_some() {
        return Ok(());
    }
    match kill(root, id, Signal::SIGKILL) {
        // It exited between the grace period's end and the SIGKILL.
        Err(Error::Conflict(_)) => Ok(()),
        other => other,
    }
}

/// The grace period of a `stop` that gives none: the container's `--stop-timeout`, else
/// 10 s, as dockerd's.
pub fn default_grace(rec: &record::Record) -> Duration {
    let seconds = rec
        .config
        .stop_timeout
        .and_then(|t| u64::try_from(t).ok())
        .unwrap_or(DEFAULT_GRACE_SECONDS);
    Duration::from_secs(seconds)
}

/// dockerd's grace period when neither `stop -t` nor the container sets one.
const DEFAULT_GRACE_SECONDS: u64 = 10;

/// A signal as `docker kill --signal` takes it: `KILL`, `SIGKILL` or `9`.
pub fn parse_signal(text: &str) -> Result<Signal> {
    let invalid = || Error::Invalid(format!("invalid signal {text:?}"));
    match text.parse::<i32>() {
        Ok(n) => Signal::try_from(n).map_err(|_| invalid()),
        Err(_) => format!("SIG{}", text.trim_start_matches("SIG").to_ascii_uppercase())
            .parse()
            .map_err(|_| invalid()),
    }
}
