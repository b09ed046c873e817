//! `strata build`: a Dockerfile built into the store as moby's classic builder
//! (`DOCKER_BUILDKIT=0 docker build`) builds it, with its layer cache.
//!
//! - [`dockerfile`] parses the file, [`words`] substitutes ARG/ENV variables where Docker
//!   does, [`context`] reads the build context (`.dockerignore`, sources that never leave
//!   it, their content hashes), [`pattern`] matches globs.
//! - [`steps`] runs each instruction: metadata-only ones change the configuration; `RUN`
//!   runs in a [`container`] of the engine; `COPY`, `ADD` ([`copy`]) and `WORKDIR` change
//!   files in one; [`diff`] turns the changes into a layer registered like an imported one.
//! - [`image`] commits every step as an image (history, `container_config`, parent) and
//!   finds cached steps; [`health`] reads `HEALTHCHECK`.
//!
//! The builder never prints: it reports progress as [`Event`]s that the binary renders as
//! Docker's classic output. The Docker API's `POST /build` is not served here.

pub mod container;
pub mod context;
pub mod copy;
pub mod diff;
pub mod dockerfile;
pub mod error;
pub mod health;
pub mod image;
pub mod pattern;
pub mod progress;
pub mod steps;
pub mod words;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use analyzers::ids::ImageId;

pub use error::{BuildError, Result};

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The Dockerfile.
    pub dockerfile: PathBuf,
    /// The build context directory.
    pub context: PathBuf,
    /// Tags for the result (`-t`), `REPO[:TAG]`.
    pub tags: Vec<String>,
    /// `--build-arg NAME=value`.
    pub build_args: BTreeMap<String, String>,
    /// `--no-cache`: run every step.
    pub no_cache: bool,
    /// The strata binary, run as the supervisor of `RUN` containers.
    pub program: PathBuf,
    /// Set it (from a signal handler's thread) to stop the build: a running `RUN` is killed,
    /// its step removed like a failed one, and the build returns [`BuildError::Cancelled`].
    pub cancel: Arc<AtomicBool>,
}

/// Progress of a build, in the order Docker's classic builder prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `Step 2/5 : RUN make`.
    Step {
        /// 1-based.
        number: usize,
        /// Instructions in the Dockerfile.
        total: usize,
        /// The instruction as written.
        instruction: String,
    },
    /// The step's image came from the cache.
    UsingCache,
    /// A `RUN` container started.
    RunningIn {
        /// Its id.
        container: String,
    },
    /// A line the `RUN` command printed (with its newline).
    Output {
        /// The text.
        line: String,
        /// Printed on standard error.
        stderr: bool,
    },
    /// The `RUN` container was removed after its step was committed.
    Removed {
        /// Its id.
        container: String,
    },
    /// The image the step produced (or `FROM` named).
    Image {
        /// Its id.
        id: ImageId,
    },
    /// `FROM` an image with `ONBUILD` triggers: they run now.
    Triggers {
        /// How many.
        count: usize,
    },
    /// A warning (unused build arguments).
    Warning(String),
}

/// A finished build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The final image.
    pub id: ImageId,
    /// The tags given to it, normalized (`app:latest`).
    pub tags: Vec<String>,
    /// Steps run.
    pub steps: usize,
    /// Steps whose image came from the cache.
    pub cached: usize,
}

/// Builds `opts.dockerfile` in `opts.context` into `root`, reporting progress to `events`.
pub fn build(
    root: &crate::Root,
    opts: &BuildOptions,
    events: &mut dyn FnMut(Event),
) -> Result<Built> {
    if root.driver.name() != "overlay2" {
        return Err(crate::Error::Invalid(format!(
            "strata build needs the overlay2 storage driver (this root uses {})",
            root.driver.name()
        ))
        .into());
    }
    let text = std::fs::read_to_string(&opts.dockerfile)
        .map_err(|e| crate::Error::io(&opts.dockerfile, e))?;
    let file = opts.dockerfile.display().to_string();
    let parsed = dockerfile::parse(&text, &file)?;
    let tags = opts
        .tags
        .iter()
        .map(|t| crate::image::reference::Tagged::parse(t))
        .collect::<crate::Result<Vec<_>>>()?;
    let ctx = context::Context::open(&opts.context)?;
    let mut builder = steps::Builder::new(root, opts, ctx, &file, parsed.escape, events);
    let total = parsed.instructions.len();
    for (i, ins) in parsed.instructions.iter().enumerate() {
        if opts.cancel.load(Ordering::Relaxed) {
            return Err(BuildError::Cancelled);
        }
        builder.step(i + 1, total, ins)?;
    }
    let (id, cached) = builder.finish()?;
    for tag in &tags {
        crate::image::reference::set_tag(root, tag, &id)?;
    }
    Ok(Built {
        id,
        tags: tags.iter().map(ToString::to_string).collect(),
        steps: total,
        cached,
    })
}
