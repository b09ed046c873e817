//! The instructions, one method each, as moby's `builder/dockerfile/dispatchers.go` runs them:
//! each updates the build state (the run configuration, ARGs in scope), names the step as
//! the classic builder names it in `container_config.Cmd` (and so in `docker history`), asks
//! the cache, and on a miss makes the step's change and commits its image. After the first
//! miss the cache is not asked again in that stage, as in moby: every later step of the
//! stage is rebuilt. The steps that change files are in [`files`], those that change only
//! the configuration in [`metadata`].

pub mod files;
pub mod metadata;

use std::collections::{BTreeMap, BTreeSet};

use analyzers::ids::ImageId;

use super::context::Context;
use super::dockerfile::{self, Args, Instruction};
use super::error::{BuildError, Result};
use super::image::{self, Base, StepImage};
use super::{words, BuildOptions, Event};
use crate::container::create::DEFAULT_PATH;
use crate::image::config::ContainerConfig;
use crate::layer::Layer;
use crate::root::Root;

/// The shell of shell-form instructions unless `SHELL` says otherwise.
const DEFAULT_SHELL: &[&str] = &["/bin/sh", "-c"];

/// The state of a build between steps.
pub struct Builder<'a> {
    root: &'a Root,
    opts: &'a BuildOptions,
    ctx: Context,
    file: String,
    escape: char,
    events: &'a mut dyn FnMut(Event),
    /// The image the next step stands on.
    base: Base,
    /// Whether a `FROM` has been seen.
    started: bool,
    /// The configuration the next image gets (moby's `runConfig`).
    run: ContainerConfig,
    /// Whether `CMD` was set in this stage (an `ENTRYPOINT` then keeps it).
    cmd_set: bool,
    /// ARGs declared in this stage, with their values.
    args: BTreeMap<String, Option<String>>,
    /// ARGs declared before the first `FROM`.
    meta_args: BTreeMap<String, Option<String>>,
    /// Build arguments some ARG declared.
    used: BTreeSet<String>,
    /// The final images of the stages before this one, by index (`"0"`) and by `AS` name.
    stages: BTreeMap<String, ImageId>,
    /// This stage's `AS` name, lower case.
    stage_name: Option<String>,
    /// This stage's `MAINTAINER`: the author of its images from there on.
    maintainer: String,
    /// A step missed the cache: no later step may use it.
    cache_busted: bool,
    /// Steps served from the cache.
    cached: usize,
}

