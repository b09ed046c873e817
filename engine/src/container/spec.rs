//! The OCI runtime spec of a container, as dockerd's `daemon/oci_linux.go` builds it for
//! runc with `--network none`: new pid, mount, uts, ipc and network namespaces; `/proc`,
//! a tmpfs `/dev`, `/dev/pts`, `/dev/shm`, `/dev/mqueue` and a read-only `/sys`, and the
//! `--tmpfs` mounts; Docker's default capabilities changed by `--cap-add`/`--cap-drop`,
//! `no-new-privileges`, masked and read-only paths; `/etc/hostname` and `/etc/hosts`
//! bound from `containers/<id>/`; memory, CPU and pids limits in the cgroup
//! `/strata/<id>`; the process runs as the configured user, resolved in the image's
//! `/etc/passwd` and `/etc/group` (with its supplementary groups and `--group-add`'s).

use std::path::Path;

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

use super::record::{HostConfig, Record};
use super::user::{self, DefaultGroup};
use crate::error::{Error, Result};

/// The capability sets of a process running as `uid` with `caps`: as moby's
/// `SetCapabilities`, a process not run as root keeps only the bounding set (no effective
/// or permitted capabilities, as `execve` would leave it).
fn capabilities(caps: &[String], uid: u32) -> Value {
    if uid == 0 {
        json!({"bounding": caps, "effective": caps, "permitted": caps})
    } else {
        json!({"bounding": caps})
    }
}

/// CFS period dockerd uses for `--cpus` (100 ms, in µs).
const CPU_PERIOD: u64 = 100_000;

/// The cgroup path of container `id` (relative to each hierarchy's root).
pub fn cgroup_path(id: &str) -> String {
    format!("/strata/{id}")
}

/// The spec for running `record` with root filesystem `rootfs`; `dir` is
/// `containers/<id>/`; `mounts` are the volume and bind mounts already resolved.
pub fn build(
    record: &Record,
    host: &HostConfig,
    rootfs: &Path,
    dir: &Path,
    mounts: Vec<Value>,
) -> Result<Spec> {
    let mut args = vec![record.path.clone()];
    args.extend(record.args.iter().cloned());
    let cwd = if record.config.working_dir.is_empty() {
        "/".to_owned()
    } else {
        record.config.working_dir.clone()
    };
    let caps = super::caps::effective(
        host.cap_add.as_deref().unwrap_or_default(),
        host.cap_drop.as_deref().unwrap_or_default(),
    )?;
    let no_new_privileges =
        super::security::no_new_privileges(host.security_opt.as_deref().unwrap_or_default())?;
    let (uid, gid, additional) = match record.config.user.as_str() {
        "" => (0, 0, Vec::new()),
        spec => {
            let (uid, gid) =
                user::resolve(spec, rootfs, DefaultGroup::Primary).map_err(|detail| {
                    Error::Runtime {
                        id: record.id.clone(),
                        action: "resolving the user",
                        detail,
                    }
                })?;
            (uid, gid, user::supplementary(spec, rootfs))
        }
    };
    let mut additional = additional;
    for group in host.group_add.iter().flatten() {
        additional.push(
            user::group_id(group, rootfs).map_err(|detail| Error::Runtime {
                id: record.id.clone(),
                action: "resolving --group-add",
                detail,
            })?,
        );
    }
    let mut all_mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", "ro"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/etc/hostname", "type": "bind",
               "source": dir.join("hostname"), "options": ["rbind", "rprivate"]}),
        json!({"destination": "/etc/hosts", "type": "bind",
               "source": dir.join("hosts"), "options": ["rbind", "rprivate"]}),
    ];
    all_mounts.extend(mounts);
    if let Some(tmpfs) = &host.tmpfs {
        all_mounts.extend(super::tmpfs::mounts(tmpfs));
    }
    let mut resources = json!({
        "devices": [{"allow": false, "access": "rwm"}],
    });
    if host.memory > 0 {
        resources["memory"] = json!({"limit": host.memory});
    }
    if let Some(limit) = host.pids_limit.filter(|l| *l > 0) {
        resources["pids"] = json!({"limit": limit});
    }
    if host.nano_cpus > 0 {
        let quota = host.nano_cpus.unsigned_abs() * CPU_PERIOD / 1_000_000_000;
        resources["cpu"] = json!({"quota": quota, "period": CPU_PERIOD});
    }
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": uid, "gid": gid, "additionalGids": additional},
            "args": args,
            "env": record.config.env.clone().unwrap_or_default(),
            "cwd": cwd,
            "capabilities": capabilities(&caps, uid),
            "noNewPrivileges": no_new_privileges
        },
        "root": {"path": rootfs, "readonly": host.readonly_rootfs},
        "hostname": record.config.hostname,
        "mounts": all_mounts,
        "linux": {
            "namespaces": [
                {"type": "pid"}, {"type": "mount"}, {"type": "uts"},
                {"type": "ipc"}, {"type": "network"}
            ],
            "cgroupsPath": cgroup_path(&record.id),
            "resources": resources,
            "maskedPaths": [
                "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    });
    serde_json::from_value(spec).map_err(|e| Error::Runtime {
        id: record.id.clone(),
        action: "building the OCI spec",
        detail: e.to_string(),
    })
}
