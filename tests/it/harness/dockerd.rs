//! A real `dockerd` on a private, temporary data root.
//!
//! Each [`Dockerd`] has its own data root, exec root (so its own managed containerd), pidfile,
//! unix socket, log and CLI config directory, all in one unique temporary directory; it never
//! touches the host's `/var/lib/docker` or `/run/docker.sock`, and it has no network but
//! loopback (`--bridge=none`, no iptables; containers run with `--network none`). Dropping it
//! stops the daemon and unmounts whatever it left mounted, so a failing test leaves no daemon.
//!
//! The btrfs graphdriver needs its data root on btrfs: a [`Driver::Btrfs`] daemon gets a
//! loop-mounted btrfs of its own in that directory ([`super::btrfs`]), released with it.
//!
//! Two daemons: Debian bookworm's dockerd 20.10 with a graphdriver ([`Store::Graph`]), and
//! Debian trixie's dockerd 26.1 with the containerd image store ([`Store::Containerd`]:
//! `"features": {"containerd-snapshotter": true}`, its own containerd 1.7 from the unpacked
//! trixie packages, see [`super::trixie`]). Both are driven with Debian's 20.10 CLI
//! ([`DOCKER_CLI`]): it speaks API 1.41, which dockerd 26.1 serves, and its classic builder and
//! BuildKit both work on the containerd store.

use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::btrfs::BtrfsFs;
use super::cleanup::{unmount_under, unmount_under_except};
use super::run::run_with_timeout;
use super::trixie::{self, Ctr};
use super::{DOCKERD, DOCKER_CLI};

/// How long the daemon may take to answer `/_ping` after it starts.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a clean shutdown may take: dockerd's own shutdown timeout is 15 s, plus the stop
/// timeouts of running containers (the fixture gives them 1 s).
pub(super) const STOP_TIMEOUT: Duration = Duration::from_secs(90);
/// How long one Docker CLI command may take (builds included).
const CLI_TIMEOUT: Duration = Duration::from_secs(300);

/// The storage drivers the tests run dockerd with (check [`super::driver_usable`] first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Driver {
    /// `overlay2`, the default and the one strata completes first.
    Overlay2,
    /// `vfs`: every layer a full copy, no mounts.
    Vfs,
    /// Legacy `overlay` (one lower dir): `overlay/<id>/root` for layers applied from a tar,
    /// `upper`, `lower-id`, `work` for the others.
    Overlay,
    /// `fuse-overlayfs`: overlay2's layout, mounted by the `fuse-overlayfs` program.
    FuseOverlayfs,
    /// `btrfs`: every layer a subvolume snapshot of its parent; the data root must be on btrfs,
    /// so [`Dockerd::start`] makes one ([`super::btrfs::BtrfsFs`]).
    Btrfs,
}

impl Driver {
    /// Every driver, in the order [`Driver::index`] numbers them.
    pub const ALL: [Driver; 5] = [
        Driver::Overlay2,
        Driver::Vfs,
        Driver::Overlay,
        Driver::FuseOverlayfs,
        Driver::Btrfs,
    ];

