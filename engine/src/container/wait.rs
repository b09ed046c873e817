//! `wait`: until a container is no longer running, by polling its `config.v2.json` (the
//! supervisor records the exit there).

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
            Ok(rec) if !rec.state.running => return Ok(Some(rec.state.exit_code)),
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
