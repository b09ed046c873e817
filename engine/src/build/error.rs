//! The builder's errors: what the user wrote wrong (the Dockerfile, a source), what a step's
//! command did (a non-zero exit), and the engine's own failures underneath.

/// A failed build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Dockerfile cannot be parsed or asks for something invalid.
    #[error("{file}:{line}: {detail}")]
    Dockerfile {
        /// The Dockerfile's path as given.
        file: String,
        /// The line the instruction starts on (1-based).
        line: usize,
        /// What is wrong.
        detail: String,
    },
    /// A `COPY`/`ADD` source is missing, excluded, or refused.
    #[error("{instruction} failed: {source_name}: {reason}")]
    Source {
        /// `COPY` or `ADD`.
        instruction: String,
        /// The source as the Dockerfile names it.
        source_name: String,
        /// Why (`file not found in build context or excluded by .dockerignore`...).
        reason: String,
    },
    /// A `RUN` command exited non-zero (Docker's wording).
    #[error("The command '{command}' returned a non-zero code: {code}")]
    Command {
        /// The command as the image history would record it.
        command: String,
        /// Its exit code.
        code: i32,
    },
    /// The build was cancelled ([`super::BuildOptions::cancel`]).
    #[error("the build was cancelled")]
    Cancelled,
    /// The engine failed (store, layers, containers).
    #[error(transparent)]
    Engine(#[from] crate::Error),
}

impl BuildError {
    /// A [`BuildError::Dockerfile`].
    pub fn dockerfile(file: &str, line: usize, detail: impl Into<String>) -> Self {
        BuildError::Dockerfile {
            file: file.to_owned(),
            line,
            detail: detail.into(),
        }
    }

    /// A [`BuildError::Source`].
    pub fn source(instruction: &str, source_name: &str, reason: impl Into<String>) -> Self {
        BuildError::Source {
            instruction: instruction.to_owned(),
            source_name: source_name.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The builder's result type.
pub type Result<T, E = BuildError> = std::result::Result<T, E>;
