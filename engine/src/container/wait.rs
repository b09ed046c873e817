//! `wait`: until a container is no longer running (or has exited once more, or is removed),
//! by polling its `config.v2.json` (the supervisor records the exit there).

use std::time::{Duration, Instant};

use super::record;
use crate::error::Result;
use crate::root::Root;

/// How often the record is read.
const POLL: Duration = Duration::from_millis(5);

/// Waits until container `id` is not running (or `deadline` passes: `None` then); its exit
/// code. A container removed meanwhile (`--rm`) counts as stopped, with code 0 unknown: the
/// caller that needs its code waits on the supervisor instead.
pub fn until_stopped(root: &Root, id: &str, deadline: Option<Instant>) -> Result<Option<i32>> {
    loop {
        match record::load(root, id) {
            Ok(rec) if !rec.state.running => return Ok(Some(exit_code(&rec.state))),
            Ok(_) => {}
            Err(_) if !super::container_dir(root, id).exists() => return Ok(Some(0)),
            Err(e) => return Err(e),
        }
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Ok(None);
        }
        std::thread::sleep(POLL);
    }
}

/// `POST /containers/{id}/wait?condition=`: `not-running` (the default: now, if it is not
/// running), `next-exit` (the end of the run that is going on or comes next) or `removed`
/// (the container is gone); the exit code of that run.
pub fn wait(root: &Root, id: &str, condition: &str) -> Result<i32> {
    match condition {
        "" | "not-running" => Ok(until_stopped(root, id, None)?.unwrap_or(0)),
        "next-exit" => {
            let first = record::load(root, id)?.state;
            loop {
                match record::load(root, id) {
                    Ok(rec) => {
                        let ran = first.running || rec.state.started_at != first.started_at;
                        if ran && !rec.state.running {
                            return Ok(exit_code(&rec.state));
                        }
                    }
                    Err(_) if !super::container_dir(root, id).exists() => return Ok(0),
                    Err(e) => return Err(e),
                }
                std::thread::sleep(POLL);
            }
        }
        "removed" => {
            let mut code = 0;
            while let Ok(rec) = record::load(root, id) {
                code = exit_code(&rec.state);
                std::thread::sleep(POLL);
            }
            Ok(code)
        }
        other => Err(crate::error::Error::Invalid(format!(
            "invalid wait condition {other:?}"
        ))),
    }
}

/// The recorded exit code as a process's (an `int` in the record: one no process can have
/// reads as `i32::MAX`).
fn exit_code(state: &record::State) -> i32 {
    i32::try_from(state.exit_code).unwrap_or(i32::MAX)
}
