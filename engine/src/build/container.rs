//! The container a build step runs in, made and run with the engine's own container code
//! ([`crate::container`]): created from the previous step's image, its writable layer mounted
//! for `COPY`/`ADD`/`WORKDIR` or its command run by the supervisor for `RUN` (new pid, mount,
//! uts, ipc and an empty network namespace). Whatever happens, dropping it removes it and
//! everything it made (writable and init layers, mounts, cgroups, runtime state, records),
//! so a failed or cancelled step leaves nothing behind.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use analyzers::ids::{CacheId, ImageId};

use crate::container::create::{create, CreateOptions};
use crate::container::remove::{remove, RemoveOptions};
use crate::container::{logs, shim, start, stop};
use crate::error::Result;
use crate::root::Root;

/// How often a running step's log is read for new output.
const POLL: Duration = Duration::from_millis(5);

/// A build step's container; removed on drop.
pub struct StepContainer<'a> {
    root: &'a Root,
    /// The container's id.
    pub id: String,
    mount: CacheId,
}

impl<'a> StepContainer<'a> {
    /// Creates a container of `image` whose command is `cmd` (no entrypoint), with `env`
    /// added to the image's environment.
    pub fn create(
        root: &'a Root,
        image: &ImageId,
        cmd: Vec<String>,
        env: Vec<String>,
    ) -> Result<StepContainer<'a>> {
        let id = create(
            root,
            &CreateOptions {
                image: image.to_string(),
                cmd,
                entrypoint: Some(Vec::new()),
                env,
                ..CreateOptions::default()
            },
        )?;
        let mut made = StepContainer {
            root,
            id,
            mount: CacheId(String::new()),
        };
        made.mount = shim::mount_id(root, &made.id)?;
        Ok(made)
    }

    /// The overlay upper directory: the step's changes.
    pub fn upper(&self) -> PathBuf {
        self.root.driver.content_dir(&self.mount)
    }

    /// Mounts the container's root filesystem and calls `change` on it; unmounts after.
    pub fn with_rootfs<T>(&self, change: impl FnOnce(&Path) -> T) -> Result<T> {
        let merged = self.root.driver.mount(&self.mount)?;
        let out = change(&merged);
        self.root.driver.unmount(&self.mount)?;
        Ok(out)
    }

    /// Runs the container's command to its end with `program` (the strata binary) as its
    /// supervisor; `output` gets each line it prints (with `true` for stderr). Its exit code.
    /// Once `cancel` is set the container is killed (and its code is SIGKILL's).
    pub fn run(
        &self,
        program: &Path,
        cancel: &AtomicBool,
        output: &mut dyn FnMut(&str, bool),
    ) -> Result<i32> {
        let mut supervisor = start::start(self.root, &self.id, program)?;
        let mut shown = 0;
        let mut killed = false;
        loop {
            if !killed && cancel.load(Ordering::Relaxed) {
                stop::stop(self.root, &self.id, Duration::ZERO)?;
                killed = true;
            }
            let done = supervisor
                .try_wait()
                .map_err(|e| crate::Error::io(program, e))?;
            let lines = logs::read(self.root, &self.id)?;
            for line in lines.get(shown..).unwrap_or_default() {
                output(&line.log, line.stream == "stderr");
            }
            shown = lines.len();
            if let Some(status) = done {
                return Ok(status.code().unwrap_or(255));
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for StepContainer<'_> {
    fn drop(&mut self) {
        let _ = remove(
            self.root,
            &self.id,
            &RemoveOptions {
                force: true,
                volumes: true,
            },
        );
    }
}
