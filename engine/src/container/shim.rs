//! The supervisor of one running container (what containerd-shim is to dockerd): a process
//! of its own, so that the container outlives the command that started it.
//!
//! It mounts the writable layer, writes the OCI bundle, has libcontainer create the
//! container (with [`super::init::InitExecutor`] as pid 1) and start it, records `Running`
//! in `config.v2.json`, tells its starter `ok` (or the error) on its standard output, then
//! copies the container's stdout and stderr into `containers/<id>/<id>-json.log` in Docker's
//! json-file format until the container exits. Then it removes the cgroups and the runtime
//! state, unmounts the layer, records the exit (code, time, whether the OOM killer struck),
//! removes the container if it was created with `--rm`, and exits with the container's code.

use std::fs;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::thread;

use analyzers::format::layerdb::{self, LAYERDB_MOUNTS};
use analyzers::ids::CacheId;
use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::wait::{waitpid, WaitStatus};

use super::init::InitExecutor;
use super::record;
use super::{exec_root, spec};
use crate::error::{Error, IoContext, Result};
use crate::root::Root;

/// The hidden verb of the strata binary that runs [`run`].
pub const SHIM_VERB: &str = "engine-shim";

/// libcontainer's state directory for the data root (`<exec root>/rt/<id>`).
pub fn runtime_dir(root: &Root) -> PathBuf {
    exec_root(root).join("rt")
}

/// The OCI bundle directory of container `id`.
pub fn bundle_dir(root: &Root, id: &str) -> PathBuf {
    exec_root(root).join("b").join(id)
}

/// The file in the bundle directory where the supervisor of container `id` writes its pid.
pub fn supervisor_pidfile(root: &Root, id: &str) -> PathBuf {
    bundle_dir(root, id).join("supervisor.pid")
}

/// Whether the supervisor of container `id` is alive: the pid its pidfile names is a process
/// whose command line is `... engine-shim <id>` (a recycled pid is not taken for it).
pub fn supervisor_alive(root: &Root, id: &str) -> bool {
    let Ok(pid) = fs::read_to_string(supervisor_pidfile(root, id)) else {
        return false;
    };
    let Ok(cmdline) = fs::read(format!("/proc/{}/cmdline", pid.trim())) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == SHIM_VERB.as_bytes() && w[1] == id.as_bytes())
}

/// The driver directory of container `id`'s writable layer (its mount record's `mount-id`,
/// one directory name).
pub fn mount_id(root: &Root, id: &str) -> Result<CacheId> {
    let record = root.image_dir().join(LAYERDB_MOUNTS).join(id);
    layerdb::read_mount(&root.jail, &record)
        .map(|m| m.mount_id)
        .map_err(|p| Error::malformed(p.path, p.detail))
}

/// Runs container `id` to its end; `ready` receives `ok` once it runs. Returns its exit code.
pub fn run(root: &Root, id: &str, ready: OwnedFd) -> Result<i32> {
    let mut ready = fs::File::from(ready);
    let started = launch(root, id);
    let Launched {
        mut container,
        pid,
        log_path,
        out,
        err,
    } = match started {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(ready, "error: {e}");
            let _ = record::update_state(root, id, |s| {
                s.error = e.to_string();
                s.exit_code = 128;
            });
            cleanup(root, id, None);
            return Err(e);
        }
    };
    let _ = writeln!(ready, "ok");
    drop(ready);
    let mut log = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&log_path)
        .at(&log_path)?;
    let copier = thread::spawn(move || super::logs::copy_streams(out, err, &mut log));
    let code = match waitpid(pid, None) {
        Ok(WaitStatus::Exited(_, code)) => code,
        Ok(WaitStatus::Signaled(_, sig, _)) => 128 + sig as i32,
        _ => 255,
    };
    let _ = copier.join();
    let oom = oom_killed(id);
    cleanup(root, id, Some(&mut container));
    let finished = record::update_state(root, id, |s| {
        s.running = false;
        s.pid = 0;
        s.exit_code = code.into();
        s.oom_killed = oom;
        s.finished_at = crate::ids::now();
    })?;
    let host = record::load_host(root, id)?;
    if host.auto_remove {
        super::remove::remove(
            root,
            &finished.id,
            &super::remove::RemoveOptions {
                force: true,
                volumes: true,
            },
        )?;
    }
    Ok(code)
}

/// A started container, with its log ([`super::logs::log_path`]) and the read ends of its
/// stdout and stderr pipes.
struct Launched {
    container: Container,
    pid: nix::unistd::Pid,
    log_path: PathBuf,
    out: OwnedFd,
    err: OwnedFd,
}

