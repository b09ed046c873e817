//! Where the engine verbs of the CLI act: directly on a data root ([`Backend::Local`]), or
//! through a daemon's API ([`Backend::Remote`], with `-H`/`STRATA_HOST`). One method per verb,
//! the same answers either way; containers are named as the Docker CLI names them (id, id
//! prefix or name).

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use crate::api::client::Client;
use crate::container::create::CreateOptions;
use crate::container::logs::LogLine;
use crate::container::remove::RemoveOptions;
use crate::container::{self, resolve};
use crate::error::Result;
use crate::image::import::ImportOptions;
use crate::root::Root;
use crate::volume::{self, Pruned, Volume};

/// The engine the CLI drives.
#[derive(Debug)]
pub enum Backend {
    /// The data root itself; `program` is the strata binary (it runs the supervisors).
    Local {
        /// The data root.
        root: Root,
        /// The strata binary.
        program: PathBuf,
    },
    /// A daemon.
    Remote(Client),
}

impl Backend {
    /// Creates a container; its id.
    pub fn create(&self, opts: &CreateOptions) -> Result<String> {
        match self {
            Backend::Local { root, .. } => container::create::create(root, opts),
            Backend::Remote(c) => c.create(opts),
        }
    }

    /// Starts container `name` and returns once it runs.
    pub fn start(&self, name: &str) -> Result<()> {
        match self {
            Backend::Local { root, program } => {
                let id = resolve(root, name)?;
                let mut supervisor = container::start::start(root, &id, program)?;
                // Reap the supervisor if it ends while this process still runs.
                std::thread::spawn(move || supervisor.wait());
                Ok(())
            }
            Backend::Remote(c) => c.start(name),
        }
    }

    /// Stops container `name` (its stop signal, SIGKILL after `grace`, by default its
    /// `--stop-timeout` or 10 s).
    pub fn stop(&self, name: &str, grace: Option<Duration>) -> Result<()> {
        match self {
            Backend::Local { root, .. } => {
                let id = resolve(root, name)?;
                let grace = match grace {
                    Some(g) => g,
                    None => container::stop::default_grace(&container::record::load(root, &id)?),
                };
                container::stop::stop(root, &id, grace)
            }
            Backend::Remote(c) => c.stop(name, grace.map(|g| g.as_secs())),
        }
    }

    /// Sends `signal` (`KILL`, `SIGTERM`, `9`...) to container `name`.
    pub fn kill(&self, name: &str, signal: &str) -> Result<()> {
        match self {
            Backend::Local { root, .. } => {
                let signal = container::stop::parse_signal(signal)?;
                container::stop::kill(root, &resolve(root, name)?, signal)
            }
            Backend::Remote(c) => c.kill(name, signal),
        }
    }

    /// Waits until container `name` is not running; its exit code.
    pub fn wait(&self, name: &str) -> Result<i32> {
        match self {
            Backend::Local { root, .. } => container::wait::wait(root, &resolve(root, name)?, ""),
            Backend::Remote(c) => c.wait(name),
        }
    }

    /// Removes container `name`.
    pub fn remove(&self, name: &str, opts: &RemoveOptions) -> Result<()> {
        match self {
            Backend::Local { root, .. } => {
                container::remove::remove(root, &resolve(root, name)?, opts)
            }
            Backend::Remote(c) => c.remove(name, opts),
        }
    }

    /// Hands container `name`'s log lines to `sink`; with `follow`, also those to come until
    /// it stops.
    pub fn logs(&self, name: &str, follow: bool, sink: &mut dyn FnMut(LogLine)) -> Result<()> {
        match self {
            Backend::Local { root, .. } => {
                let id = resolve(root, name)?;
                if follow {
                    container::logs::follow(root, &id, None, &mut |line| {
                        sink(line);
                        true
                    })
                } else {
                    container::logs::read(root, &id).map(|lines| lines.into_iter().for_each(sink))
                }
            }
            Backend::Remote(c) => c.logs(name, follow, sink),
        }
    }

    /// Creates a volume.
    pub fn volume_create(&self, opts: &volume::CreateOptions) -> Result<Volume> {
        match self {
            Backend::Local { root, .. } => volume::create(root, opts),
            Backend::Remote(c) => c.volume_create(opts),
        }
    }

    /// Every volume.
    pub fn volume_list(&self) -> Result<Vec<Volume>> {
        match self {
            Backend::Local { root, .. } => volume::list(root),
            Backend::Remote(c) => c.volume_list(),
        }
    }

    /// Volume `name`.
    pub fn volume_inspect(&self, name: &str) -> Result<Volume> {
        match self {
            Backend::Local { root, .. } => volume::inspect(root, name),
            Backend::Remote(c) => c.volume_inspect(name),
        }
    }

    /// Removes volume `name`.
    pub fn volume_remove(&self, name: &str) -> Result<()> {
        match self {
            Backend::Local { root, .. } => volume::remove(root, name),
            Backend::Remote(c) => c.volume_remove(name),
        }
    }

    /// Removes the volumes no container uses.
    pub fn volume_prune(&self) -> Result<Pruned> {
        match self {
            Backend::Local { root, .. } => volume::prune(root),
            Backend::Remote(c) => c.volume_prune(),
        }
    }

    /// Imports a root filesystem tar; the image id (`sha256:…`).
    pub fn import(
        &self,
        input: impl Read + Send + 'static,
        opts: &ImportOptions,
    ) -> Result<String> {
        match self {
            Backend::Local { root, .. } => {
                crate::image::import::import(root, input, opts).map(|w| w.id.to_string())
            }
            Backend::Remote(c) => c.import(input, opts),
        }
    }

    /// Loads a `docker save` or OCI archive (`archive` names it in errors); `docker load`'s
    /// lines (`Loaded image: …`).
    pub fn load(&self, input: impl Read + Send + 'static, archive: &str) -> Result<Vec<String>> {
        match self {
            Backend::Local { root, .. } => crate::image::load::load(root, input, archive)
                .map(|written| crate::image::load::loaded_lines(&written)),
            Backend::Remote(c) => c.load(input),
        }
    }
}
