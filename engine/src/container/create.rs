//! `create`: a container's writable layer and records, as dockerd's `daemon.create` writes
//! them: the init layer `<mount id>-init` on the image's top layer (with the files moby's
//! `initlayer.Setup` makes: mount points for `/proc`, `/sys`, `/dev/pts`, `/dev/shm`, empty
//! `/etc/hosts`, `/etc/hostname`, `/etc/resolv.conf`, `/.dockerenv`, `/dev/console` and the
//! `/etc/mtab` link), the writable layer `<mount id>` on top of it,
//! `layerdb/mounts/<id>/{mount-id,init-id,parent}`, and `containers/<id>/` with
//! `config.v2.json`, `hostconfig.json`, `hostname` and `hosts`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use analyzers::format::layerdb::{init_id_of, MountRecordFiles, LAYERDB_MOUNTS};
use analyzers::ids::CacheId;
use serde::Deserialize;
use serde_json::json;

use super::record::{self, HostConfig, MountPoint, Record, State};
use crate::error::{Error, IoContext, Result};
use crate::image::config::ContainerConfig;
use crate::layer::overlay2::write;
use crate::root::Root;

/// What `docker create`/`docker run` takes (the flags strata implements).
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The image, by tag or id.
    pub image: String,
    /// `--name` (a generated one otherwise).
    pub name: Option<String>,
    /// The command; the image's `Cmd` when empty.
    pub cmd: Vec<String>,
    /// `--entrypoint` (an empty list clears the image's).
    pub entrypoint: Option<Vec<String>>,
    /// `-e NAME=value`, added to the image's environment.
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `--hostname` (the short id otherwise).
    pub hostname: Option<String>,
    /// `--memory`, bytes (0: none).
    pub memory: i64,
    /// `--cpus` × 10⁹ (0: none).
    pub nano_cpus: i64,
    /// `--read-only`.
    pub read_only: bool,
    /// `--rm`.
    pub auto_remove: bool,
    /// Volumes and binds, by destination.
    pub mounts: BTreeMap<String, MountPoint>,
    /// The `-v` strings, recorded as `HostConfig.Binds`.
    pub binds: Vec<String>,
    /// `-u user[:group]` (names or ids of the image's `/etc/passwd`, `/etc/group`); the
    /// image's `USER` when `None`.
    pub user: Option<String>,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt` (only `no-new-privileges` is implemented).
    pub security_opt: Vec<String>,
    /// `--pids-limit` (0 or -1: none).
    pub pids_limit: i64,
    /// `--label`, over the image's labels.
    pub labels: BTreeMap<String, String>,
    /// `--tmpfs PATH[:OPTIONS]`, by path.
    pub tmpfs: BTreeMap<String, String>,
    /// `--group-add`: more groups (names of the image's `/etc/group`, or gids).
    pub group_add: Vec<String>,
    /// `--stop-signal` (the image's otherwise).
    pub stop_signal: Option<String>,
    /// `--stop-timeout`, seconds.
    pub stop_timeout: Option<i64>,
}

impl CreateOptions {
    /// Refuses what strata cannot honour before anything is written: unknown capabilities,
    /// security options other than `no-new-privileges`, bad tmpfs options, a bad stop
    /// signal, a pids limit below -1.
    pub fn validate(&self) -> Result<()> {
        super::caps::effective(&self.cap_add, &self.cap_drop)?;
        super::security::no_new_privileges(&self.security_opt)?;
        super::tmpfs::validate(&self.tmpfs)?;
        if let Some(signal) = &self.stop_signal {
            super::stop::parse_signal(signal)?;
        }
        if self.pids_limit < -1 {
            return Err(Error::Invalid(format!(
                "HostConfig.PidsLimit {} is invalid (a positive number, or 0 or -1 for none)",
                self.pids_limit
            )));
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct ImageDefaults {
    #[serde(default)]
    config: ContainerConfig,
}

/// The default PATH dockerd gives a container whose image sets none.
pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Creates the container; returns its id.
pub fn create(root: &Root, opts: &CreateOptions) -> Result<String> {
    opts.validate()?;
    let asked = opts.name.as_deref().map(super::validate_name).transpose()?;
    if let Some(name) = &asked {
        if super::name_in_use(root, name)? {
            return Err(Error::Conflict(format!(
                "the container name \"{name}\" is already in use"
            )));
        }
    }
    let store = root.load()?;
    let image = store
        .resolve_image(&opts.image)
        .ok_or_else(|| Error::not_found("image", &opts.image))?;
    let bytes = fs::read(&image.config_path).at(&image.config_path)?;
    let defaults: ImageDefaults = serde_json::from_slice(&bytes)
        .map_err(|e| Error::malformed(&image.config_path, e.to_string()))?;
    let top = image
        .top_layer()
        .ok_or_else(|| Error::Invalid(format!("image {} has no layers", opts.image)))?;
    let top_cache = store
        .layers
        .get(top)
        .ok_or_else(|| Error::not_found("layer", top.0.as_str()))?
        .cache_id
        .clone();
    let id = crate::ids::random_hex64();
    let name = asked.unwrap_or_else(|| format!("/strata_{}", &id[..12]));
    let config = container_config(&defaults.config, opts, &id);
    let (path, args) = entry_command(&config)?;

    let mount_id = CacheId(crate::ids::random_hex64());
    let init_id = init_id_of(&mount_id);
    let driver = &root.driver;
    let init_dir = driver.layer_dir(&init_id);
    driver.build(&init_dir, Some(&top_cache))?;
    driver.publish(&init_dir, &init_id)?;
    let merged = driver.mount(&init_id)?;
    let setup =
        setup_init_layer(&merged).and_then(|()| check_user(&config.user, &opts.group_add, &merged));
    driver.unmount(&init_id)?;
    if let Err(err) = setup {
        driver.remove(&init_id)?;
        return Err(err);
    }
    let mount_points = match volumes_of(root, opts, &config) {
        Ok(points) => points,
        Err(err) => {
            driver.remove(&init_id)?;
            return Err(err);
        }
    };
    let rw_dir = driver.layer_dir(&mount_id);
    driver.build(&rw_dir, Some(&init_id))?;
    driver.publish(&rw_dir, &mount_id)?;

    let mounts = root.image_dir().join(LAYERDB_MOUNTS).join(&id);
    fs::create_dir_all(&mounts).at(&mounts)?;
    let record = MountRecordFiles {
        mount_id,
        init_id: Some(init_id),
        parent: Some(top.clone()),
    };
    for (name, bytes) in record.files() {
        write(&mounts.join(name), &bytes, 0o644)?;
    }

    let dir = super::container_dir(root, &id);
    fs::create_dir_all(&dir).at(&dir)?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o710)).at(&dir)?;
    let hostname = config.hostname.clone();
    write(
        &dir.join("hostname"),
        format!("{hostname}\n").as_bytes(),
        0o644,
    )?;
    write(
        &dir.join("hosts"),
        format!(
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\t{hostname}\n"
        )
        .as_bytes(),
        0o644,
    )?;
    let path_of = |f: &str| dir.join(f).display().to_string();
    let rec = Record {
        state: State::default(),
        id: id.clone(),
        created: crate::ids::now(),
        path,
        args,
        config,
        image: image.id.to_string(),
        name,
        driver: driver.name().to_owned(),
        log_path: path_of(&format!("{id}-json.log")),
        mount_points,
        rest: docker_extras(
            &path_of("hostname"),
            &path_of("hosts"),
            &path_of("resolv.conf"),
            super::security::no_new_privileges(&opts.security_opt)?,
        ),
    };
    write(&dir.join("resolv.conf"), b"", 0o644)?;
    record::save(root, &rec)?;
    record::save_host(root, &id, &host_config(opts))?;
    Ok(id)
}

/// Refuses a user `spec` or a `--group-add` group the image's `/etc/passwd` or `/etc/group`
/// (in `rootfs`) does not know, as the runtime would at start.
fn check_user(spec: &str, groups: &[String], rootfs: &Path) -> Result<()> {
    if !spec.is_empty() {
        super::user::resolve(spec, rootfs, super::user::DefaultGroup::Primary)
            .map_err(|detail| Error::Invalid(format!("user {spec:?}: {detail}")))?;
    }
    for group in groups {
        super::user::group_id(group, rootfs)
            .map_err(|detail| Error::Invalid(format!("HostConfig.GroupAdd: {detail}")))?;
    }
    Ok(())
}

/// The container's mount points: those asked for, and an anonymous volume for each of the
/// image's `VOLUME`s that none covers; every volume is created (and recorded) now, as
/// dockerd creates them at `create`. Their content is copied from the image at first start.
fn volumes_of(
    root: &Root,
    opts: &CreateOptions,
    config: &ContainerConfig,
) -> Result<BTreeMap<String, MountPoint>> {
    let mut mounts = opts.mounts.clone();
    for dest in config.volumes.iter().flat_map(|v| v.keys()) {
        if !mounts.contains_key(dest) {
            mounts.insert(dest.clone(), crate::volume::anonymous(dest));
        }
    }
    for mp in mounts.values().filter(|mp| mp.kind == "volume") {
        crate::volume::create(
            root,
            &crate::volume::CreateOptions {
                name: Some(mp.name.clone()),
                labels: None,
            },
        )?;
    }
    Ok(mounts)
}

fn container_config(image: &ContainerConfig, opts: &CreateOptions, id: &str) -> ContainerConfig {
    let mut env = image.env.clone().unwrap_or_default();
    if !env.iter().any(|e| e.starts_with("PATH=")) {
        env.insert(0, DEFAULT_PATH.to_owned());
    }
    for e in &opts.env {
        let key = e.split('=').next().unwrap_or(e);
        env.retain(|old| old.split('=').next() != Some(key));
        env.push(e.clone());
    }
    let (entrypoint, cmd) = match (&opts.entrypoint, opts.cmd.is_empty()) {
        (Some(ep), _) => (
            (!ep.is_empty()).then(|| ep.clone()),
            (!opts.cmd.is_empty()).then(|| opts.cmd.clone()),
        ),
        (None, true) => (image.entrypoint.clone(), image.cmd.clone()),
        (None, false) => (image.entrypoint.clone(), Some(opts.cmd.clone())),
    };
    ContainerConfig {
        hostname: opts.hostname.clone().unwrap_or_else(|| id[..12].to_owned()),
        user: opts.user.clone().unwrap_or_else(|| image.user.clone()),
        attach_stdout: true,
        attach_stderr: true,
        env: Some(env),
        cmd,
        image: opts.image.clone(),
        volumes: image.volumes.clone(),
        working_dir: opts
            .workdir
            .clone()
            .unwrap_or_else(|| image.working_dir.clone()),
        entrypoint,
        labels: Some({
            let mut labels = image.labels.clone().unwrap_or_default();
            labels.extend(opts.labels.clone());
            labels
        }),
        stop_signal: opts
            .stop_signal
            .clone()
            .or_else(|| image.stop_signal.clone()),
        stop_timeout: opts.stop_timeout,
        ..ContainerConfig::default()
    }
}

/// `Path` and `Args`: the entrypoint followed by the command.
fn entry_command(config: &ContainerConfig) -> Result<(String, Vec<String>)> {
    let mut all: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    all.extend(config.cmd.clone().unwrap_or_default());
    if all.is_empty() {
        return Err(Error::Invalid("no command specified".to_owned()));
    }
    let path = all.remove(0);
    Ok((path, all))
}

fn host_config(opts: &CreateOptions) -> HostConfig {
    let rest = json!({
        "ContainerIDFile": "",
        "LogConfig": {"Type": "json-file", "Config": {}},
        "NetworkMode": "none",
        "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
        "VolumeDriver": "",
        "VolumesFrom": null,
        "CgroupnsMode": "host",
        "Dns": [],
        "DnsOptions": [],
        "DnsSearch": [],
        "ExtraHosts": null,
        "IpcMode": "private",
        "Cgroup": "",
        "Links": null,
        "OomScoreAdj": 0,
        "PidMode": "",
        "Privileged": false,
        "PublishAllPorts": false,
        "UTSMode": "",
        "UsernsMode": "",
        "ShmSize": 67_108_864,
        "Runtime": "runc",
        "ConsoleSize": [0, 0],
        "Isolation": "",
        "CpuShares": 0,
        "CgroupParent": "",
        "MemoryReservation": 0,
        "MemorySwap": 0,
        "Mounts": null
    });
    HostConfig {
        binds: (!opts.binds.is_empty()).then(|| opts.binds.clone()),
        auto_remove: opts.auto_remove,
        memory: opts.memory,
        nano_cpus: opts.nano_cpus,
        readonly_rootfs: opts.read_only,
        cap_add: (!opts.cap_add.is_empty()).then(|| opts.cap_add.clone()),
        cap_drop: (!opts.cap_drop.is_empty()).then(|| opts.cap_drop.clone()),
        security_opt: (!opts.security_opt.is_empty()).then(|| opts.security_opt.clone()),
        pids_limit: (opts.pids_limit > 0).then_some(opts.pids_limit),
        tmpfs: (!opts.tmpfs.is_empty()).then(|| opts.tmpfs.clone()),
        group_add: (!opts.group_add.is_empty()).then(|| opts.group_add.clone()),
        rest: match rest {
            serde_json::Value::Object(map) => map,
            _ => serde_json::Map::new(),
        },
    }
}

/// The fields of `config.v2.json` that strata does not interpret but dockerd expects.
fn docker_extras(
    hostname: &str,
    hosts: &str,
    resolv: &str,
    no_new_privileges: bool,
) -> serde_json::Map<String, serde_json::Value> {
    let none_endpoint = json!({
        "IPAMConfig": null, "Links": null, "Aliases": null, "NetworkID": "", "EndpointID": "",
        "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "MacAddress": "", "DriverOpts": null
    });
    let extras = json!({
        "StreamConfig": {},
        "Managed": false,
        "NetworkSettings": {
            "Bridge": "", "SandboxID": "", "HairpinMode": false, "LinkLocalIPv6Address": "",
            "LinkLocalIPv6PrefixLen": 0, "Networks": {"none": none_endpoint}, "Service": null,
            "Ports": null, "SandboxKey": "", "SecondaryIPAddresses": null,
            "SecondaryIPv6Addresses": null, "IsAnonymousEndpoint": false,
            "HasSwarmEndpoint": false
        },
        "OS": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "RestartCount": 0,
        "HasBeenStartedBefore": false,
        "HasBeenManuallyStopped": false,
        "SecretReferences": null,
        "ConfigReferences": null,
        "AppArmorProfile": "",
        "HostnamePath": hostname,
        "HostsPath": hosts,
        "ShmPath": "",
        "ResolvConfPath": resolv,
        "SeccompProfile": "",
        "NoNewPrivileges": no_new_privileges
    });
    match extras {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// moby's `initlayer.Setup`, run on the mounted init layer.
fn setup_init_layer(merged: &Path) -> Result<()> {
    const ENTRIES: &[(&str, Option<&str>, bool)] = &[
        ("/dev/pts", None, true),
        ("/dev/shm", None, true),
        ("/proc", None, true),
        ("/sys", None, true),
        ("/.dockerenv", None, false),
        ("/etc/resolv.conf", None, false),
        ("/etc/hosts", None, false),
        ("/etc/hostname", None, false),
        ("/dev/console", None, false),
        ("/etc/mtab", Some("/proc/mounts"), false),
    ];
    for (rel, link, is_dir) in ENTRIES {
        let path = merged.join(rel.trim_start_matches('/'));
        let mut prev = merged.to_owned();
        for part in Path::new(rel.trim_start_matches('/')).components() {
            prev.push(part);
            let _ = nix::unistd::unlink(&prev);
        }
        if path.exists() {
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        match (link, is_dir) {
            (Some(target), _) => symlink(target, &path).at(&path)?,
            (None, true) => fs::create_dir_all(&path).at(&path)?,
            (None, false) => {
                fs::File::create(&path).at(&path)?;
                fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).at(&path)?;
            }
        }
    }
    Ok(())
}