fn launch(root: &Root, id: &str) -> Result<Launched> {
    let rec = record::load(root, id)?;
    if rec.state.running {
        return Err(Error::Conflict(format!(
            "container {id} is already running"
        )));
    }
    let log_path = super::logs::log_path(root, id, &rec)?;
    let host = record::load_host(root, id)?;
    let mount = mount_id(root, id)?;
    let rootfs = root.driver.mount(&mount)?;
    let mounts = crate::volume::mounts_for(root, &rec, &rootfs)?;
    let dir = super::container_dir(root, id);
    let spec = spec::build(&rec, &host, &rootfs, &dir, mounts)?;
    let bundle = bundle_dir(root, id);
    fs::create_dir_all(&bundle).at(&bundle)?;
    let pidfile = supervisor_pidfile(root, id);
    fs::write(&pidfile, std::process::id().to_string()).at(&pidfile)?;
    let config = bundle.join("config.json");
    spec.save(&config).map_err(|e| Error::Runtime {
        id: id.to_owned(),
        action: "writing the OCI bundle",
        detail: e.to_string(),
    })?;
    let state_root = runtime_dir(root);
    let _ = fs::remove_dir_all(state_root.join(id));
    fs::create_dir_all(&state_root).at(&state_root)?;
    let (out_r, out_w) = nix::unistd::pipe().map_err(|e| Error::sys(&bundle, "pipe", e))?;
    let (err_r, err_w) = nix::unistd::pipe().map_err(|e| Error::sys(&bundle, "pipe", e))?;
    let runtime = |action: &'static str| {
        let id = id.to_owned();
        move |e: libcontainer::error::LibcontainerError| Error::Runtime {
            id,
            action,
            detail: e.to_string(),
        }
    };
    let mut container = ContainerBuilder::new(id.to_owned(), SyscallType::default())
        .with_root_path(&state_root)
        .map_err(runtime("setting the state directory"))?
        .with_executor(InitExecutor)
        .with_stdout(out_w)
        .with_stderr(err_w)
        .as_init(&bundle)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(runtime("create"))?;
    container.start().map_err(runtime("start"))?;
    let pid = container
        .pid()
        .map(|p| nix::unistd::Pid::from_raw(p.as_raw()))
        .ok_or_else(|| Error::Runtime {
            id: id.to_owned(),
            action: "start",
            detail: "no pid after start".to_owned(),
        })?;
    record::update_state(root, id, |s| {
        s.running = true;
        s.pid = pid.as_raw().into();
        s.exit_code = 0;
        s.error.clear();
        s.oom_killed = false;
        s.started_at = crate::ids::now();
        s.finished_at = record::ZERO_TIME.to_owned();
    })?;
    Ok(Launched {
        container,
        pid,
        log_path,
        out: out_r,
        err: err_r,
    })
}

/// Whether the kernel's OOM killer killed a process of the container's memory cgroup
/// (`oom_kill` in cgroup v1's `memory.oom_control` or v2's `memory.events`).
fn oom_killed(id: &str) -> bool {
    let cg = spec::cgroup_path(id);
    let candidates = [
        format!("/sys/fs/cgroup/memory{cg}/memory.oom_control"),
        format!("/sys/fs/cgroup{cg}/memory.events"),
    ];
    candidates.iter().any(|path| {
        fs::read_to_string(path).is_ok_and(|text| {
            text.lines().any(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    })
}

/// Removes what a run leaves: libcontainer's state and cgroups, the bundle, the mount.
/// Errors are not fatal here: the container has ended either way.
pub fn cleanup(root: &Root, id: &str, container: Option<&mut Container>) {
    let state = runtime_dir(root).join(id);
    match container {
        Some(c) => {
            let _ = c.delete(true);
        }
        None => {
            if let Ok(mut c) = Container::load(state.clone()) {
                let _ = c.delete(true);
            }
        }
    }
    let _ = fs::remove_dir_all(&state);
    remove_cgroups(id);
    let _ = fs::remove_dir_all(bundle_dir(root, id));
    if let Ok(mount) = mount_id(root, id) {
        let _ = root.driver.unmount(&mount);
    }
}

/// Removes container `id`'s cgroup directories in every hierarchy (v1) or the unified one.
pub fn remove_cgroups(id: &str) {
    let cg = spec::cgroup_path(id);
    let base = Path::new("/sys/fs/cgroup");
    let mut dirs = vec![base.join(cg.trim_start_matches('/'))];
    if let Ok(entries) = fs::read_dir(base) {
        for e in entries.flatten() {
            dirs.push(e.path().join(cg.trim_start_matches('/')));
        }
    }
    for dir in dirs {
        let _ = fs::remove_dir(dir);
    }
}
