//! Docker's JSON shapes for images: the container configuration (`container.Config`, used in
//! image configs, `config.v2.json` and `POST /containers/create`) and the image config
//! written on import. Field names and order are Go's, so the files read like dockerd's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// moby's `container.Config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerConfig {
    /// The container's hostname.
    pub hostname: String,
    /// Its domain name.
    pub domainname: String,
    /// The user the process runs as.
    pub user: String,
    /// Attach standard input.
    pub attach_stdin: bool,
    /// Attach standard output.
    pub attach_stdout: bool,
    /// Attach standard error.
    pub attach_stderr: bool,
    /// Ports the image documents (`EXPOSE`), `80/tcp` to `{}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<BTreeMap<String, serde_json::Value>>,
    /// Allocate a terminal.
    pub tty: bool,
    /// Keep standard input open.
    pub open_stdin: bool,
    /// Close standard input after one attach.
    pub stdin_once: bool,
    /// `NAME=value` environment.
    pub env: Option<Vec<String>>,
    /// The command (arguments to the entrypoint).
    pub cmd: Option<Vec<String>>,
    /// The image the container was made from, as the user named it.
    pub image: String,
    /// Anonymous volumes: paths inside the container (`VOLUME`).
    pub volumes: Option<BTreeMap<String, serde_json::Value>>,
    /// The working directory.
    pub working_dir: String,
    /// The entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// Instructions run in images built from this one.
    pub on_build: Option<Vec<String>>,
    /// Labels.
    pub labels: Option<BTreeMap<String, String>>,
    /// The signal `stop` sends (default `SIGTERM`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_signal: Option<String>,
    /// Seconds `stop` waits before SIGKILL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// The shell of shell-form instructions (`SHELL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<Vec<String>>,
    /// Fields strata does not interpret (`Healthcheck`, `ArgsEscaped`...), kept as read, so
    /// that an image built on another one keeps them.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// One `history[]` entry of an image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// When the step ran.
    pub created: String,
    /// Who made it (`MAINTAINER`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub author: String,
    /// The command that made it.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub created_by: String,
    /// A note (`Imported from -`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub comment: String,
    /// The step made no layer.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub empty_layer: bool,
}

/// `rootfs` of an image config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RootFs {
    /// Always `layers`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The layers' diff ids, bottom first.
    pub diff_ids: Vec<String>,
}

/// The image config (moby's `image.Image`): what an image id is the digest of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageConfig {
    /// A note about the image.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub comment: String,
    /// When the image was made.
    pub created: String,
    /// The configuration of the container that made it (empty for imports).
    #[serde(default)]
    pub container_config: ContainerConfig,
    /// The version of the engine that made it.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub docker_version: String,
    /// Who made it (`MAINTAINER`).
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub author: String,
    /// The configuration containers of this image start with.
    #[serde(default)]
    pub config: ContainerConfig,
    /// CPU architecture (`amd64`).
    pub architecture: String,
    /// Operating system (`linux`).
    pub os: String,
    /// The layers.
    pub rootfs: RootFs,
    /// How it was made, one entry a step.
    #[serde(default)]
    pub history: Vec<History>,
}

/// The running machine's architecture in Go's spelling (`GOARCH`).
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}
