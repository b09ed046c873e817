//! The engine's errors. Every I/O variant names the file it concerns (STYLE 6); a refused
//! archive entry names the entry and why it was refused.

use std::path::PathBuf;

/// A failure of an engine operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O call on `path` failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory the call was made on.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A system call on `path` failed.
    #[error("{}: {call}: {source}", path.display())]
    Sys {
        /// The file or directory the call was made on.
        path: PathBuf,
        /// The call (`mount`, `mknod`...).
        call: &'static str,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// An operating-system facility that is not a file failed (the async runtime, signal
    /// handlers, a listening socket's accept loop).
    #[error("{what}: {source}")]
    Os {
        /// What was being set up or run.
        what: &'static str,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An archive entry that would write outside the layer, or that cannot be represented.
    #[error("{archive}: entry {entry:?} refused: {reason}")]
    Refused {
        /// The archive being imported.
        archive: String,
        /// The entry's name as written in the archive.
        entry: String,
        /// Why (`escapes the layer through a symlink`...).
        reason: String,
    },
    /// An archive or metadata file is malformed.
    #[error("{}: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A name given by the user matches nothing, or more than one object.
    #[error("{kind} {name:?}: {detail}")]
    Lookup {
        /// What was looked for (`container`, `image`, `volume`).
        kind: &'static str,
        /// The name the user gave.
        name: String,
        /// `no such ...` or `ambiguous`.
        detail: String,
    },
    /// The operation conflicts with the object's state (a running container removed without
    /// `-f`, a name already in use, a volume in use).
    #[error("{0}")]
    Conflict(String),
    /// The request is invalid (a bad flag value, a missing field).
    #[error("{0}")]
    Invalid(String),
    /// The runtime library failed to create, start, signal or delete a container.
    #[error("container {id}: {action}: {detail}")]
    Runtime {
        /// The container's id.
        id: String,
        /// What was being done.
        action: &'static str,
        /// The library's message.
        detail: String,
    },
    /// The engine daemon could not be reached at `host`.
    #[error("cannot reach the strata engine at {host}: {detail}")]
    Unreachable {
        /// The host as given (`unix:///run/strata.sock`, `tcp://127.0.0.1:2375`).
        host: String,
        /// Why.
        detail: String,
    },
    /// The engine daemon answered a request with an error.
    #[error("{method} {path}: {status}: {message}")]
    Api {
        /// The request's method.
        method: String,
        /// The request's path.
        path: String,
        /// The HTTP status.
        status: u16,
        /// The daemon's `message`.
        message: String,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] analyzers::Error),
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Builds an [`Error::Sys`] for `path`.
    pub fn sys(path: impl Into<PathBuf>, call: &'static str, source: nix::Error) -> Self {
        Error::Sys {
            path: path.into(),
            call,
            source,
        }
    }

    /// Builds an [`Error::Malformed`] for `path`.
    pub fn malformed(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::Malformed {
            path: path.into(),
            detail: detail.into(),
        }
    }

    /// A lookup that matched nothing.
    pub fn not_found(kind: &'static str, name: &str) -> Self {
        Error::Lookup {
            kind,
            name: name.to_owned(),
            detail: format!("no such {kind}"),
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds the path to an `io::Result`.
pub trait IoContext<T> {
    /// Maps the error to [`Error::Io`] naming `path`.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
