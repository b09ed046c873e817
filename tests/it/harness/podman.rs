//! A real rootful podman (Debian's 4.3.1) on a private, temporary graphroot and runroot.
//!
//! Each [`Podman`] has its own graphroot (`<tmp>/root`), runroot (`<tmp>/runroot`),
//! `containers.conf`, `storage.conf` and `registries.conf` (through `CONTAINERS_CONF`,
//! `CONTAINERS_STORAGE_CONF`, `CONTAINERS_REGISTRIES_CONF`), libpod tmp dir, locks, events log,
//! network config, runc state and API socket, all in one unique temporary directory. Every
//! call carries `--root --runroot --storage-driver overlay --cgroup-manager cgroupfs
//! --events-backend file --tmpdir`, and containers run with `--network none --pull never`.
//!
//! What keeps podman 4.3 off the host's `/var/lib/containers`, `/run/containers`, `/run/libpod`
//! and `/run/runc` (each found by making a store and comparing the host before and after):
//! - `[engine] tmp_dir`, `events_logfile_path`, `lock_type = "file"` (the default `shm` locks
//!   live in the host-wide `/dev/shm/libpod_lock`), `image_copy_tmp_dir` and `TMPDIR`;
//! - `[network] network_backend = "cni"` with `network_config_dir` here: the netavark backend
//!   creates `/run/containers/networks` for every rootful podman, whatever its flags;
//! - `[engine.runtimes] runc` is a wrapper adding `--root <tmp>/runc`: podman gives runc no
//!   `--root`, so container state would go to `/run/runc`. conmon's exit command
//!   (`podman container cleanup`) sees the same `CONTAINERS_CONF`, hence the same wrapper;
//! - callers name images in full (`localhost/strata/app:1`): resolving a short name makes
//!   containers/image lock, creating it, `/var/cache/containers/short-name-aliases.conf.lock`;
//! - containers/image writes its blob-info cache to `/var/lib/containers/cache` for root
//!   whatever `--root` says: the verbs that copy images ([`COPYING_VERBS`]: `import`, `build`,
//!   ...) run in a mount namespace of their own (`unshare --mount --propagation slave`) with a
//!   temporary directory bind-mounted over that cache, and another over `/var/tmp` (`podman
//!   build` creates and at once deletes a probe file there, whatever `TMPDIR` says). Only
//!   those: a container started in such a namespace would have its rootfs mounted where the
//!   host (and strata) cannot see it.
//!
//! `--volumepath` and `static_dir` are not moved out of the graphroot: with `--root`, podman
//! keeps volumes in `<root>/volumes` and its BoltDB in `<root>/libpod/bolt_state.db`, the
//! layout strata reads.
//!
//! Dropping a [`Podman`] stops every container (`podman stop -a -t 0`), stops the API service,
//! waits for conmon and its cleanup processes to end (killing, by pid, any process that still
//! names the temporary directory) and unmounts whatever is still mounted under it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::cleanup::unmount_under;
use super::dockerd::{get, log_tail, terminate, wait_until_ready, STOP_TIMEOUT};
use super::run::{run_with_timeout, Run};
use super::{PODMAN, RUNC};

/// How long one podman command may take (builds included).
const CLI_TIMEOUT: Duration = Duration::from_secs(300);
/// How long conmon and `podman container cleanup` may take to go once the containers stopped.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The API version `podman system service` 4.3 serves for the libpod routes.
pub const PODMAN_API: &str = "v4.0.0";

/// The podman verbs that copy an image, and so write containers/image's blob-info cache:
/// run in their own mount namespace (see the module docs).
pub const COPYING_VERBS: &[&str] = &["build", "import", "commit", "load", "pull", "save"];

/// util-linux's `unshare`, by its path (a `PATH` may hold another).
const UNSHARE: &str = "/usr/bin/unshare";

/// Where containers/image keeps its blob-info cache for root, whatever podman's `--root`.
const HOST_BLOB_CACHE: &str = "/var/lib/containers/cache";

/// A rootful podman on its own temporary store, and, once asked, its API service.
pub struct Podman {
    /// `None` once handed over by [`Podman::into_dir`].
    dir: Option<TempDir>,
    work: PathBuf,
    /// `podman system service`, started by the first [`Podman::api_get`].
    service: Mutex<Option<Child>>,
    stopped: bool,
}

