//! Volumes (the `local` driver's layout, moby `volume/local`): `volumes/<name>/_data`, named
//! or anonymous (a random 64-hex name, from `-v /path` or an image's `VOLUME`), filled from
//! the image's content at the mount point on first use, as Docker does; their records in
//! `volumes/metadata.db` ([`metadata`]); the copy of the image's content into a fresh volume
//! ([`copy`]); and the mounts a container's `MountPoints` turn into at start (volumes, binds,
//! tmpfs).

pub mod copy;
pub mod metadata;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use analyzers::layout::{VOLUMES_DIR, VOLUME_DATA};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::container::record::{MountPoint, Record};
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

/// A volume, as `GET /volumes` lists it and `docker volume inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Volume {
    /// When it was created (RFC 3339, the ctime of `volumes/<name>`, as dockerd reports it).
    pub created_at: String,
    /// Always `local`.
    pub driver: String,
    /// Labels recorded in `metadata.db` (`null` when none were recorded).
    pub labels: Option<BTreeMap<String, String>>,
    /// `<root>/volumes/<name>/_data`.
    pub mountpoint: String,
    /// Its name.
    pub name: String,
    /// Driver options recorded in `metadata.db`.
    pub options: Option<BTreeMap<String, String>>,
    /// Always `local`.
    pub scope: String,
}

impl From<&analyzers::graph::volume::Volume> for Volume {
    fn from(v: &analyzers::graph::volume::Volume) -> Self {
        Volume {
            created_at: v
                .created
                .map(analyzers::usage::df::rfc3339)
                .unwrap_or_default(),
            driver: "local".to_owned(),
            labels: v.labels.clone(),
            mountpoint: v.data.display().to_string(),
            name: v.name.clone(),
            options: v.recorded_options.clone(),
            scope: "local".to_owned(),
        }
    }
}

/// `volumes/<name>/_data`.
pub fn data_dir(root: &Root, name: &str) -> std::path::PathBuf {
    root.path.join(VOLUMES_DIR).join(name).join(VOLUME_DATA)
}

/// What `docker volume create` takes.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The name; a random anonymous one when `None`.
    pub name: Option<String>,
    /// `--label`s, recorded in `metadata.db` (`None` records `null`, as dockerd does for the
    /// volumes it makes for containers).
    pub labels: Option<BTreeMap<String, String>>,
}

/// Creates a volume and records it in `metadata.db`; an existing one is returned as it is,
/// as `docker volume create` does.
pub fn create(root: &Root, opts: &CreateOptions) -> Result<Volume> {
    let name = match &opts.name {
        Some(n) if !crate::ids::restricted_name(n) => {
            return Err(Error::Invalid(format!(
                "{n:?} includes invalid characters for a local volume name"
            )))
        }
        Some(n) => n.clone(),
        None => crate::ids::random_hex64(),
    };
    let data = data_dir(root, &name);
    if !data.is_dir() {
        fs::create_dir_all(&data).at(&data)?;
        let options = opts.labels.as_ref().map(|_| BTreeMap::new());
        metadata::record(root, &name, opts.labels.as_ref(), options.as_ref())?;
    }
    inspect(root, &name)
}

/// Every local volume, by name.
pub fn list(root: &Root) -> Result<Vec<Volume>> {
    let mut problems = Vec::new();
    let volumes =
        analyzers::graph::volume::load(&root.jail, &root.path.join(VOLUMES_DIR), &mut problems);
    if let Some(p) = problems.into_iter().next() {
        return Err(Error::malformed(p.path, p.detail));
    }
    Ok(volumes.iter().map(Volume::from).collect())
}

/// Volume `name`.
pub fn inspect(root: &Root, name: &str) -> Result<Volume> {
    list(root)?
        .into_iter()
        .find(|v| v.name == name)
        .ok_or_else(|| Error::not_found("volume", name))
}

/// The names of the volumes the containers of the store mount.
fn in_use(root: &Root) -> Result<Vec<String>> {
    let store = root.load()?;
    Ok(store
        .volumes
        .iter()
        .filter(|v| store.volume_refs(&v.name) > 0)
        .map(|v| v.name.clone())
        .collect())
}

