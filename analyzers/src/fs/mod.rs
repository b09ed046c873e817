//! The one way into the store: every file and directory the analyzers read is opened here.
//!
//! A [`Jail`] is the root handle: an open directory fd of the data root. Every path is
//! resolved relative to it with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` (or, on a
//! kernel without `openat2`, one `openat(O_NOFOLLOW)` per component), so no symlink, `..`,
//! absolute path or rename race can lead a read out of the root: a symlink anywhere in a
//! path is refused (`ELOOP`), never followed. A [`Dir`] is an open directory inside the jail;
//! the walkers descend by [`Dir::open_dir`] (`openat(dirfd, name, O_DIRECTORY|O_NOFOLLOW)`),
//! never by full path, so a directory swapped for a symlink mid-walk is refused and trees of
//! any depth are walked.
//!
//! Every open is `O_NONBLOCK` (a FIFO planted in place of a record cannot hang a scan) and is
//! type-checked after `fstat`: [`Jail::file`] opens regular files only. Reads are bounded:
//! [`Jail::read`] refuses a file larger than the caller's limit before reading it. Opens use
//! `O_NOATIME` so a scan does not even move access times; where the kernel refuses it (the
//! caller neither owns the file nor has `CAP_FOWNER`), the open is retried without it and
//! counted ([`Jail::atime_changes`]), so that the caller can say so rather than change
//! evidence quietly. Nothing in this module writes, locks or creates.

mod dir;
mod jail;

use std::io::Read;
use std::path::Path;

pub use dir::{Dir, Entry};
pub use jail::Jail;

use crate::error::{Problem, ProblemKind};

/// Largest small text record read (a layerdb `diff`, `size`, `cache-id`, a `link` file):
/// these hold one id or number.
pub const TEXT_LIMIT: u64 = 64 << 10;
/// Largest JSON record read (an image config, `config.v2.json`, `repositories.json`): far
/// above any real one (a config with thousands of history entries is a few MB), and a bound
/// on the memory one damaged or hostile file can take.
pub const JSON_LIMIT: u64 = 64 << 20;

/// Reads at most `limit` bytes of `file`, failing when it holds more (so memory follows the
/// limit, not the input).
pub fn read_bounded(mut file: impl Read, limit: u64, path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    (&mut file).take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "{}: larger than {limit} bytes, not read",
            path.display()
        )));
    }
    Ok(buf)
}

/// Turns an I/O error on `path` into the matching [`Problem`].
pub fn io_problem(path: &Path, err: &std::io::Error) -> Problem {
    let kind = if err.kind() == std::io::ErrorKind::NotFound {
        ProblemKind::Missing
    } else {
        ProblemKind::Unreadable
    };
    Problem::new(path, kind, describe(err))
}

/// The text of an I/O error, with the refusals of this module said in words (`ELOOP` is a
/// symlink the jail would not follow).
pub fn describe(err: &std::io::Error) -> String {
    match err.raw_os_error() {
        Some(nix::libc::ELOOP) => "a symlink: not followed (it could lead out of the root)".into(),
        Some(nix::libc::EXDEV) => "resolves outside the root: not followed".into(),
        _ => err.to_string(),
    }
}

/// True when `st` is a directory.
pub fn is_dir_stat(st: &nix::sys::stat::FileStat) -> bool {
    st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFDIR
}

/// True when `st` is a regular file.
pub fn is_regular(st: &nix::sys::stat::FileStat) -> bool {
    st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFREG
}

/// The kind of file `st` describes, in words (for refusals: "a FIFO, not a regular file").
pub fn kind_of(st: &nix::sys::stat::FileStat) -> &'static str {
    match st.st_mode & nix::libc::S_IFMT {
        nix::libc::S_IFREG => "a regular file",
        nix::libc::S_IFDIR => "a directory",
        nix::libc::S_IFLNK => "a symlink",
        nix::libc::S_IFIFO => "a FIFO",
        nix::libc::S_IFSOCK => "a socket",
        nix::libc::S_IFCHR => "a character device",
        nix::libc::S_IFBLK => "a block device",
        _ => "a file of unknown type",
    }
}

/// Reads a host configuration file outside any store (`/etc/docker/daemon.json`): its path
/// is the host's, so symlinks in it are followed, but it is opened non-blocking, must be a
/// regular file, and is read up to [`JSON_LIMIT`] bytes.
pub fn read_host_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "{}: not a regular file: not read",
            path.display()
        )));
    }
    read_bounded(file, JSON_LIMIT, path)
}
