//! `logs`: a container's json-file log (`containers/<id>/<id>-json.log`, moby
//! `daemon/logger/jsonfilelog`): [`read`] its lines, and [`copy_streams`], with which the
//! supervisor writes it.
//!
//! The log's path is derived from the root and the container's id ([`log_path`]), never
//! taken from the record: a `LogPath` in `config.v2.json` that names another file (`/etc/shadow`,
//! another root's log) is refused, so neither `logs` nor the supervisor reads or writes
//! outside the container's directory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde::{Deserialize, Serialize};

use super::record::{self, Record};
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

/// One logged line (moby `jsonlog.JSONLog`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// The text, with its newline.
    pub log: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// When it was written (RFC 3339).
    pub time: String,
}

/// The json-file log of container `id` (`rec` is its record):
/// `<root>/containers/<id>/<id>-json.log`. The record's `LogPath` must be that file (or
/// empty, as dockerd leaves it until a first start); any other is refused, naming the record.
pub fn log_path(root: &Root, id: &str, rec: &Record) -> Result<PathBuf> {
    if !analyzers::ids::is_hex64(id) {
        return Err(Error::Invalid(format!("{id:?} is not a container id")));
    }
    let path = super::container_dir(root, id).join(format!("{id}-json.log"));
    if !rec.log_path.is_empty() && Path::new(&rec.log_path) != path {
        return Err(Error::malformed(
            record::config_path(root, id),
            format!(
                "LogPath {:?} is not the container's log {}: refused",
                rec.log_path,
                path.display()
            ),
        ));
    }
    Ok(path)
}

/// Every line container `id` has logged, oldest first.
pub fn read(root: &Root, id: &str) -> Result<Vec<LogLine>> {
    let rec = record::load(root, id)?;
    let path = log_path(root, id, &rec)?;
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.at(&path)?;
        out.push(serde_json::from_str(&line).map_err(|e| Error::malformed(&path, e.to_string()))?);
    }
    Ok(out)
}

/// How often [`follow`] looks for new lines.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(5);

/// Hands every line container `id` logs to `sink`, the lines already logged first (only the
/// last `tail` of them when given, as `docker logs -f --tail N`), until the container is not
/// running (or is removed) and every line is handed over, or until `sink` returns `false`
/// (its reader went away).
pub fn follow(
    root: &Root,
    id: &str,
    tail: Option<usize>,
    sink: &mut dyn FnMut(LogLine) -> bool,
) -> Result<()> {
    let rec = record::load(root, id)?;
    let path = log_path(root, id, &rec)?;
    // The lines logged so far that `tail` leaves out; those logged after this count are new
    // and all handed over.
    let mut skip = match tail {
        Some(n) => read(root, id)?.len().saturating_sub(n),
        None => 0,
    };
    let mut reader: Option<BufReader<File>> = None;
    let mut partial = String::new();
    loop {
        let running = record::load(root, id).is_ok_and(|r| r.state.running);
        if reader.is_none() {
            reader = File::open(&path).ok().map(BufReader::new);
        }
        if let Some(r) = reader.as_mut() {
            loop {
                let n = r.read_line(&mut partial).at(&path)?;
                if n == 0 || !partial.ends_with('\n') {
                    break;
                }
                let line: LogLine = serde_json::from_str(&partial)
                    .map_err(|e| Error::malformed(&path, e.to_string()))?;
                partial.clear();
                if skip > 0 {
                    skip -= 1;
                } else if !sink(line) {
                    return Ok(());
                }
            }
        }
        if !running {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// One stream being copied: its pipe (until its end) and the bytes of a line not yet ended.
struct Stream {
    name: &'static str,
    pipe: Option<File>,
    pending: Vec<u8>,
}

/// Copies a container's stdout and stderr into `log`, one JSON line per line of output, until
/// both pipes are closed; a last line without newline is logged as it is, as dockerd does.
///
/// # Order
///
/// One thread polls both pipes, and when both have data it takes stdout's first. A program
/// that writes to stdout and then to stderr has, by the time the second write returns, data
/// in the stdout pipe: so the log keeps the order of writes the program made one after the
/// other (two threads racing for the file would not).
pub fn copy_streams(stdout: OwnedFd, stderr: OwnedFd, log: &mut File) {
    let mut streams = [
        Stream {
            name: "stdout",
            pipe: Some(File::from(stdout)),
            pending: Vec::new(),
        },
        Stream {
            name: "stderr",
            pipe: Some(File::from(stderr)),
            pending: Vec::new(),
        },
    ];
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let ready: Vec<bool> = {
            let open: Vec<(usize, &File)> = streams
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.pipe.as_ref().map(|p| (i, p)))
                .collect();
            if open.is_empty() {
                return;
            }
            let mut fds: Vec<PollFd> = open
                .iter()
                .map(|(_, p)| PollFd::new(p.as_fd(), PollFlags::POLLIN))
                .collect();
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let mut ready = vec![false; streams.len()];
            for ((i, _), fd) in open.iter().zip(&fds) {
                ready[*i] = fd.any().unwrap_or(true);
            }
            ready
        };
        for (stream, ready) in streams.iter_mut().zip(ready) {
            if ready {
                stream.read_into(&mut chunk, log);
            }
        }
    }
}

impl Stream {
    /// Reads what the pipe has and logs every completed line (the rest at the pipe's end).
    fn read_into(&mut self, chunk: &mut [u8], log: &mut File) {
        let Some(pipe) = self.pipe.as_mut() else {
            return;
        };
        let n = match pipe.read(chunk) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return,
            Err(_) => 0,
        };
        self.pending.extend_from_slice(&chunk[..n]);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.write_line(&line, log);
        }
        if n == 0 {
            self.pipe = None;
            let rest = std::mem::take(&mut self.pending);
            if !rest.is_empty() {
                self.write_line(&rest, log);
            }
        }
    }

    fn write_line(&self, bytes: &[u8], log: &mut File) {
        let line = LogLine {
            log: String::from_utf8_lossy(bytes).into_owned(),
            stream: self.name.to_owned(),
            time: crate::ids::now(),
        };
        if let Ok(mut json) = serde_json::to_vec(&line) {
            json.push(b'\n');
            let _ = log.write_all(&json);
        }
    }
}
