//! Reading the store without touching it.
//!
//! Every file the analyzers read is opened here, read-only and with `O_NOATIME` where the
//! kernel allows it (the caller owns the file or has `CAP_FOWNER`), so that a scan does not even
//! change access times. Nothing in this module writes, locks or creates.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Problem, ProblemKind};

/// Opens `path` read-only, with `O_NOATIME` when permitted.
pub fn open(path: &Path) -> std::io::Result<File> {
    let noatime = OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOATIME | nix::libc::O_CLOEXEC)
        .open(path);
    match noatime {
        Err(e) if e.raw_os_error() == Some(nix::libc::EPERM) => File::open(path),
        other => other,
    }
}

/// Reads the whole of `path` into memory.
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    open(path)?.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Reads a small text file (a layerdb `diff`, `cache-id`, `size`...) with surrounding
/// whitespace removed; a read failure becomes a [`Problem`].
pub fn read_text(path: &Path) -> Result<String, Problem> {
    match read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(|s| s.trim().to_owned())
            .map_err(|_| Problem::new(path, ProblemKind::InvalidValue, "not UTF-8 text")),
        Err(e) => Err(io_problem(path, &e)),
    }
}

/// Reads and parses a JSON file; a read or parse failure becomes a [`Problem`].
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T, Problem> {
    let bytes = read(path).map_err(|e| io_problem(path, &e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Problem::new(path, ProblemKind::InvalidJson, e.to_string()))
}

/// Turns an I/O error on `path` into the matching [`Problem`].
pub fn io_problem(path: &Path, err: &std::io::Error) -> Problem {
    let kind = if err.kind() == std::io::ErrorKind::NotFound {
        ProblemKind::Missing
    } else {
        ProblemKind::Unreadable
    };
    Problem::new(path, kind, err.to_string())
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The entry's name.
    pub name: std::ffi::OsString,
    /// True when the entry is a directory (not followed through symlinks).
    pub is_dir: bool,
}

/// Opens a directory read-only with `O_NOATIME` when permitted (listing a directory updates
/// its access time otherwise).
pub fn open_dir(path: &Path) -> nix::Result<std::os::fd::OwnedFd> {
    use nix::fcntl::{open, OFlag};
    use nix::sys::stat::Mode;
    let base = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    match open(path, base | OFlag::O_NOATIME, Mode::empty()) {
        Err(nix::errno::Errno::EPERM) => open(path, base, Mode::empty()),
        other => other,
    }
}

/// Lists `path` (without `.` and `..`), sorted by name, without touching its access time.
pub fn read_dir(path: &Path) -> std::io::Result<Vec<Entry>> {
    use std::os::unix::ffi::OsStrExt;
    let fd = open_dir(path)?;
    let stat_fd = fd.try_clone()?;
    let mut dir = nix::dir::Dir::from_fd(fd)?;
    let mut out = Vec::new();
    for entry in dir.iter() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let is_dir = match entry.file_type() {
            Some(t) => t == nix::dir::Type::Directory,
            None => nix::sys::stat::fstatat(
                &stat_fd,
                entry.file_name(),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .is_ok_and(|st| st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR),
        };
        out.push(Entry {
            name: std::ffi::OsStr::from_bytes(name).to_os_string(),
            is_dir,
        });
    }
    out.sort();
    Ok(out)
}
