//! A real rootless podman (Debian's 4.3.1) run by a throwaway user made for one test.
//!
//! [`Rootless::start`] makes a user with a unique name (`useradd`, which also gives it the
//! next free `/etc/subuid` and `/etc/subgid` ranges), its home, `XDG_RUNTIME_DIR` and podman
//! configuration in one unique temporary directory, and runs every podman call as that user:
//! `runuser -u NAME -- env -i HOME=… XDG_RUNTIME_DIR=… CONTAINERS_CONF=… podman …`. The store
//! is the user's default, `~/.local/share/containers/storage`, as their podman finds it: with
//! no storage.conf at all ([`Store::Vfs`]: podman 4.3 then uses vfs, as on a Debian host
//! without the `containers-storage` package), or from `~/.config/containers/storage.conf`
//! (`driver = "overlay"`, and, for [`Store::FuseOverlayfs`], `mount_program =
//! "/usr/bin/fuse-overlayfs"`): exactly what `strata --user NAME` must find.
//!
//! What keeps it off the host: the `containers.conf` of the rootful harness (`default_ulimits
//! = []`, as the default `nofile` is above the hard limit here; `default_network = "none"`),
//! plus `lock_type = "file"` (the default `shm` locks live in the host's
//! `/dev/shm/libpod_rootless_lock_<uid>`) and `image_copy_tmp_dir` (else `/var/tmp`); every
//! other path podman writes is under `$HOME` and `$XDG_RUNTIME_DIR`.
//!
//! fuse-overlayfs needs `/dev/fuse`, which is root's alone on this machine kind (mode 0600;
//! Debian's udev rule makes it 0666): without touching the host's node, every podman call
//! then runs in a mount namespace of its own (`unshare --mount --propagation slave`) where a
//! 0666 node of the same device made in the temporary directory is bind-mounted over
//! `/dev/fuse`. Rootless podman's pause process, which keeps its user and mount namespaces,
//! is started by the first call, so every later one sees the same.
//!
//! [`Rootless::remove`] (and dropping it, on a panic) stops the containers and the API
//! service, kills by pid every process left running as the user or one of its subordinate
//! ids (the pause process, conmon, fuse-overlayfs), unmounts what is left under the
//! temporary directory, and deletes the user (`userdel`, which drops its subuid and subgid
//! ranges) and the directory.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use super::cleanup::unmount_under;
use super::dockerd::{get, log_tail, terminate, wait_until_ready, STOP_TIMEOUT};
use super::podman::PODMAN_API;
use super::run::{run_with_timeout, Run};
use super::{usable_or_skip, PODMAN};

/// How long one podman command may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(300);
/// How long the user's processes may take to go once killed.
const KILL_TIMEOUT: Duration = Duration::from_secs(30);
/// The FUSE device, and its number (`10, 229`).
const DEV_FUSE: &str = "/dev/fuse";
/// fuse-overlayfs (package `fuse-overlayfs`).
pub const FUSE_OVERLAYFS: &str = "/usr/bin/fuse-overlayfs";
/// util-linux's `unshare` and `runuser`, and shadow's tools, by path.
const UNSHARE: &str = "/usr/bin/unshare";
const RUNUSER: &str = "/usr/sbin/runuser";
pub(super) const USERADD: &str = "/usr/sbin/useradd";
pub(super) const USERDEL: &str = "/usr/sbin/userdel";
/// What rootless podman needs beyond podman itself (package `uidmap`).
const NEWUIDMAP: &str = "/usr/bin/newuidmap";
const NEWGIDMAP: &str = "/usr/bin/newgidmap";

/// Which store the user's podman keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    /// No storage.conf: podman 4.3's rootless default driver, vfs (full copies).
    Vfs,
    /// `driver = "overlay"`: the kernel's overlayfs in the user namespace (Linux 5.13+;
    /// podman 4.3 picks it when it works, and records `overlay/.has-mount-program` =
    /// `false`).
    NativeOverlay,
    /// fuse-overlayfs as the overlay `mount_program` (`.has-mount-program` = `true`).
    FuseOverlayfs,
}

impl Store {
    /// The driver podman reports for it.
    pub fn driver(self) -> &'static str {
        match self {
            Store::Vfs => "vfs",
            Store::NativeOverlay | Store::FuseOverlayfs => "overlay",
        }
    }
}