    /// The name dockerd uses (`--storage-driver`, `image/<name>/`, `<root>/<name>/`).
    pub fn name(self) -> &'static str {
        match self {
            Driver::Overlay2 => "overlay2",
            Driver::Vfs => "vfs",
            Driver::Overlay => "overlay",
            Driver::FuseOverlayfs => "fuse-overlayfs",
            Driver::Btrfs => "btrfs",
        }
    }

    /// Its position in [`Driver::ALL`] (for per-driver tables).
    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which image store a [`Dockerd`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Store {
    /// Debian's dockerd 20.10 ([`DOCKERD`]) with this graphdriver (`--storage-driver`).
    Graph(Driver),
    /// trixie's dockerd 26.1 with the containerd image store (snapshotter `overlayfs`), over
    /// the containerd 1.7 it starts itself: root `<data-root>/containerd/daemon`, socket
    /// `<exec-root>/containerd/containerd.sock`, namespace `moby`.
    Containerd,
}

/// The containerd root dockerd gives the containerd it starts itself (`containerdRootDir`).
pub const CONTAINERD_ROOT_IN_DATA_ROOT: &str = "containerd/daemon";

/// A running (or stopped) dockerd and the temporary directory that holds everything of it.
pub struct Dockerd {
    /// The btrfs the data root of a [`Driver::Btrfs`] daemon lives on (in `dir`, so declared
    /// before it: fields drop in order, and it must be unmounted before `dir` is removed).
    btrfs: Option<BtrfsFs>,
    /// `None` once handed over by [`Dockerd::into_dir`].
    dir: Option<TempDir>,
    work: PathBuf,
    data_root: PathBuf,
    socket: PathBuf,
    store: Store,
    child: Option<Child>,
}

impl Dockerd {
    /// Starts dockerd with `driver` on a fresh, empty data root: `<tmp>/root`, or for
    /// [`Driver::Btrfs`] `<tmp>/btrfs/root` on a btrfs of its own (`<tmp>/btrfs.img`, loop-mounted
    /// on `<tmp>/btrfs`; unmounted and its loop device freed when the daemon is dropped).
    pub fn start(driver: Driver) -> Dockerd {
        Self::start_on(Store::Graph(driver), None, &[])
    }

    /// Starts trixie's dockerd 26.1 with the containerd image store on a fresh, empty data
    /// root (check [`super::containerd_usable`] first).
    pub fn start_containerd_store() -> Dockerd {
        Self::start_on(Store::Containerd, None, &[])
    }

    /// Starts dockerd with `driver` on an existing data root (for instance a planted synthetic
    /// store). The daemon writes to it: give it a copy (for [`Driver::Btrfs`], one on btrfs).
    pub fn start_with_root(driver: Driver, data_root: &Path) -> Dockerd {
        Self::start_on(Store::Graph(driver), Some(data_root.to_owned()), &[])
    }

    /// [`Dockerd::start_with_root`] with more daemon flags (`--userns-remap USER`).
    pub fn start_with_flags(driver: Driver, data_root: &Path, flags: &[&str]) -> Dockerd {
        Self::start_on(Store::Graph(driver), Some(data_root.to_owned()), flags)
    }

    fn start_on(store: Store, data_root: Option<PathBuf>, flags: &[&str]) -> Dockerd {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-dockerd-")
            .tempdir()
            .expect("creating the daemon's temporary directory");
        let work = dir.path().to_owned();
        let btrfs = (store == Store::Graph(Driver::Btrfs) && data_root.is_none())
            .then(|| BtrfsFs::make(&work));
        let data_root = match (&data_root, &btrfs) {
            (Some(given), _) => given.clone(),
            (None, Some(fs)) => fs.mount_point().join("root"),
            (None, None) => work.join("root"),
        };
        for sub in [&data_root, &work.join("exec"), &work.join("cli")] {
            fs::create_dir_all(sub).expect("creating the daemon's directories");
        }
        // Our own config file, so a host /etc/docker/daemon.json cannot change the daemon.
        let config = match store {
            Store::Graph(_) => "{}\n",
            Store::Containerd => "{\"features\": {\"containerd-snapshotter\": true}}\n",
        };
        fs::write(work.join("daemon.json"), config).expect("writing daemon.json");
        let log = fs::File::create(work.join("dockerd.log")).expect("creating dockerd.log");
        let socket = work.join("docker.sock");
        let mut cmd = match store {
            Store::Graph(driver) => {
                let mut cmd = Command::new(DOCKERD);
                cmd.args(["--storage-driver", driver.name()]);
                cmd
            }
            Store::Containerd => {
                // dockerd finds `containerd` and the shim in PATH: trixie's first.
                let mut cmd = Command::new(trixie::dockerd());
                cmd.env("PATH", trixie::path_env());
                cmd
            }
        };
        let dockerd = cmd.get_program().to_string_lossy().into_owned();
        let child = cmd
            .arg("--config-file")
            .arg(work.join("daemon.json"))
            .arg("--data-root")
            .arg(&data_root)
            .arg("--exec-root")
            .arg(work.join("exec"))
            .arg("--pidfile")
            .arg(work.join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {dockerd}: {e}"));
        let mut daemon = Dockerd {
            btrfs,
            dir: Some(dir),
            work,
            data_root,
            socket,
            store,
            child: Some(child),
        };
        daemon.wait_until_ready();
        daemon
    }

    fn wait_until_ready(&mut self) {
        let socket = self.socket.clone();
        let ping = || matches!(get(&socket, "/_ping").as_deref(), Ok("OK"));
        let log = self.work.join("dockerd.log");
        wait_until_ready("dockerd", &mut self.child, &log, ping);
    }

    /// The storage driver it runs with. Panics on a [`Store::Containerd`] daemon, which has
    /// none (see [`Dockerd::store`]).
    pub fn driver(&self) -> Driver {
        match self.store {
            Store::Graph(driver) => driver,
            Store::Containerd => panic!("a containerd-store dockerd has no graphdriver"),
        }
    }

    /// The containerd root of a [`Store::Containerd`] daemon: `<data-root>/containerd/daemon`.
    pub fn containerd_root(&self) -> PathBuf {
        self.data_root.join(CONTAINERD_ROOT_IN_DATA_ROOT)
    }

    /// `ctr` (trixie's) bound to the containerd a [`Store::Containerd`] daemon started, in
    /// namespace `namespace` (`moby` for Docker's objects).
    pub fn ctr(&self, namespace: &str) -> Ctr {
        assert_eq!(
            self.store,
            Store::Containerd,
            "only the containerd store has a ctr"
        );
        Ctr::new(self.work.join("exec/containerd/containerd.sock"), namespace)
    }

    /// The data root (`--data-root`): the directory strata analyses.
    pub fn data_root(&self) -> &Path {
        &self.data_root
    }

    /// The temporary directory that holds the socket, exec root, log... and, unless given one,
    /// the data root.
    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    /// A new directory `<work>/<name>` for a test's own files (build contexts, bind sources).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.work.join(name);
        fs::create_dir_all(&path).expect("creating a scratch directory");
        path
    }

    /// The last `lines` lines of the daemon's log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.work.join("dockerd.log"), lines)
    }

    /// `/usr/bin/docker -H unix://<socket>`, isolated from the caller's Docker environment
    /// (`DOCKER_HOST`, contexts, `~/.docker`).
    pub fn docker_command(&self) -> Command {
        let mut cmd = Command::new(DOCKER_CLI);
        cmd.env("DOCKER_CONFIG", self.work.join("cli"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH")
            .env_remove("DOCKER_BUILDKIT")
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()));
        cmd
    }

    /// Runs the Docker CLI with `args`; panics (with the daemon's log) unless it exits 0;
    /// returns its trimmed stdout.
    pub fn docker(&self, args: &[&str]) -> String {
        let mut cmd = self.docker_command();
        cmd.args(args);
        self.checked(cmd)
    }

    /// [`Dockerd::docker`] with extra environment variables (`DOCKER_BUILDKIT`).
    pub fn docker_env(&self, env: &[(&str, &str)], args: &[&str]) -> String {
        let mut cmd = self.docker_command();
        cmd.envs(env.iter().copied()).args(args);
        self.checked(cmd)
    }

    /// `DOCKER_BUILDKIT=0 docker build -q --network none -t <tag> <ctx>` (the classic
    /// builder, its `Dockerfile`); returns the image id it prints.
    pub fn build_classic(&self, ctx: &Path, tag: &str) -> String {
        let ctx = ctx.to_str().expect("UTF-8 path");
        self.docker_env(
            &[("DOCKER_BUILDKIT", "0")],
            &["build", "-q", "--network", "none", "-t", tag, ctx],
        )
    }

    fn checked(&self, cmd: Command) -> String {
        let run = run_with_timeout(cmd, CLI_TIMEOUT);
        assert!(
            run.success(),
            "{run}\n--- dockerd log ---\n{}",
            self.log_tail(30)
        );
        run.stdout.trim().to_owned()
    }

    /// `GET <path>` on the daemon's API; the parsed JSON body. Panics on any error.
    pub fn api_get(&self, path: &str) -> Value {
        let body = self
            .try_get(path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log_tail(30)));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// `GET /v1.41/system/df`: what `docker system df -v` shows, and what strata must equal.
    pub fn system_df(&self) -> Value {
        self.api_get("/v1.41/system/df")
    }

    fn try_get(&self, path: &str) -> Result<String, String> {
        get(&self.socket, path)
    }

    /// Stops the daemon the way an init system does: SIGTERM, then wait for its clean shutdown
    /// (it stops running containers, SIGKILLing those still alive after their stop timeout,
    /// records their state, unmounts, stops its containerd). If it does not exit within
    /// [`STOP_TIMEOUT`] it and its containerd are SIGKILLed. Either way, whatever it left
    /// mounted under its directories is unmounted (not the btrfs the data root lives on: the
    /// store stays readable until the daemon is dropped). Idempotent.
    pub fn stop(&mut self) {
        if let Some(child) = self.child.take() {
            if let Err(child) = terminate(child, STOP_TIMEOUT) {
                self.sigkill(child);
            }
        }
        self.unmount_leftovers();
        if !self.data_root.starts_with(&self.work) {
            unmount_under(&self.data_root);
        }
    }

    /// Kills the daemon and its containerd with SIGKILL, as a crash or the OOM killer would
    /// (nothing is cleaned up, no state is written), then unmounts what they left mounted.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.take() {
            self.sigkill(child);
        }
        self.unmount_leftovers();
    }

    /// Unmounts everything under the daemon's directory but the btrfs its data root is on.
    fn unmount_leftovers(&self) {
        let keep = self.btrfs.as_ref().map(BtrfsFs::mount_point);
        unmount_under_except(&self.work, keep);
    }

    /// SIGKILLs dockerd (`child`) and then its containerd.
    fn sigkill(&self, mut child: Child) {
        let _ = child.kill();
        let _ = child.wait();
        let pidfile = self.work.join("exec/containerd/containerd.pid");
        if let Ok(pid) = fs::read_to_string(pidfile) {
            let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
        }
    }

    /// Stops the daemon and hands over its temporary directory (which then outlives this
    /// value; the caller removes it, e.g. with [`super::remove_at_exit`], which also unmounts
    /// the btrfs of a [`Driver::Btrfs`] daemon, left mounted, and frees its loop device).
    pub fn into_dir(mut self) -> TempDir {
        self.stop();
        if let Some(btrfs) = self.btrfs.take() {
            btrfs.leave_mounted();
        }
        self.dir.take().expect("the directory is handed over once")
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // One handed over by `into_dir` was stopped there, and what is still mounted in its
        // directory (the btrfs of its data root) is the new owner's.
        if self.dir.is_some() {
            self.stop();
        }
    }
}

