//! What a starting daemon repairs: the state a crash (of the daemon, of supervisors, of the
//! machine) left behind, so that the store says what runs and nothing stale stays mounted.
//!
//! # Semantics of a restart
//!
//! Containers are run by their supervisors, not by the daemon (as containerd-shim runs them
//! for dockerd). A daemon that dies, even by SIGKILL, leaves them running, and the restarted
//! daemon finds them as they are: running containers whose supervisor lives are kept (what
//! dockerd calls live restore). A container recorded running whose supervisor is gone has
//! nobody to log its output or record its exit: it is killed (SIGKILL to its pid 1, which
//! ends its pid namespace), its runtime state, cgroups and mount are removed, and it is
//! recorded exited (137 when it was killed here, 255 when it was already gone), or removed if
//! it was created with `--rm`.
//!
//! Then whatever no live container accounts for is removed: mounts under the driver's home,
//! the cgroups of the root's other containers, libcontainer state and bundles in the exec
//! root, and layers being written when the crash came (the root's `tmp/` and `layerdb/tmp/`,
//! which hold nothing that counts until it is renamed into place).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use analyzers::layout::{CONTAINERS_DIR, LAYERDB_TMP};
use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use crate::container::{exec_root, record, remove, shim, spec};
use crate::error::Result;
use crate::root::Root;

/// What [`reconcile`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Containers whose supervisor lives (running, or being started), kept.
    pub live: Vec<String>,
    /// Containers recorded running without a supervisor, now recorded exited.
    pub stopped: Vec<String>,
    /// `--rm` containers among those, removed.
    pub removed: Vec<String>,
    /// Mount points unmounted.
    pub unmounted: Vec<PathBuf>,
    /// Cgroup directories removed.
    pub cgroups: Vec<PathBuf>,
    /// Staged layer content and records removed.
    pub staged: Vec<PathBuf>,
}

/// How long a killed container's pid 1 may take to go.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// Repairs `root` (see the module documentation).
pub fn reconcile(root: &Root) -> Result<Reconciled> {
    let mut done = Reconciled::default();
    let ids = container_ids(root);
    for id in ids.clone() {
        let Ok(rec) = record::load(root, &id) else {
            continue;
        };
        if shim::supervisor_alive(root, &id) {
            done.live.push(id);
            continue;
        }
        if !rec.state.running {
            continue;
        }
        let killed = kill_orphan(&id, rec.state.running_pid().unwrap_or(0));
        shim::cleanup(root, &id, None);
        record::update_state(root, &id, |s| {
            s.running = false;
            s.pid = 0;
            s.exit_code = if killed { 137 } else { 255 };
            s.finished_at = crate::ids::now();
            s.error = "its supervisor was gone when the engine started".to_owned();
        })?;
        if record::load_host(root, &id).is_ok_and(|h| h.auto_remove) {
            let opts = remove::RemoveOptions {
                force: true,
                volumes: true,
            };
            remove::remove(root, &id, &opts)?;
            done.removed.push(id.clone());
        }
        done.stopped.push(id);
    }
    let keep_mounts: BTreeSet<PathBuf> = done
        .live
        .iter()
        .filter_map(|id| shim::mount_id(root, id).ok())
        .filter_map(|m| root.driver.mount_point(&m))
        .collect();
    let home = root.path.join(root.driver.name());
    let mut stale: Vec<PathBuf> = mount_points_under(&home)
        .into_iter()
        .filter(|p| *p != home && !keep_mounts.iter().any(|k| p.starts_with(k)))
        .collect();
    stale.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in stale {
        if umount2(&point, MntFlags::MNT_DETACH).is_ok() {
            done.unmounted.push(point);
        }
    }
    let not_live: Vec<String> = ids
        .into_iter()
        .filter(|id| !done.live.contains(id))
        .collect();
    done.cgroups = stale_cgroups(&not_live);
    clear_exec_root(root, &done.live);
    for dir in [root.tmp_dir(), root.image_dir().join(LAYERDB_TMP)] {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if crate::layer::extract::remove_all(&entry.path()).is_ok() {
                done.staged.push(entry.path());
            }
        }
    }
    Ok(done)
}

fn container_ids(root: &Root) -> Vec<String> {
    let dir = root.path.join(CONTAINERS_DIR);
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| analyzers::ids::is_hex64(n))
        .collect()
}

/// SIGKILLs container `id`'s pid 1 if it still runs (and is the container's: its cgroup
/// names the container), and waits until it is gone; whether it was alive.
fn kill_orphan(id: &str, pid: i32) -> bool {
    let ours = fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .is_ok_and(|c| c.contains(&spec::cgroup_path(id)));
    if pid <= 0 || !ours || kill(Pid::from_raw(pid), Signal::SIGKILL).is_err() {
        return false;
    }
    let deadline = Instant::now() + KILL_TIMEOUT;
    while Instant::now() < deadline && alive(pid) {
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Whether `pid` exists and is not a zombie.
fn alive(pid: i32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

/// Removes the cgroup directories (`strata/<id>` in every hierarchy) of this root's
/// containers `ids`, killing what is left in them first. Cgroups of other ids are left
/// alone: other data roots' containers share the `strata/` parent.
fn stale_cgroups(ids: &[String]) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut parents = vec![base.join("strata")];
    for e in fs::read_dir(base).into_iter().flatten().flatten() {
        parents.push(e.path().join("strata"));
    }
    let mut removed = Vec::new();
    for dir in parents
        .iter()
        .flat_map(|p| ids.iter().map(move |id| p.join(id)))
        .filter(|d| d.is_dir())
    {
        let procs = fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        for pid in procs.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let deadline = Instant::now() + KILL_TIMEOUT;
        while fs::remove_dir(&dir).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if !dir.exists() {
            removed.push(dir);
        }
    }
    removed
}

/// Removes libcontainer's state and the bundles of containers that are not live.
fn clear_exec_root(root: &Root, live: &[String]) {
    for dir in [shim::runtime_dir(root), exec_root(root).join("b")] {
        for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
            if !live.iter().any(|id| e.file_name() == id.as_str()) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

/// The mount points of this mount namespace at or under `prefix` (`/proc/self/mountinfo`).
pub fn mount_points_under(prefix: &Path) -> Vec<PathBuf> {
    use analyzers::format::mountinfo;
    let Ok(table) = fs::read_to_string(mountinfo::SELF_MOUNTINFO) else {
        return Vec::new();
    };
    mountinfo::parse(&table)
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|point| point.starts_with(prefix))
        .collect()
}