/// A throwaway user and its rootless podman.
pub struct Rootless {
    /// `None` once removed.
    dir: Option<TempDir>,
    work: PathBuf,
    user: String,
    uid: u32,
    /// The subordinate uid and gid ranges `useradd` gave the user (first, count).
    subids: Vec<(u64, u64)>,
    /// The 0666 FUSE node bind-mounted over `/dev/fuse` for every call, when needed.
    fuse_node: Option<PathBuf>,
    /// `podman system service`, started by the first [`Rootless::api_get`].
    service: Option<Child>,
}

/// Whether the rootless tests can run here: root, Debian's podman, runc and `uidmap`, a
/// static busybox, and fuse-overlayfs for [`Store::FuseOverlayfs`]; skips or panics as the
/// other `*_usable` checks do.
pub fn rootless_usable(store: Store) -> bool {
    let mut files = vec![
        PODMAN,
        super::RUNC,
        super::BUSYBOX,
        NEWUIDMAP,
        NEWGIDMAP,
        UNSHARE,
        RUNUSER,
        USERADD,
        USERDEL,
    ];
    if store == Store::FuseOverlayfs {
        files.push(FUSE_OVERLAYFS);
    }
    let missing = if !super::is_root() {
        Some("not running as root".to_owned())
    } else {
        files
            .iter()
            .find(|p| !Path::new(p).exists())
            .map(|p| format!("{p} is missing"))
    };
    usable_or_skip(
        missing,
        "root and Debian's podman, uidmap and fuse-overlayfs (apt-get install podman runc \
         uidmap fuse-overlayfs slirp4netns)",
    )
}

impl Rootless {
    /// Makes the user and its configuration, and checks that its podman answers (`podman
    /// info`) with the store it should use. `None` (the test is skipped, or fails with
    /// `STRATA_TEST_NO_SKIP=1`) when rootless podman cannot run here, with podman's words.
    pub fn start(store: Store) -> Option<Rootless> {
        if !rootless_usable(store) {
            return None;
        }
        let dir = tempfile::Builder::new()
            .prefix("strata-it-rootless-")
            .tempdir()
            .expect("creating the temporary directory");
        let work = dir.path().to_owned();
        // The user must reach its home and runtime directory below it.
        fs::set_permissions(&work, fs::Permissions::from_mode(0o755)).expect("chmod");
        let user = format!("strt{}", unique_suffix(&work));
        let home = work.join("home");
        let status = Command::new(USERADD)
            .args(["--no-create-home", "--shell", "/bin/sh", "--home-dir"])
            .arg(&home)
            .arg(&user)
            .status()
            .expect("running useradd");
        assert!(status.success(), "useradd {user} failed");
        let mut me = Rootless {
            dir: Some(dir),
            work,
            uid: 0,
            subids: Vec::new(),
            user,
            fuse_node: None,
            service: None,
        };
        me.uid = uid_of(&me.user);
        me.subids = subordinate_ranges(SUBUID, &me.user);
        assert!(
            !me.subids.is_empty(),
            "useradd gave {} no /etc/subuid range",
            me.user
        );
        me.make_dirs(store);
        let run = me.run(&[
            "info",
            "--format",
            "{{.Store.GraphDriverName}} {{.Store.GraphRoot}}",
        ]);
        let want = format!("{} {}", store.driver(), me.graphroot().display());
        let why = if !run.success() {
            Some(format!("rootless `podman info` failed:\n{run}"))
        } else if run.stdout.trim() != want {
            Some(format!("podman uses {:?}, not {want:?}", run.stdout.trim()))
        } else {
            None
        };
        if !usable_or_skip(why, "a rootless podman that runs") {
            return None;
        }
        Some(me)
    }