/// A hand-written HTTP/1.0 GET over the unix socket: HTTP/1.0 makes the Go server answer
/// without chunked encoding and close the connection, so the body is simply the rest.
pub(super) fn get(socket: &Path, path: &str) -> Result<String, String> {
    let mut stream = UnixStream::connect(socket).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(CLI_TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: docker\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|e| e.to_string())?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no header end in {response:?}"))?;
    let status = head.lines().next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("200") {
        return Err(format!("{status}: {body}"));
    }
    Ok(body.to_owned())
}

/// Polls `ready` until it holds, panicking (with the end of `log`) if the daemon `child`
/// exits first or [`START_TIMEOUT`] passes.
pub(super) fn wait_until_ready(
    what: &str,
    child: &mut Option<Child>,
    log: &Path,
    mut ready: impl FnMut() -> bool,
) {
    let start = Instant::now();
    loop {
        if ready() {
            return;
        }
        let exited = child.as_mut().and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            *child = None;
            panic!(
                "{what} exited ({status}) before it was ready:\n{}",
                log_tail(log, 40)
            );
        }
        if start.elapsed() > START_TIMEOUT {
            panic!(
                "{what} was not ready within {START_TIMEOUT:?}:\n{}",
                log_tail(log, 40)
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM to `child`, then waits up to `timeout` for it to exit; hands it back if it did not.
pub(super) fn terminate(mut child: Child, timeout: Duration) -> Result<(), Child> {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return Ok(()),
            Ok(None) if start.elapsed() > timeout => return Err(child),
            Ok(None) => thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// The last `lines` lines of a daemon's log file, for failure messages.
pub(super) fn log_tail(log: &Path, lines: usize) -> String {
    let log = fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