impl Podman {
    /// Makes the temporary directory and podman's configuration in it, and checks that podman
    /// answers (`podman info`) on the new, empty store.
    pub fn start() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-podman-")
            .tempdir()
            .expect("creating podman's temporary directory");
        let work = dir.path().to_owned();
        for sub in [
            "root",
            "runroot",
            "tmp",
            "net",
            "runc",
            "copy-tmp",
            "host-cache",
            "var-tmp",
        ] {
            fs::create_dir_all(work.join(sub)).expect("creating podman's directories");
        }
        let runc = work.join("runc.sh");
        fs::write(
            &runc,
            format!(
                "#!/bin/sh\nexec {RUNC} --root {} \"$@\"\n",
                work.join("runc").display()
            ),
        )
        .expect("writing the runc wrapper");
        fs::set_permissions(&runc, fs::Permissions::from_mode(0o755)).expect("chmod runc.sh");
        fs::write(work.join("containers.conf"), containers_conf(&work))
            .expect("writing containers.conf");
        fs::write(
            work.join("storage.conf"),
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = {:?}\nrunroot = {:?}\n",
                work.join("root"),
                work.join("runroot")
            ),
        )
        .expect("writing storage.conf");
        fs::write(
            work.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .expect("writing registries.conf");
        let podman = Podman {
            dir: Some(dir),
            work,
            service: Mutex::new(None),
            stopped: false,
        };
        podman.podman(&["info", "--format", "{{.Store.GraphRoot}}"]);
        podman
    }

    /// The graphroot (`--root`): the directory strata analyses.
    pub fn graphroot(&self) -> PathBuf {
        self.work.join("root")
    }

    /// The runroot (`--runroot`; a tmpfs on a real host).
    pub fn runroot(&self) -> PathBuf {
        self.work.join("runroot")
    }

    /// A new directory `<work>/<name>` for a test's own files (build contexts, tars).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let path = self.work.join(name);
        fs::create_dir_all(&path).expect("creating a scratch directory");
        path
    }

    /// The global flags every podman call gets.
    pub fn store_flags(&self) -> Vec<String> {
        let path = |p: PathBuf| p.to_str().expect("UTF-8 path").to_owned();
        vec![
            "--root".into(),
            path(self.graphroot()),
            "--runroot".into(),
            path(self.runroot()),
            "--storage-driver".into(),
            "overlay".into(),
            "--cgroup-manager".into(),
            "cgroupfs".into(),
            "--events-backend".into(),
            "file".into(),
            "--tmpdir".into(),
            path(self.work.join("tmp")),
        ]
    }

    /// `podman <store flags> <args>`, isolated from the caller's podman environment, without
    /// running it. Verbs of [`COPYING_VERBS`] are wrapped in their own mount namespace.
    pub fn command(&self, args: &[&str]) -> Command {
        let copying = args
            .first()
            .is_some_and(|verb| COPYING_VERBS.contains(verb));
        let mut cmd = if copying {
            let mut cmd = Command::new(UNSHARE);
            cmd.args(["--mount", "--propagation", "slave", "--", "sh", "-c"])
                .arg(r#"mount --bind "$0" "$1" && mount --bind "$2" /var/tmp && shift 2 && exec "$@""#)
                .arg(self.work.join("host-cache"))
                .arg(shadowed_cache_dir())
                .arg(self.work.join("var-tmp"))
                .arg(PODMAN);
            cmd
        } else {
            Command::new(PODMAN)
        };
        cmd.env("CONTAINERS_CONF", self.work.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.work.join("storage.conf"))
            .env(
                "CONTAINERS_REGISTRIES_CONF",
                self.work.join("registries.conf"),
            )
            .env("TMPDIR", self.work.join("copy-tmp"))
            .env_remove("CONTAINER_HOST")
            .env_remove("CONTAINER_CONNECTION")
            .env_remove("CONTAINERS_REGISTRIES_CONF_DIR")
            .env_remove("BUILDAH_LAYERS")
            .env_remove("BUILDAH_FORMAT")
            .args(self.store_flags())
            .args(args);
        cmd
    }

    /// Runs `podman <args>` and returns the whole run, whatever its exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        run_with_timeout(self.command(args), CLI_TIMEOUT)
    }

    /// Runs `podman <args>`; panics (with its stderr) unless it exits 0; its trimmed stdout.
    pub fn podman(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(run.success(), "{run}");
        run.stdout.trim().to_owned()
    }

    /// `GET <path>` on podman's API (`podman system service`, started on first use); the
    /// parsed JSON body. Panics on any error, with the end of the service's log.
    pub fn api_get(&self, path: &str) -> Value {
        let socket = self.work.join("podman.sock");
        self.ensure_service(&socket);
        let body = get(&socket, path)
            .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.service_log(30)));
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// `GET /v4.0.0/libpod/system/df`: what `podman system df -v` shows (4.3's CLI has no JSON
    /// for `-v`), and what strata must equal.
    pub fn system_df(&self) -> Value {
        self.api_get(&format!("/{PODMAN_API}/libpod/system/df"))
    }

    fn ensure_service(&self, socket: &Path) {
        let mut service = self
            .service
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if service.is_some() {
            return;
        }
        let log = fs::File::create(self.work.join("service.log")).expect("creating service.log");
        let address = format!("unix://{}", socket.display());
        let child = self
            .command(&["system", "service", "--time", "0", &address])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {PODMAN} system service: {e}"));
        *service = Some(child);
        let ping = || matches!(get(socket, "/_ping").as_deref(), Ok("OK"));
        wait_until_ready(
            "podman system service",
            &mut service,
            &self.work.join("service.log"),
            ping,
        );
    }

    /// The last `lines` lines of the API service's log.
    pub fn service_log(&self, lines: usize) -> String {
        log_tail(&self.work.join("service.log"), lines)
    }

    /// `podman stop -a -t 0`, then waits until conmon and its `container cleanup` are gone (the
    /// stopped containers' rootfs unmounted): the store is settled when this returns.
    pub fn stop_containers(&self) {
        self.podman(&["stop", "-a", "-t", "0"]);
        self.settle();
    }

    /// Waits up to [`SETTLE_TIMEOUT`] for every process but the API service that names the
    /// temporary directory (conmon, `podman container cleanup`) to exit.
    fn settle(&self) {
        let start = Instant::now();
        while !self.stragglers().is_empty() && start.elapsed() < SETTLE_TIMEOUT {
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Processes (pids) other than the API service whose command line names the temporary
    /// directory: conmon and the cleanup it runs all carry `--root <tmp>/root`.
    fn stragglers(&self) -> Vec<i32> {
        let service = self
            .service
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            .map(|c| c.id() as i32);
        processes_naming(&self.work)
            .into_iter()
            .filter(|pid| Some(*pid) != service)
            .collect()
    }

    /// Stops every container, then the API service; kills (by pid) any process still naming
    /// the temporary directory after [`SETTLE_TIMEOUT`]; unmounts what is left mounted under
    /// it. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let _ = self.run(&["stop", "-a", "-t", "0"]);
        self.settle();
        let service = self
            .service
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(child) = service {
            if let Err(mut child) = terminate(child, STOP_TIMEOUT) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for pid in self.stragglers() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        unmount_under(&self.work);
    }

    /// Stops everything and hands over the temporary directory (which then outlives this value;
    /// the caller removes it, e.g. with [`super::remove_at_exit`]).
    pub fn into_dir(mut self) -> TempDir {
        self.stop();
        self.dir.take().expect("the directory is handed over once")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `containers.conf` of a podman whose temporary directory is `work`.
fn containers_conf(work: &Path) -> String {
    let at = |sub: &str| format!("{:?}", work.join(sub));
    format!(
        "[containers]\n\
         default_ulimits = []\n\
         [network]\n\
         default_network = \"none\"\n\
         network_backend = \"cni\"\n\
         network_config_dir = {net}\n\
         [engine]\n\
         cgroup_manager = \"cgroupfs\"\n\
         events_logger = \"file\"\n\
         events_logfile_path = {events}\n\
         image_copy_tmp_dir = {copy}\n\
         lock_type = \"file\"\n\
         tmp_dir = {tmp}\n\
         runtime = \"runc\"\n\
         [engine.runtimes]\n\
         runc = [{runc}]\n",
        net = at("net"),
        events = at("tmp/events.log"),
        copy = at("copy-tmp"),
        tmp = at("tmp"),
        runc = at("runc.sh"),
    )
}

/// The directory the copying verbs' namespace hides: the host's blob-info cache, or its
/// deepest existing ancestor when there is none yet (containers/image would create it).
fn shadowed_cache_dir() -> &'static Path {
    Path::new(HOST_BLOB_CACHE)
        .ancestors()
        .find(|dir| dir.is_dir())
        .unwrap_or(Path::new("/"))
}

/// Pids of the podman, conmon and runc processes whose command line contains `dir` (not, say,
/// a strata run on the graphroot).
fn processes_naming(dir: &Path) -> Vec<i32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let own = std::process::id() as i32;
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != own)
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| matches!(comm.trim_end(), "podman" | "conmon" | "runc"))
        })
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}