impl<'a> Builder<'a> {
    /// A builder before the first instruction.
    pub fn new(
        root: &'a Root,
        opts: &'a BuildOptions,
        ctx: Context,
        file: &str,
        escape: char,
        events: &'a mut dyn FnMut(Event),
    ) -> Builder<'a> {
        Builder {
            root,
            opts,
            ctx,
            file: file.to_owned(),
            escape,
            events,
            base: Base::default(),
            started: false,
            run: ContainerConfig::default(),
            cmd_set: false,
            args: BTreeMap::new(),
            meta_args: BTreeMap::new(),
            used: BTreeSet::new(),
            stages: BTreeMap::new(),
            stage_name: None,
            maintainer: String::new(),
            cache_busted: opts.no_cache,
            cached: 0,
        }
    }

    /// Runs instruction `ins`, step `number` of `total`.
    pub fn step(&mut self, number: usize, total: usize, ins: &Instruction) -> Result<()> {
        (self.events)(Event::Step {
            number,
            total,
            instruction: ins.original.clone(),
        });
        self.dispatch(ins)
    }

    /// Runs instruction `ins` (a step of the Dockerfile, or an `ONBUILD` trigger).
    fn dispatch(&mut self, ins: &Instruction) -> Result<()> {
        if ins.keyword == "ARG" {
            return self.arg(ins);
        }
        if ins.keyword != "FROM" && !self.started {
            return Err(self.invalid(ins, "no FROM before this instruction"));
        }
        match ins.keyword.as_str() {
            "FROM" => self.from(ins),
            "RUN" => self.run_step(ins),
            "COPY" | "ADD" => self.copy_step(ins),
            "WORKDIR" => self.workdir(ins),
            "ENV" => self.env(ins),
            "LABEL" => self.label(ins),
            "EXPOSE" => self.expose(ins),
            "VOLUME" => self.volume(ins),
            "USER" => self.user(ins),
            "STOPSIGNAL" => self.stop_signal(ins),
            "CMD" => self.cmd(ins),
            "ENTRYPOINT" => self.entrypoint(ins),
            "MAINTAINER" => self.maintainer(ins),
            "HEALTHCHECK" => self.healthcheck(ins),
            "SHELL" => self.shell_form(ins),
            "ONBUILD" => self.onbuild(ins),
            other => Err(self.invalid(ins, &format!("unknown instruction: {other}"))),
        }
    }

    /// The final image and how many steps came from the cache; warns of unused arguments.
    pub fn finish(self) -> Result<(ImageId, usize)> {
        let unused: Vec<&str> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !self.used.contains(*k))
            .map(String::as_str)
            .collect();
        if !unused.is_empty() {
            (self.events)(Event::Warning(format!(
                "[Warning] One or more build-args [{}] were not consumed",
                unused.join(" ")
            )));
        }
        let id = self.base.id.ok_or_else(|| {
            crate::Error::Invalid("No image was generated. Is your Dockerfile empty?".to_owned())
        })?;
        Ok((id, self.cached))
    }

    fn invalid(&self, ins: &Instruction, detail: &str) -> BuildError {
        BuildError::dockerfile(&self.file, ins.line, format!("{}: {detail}", ins.keyword))
    }

    /// A variable's value for substitution: ENV first, then ARGs in scope (before the first
    /// `FROM`, the global ARGs).
    fn lookup(&self, name: &str) -> Option<String> {
        let from_env = self.run.env.iter().flatten().rev().find_map(|e| {
            e.split_once('=')
                .filter(|(k, _)| *k == name)
                .map(|(_, v)| v.to_owned())
        });
        let scope = if self.started {
            &self.args
        } else {
            &self.meta_args
        };
        from_env.or_else(|| scope.get(name).cloned().flatten())
    }

    fn expand(&self, ins: &Instruction, word: &str) -> Result<String> {
        words::expand(word, &|n| self.lookup(n), self.escape).map_err(|e| self.invalid(ins, &e))
    }

    /// The instruction's words, substituted (either form).
    fn expanded(&self, ins: &Instruction) -> Result<Vec<String>> {
        match &ins.args {
            Args::Exec(list) => list.iter().map(|w| self.expand(ins, w)).collect(),
            Args::Shell(text) => words::expand_all(text, &|n| self.lookup(n), self.escape)
                .map_err(|e| self.invalid(ins, &e)),
        }
    }

    fn single(&self, ins: &Instruction) -> Result<String> {
        let mut all = self.expanded(ins)?;
        match all.len() {
            1 => Ok(all.remove(0)),
            _ => Err(self.invalid(ins, "requires exactly one argument")),
        }
    }

    fn pairs(&self, ins: &Instruction) -> Result<Vec<(String, String)>> {
        let Args::Shell(text) = &ins.args else {
            return Err(self.invalid(ins, "expects KEY=value pairs"));
        };
        words::pairs(text, &|n| self.lookup(n), self.escape).map_err(|e| self.invalid(ins, &e))
    }

    fn shell(&self) -> Vec<String> {
        self.run
            .shell
            .clone()
            .unwrap_or_else(|| DEFAULT_SHELL.iter().map(|s| (*s).to_owned()).collect())
    }

    /// The argv of `RUN`/`CMD`/`ENTRYPOINT`: the exec form as is, the shell form to the shell.
    fn command(&self, ins: &Instruction) -> Vec<String> {
        match &ins.args {
            Args::Exec(list) => list.clone(),
            Args::Shell(text) => {
                let mut argv = self.shell();
                argv.push(text.clone());
                argv
            }
        }
    }

    /// The step's container configuration: the run configuration whose `Cmd` is the shell
    /// and `#(nop) ` then `comment` as two words (metadata steps) or one (`COPY`, `WORKDIR`).
    fn nop_config(&self, comment: &str, one_word: bool) -> ContainerConfig {
        let mut cmd = self.shell();
        if one_word {
            cmd.push(format!("#(nop) {comment}"));
        } else {
            cmd.push("#(nop) ".to_owned());
            cmd.push(comment.to_owned());
        }
        ContainerConfig {
            cmd: Some(cmd),
            ..self.run.clone()
        }
    }

    /// A step that only changes the configuration.
    fn metadata(&mut self, comment: &str) -> Result<()> {
        let step = self.nop_config(comment, false);
        if !self.cache_hit(&step)? {
            self.record(&step, None)?;
        }
        Ok(())
    }

    /// Asks the cache for `step`; on a hit, the cached image becomes the base.
    fn cache_hit(&mut self, step: &ContainerConfig) -> Result<bool> {
        if self.cache_busted {
            return Ok(false);
        }
        match image::probe(self.root, self.base.id.as_ref(), step)? {
            Some((id, config)) => {
                (self.events)(Event::UsingCache);
                self.run = config.config.clone();
                self.base = Base {
                    id: Some(id.clone()),
                    config: Some(config),
                };
                self.cached += 1;
                (self.events)(Event::Image { id });
                Ok(true)
            }
            None => {
                self.cache_busted = true;
                Ok(false)
            }
        }
    }

    /// Commits the step's image on the base; it becomes the base.
    fn record(&mut self, step: &ContainerConfig, layer: Option<Layer>) -> Result<()> {
        let id = image::commit(
            self.root,
            &self.base,
            &StepImage {
                container_config: step,
                config: &self.run,
                layer: layer.as_ref(),
                author: &self.maintainer,
            },
        )?;
        self.base = Base::load(self.root, &id)?;
        (self.events)(Event::Image { id });
        Ok(())
    }

    fn from(&mut self, ins: &Instruction) -> Result<()> {
        if ins.flags.iter().any(|(k, _)| k != "platform") {
            return Err(self.invalid(ins, "only --platform is accepted"));
        }
        if self.started {
            // The stage that ends: later stages may name its image.
            if let Some(id) = self.base.id.clone() {
                self.stages
                    .insert(self.stages_seen().to_string(), id.clone());
                if let Some(name) = self.stage_name.take() {
                    self.stages.insert(name, id);
                }
            }
        }
        self.started = false;
        let words = self.expanded(ins)?;
        let (name, alias) = match words.as_slice() {
            [name] => (name.clone(), None),
            [name, as_kw, alias] if as_kw.eq_ignore_ascii_case("as") => {
                (name.clone(), Some(alias.to_ascii_lowercase()))
            }
            _ => return Err(self.invalid(ins, "expects an image and an optional AS name")),
        };
        self.stage_name = alias;
        self.maintainer.clear();
        self.started = true;
        // Each stage asks the cache afresh, as moby's `initializeStage` resets its prober.
        self.cache_busted = self.opts.no_cache;
        self.args.clear();
        self.cmd_set = false;
        if name == "scratch" {
            self.base = Base::default();
            self.run = ContainerConfig::default();
            self.default_path();
            return Ok(());
        }
        let image = self.image_named(&name)?;
        self.base = Base::load(self.root, &image)?;
        self.run = self
            .base
            .config
            .as_ref()
            .map(|c| c.config.clone())
            .unwrap_or_default();
        self.default_path();
        (self.events)(Event::Image { id: image });
        self.run_triggers()
    }

    /// Runs the base image's `ONBUILD` triggers, which the new stage does not inherit, as
    /// moby's `dispatchTriggeredOnBuild` does.
    fn run_triggers(&mut self) -> Result<()> {
        let triggers = self.run.on_build.take().unwrap_or_default();
        if triggers.is_empty() {
            return Ok(());
        }
        (self.events)(Event::Triggers {
            count: triggers.len(),
        });
        for trigger in &triggers {
            let parsed = dockerfile::parse(trigger, &self.file)?;
            for ins in &parsed.instructions {
                self.dispatch(ins)?;
            }
        }
        Ok(())
    }

    /// How many stages have ended (the index of the current one).
    fn stages_seen(&self) -> usize {
        self.stages
            .keys()
            .filter(|k| k.bytes().all(|b| b.is_ascii_digit()))
            .count()
    }

    /// The image `name` means in `FROM` or `COPY --from`: an earlier stage (by `AS` name or
    /// index), else an image of the store.
    fn image_named(&self, name: &str) -> Result<ImageId> {
        if let Some(id) = self.stages.get(&name.to_ascii_lowercase()) {
            return Ok(id.clone());
        }
        let store = self.root.load()?;
        let image = store
            .resolve_image(name)
            .ok_or_else(|| crate::Error::Lookup {
                kind: "image",
                name: name.to_owned(),
                detail: "no such image in the store (strata builds offline: import or load \
                         it first)"
                    .to_owned(),
            })?;
        Ok(image.id.clone())
    }

    /// Gives the stage dockerd's default `PATH` when its image sets none, as moby's
    /// `setDefaultPath` does.
    fn default_path(&mut self) {
        let env = self.run.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.push(DEFAULT_PATH.to_owned());
        }
    }

    fn arg(&mut self, ins: &Instruction) -> Result<()> {
        let Args::Shell(text) = &ins.args else {
            return Err(self.invalid(ins, "expects NAME[=default]"));
        };
        let mut declared = Vec::new();
        for word in words::split(text, self.escape) {
            let (name, default) = match word.split_once('=') {
                Some((n, d)) => (n.to_owned(), Some(self.expand(ins, d)?)),
                None => (word.clone(), None),
            };
            let inherited = self.meta_args.get(&name).cloned().flatten();
            let value = self
                .opts
                .build_args
                .get(&name)
                .cloned()
                .or_else(|| default.clone())
                .or(inherited);
            self.used.insert(name.clone());
            declared.push(match &default {
                Some(d) => format!("{name}={d}"),
                None => name.clone(),
            });
            if self.started {
                self.args.insert(name, value);
            } else {
                self.meta_args.insert(name, value);
            }
        }
        if self.started {
            self.metadata(&format!("ARG {}", declared.join(" ")))?;
        }
        Ok(())
    }
}
