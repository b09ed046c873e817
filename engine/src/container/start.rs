//! `start`: spawns the container's supervisor ([`super::shim`]) as a process of its own
//! (its own process group, so a terminal's signals do not reach it) and waits for it to say
//! that the container runs.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::shim::SHIM_VERB;
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

/// Starts container `id` by running `program --root <root> engine-shim <id>` (`program` is
/// the strata binary); returns the supervisor, whose exit status is the container's code.
pub fn start(root: &Root, id: &str, program: &Path) -> Result<Child> {
    let rec = super::record::load(root, id)?;
    if rec.state.running {
        return Err(Error::Conflict(format!(
            "container {id} is already running"
        )));
    }
    let mut child = Command::new(program)
        .arg("--root")
        .arg(&root.path)
        .arg("--driver")
        .arg(root.driver.name())
        .arg(SHIM_VERB)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .at(program)?;
    let stdout = child.stdout.take().ok_or_else(|| Error::Runtime {
        id: id.to_owned(),
        action: "start",
        detail: "the supervisor has no standard output".to_owned(),
    })?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).at(program)?;
    match line.trim() {
        "ok" => Ok(child),
        other => {
            let _ = child.wait();
            Err(Error::Runtime {
                id: id.to_owned(),
                action: "start",
                detail: other
                    .strip_prefix("error: ")
                    .unwrap_or("the supervisor exited before the container started")
                    .to_owned(),
            })
        }
    }
}
