//! Errors and problems.
//!
//! An [`Error`] stops the operation that hit it (the data root cannot be read at all); a
//! [`Problem`] is a damaged or inconsistent record that the scan notes and then goes past, so a
//! partly broken store still reports everything else. Both always name the file.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A failure that stops an operation. Every variant names the path it concerns.
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
    /// `path` exists but is not a Docker data root.
    #[error("{}: not a Docker data root ({reason})", path.display())]
    NotADataRoot {
        /// The directory that was examined.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },
    /// A file that must be parsed for the operation to go on is malformed.
    #[error("{}: {detail}", path.display())]
    Malformed {
        /// The malformed file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A name given by the user matches nothing, or more than one object.
    #[error("{kind} {name:?}: {detail}")]
    Lookup {
        /// What was looked for ("container", "image", ...).
        kind: &'static str,
        /// The name the user gave.
        name: String,
        /// "no such ..." or "ambiguous: ...".
        detail: String,
    },
}

impl Error {
    /// Builds an [`Error::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias for the analyzers.
pub type Result<T> = std::result::Result<T, Error>;

/// What is wrong with a record; the stable, machine-readable half of a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// A file could not be read (permissions, I/O error).
    Unreadable,
    /// A file is not valid JSON, or lacks a field the format requires.
    InvalidJson,
    /// A file holds a value of the wrong shape (a bad digest, a non-numeric size).
    InvalidValue,
    /// A file the format requires is missing.
    Missing,
    /// A record points at something that does not exist (a layer's cache-id directory, a
    /// container's image).
    DanglingReference,
    /// A layer's recorded chain id does not match the one computed from its parent and diff id.
    ChainIdMismatch,
    /// A parent chain loops back on itself.
    Cycle,
    /// A BoltDB file could not be decoded.
    InvalidDatabase,
    /// A directory could not be walked completely (entries vanished or were unreadable).
    WalkIncomplete,
    /// A layer's content no longer matches its record (diff id or size).
    ContentMismatch,
    /// Part of the store is kept where strata does not read it (containers/storage's
    /// `imagestore`, additional image stores, a transient store's records under the
    /// runroot): the figures leave it out.
    NotRead,
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::InvalidJson => "invalid JSON",
            ProblemKind::InvalidValue => "invalid value",
            ProblemKind::Missing => "missing",
            ProblemKind::DanglingReference => "dangling reference",
            ProblemKind::ChainIdMismatch => "chain id mismatch",
            ProblemKind::Cycle => "cycle",
            ProblemKind::InvalidDatabase => "invalid database",
            ProblemKind::WalkIncomplete => "walk incomplete",
            ProblemKind::ContentMismatch => "content mismatch",
            ProblemKind::NotRead => "not read",
        };
        f.write_str(text)
    }
}

/// A damaged or inconsistent record found during a scan: reported, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Problem {
    /// The file or directory at fault.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// What kind of damage it is.
    pub kind: ProblemKind,
    /// One line saying what was found and what the scan did about it.
    pub detail: String,
}

impl Problem {
    /// Builds a problem for `path`.
    pub fn new(path: impl AsRef<Path>, kind: ProblemKind, detail: impl Into<String>) -> Self {
        Problem {
            path: path.as_ref().to_path_buf(),
            kind,
            detail: detail.into(),
        }
    }
}

/// `PATH: KIND: DETAIL` on one line, the path and detail escaped by [`crate::text::escape`]
/// (they hold names from the store, which may hold control characters or other bytes).
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            crate::text::display(&self.path),
            self.kind,
            crate::text::escape(self.detail.as_bytes())
        )
    }
}
