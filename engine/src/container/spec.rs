//! The OCI runtime spec of a container, as dockerd's `daemon/oci_linux.go` builds it for
//! runc with `--network none`: new pid, mount, uts, ipc and network namespaces; `/proc`,
//! a tmpfs `/dev`, `/dev/pts`, `/dev/shm`, `/dev/mqueue` and a read-only `/sys`; Docker's
//! default capabilities, masked and read-only paths; `/etc/hostname` and `/etc/hosts`
//! bound from `containers/<id>/`; memory and CPU limits in the cgroup `/strata/<id>`; the
//! process runs as the configured user, resolved in the image's `/etc/passwd`.

use std::path::Path;

use oci_spec::runtime::Spec;
use serde_json::{json, Value};

use super::record::{HostConfig, Record};
use super::user::{self, DefaultGroup};
use crate::error::{Error, Result};

/// Docker's default capabilities.
const CAPABILITIES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

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
    let caps: Vec<&str> = CAPABILITIES.to_vec();
    let (uid, gid) = match record.config.user.as_str() {
        "" => (0, 0),
        spec => {
            user::resolve(spec, rootfs, DefaultGroup::Primary).map_err(|detail| Error::Runtime {
                id: record.id.clone(),
                action: "resolving the user",
                detail,
            })?
        }
    };
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
    let mut resources = json!({
        "devices": [{"allow": false, "access": "rwm"}],
    });
    if host.memory > 0 {
        resources["memory"] = json!({"limit": host.memory});
    }
    if host.nano_cpus > 0 {
        let quota = host.nano_cpus.unsigned_abs() * CPU_PERIOD / 1_000_000_000;
        resources["cpu"] = json!({"quota": quota, "period": CPU_PERIOD});
    }
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": uid, "gid": gid},
            "args": args,
            "env": record.config.env.clone().unwrap_or_default(),
            "cwd": cwd,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": false
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
