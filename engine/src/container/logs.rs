//! `logs`: the lines of a container's json-file log.

use std::io::{BufRead, BufReader};

use serde::Deserialize;

use super::record;
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

/// One logged line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LogLine {
    /// The text, with its newline.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When it was written (RFC 3339).
    pub time: String,
}

/// Every line container `id` has logged, oldest first.
pub fn read(root: &Root, id: &str) -> Result<Vec<LogLine>> {
    let rec = record::load(root, id)?;
    let file = match std::fs::File::open(&rec.log_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&rec.log_path, e)),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.at(&rec.log_path)?;
        out.push(
            serde_json::from_str(&line)
                .map_err(|e| Error::malformed(&rec.log_path, e.to_string()))?,
        );
    }
    Ok(out)
}