    /// The home, runtime directory, configuration files and (when needed) FUSE node.
    fn make_dirs(&mut self, store: Store) {
        let home = self.home();
        for sub in ["home", "run", "copy-tmp", "scratch"] {
            fs::create_dir_all(self.work.join(sub)).expect("creating the user's directories");
        }
        fs::set_permissions(self.work.join("run"), fs::Permissions::from_mode(0o700))
            .expect("chmod run");
        let mut storage = "[storage]\ndriver = \"overlay\"\n".to_owned();
        if store == Store::FuseOverlayfs {
            storage.push_str(&format!(
                "[storage.options.overlay]\nmount_program = {FUSE_OVERLAYFS:?}\n"
            ));
            let open_to_all = fs::metadata(DEV_FUSE).is_ok_and(|m| m.mode() & 0o006 == 0o006);
            if !open_to_all {
                let node = self.work.join("fuse");
                let status = Command::new("mknod")
                    .args(["-m", "0666"])
                    .arg(&node)
                    .args(["c", "10", "229"])
                    .status()
                    .expect("running mknod");
                assert!(status.success(), "mknod of the FUSE node failed");
                self.fuse_node = Some(node);
            }
        }
        if store != Store::Vfs {
            let dir = home.join(".config/containers");
            fs::create_dir_all(&dir).expect("creating ~/.config/containers");
            fs::write(dir.join("storage.conf"), storage).expect("writing storage.conf");
        }
        fs::write(self.work.join("containers.conf"), self.containers_conf())
            .expect("writing containers.conf");
        fs::write(
            self.work.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .expect("writing registries.conf");
        for sub in ["home", "run", "copy-tmp", "scratch"] {
            chown_tree(&self.work.join(sub), &self.user);
        }
    }

    fn containers_conf(&self) -> String {
        format!(
            "[containers]\n\
             default_ulimits = []\n\
             [network]\n\
             default_network = \"none\"\n\
             [engine]\n\
             cgroup_manager = \"cgroupfs\"\n\
             events_logger = \"file\"\n\
             lock_type = \"file\"\n\
             image_copy_tmp_dir = {:?}\n",
            self.work.join("copy-tmp")
        )
    }

    /// The user's name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The user's home.
    pub fn home(&self) -> PathBuf {
        self.work.join("home")
    }

    /// The user's graphroot: the rootless default under the home.
    pub fn graphroot(&self) -> PathBuf {
        self.home().join(".local/share/containers/storage")
    }

    /// A directory the user can read, for a test's files (tars).
    pub fn scratch(&self) -> PathBuf {
        self.work.join("scratch")
    }

    /// `podman <args>` as the user, not run yet.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = match &self.fuse_node {
            Some(node) => {
                let mut cmd = Command::new(UNSHARE);
                cmd.args(["--mount", "--propagation", "slave", "--", "sh", "-c"])
                    .arg(r#"mount --bind "$0" /dev/fuse && exec "$@""#)
                    .arg(node)
                    .arg(RUNUSER);
                cmd
            }
            None => Command::new(RUNUSER),
        };
        let home = self.home();
        let env = |name: &str, value: &Path| format!("{name}={}", value.display());
        cmd.args(["-u", &self.user, "--", "env", "-i"])
            .arg(env("HOME", &home))
            .arg(format!("USER={}", self.user))
            .arg(format!("LOGNAME={}", self.user))
            .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
            .arg(env("XDG_RUNTIME_DIR", &self.work.join("run")))
            .arg(env("CONTAINERS_CONF", &self.work.join("containers.conf")))
            .arg(env(
                "CONTAINERS_REGISTRIES_CONF",
                &self.work.join("registries.conf"),
            ))
            .arg(env("TMPDIR", &self.work.join("copy-tmp")))
            .arg(PODMAN)
            .args(args)
            .current_dir(&home);
        cmd
    }

