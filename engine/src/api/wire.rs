//! Docker's JSON shapes that are not the store's own files, and the framing of log streams.
//!
//! The store's files already are Docker's shapes where the API returns them (`Volume`,
//! `GET /system/df`'s report, image and container rows): those are served as they are.
//! What is here is what the API adds: the body of `POST /containers/create` (a
//! `container.Config` with a `HostConfig` inside), `GET /containers/{id}/json`, `/version`,
//! `/info`, and the 8-byte headers of a non-TTY log stream.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::container::create::CreateOptions;
use crate::container::record::{self, MountPoint};
use crate::error::{Error, Result};
use crate::image::config::ContainerConfig;
use crate::root::Root;

/// `POST /containers/create`'s body: the container's config and its `HostConfig`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateBody {
    /// `container.Config`.
    #[serde(flatten)]
    pub config: ContainerConfig,
    /// The host side: mounts and limits.
    #[serde(rename = "HostConfig", default)]
    pub host: CreateHost,
}

/// The parts of `HostConfig` strata acts on.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateHost {
    /// `-v` strings.
    pub binds: Option<Vec<String>>,
    /// `--mount`s.
    pub mounts: Option<Vec<ApiMount>>,
    /// Memory limit, bytes.
    pub memory: i64,
    /// CPUs × 10⁹.
    pub nano_cpus: i64,
    /// Read-only root filesystem.
    pub readonly_rootfs: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// Network mode; strata gives every container an empty network namespace (`none`).
    pub network_mode: String,
    /// `--cap-add`.
    pub cap_add: Option<Vec<String>>,
    /// `--cap-drop`.
    pub cap_drop: Option<Vec<String>>,
    /// `--security-opt`.
    pub security_opt: Option<Vec<String>>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--tmpfs`: options by path.
    pub tmpfs: Option<BTreeMap<String, String>>,
    /// `--group-add`.
    pub group_add: Option<Vec<String>>,
    /// `--restart`: only `no` is implemented.
    pub restart_policy: Option<RestartPolicy>,
    /// `--init`: not implemented (only `false` passes).
    pub init: Option<bool>,
}

/// `HostConfig.RestartPolicy`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// `no`, `always`, `unless-stopped`, `on-failure`.
    pub name: String,
    /// The retries of `on-failure`.
    pub maximum_retry_count: i64,
}

/// The network modes that mean what strata does: an empty network namespace.
const NETWORK_MODES: &[&str] = &["", "default", "none"];

/// One `HostConfig.Mounts[]` entry (moby `mount.Mount`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ApiMount {
    /// `bind`, `volume` or `tmpfs`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Host path or volume name.
    pub source: String,
    /// Path in the container.
    pub target: String,
    /// Mounted read-only.
    pub read_only: bool,
}

impl CreateBody {
    /// Reads a create body: every field is checked by [`super::fields::check`] (a field
    /// strata does not implement, set to a value that asks for something, is refused naming
    /// it), then the honoured ones are read.
    pub fn parse(bytes: &[u8]) -> Result<CreateBody> {
        let invalid = |e: serde_json::Error| Error::Invalid(format!("invalid create body: {e}"));
        let object: serde_json::Map<String, Value> =
            serde_json::from_slice(bytes).map_err(invalid)?;
        super::fields::check(&object)?;
        serde_json::from_value(Value::Object(object)).map_err(invalid)
    }

    /// The body the CLI sends for `opts` (`-v` strings as `Binds`, other mounts as `Mounts`).
    pub fn from_options(opts: &CreateOptions) -> CreateBody {
        let bound: Vec<MountPoint> = opts
            .binds
            .iter()
            .filter_map(|b| crate::volume::parse_bind(b).ok())
            .collect();
        let mounts: Vec<ApiMount> = opts
            .mounts
            .values()
            .filter(|m| !bound.iter().any(|b| b.destination == m.destination))
            .map(|m| ApiMount {
                kind: m.kind.clone(),
                source: if m.kind == "volume" {
                    m.name.clone()
                } else {
                    m.source.clone()
                },
                target: m.destination.clone(),
                read_only: !m.rw,
            })
            .collect();
        CreateBody {
            config: ContainerConfig {
                hostname: opts.hostname.clone().unwrap_or_default(),
                env: Some(opts.env.clone()),
                cmd: (!opts.cmd.is_empty()).then(|| opts.cmd.clone()),
                image: opts.image.clone(),
                working_dir: opts.workdir.clone().unwrap_or_default(),
                entrypoint: opts.entrypoint.clone(),
                user: opts.user.clone().unwrap_or_default(),
                labels: (!opts.labels.is_empty()).then(|| opts.labels.clone()),
                stop_signal: opts.stop_signal.clone(),
                stop_timeout: opts.stop_timeout,
                ..ContainerConfig::default()
            },
            host: CreateHost {
                binds: (!opts.binds.is_empty()).then(|| opts.binds.clone()),
                mounts: (!mounts.is_empty()).then_some(mounts),
                memory: opts.memory,
                nano_cpus: opts.nano_cpus,
                readonly_rootfs: opts.read_only,
                auto_remove: opts.auto_remove,
                network_mode: "none".to_owned(),
                cap_add: (!opts.cap_add.is_empty()).then(|| opts.cap_add.clone()),
                cap_drop: (!opts.cap_drop.is_empty()).then(|| opts.cap_drop.clone()),
                security_opt: (!opts.security_opt.is_empty()).then(|| opts.security_opt.clone()),
                pids_limit: (opts.pids_limit != 0).then_some(opts.pids_limit),
                tmpfs: (!opts.tmpfs.is_empty()).then(|| opts.tmpfs.clone()),
                group_add: (!opts.group_add.is_empty()).then(|| opts.group_add.clone()),
                restart_policy: None,
                init: None,
            },
        }
    }

    /// The engine's options for this body and the `name` query parameter. A terminal
    /// (`Tty`) or an attached standard input is refused: strata logs to json-file only; so
    /// are a network other than `none`, a restart policy other than `no` and `Init`.
    pub fn into_options(self, name: Option<String>) -> Result<CreateOptions> {
        if self.config.tty || self.config.open_stdin {
            return Err(Error::Invalid(
                "strata's engine runs containers without a terminal or standard input \
                 (no -t, no -i)"
                    .to_owned(),
            ));
        }
        if !NETWORK_MODES.contains(&self.host.network_mode.as_str()) {
            return Err(Error::Invalid(format!(
                "HostConfig.NetworkMode {:?} is not supported by strata's engine (only none)",
                self.host.network_mode
            )));
        }
        if let Some(policy) = &self.host.restart_policy {
            if !matches!(policy.name.as_str(), "" | "no") || policy.maximum_retry_count != 0 {
                return Err(Error::Invalid(format!(
                    "restart policy {} is not supported by strata's engine",
                    policy.name
                )));
            }
        }
        if self.host.init == Some(true) {
            return Err(Error::Invalid(
                "HostConfig.Init is not supported by strata's engine".to_owned(),
            ));
        }
        let mut mounts = BTreeMap::new();
        let binds = self.host.binds.unwrap_or_default();
        for b in &binds {
            let mp = crate::volume::parse_bind(b)?;
            mounts.insert(mp.destination.clone(), mp);
        }
        for m in self.host.mounts.unwrap_or_default() {
            let mp = crate::volume::mount(&m.kind, &m.source, &m.target, !m.read_only)
                .map_err(|d| Error::Invalid(format!("HostConfig.Mounts: {d}")))?;
            mounts.insert(mp.destination.clone(), mp);
        }
        for dest in self.config.volumes.iter().flat_map(|v| v.keys()) {
            if !mounts.contains_key(dest) {
                mounts.insert(dest.clone(), crate::volume::anonymous(dest));
            }
        }
        let hostname = self.config.hostname;
        let user = self.config.user;
        let workdir = self.config.working_dir;
        Ok(CreateOptions {
            image: self.config.image,
            name: name.filter(|n| !n.is_empty()),
            cmd: self.config.cmd.unwrap_or_default(),
            entrypoint: self.config.entrypoint,
            env: self.config.env.unwrap_or_default(),
            workdir: (!workdir.is_empty()).then_some(workdir),
            hostname: (!hostname.is_empty()).then_some(hostname),
            memory: self.host.memory,
            nano_cpus: self.host.nano_cpus,
            read_only: self.host.readonly_rootfs,
            auto_remove: self.host.auto_remove,
            mounts,
            binds,
            user: (!user.is_empty()).then_some(user),
            cap_add: self.host.cap_add.unwrap_or_default(),
            cap_drop: self.host.cap_drop.unwrap_or_default(),
            security_opt: self.host.security_opt.unwrap_or_default(),
            pids_limit: self.host.pids_limit.unwrap_or_default(),
            labels: self.config.labels.unwrap_or_default(),
            tmpfs: self.host.tmpfs.unwrap_or_default(),
            group_add: self.host.group_add.unwrap_or_default(),
            stop_signal: self.config.stop_signal.filter(|s| !s.is_empty()),
            stop_timeout: self.config.stop_timeout,
        })
    }
}

/// `GET /containers/{id}/json`: `config.v2.json` as the API shows it (`Id`, `State.Status`,
/// `HostConfig`, `Mounts[]`, `GraphDriver`).
pub fn inspect(root: &Root, id: &str) -> Result<Value> {
    let rec = record::load(root, id)?;
    let host = record::load_host(root, id)?;
    let mounts: Vec<Value> = rec
        .mount_points
        .values()
        .map(|m| {
            let source = if m.kind == "volume" {
                crate::volume::data_dir(root, &m.name).display().to_string()
            } else {
                m.source.clone()
            };
            json!({"Type": m.kind, "Name": m.name, "Source": source,
                   "Destination": m.destination, "Driver": m.driver, "Mode": m.relabel,
                   "RW": m.rw, "Propagation": m.propagation})
        })
        .collect();
    let mount_id = crate::container::shim::mount_id(root, id)
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let layer = root.path.join(&rec.driver).join(&mount_id);
    let mut value =
        serde_json::to_value(&rec).map_err(|e| Error::Invalid(format!("container {id}: {e}")))?;
    let Some(obj) = value.as_object_mut() else {
        return Err(Error::Invalid(format!("container {id}: not an object")));
    };
    obj.remove("ID");
    obj.remove("MountPoints");
    obj.remove("StreamConfig");
    obj.insert("Id".to_owned(), json!(id));
    obj.insert("State".to_owned(), {
        let mut state = serde_json::to_value(&rec.state).unwrap_or_default();
        state["Status"] = json!(rec.state.word());
        state
    });
    obj.insert(
        "HostConfig".to_owned(),
        serde_json::to_value(&host).unwrap_or_default(),
    );
    obj.insert("Mounts".to_owned(), Value::Array(mounts));
    obj.insert(
        "GraphDriver".to_owned(),
        json!({"Name": rec.driver, "Data": {
            "MergedDir": layer.join("merged"), "UpperDir": layer.join("diff"),
            "WorkDir": layer.join("work")}}),
    );
    obj.insert("Platform".to_owned(), json!("linux"));
    Ok(value)
}

/// `GET /version`.
pub fn version() -> Value {
    let kernel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let version = concat!("strata-", env!("CARGO_PKG_VERSION"));
    let arch = crate::image::config::go_arch();
    json!({
        "Platform": {"Name": "strata engine"},
        "Components": [{"Name": "Engine", "Version": version, "Details": {
            "ApiVersion": super::API_VERSION, "MinAPIVersion": super::MIN_API_VERSION,
            "Os": "linux", "Arch": arch, "KernelVersion": kernel}}],
        "Version": version,
        "ApiVersion": super::API_VERSION,
        "MinAPIVersion": super::MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": ""
    })
}

/// `GET /info`: counts, the driver and the root, and the host.
pub fn info(root: &Root) -> Result<Value> {
    let store = root.load()?;
    let running = store.containers.iter().filter(|c| c.state.running).count();
    let machine = super::machine::Machine::read();
    let limits = machine.limits;
    let uts = nix::sys::utsname::uname().ok();
    let field = |f: fn(&nix::sys::utsname::UtsName) -> &std::ffi::OsStr| {
        uts.as_ref()
            .map(|u| f(u).to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    Ok(json!({
        "ID": "",
        "Containers": store.containers.len(),
        "ContainersRunning": running,
        "ContainersPaused": 0,
        "ContainersStopped": store.containers.len() - running,
        "Images": store.images.len(),
        "Driver": root.driver.name(),
        "DockerRootDir": root.path,
        "KernelVersion": field(nix::sys::utsname::UtsName::release),
        "Name": field(nix::sys::utsname::UtsName::nodename),
        "OperatingSystem": "linux",
        "OSType": "linux",
        "Architecture": field(nix::sys::utsname::UtsName::machine),
        "NCPU": machine.ncpu,
        "MemTotal": machine.mem_total,
        "CgroupVersion": machine.cgroup_version.to_string(),
        "MemoryLimit": limits.memory,
        "SwapLimit": false,
        "KernelMemory": false,
        "KernelMemoryTCP": false,
        "CpuCfsPeriod": limits.cpu_cfs,
        "CpuCfsQuota": limits.cpu_cfs,
        "CPUShares": false,
        "CPUSet": false,
        "PidsLimit": limits.pids,
        "OomKillDisable": false,
        "IPv4Forwarding": false,
        "BridgeNfIptables": false,
        "BridgeNfIp6tables": false,
        "ServerVersion": concat!("strata-", env!("CARGO_PKG_VERSION")),
        "LoggingDriver": "json-file",
        "CgroupDriver": "cgroupfs",
        "DefaultRuntime": "libcontainer",
        "Plugins": {"Volume": ["local"], "Network": ["none"], "Log": ["json-file"]},
        "Warnings": limits.warnings()
    }))
}

/// Stream numbers of the multiplexed framing.
const STDOUT: u8 = 1;
const STDERR: u8 = 2;

/// One frame of a non-TTY log or attach stream (moby `stdcopy`): stream byte (1 stdout,
/// 2 stderr), three zero bytes, the payload's length (u32, big-endian), the payload.
pub fn frame(stream: &str, payload: &[u8]) -> Vec<u8> {
    let kind = if stream == "stderr" { STDERR } else { STDOUT };
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&[kind, 0, 0, 0]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The first complete frame at the start of `buf`: its stream name, payload, and the bytes
/// it took; `None` until `buf` holds a whole frame.
pub fn unframe(buf: &[u8]) -> Option<(&'static str, &[u8], usize)> {
    let header = buf.get(..8)?;
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let payload = buf.get(8..8 + len)?;
    let stream = if header[0] == STDERR {
        "stderr"
    } else {
        "stdout"
    };
    Some((stream, payload, 8 + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut buf = frame("stdout", b"out\n");
        buf.extend(frame("stderr", b"err\n"));
        assert_eq!(&buf[..8], &[1, 0, 0, 0, 0, 0, 0, 4]);
        let (s, p, n) = unframe(&buf).unwrap();
        assert_eq!((s, p), ("stdout", &b"out\n"[..]));
        let (s, p, _) = unframe(&buf[n..]).unwrap();
        assert_eq!((s, p), ("stderr", &b"err\n"[..]));
        assert!(unframe(&buf[..5]).is_none());
    }

    #[test]
    fn create_bodies_round_trip() {
        let mut opts = CreateOptions {
            image: "bb:1".to_owned(),
            name: Some("x".to_owned()),
            cmd: vec!["sh".to_owned()],
            binds: vec!["data:/data".to_owned()],
            memory: 1 << 26,
            ..CreateOptions::default()
        };
        let bind = crate::volume::parse_bind("data:/data").unwrap();
        opts.mounts.insert("/data".to_owned(), bind);
        let tmpfs = crate::volume::mount("tmpfs", "", "/t", true).unwrap();
        opts.mounts.insert("/t".to_owned(), tmpfs);
        let body = CreateBody::from_options(&opts);
        let json = serde_json::to_string(&body).unwrap();
        let back = CreateBody::parse(json.as_bytes()).unwrap();
        let got = back.into_options(Some("x".to_owned())).unwrap();
        assert_eq!(got.mounts, opts.mounts);
        assert_eq!(
            (got.image, got.cmd, got.memory),
            ("bb:1".into(), opts.cmd, 1 << 26)
        );
    }
}