/// Removes volume `name` and its record, unless a container uses it.
pub fn remove(root: &Root, name: &str) -> Result<()> {
    inspect(root, name)?;
    if in_use(root)?.iter().any(|n| n == name) {
        return Err(Error::Conflict(format!(
            "remove {name}: volume is in use by a container"
        )));
    }
    delete(root, name)
}

fn delete(root: &Root, name: &str) -> Result<()> {
    crate::layer::extract::remove_all(&root.path.join(VOLUMES_DIR).join(name))?;
    metadata::forget(root, name)
}

/// What `prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pruned {
    /// The volumes removed, by name.
    pub volumes_deleted: Vec<String>,
    /// Apparent bytes of their files (hard links once), as dockerd's `directory.Size`.
    pub space_reclaimed: u64,
}

/// Removes the volumes no container uses (`docker volume prune`, which since API 1.42 spares
/// named ones unless asked; strata follows API 1.41: all unused).
pub fn prune(root: &Root) -> Result<Pruned> {
    let used = in_use(root)?;
    let mut pruned = Pruned::default();
    for v in list(root)? {
        if !used.contains(&v.name) {
            let data = std::path::PathBuf::from(&v.mountpoint);
            let usage = analyzers::walk::measure(
                &root.jail,
                &[data],
                &analyzers::walk::WalkOptions::default(),
            );
            pruned.space_reclaimed += usage.iter().map(|u| u.files_apparent).sum::<u64>();
            delete(root, &v.name)?;
            pruned.volumes_deleted.push(v.name);
        }
    }
    Ok(pruned)
}

/// Removes the anonymous volumes of a container (`rm -v`, `--rm`).
pub fn remove_anonymous(root: &Root, rec: &Record) -> Result<()> {
    for mp in rec.mount_points.values() {
        if mp.kind == "volume" && analyzers::ids::is_hex64(&mp.name) {
            let _ = remove(root, &mp.name);
        }
    }
    Ok(())
}

/// The OCI mounts of a container's `MountPoints`, creating missing volumes and filling empty
/// ones from the image (`rootfs` is the mounted root filesystem) on first use.
///
/// Every destination is resolved inside `rootfs` ([`crate::rootfs_path`]), as a chroot
/// would resolve it: an image's `VOLUME /../../etc` is the image's `/etc`, and a `VOLUME
/// /data` where the image has `data -> /outside` is the image's `/outside`, never the
/// host's. A destination that resolves to the root itself is refused.
pub fn mounts_for(root: &Root, rec: &Record, rootfs: &Path) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for mp in rec.mount_points.values() {
        let inside = crate::rootfs_path::resolve(rootfs, &mp.destination)?;
        if inside.as_os_str().is_empty() {
            return Err(Error::Invalid(format!(
                "mount destination {:?} of container {} resolves to the container's root",
                mp.destination, rec.id
            )));
        }
        let destination = Path::new("/").join(&inside);
        let mut options = vec!["rbind", "rprivate"];
        if !mp.rw {
            options.push("ro");
        }
        match mp.kind.as_str() {
            "tmpfs" => out.push(json!({
                "destination": destination, "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "noexec"]
            })),
            "volume" => {
                create(
                    root,
                    &CreateOptions {
                        name: Some(mp.name.clone()),
                        labels: None,
                    },
                )?;
                let data = data_dir(root, &mp.name);
                if mp.copy_data && fs::read_dir(&data).at(&data)?.next().is_none() {
                    copy::copy_tree(&rootfs.join(&inside), &data)?;
                }
                out.push(json!({"destination": destination, "type": "bind",
                                "source": data, "options": options}));
            }
            _ => out.push(json!({"destination": destination, "type": "bind",
                                 "source": mp.source, "options": options})),
        }
    }
    Ok(out)
}