    /// Runs `podman <args>` as the user; the whole run, whatever its exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        run_with_timeout(self.command(args), CLI_TIMEOUT)
    }

    /// Runs `podman <args>`; panics (with its stderr) unless it exits 0; its trimmed stdout.
    pub fn podman(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(run.success(), "{run}");
        run.stdout.trim().to_owned()
    }

    /// `GET /v4.0.0/libpod/system/df` of the user's `podman system service` (started on
    /// first use): what strata's `df -v` must equal.
    pub fn system_df(&mut self) -> Value {
        let socket = self.work.join("run/strata-it.sock");
        if self.service.is_none() {
            let log_path = self.work.join("service.log");
            let log = fs::File::create(&log_path).expect("creating service.log");
            let address = format!("unix://{}", socket.display());
            let child = self
                .command(&["system", "service", "--time", "0", &address])
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("cloning the log handle"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start the rootless podman service: {e}"));
            self.service = Some(child);
            let ping = || matches!(get(&socket, "/_ping").as_deref(), Ok("OK"));
            wait_until_ready(
                "rootless podman system service",
                &mut self.service,
                &log_path,
                ping,
            );
        }
        let path = format!("/{PODMAN_API}/libpod/system/df");
        let body = get(&socket, &path).unwrap_or_else(|e| {
            panic!(
                "GET {path}: {e}\n{}",
                log_tail(&self.work.join("service.log"), 30)
            )
        });
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
    }

    /// Stops everything and deletes the user and its files; panics if anything of it is left
    /// (a process, the account, a subordinate range, the directory). Dropping does the same
    /// without the checks.
    pub fn remove(mut self) {
        let dir = self.work.clone();
        self.clean_up();
        // A process that exits late (conmon's last `podman container cleanup`) may still
        // hold the account; it is a leak only if it outlives another round of kills.
        let start = Instant::now();
        let mut left = self.leftovers();
        while !left.is_empty() && start.elapsed() < KILL_TIMEOUT {
            self.kill_and_delete_user();
            let _ = fs::remove_dir_all(&dir);
            left = self.leftovers();
        }
        assert!(left.is_empty(), "left behind: {}", left.join("; "));
    }

    /// What [`Rootless::remove`] should have removed and did not.
    fn leftovers(&self) -> Vec<String> {
        let mut left = Vec::new();
        let pids = self.processes();
        if !pids.is_empty() {
            left.push(format!("processes {pids:?}"));
        }
        let line = format!("{}:", self.user);
        for file in ["/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"] {
            if fs::read_to_string(file).is_ok_and(|t| t.lines().any(|l| l.starts_with(&line))) {
                left.push(format!("{} in {file}", self.user));
            }
        }
        if self.work.exists() {
            left.push(format!("{}", self.work.display()));
        }
        left
    }

    fn clean_up(&mut self) {
        if self.dir.is_none() {
            return;
        }
        if let Some(child) = self.service.take() {
            if let Err(mut child) = terminate(child, STOP_TIMEOUT) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = self.run(&["stop", "-a", "-t", "0"]);
        self.kill_and_delete_user();
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }

    /// Kills every process of the user until none is left for several checks in a row (a
    /// dying conmon may still start `podman container cleanup`), unmounts what they left and
    /// deletes the account.
    fn kill_and_delete_user(&self) {
        let start = Instant::now();
        let mut quiet = 0;
        while quiet < 5 && start.elapsed() < KILL_TIMEOUT {
            let pids = self.processes();
            quiet = if pids.is_empty() { quiet + 1 } else { 0 };
            for pid in pids {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            thread::sleep(Duration::from_millis(100));
        }
        unmount_under(&self.work);
        // userdel refuses while a process of the user exists, zombies included (killed
        // processes' children wait for init to reap them).
        let start = Instant::now();
        let exists = || {
            let line = format!("{}:", self.user);
            fs::read_to_string("/etc/passwd").is_ok_and(|t| t.lines().any(|l| l.starts_with(&line)))
        };
        while exists()
            && !Command::new(USERDEL)
                .arg(&self.user)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
            && start.elapsed() < KILL_TIMEOUT
        {
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// Pids of the processes running as the user or one of its subordinate uids; zombies
    /// (dead, waiting for their parent or init to reap them) are left out.
    fn processes(&self) -> Vec<i32> {
        let uid = u64::from(self.uid);
        let ours = |u: u64| u == uid || self.subids.iter().any(|(f, n)| u >= *f && u < f + n);
        fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|status| {
                    let field = |name: &str| {
                        status
                            .lines()
                            .find_map(|l| l.strip_prefix(name))
                            .and_then(|v| v.split_whitespace().next())
                    };
                    field("State:") != Some("Z")
                        && field("Uid:").and_then(|u| u.parse().ok()).is_some_and(ours)
                })
            })
            .collect()
    }
}

impl Drop for Rootless {
    fn drop(&mut self) {
        self.clean_up();
    }
}

/// A suffix no other test's user has: the temporary directory's random part, lowercased
/// alphanumerics (user names must be portable).
pub(super) fn unique_suffix(dir: &Path) -> String {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.rsplit('-')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .take(10)
        .collect()
}

/// The uid of `user`, from `/etc/passwd`.
fn uid_of(user: &str) -> u32 {
    let passwd = fs::read_to_string("/etc/passwd").expect("reading /etc/passwd");
    passwd
        .lines()
        .find_map(|l| {
            let mut fields = l.split(':');
            (fields.next() == Some(user)).then(|| fields.nth(1)?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("{user} is not in /etc/passwd"))
}

/// The subordinate uid ranges, and the gid ones.
pub(super) const SUBUID: &str = "/etc/subuid";
/// See [`SUBUID`].
pub(super) const SUBGID: &str = "/etc/subgid";

/// The ranges of `user` (first id, count) in `file` ([`SUBUID`] or [`SUBGID`]).
pub(super) fn subordinate_ranges(file: &str, user: &str) -> Vec<(u64, u64)> {
    fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut fields = l.split(':');
            if fields.next() != Some(user) {
                return None;
            }
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
        .collect()
}

/// `chown -R user: dir` (the user and its login group).
fn chown_tree(dir: &Path, user: &str) {
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{user}:"))
        .arg(dir)
        .status()
        .expect("running chown");
    assert!(status.success(), "chown {} failed", dir.display());
}
