//! The steps that change files: `RUN` in a build container, `COPY`/`ADD` and `WORKDIR` on a
//! mounted build container (or a staging directory on `scratch`), each diffed into a layer.

use std::path::Path;
use std::sync::atomic::Ordering;

use super::Builder;
use crate::build::container::StepContainer;
use crate::build::context::Context;
use crate::build::copy::{self, CopyRequest};
use crate::build::dockerfile::Instruction;
use crate::build::error::{BuildError, Result};
use crate::build::{diff, Event};
use crate::container::user::{self, DefaultGroup};
use crate::image::config::ContainerConfig;
use crate::layer::Layer;

impl Builder<'_> {
    /// The ARG values a `RUN` sees (those no ENV overrides), `NAME=value`, sorted.
    fn build_env(&self) -> Vec<String> {
        self.args
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
            .filter(|(k, _)| {
                !self
                    .run
                    .env
                    .iter()
                    .flatten()
                    .any(|e| e.split('=').next() == Some(k.as_str()))
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// `RUN`: named by its command (after `|N NAME=value...` when ARGs are in scope, as
    /// moby's `prependEnvOnCmd` does); on a miss, run in a container of the base image with
    /// the ARGs in its environment, its upper directory committed.
    pub(super) fn run_step(&mut self, ins: &Instruction) -> Result<()> {
        if let Some((flag, _)) = ins.flags.first() {
            return Err(self.invalid(
                ins,
                &format!("--{flag} needs BuildKit; the classic builder has no RUN options"),
            ));
        }
        let argv = self.command(ins);
        let env = self.build_env();
        let mut recorded = Vec::new();
        if !env.is_empty() {
            recorded.push(format!("|{}", env.len()));
            recorded.extend(env.iter().cloned());
        }
        recorded.extend(argv.iter().cloned());
        let step = ContainerConfig {
            cmd: Some(recorded),
            entrypoint: None,
            ..self.run.clone()
        };
        if self.cache_hit(&step)? {
            return Ok(());
        }
        let (Some(image), Some(parent)) = (self.base.id.clone(), self.base.top_chain()?) else {
            return Err(self.invalid(ins, "the image has no layers, so nothing to run"));
        };
        let root = self.root;
        let container = StepContainer::create(root, &image, argv.clone(), env)?;
        (self.events)(Event::RunningIn {
            container: container.id.clone(),
        });
        let events = &mut *self.events;
        let code = container.run(
            &self.opts.program,
            &self.opts.cancel,
            &mut |line, stderr| {
                events(Event::Output {
                    line: line.to_owned(),
                    stderr,
                });
            },
        )?;
        if self.opts.cancel.load(Ordering::Relaxed) {
            return Err(BuildError::Cancelled);
        }
        if code != 0 {
            return Err(BuildError::Command {
                command: argv.join(" "),
                code,
            });
        }
        let layer = diff::commit(root, &container.upper(), Some(&parent))?;
        let id = container.id.clone();
        drop(container);
        (self.events)(Event::Removed { container: id });
        self.record(&step, layer)
    }

    /// Makes a step's file changes with `change` on its root filesystem: in a build
    /// container of the base image, or in a staging directory when the base has no layers.
    fn change_files(
        &self,
        step: &ContainerConfig,
        change: impl FnOnce(&Path) -> Result<()>,
    ) -> Result<Option<Layer>> {
        let parent = self.base.top_chain()?;
        match (&self.base.id, &parent) {
            (Some(image), Some(_)) => {
                let cmd = step.cmd.clone().unwrap_or_default();
                let container = StepContainer::create(self.root, image, cmd, Vec::new())?;
                container.with_rootfs(change)??;
                Ok(diff::commit(
                    self.root,
                    &container.upper(),
                    parent.as_ref(),
                )?)
            }
            _ => {
                let tmp = self.root.tmp_dir();
                let staging = tempfile::Builder::new()
                    .prefix("build-")
                    .tempdir_in(&tmp)
                    .map_err(|e| crate::Error::io(&tmp, e))?;
                change(staging.path())?;
                Ok(diff::commit(self.root, staging.path(), None)?)
            }
        }
    }

    /// An absolute path in the image: `path` if absolute, else under the working directory;
    /// a trailing `/` kept.
    fn in_image(&self, path: &str) -> String {
        if path.starts_with('/') {
            return path.to_owned();
        }
        let base = if self.run.working_dir.is_empty() {
            "/"
        } else {
            &self.run.working_dir
        };
        let mut joined = clean_abs(&format!("{base}/{path}"));
        if path.ends_with('/') && joined != "/" {
            joined.push('/');
        }
        joined
    }

    /// `WORKDIR`: relative to the previous one; the directory is created (a layer when it is
    /// new, an empty layer when the image has it).
    pub(super) fn workdir(&mut self, ins: &Instruction) -> Result<()> {
        let path = self.single(ins)?;
        let dir = clean_abs(&self.in_image(&path));
        self.run.working_dir = dir.clone();
        let step = self.nop_config(&format!("WORKDIR {dir}"), true);
        if self.cache_hit(&step)? {
            return Ok(());
        }
        let layer = self.change_files(&step, |rootfs| {
            let target = crate::rootfs_path::host_path(rootfs, &dir)?;
            std::fs::create_dir_all(&target).map_err(|e| crate::Error::io(&target, e))?;
            Ok(())
        })?;
        self.record(&step, layer)
    }

    /// `COPY`/`ADD`: named by the sources' content hash and the destination as written. The
    /// sources come from the build context, or with `--from` from an earlier stage's image
    /// or a stored image, mounted in a build container for the step's length.
    pub(super) fn copy_step(&mut self, ins: &Instruction) -> Result<()> {
        let kw = ins.keyword.as_str();
        let allowed: &[&str] = if kw == "COPY" {
            &["chown", "from"]
        } else {
            &["chown"]
        };
        if let Some((flag, _)) = ins
            .flags
            .iter()
            .find(|(k, _)| !allowed.contains(&k.as_str()))
        {
            return Err(self.invalid(ins, &format!("--{flag} is not supported by strata build")));
        }
        let words = self.expanded(ins)?;
        let Some((dest, names)) = words.split_last().filter(|(_, n)| !n.is_empty()) else {
            return Err(self.invalid(ins, "requires at least two arguments"));
        };
        if kw == "ADD" {
            if let Some(url) = names.iter().find(|n| n.contains("://")) {
                return Err(BuildError::source(
                    kw,
                    url,
                    "ADD from a URL is not supported: strata builds offline",
                ));
            }
        }
        let copy = CopySpec {
            kw,
            names,
            dest,
            chown: ins.flag("chown"),
        };
        let Some(from) = ins.flag("from") else {
            let ctx = self.ctx.clone();
            return self.copy_from(&ctx, &copy);
        };
        let image = self.image_named(&self.expand(ins, from)?)?;
        let root = self.root;
        let source = StepContainer::create(
            root,
            &image,
            vec![format!("#(nop) COPY --from={from}")],
            Vec::new(),
        )?;
        source.with_rootfs(|rootfs| self.copy_from(&Context::image(rootfs), &copy))?
    }

    /// The rest of a `COPY`/`ADD` once its source tree is at hand.
    fn copy_from(&mut self, tree: &Context, copy: &CopySpec<'_>) -> Result<()> {
        let CopySpec {
            kw,
            names,
            dest,
            chown,
        } = *copy;
        let sources = tree.sources(kw, names)?;
        let hash = tree.hash(&sources)?;
        // The step is named with the destination as written (moby's `in ./`); the working
        // directory it is relative to is part of the cache key through `WorkingDir`.
        // With `--chown`, moby writes the option and the hash with no space between them
        // (`--chown=1:1file:<sha256>`): kept, so that `docker history` reads the same.
        let comment = match chown {
            Some(owner) => format!("{kw} --chown={owner}{hash} in {dest} "),
            None => format!("{kw} {hash} in {dest} "),
        };
        let dest = self.in_image(dest);
        let step = self.nop_config(&comment, true);
        if self.cache_hit(&step)? {
            return Ok(());
        }
        let layer = self.change_files(&step, |rootfs| {
            let owner = match chown {
                Some(spec) => user::resolve(spec, rootfs, DefaultGroup::SameAsUser)
                    .map_err(|e| BuildError::source(kw, spec, e))?,
                None => (0, 0),
            };
            let req = CopyRequest {
                instruction: kw,
                sources: &sources,
                dest: &dest,
                owner,
            };
            copy::copy(tree, &req, rootfs)
        })?;
        self.record(&step, layer)
    }
}

/// A `COPY`/`ADD` as written, substituted.
#[derive(Clone, Copy)]
struct CopySpec<'a> {
    kw: &'a str,
    names: &'a [String],
    dest: &'a str,
    chown: Option<&'a str>,
}

/// `path` made absolute and lexically clean (`.`, `..`, doubled `/` resolved).
fn clean_abs(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_paths() {
        assert_eq!(clean_abs("/a/./b/../c//"), "/a/c");
        assert_eq!(clean_abs("/../.."), "/");
    }
}