/// Parses `-v NAME:DST[:ro]`, `-v /HOST:DST[:ro]` and `-v DST` (anonymous).
pub fn parse_bind(spec: &str) -> Result<MountPoint> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, mode) = match parts.as_slice() {
        [dst] => ("", *dst, ""),
        [src, dst] => (*src, *dst, ""),
        [src, dst, mode] => (*src, *dst, *mode),
        _ => {
            return Err(Error::Invalid(format!(
                "invalid volume specification: {spec:?}"
            )))
        }
    };
    if !dest.starts_with('/') {
        return Err(Error::Invalid(format!(
            "invalid volume specification: {spec:?}: the destination must be absolute"
        )));
    }
    let rw = match mode {
        "" | "rw" => true,
        "ro" => false,
        other => {
            return Err(Error::Invalid(format!(
                "invalid mode {other:?} in {spec:?}"
            )))
        }
    };
    Ok(mount_point(source, dest, rw))
}

/// An anonymous volume at `destination` (`-v /path`, or an image's `VOLUME`).
pub fn anonymous(destination: &str) -> MountPoint {
    mount_point("", destination, true)
}

fn mount_point(source: &str, dest: &str, rw: bool) -> MountPoint {
    let (kind, name, driver, source) = if source.starts_with('/') {
        ("bind", String::new(), String::new(), source.to_owned())
    } else if source.is_empty() {
        (
            "volume",
            crate::ids::random_hex64(),
            "local".to_owned(),
            String::new(),
        )
    } else {
        (
            "volume",
            source.to_owned(),
            "local".to_owned(),
            String::new(),
        )
    };
    MountPoint {
        source,
        destination: dest.to_owned(),
        rw,
        name,
        driver,
        kind: kind.to_owned(),
        relabel: if rw { String::new() } else { "ro".to_owned() },
        propagation: if kind == "bind" {
            "rprivate".to_owned()
        } else {
            String::new()
        },
        copy_data: kind == "volume",
    }
}

/// Parses `--mount type=bind|volume|tmpfs,source=…,target=…[,readonly]`.
pub fn parse_mount(spec: &str) -> Result<MountPoint> {
    let mut kind = "volume";
    let (mut source, mut target, mut rw) = ("", "", true);
    for field in spec.split(',') {
        let (key, value) = field.split_once('=').unwrap_or((field, ""));
        match key {
            "type" => kind = value,
            "source" | "src" => source = value,
            "target" | "destination" | "dst" => target = value,
            "readonly" | "ro" => rw = !(value.is_empty() || value == "true" || value == "1"),
            other => {
                return Err(Error::Invalid(format!(
                    "unexpected key {other:?} in --mount {spec:?}"
                )))
            }
        }
    }
    mount(kind, source, target, rw)
        .map_err(|detail| Error::Invalid(format!("--mount {spec:?}: {detail}")))
}

/// The mount point of a `--mount` (or the API's `HostConfig.Mounts[]`): `kind` is `bind`
/// (`source` an absolute host path), `volume` (`source` a volume name, anonymous when empty)
/// or `tmpfs`; `target` must be absolute.
pub fn mount(kind: &str, source: &str, target: &str, rw: bool) -> Result<MountPoint, String> {
    if !target.starts_with('/') {
        return Err("target must be absolute".to_owned());
    }
    match kind {
        "bind" if source.starts_with('/') => Ok(mount_point(source, target, rw)),
        "volume" if !source.starts_with('/') => Ok(mount_point(source, target, rw)),
        "tmpfs" => Ok(MountPoint {
            kind: "tmpfs".to_owned(),
            copy_data: false,
            ..mount_point("/", target, rw)
        }),
        _ => Err(format!("bad type {kind:?} or source {source:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flags_parse_as_docker() {
        let v = parse_bind("data:/data").unwrap();
        assert_eq!(
            (v.kind.as_str(), v.name.as_str(), v.rw),
            ("volume", "data", true)
        );
        let b = parse_bind("/host:/in:ro").unwrap();
        assert_eq!(
            (b.kind.as_str(), b.source.as_str(), b.rw),
            ("bind", "/host", false)
        );
        assert!(analyzers::ids::is_hex64(&parse_bind("/anon").unwrap().name));
        assert!(parse_bind("a:b").is_err());
        let t = parse_mount("type=tmpfs,target=/t").unwrap();
        assert_eq!(t.kind, "tmpfs");
        let m = parse_mount("type=bind,source=/s,target=/d,readonly").unwrap();
        assert!(!m.rw);
    }
}
