//! The steps that change only the configuration (`ENV`, `LABEL`, `EXPOSE`, `VOLUME`, `USER`,
//! `STOPSIGNAL`, `CMD`, `ENTRYPOINT`, `MAINTAINER`, `HEALTHCHECK`, `SHELL`, `ONBUILD`): each
//! updates the run configuration and commits an image with no layer, named as moby's
//! dispatchers name it.

use std::collections::BTreeMap;

use super::Builder;
use crate::build::dockerfile::{Args, Instruction};
use crate::build::error::Result;
use crate::build::health::Health;
use crate::build::words;

impl Builder<'_> {
    /// `ENV KEY=value...`: set in the environment, replacing earlier values.
    pub(super) fn env(&mut self, ins: &Instruction) -> Result<()> {
        let pairs = self.pairs(ins)?;
        let mut env = self.run.env.take().unwrap_or_default();
        for (k, v) in &pairs {
            env.retain(|e| e.split('=').next() != Some(k));
            env.push(format!("{k}={v}"));
        }
        self.run.env = Some(env);
        self.metadata(&format!("ENV {}", joined_pairs(&pairs)))
    }

    /// `LABEL KEY=value...`.
    pub(super) fn label(&mut self, ins: &Instruction) -> Result<()> {
        let pairs = self.pairs(ins)?;
        let labels = self.run.labels.get_or_insert_with(BTreeMap::new);
        labels.extend(pairs.iter().cloned());
        self.metadata(&format!("LABEL {}", joined_pairs(&pairs)))
    }

    /// `EXPOSE PORT[/PROTO]...` (named, as moby names it, with the ports as written, sorted).
    pub(super) fn expose(&mut self, ins: &Instruction) -> Result<()> {
        let mut ports = self.expanded(ins)?;
        ports.sort();
        let exposed = self.run.exposed_ports.get_or_insert_with(BTreeMap::new);
        for p in &ports {
            let key = if p.contains('/') {
                p.clone()
            } else {
                format!("{p}/tcp")
            };
            exposed.insert(key, serde_json::json!({}));
        }
        self.metadata(&format!("EXPOSE {}", ports.join(" ")))
    }

    /// `VOLUME PATH...` (JSON or words).
    pub(super) fn volume(&mut self, ins: &Instruction) -> Result<()> {
        let vols = self.expanded(ins)?;
        if vols.iter().any(String::is_empty) {
            return Err(self.invalid(ins, "VOLUME specified can not be an empty string"));
        }
        let volumes = self.run.volumes.get_or_insert_with(BTreeMap::new);
        for v in &vols {
            volumes.insert(v.clone(), serde_json::json!({}));
        }
        self.metadata(&format!("VOLUME [{}]", vols.join(" ")))
    }

    /// `USER NAME[:GROUP]`: later `RUN`s and the image run as it.
    pub(super) fn user(&mut self, ins: &Instruction) -> Result<()> {
        self.run.user = self.single(ins)?;
        self.metadata(&format!("USER {}", self.run.user))
    }

    /// `STOPSIGNAL SIGNAL`.
    pub(super) fn stop_signal(&mut self, ins: &Instruction) -> Result<()> {
        let signal = self.single(ins)?;
        self.run.stop_signal = Some(signal.clone());
        self.metadata(&format!("STOPSIGNAL {signal}"))
    }

    /// `CMD`: the default command.
    pub(super) fn cmd(&mut self, ins: &Instruction) -> Result<()> {
        let cmd = self.command(ins);
        self.run.cmd = Some(cmd.clone());
        self.cmd_set = true;
        self.metadata(&format!("CMD {}", words::go_quoted(&cmd)))
    }

    /// `ENTRYPOINT`: also drops a `CMD` inherited from the base image, as moby does.
    pub(super) fn entrypoint(&mut self, ins: &Instruction) -> Result<()> {
        let entrypoint = self.command(ins);
        self.run.entrypoint = Some(entrypoint.clone());
        if !self.cmd_set {
            self.run.cmd = None;
        }
        self.metadata(&format!("ENTRYPOINT {}", words::go_quoted(&entrypoint)))
    }

    /// `MAINTAINER NAME`: taken as written (Docker substitutes no variables here).
    pub(super) fn maintainer(&mut self, ins: &Instruction) -> Result<()> {
        let Args::Shell(name) = &ins.args else {
            return Err(self.invalid(ins, "expects a name"));
        };
        self.maintainer = name.clone();
        self.metadata(&format!("MAINTAINER {}", self.maintainer))
    }

    /// `HEALTHCHECK`: the config's `Healthcheck`.
    pub(super) fn healthcheck(&mut self, ins: &Instruction) -> Result<()> {
        let Args::Shell(rest) = &ins.args else {
            return Err(self.invalid(ins, "expects NONE or CMD and a command"));
        };
        let health = Health::parse(&ins.flags, rest).map_err(|e| self.invalid(ins, &e))?;
        self.run
            .rest
            .insert("Healthcheck".to_owned(), health.to_json());
        self.metadata(&health.comment())
    }

    /// `SHELL [...]`: the shell of later shell-form instructions.
    pub(super) fn shell_form(&mut self, ins: &Instruction) -> Result<()> {
        let Args::Exec(shell) = &ins.args else {
            return Err(self.invalid(ins, "SHELL requires the arguments to be in JSON form"));
        };
        self.run.shell = Some(shell.clone());
        self.metadata(&format!("SHELL [{}]", shell.join(" ")))
    }

    /// `ONBUILD INSTRUCTION`: a trigger that builds `FROM` this image run first.
    pub(super) fn onbuild(&mut self, ins: &Instruction) -> Result<()> {
        let Args::Shell(text) = &ins.args else {
            return Err(self.invalid(ins, "expects an instruction"));
        };
        let trigger = text.split_whitespace().next().unwrap_or_default();
        if ["ONBUILD", "FROM", "MAINTAINER"].contains(&trigger.to_ascii_uppercase().as_str()) {
            return Err(self.invalid(
                ins,
                &format!("{trigger} isn't allowed as an ONBUILD trigger"),
            ));
        }
        self.run
            .on_build
            .get_or_insert_with(Vec::new)
            .push(text.clone());
        self.metadata(&format!("ONBUILD {text}"))
    }
}

fn joined_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
