//! Debian trixie's dockerd 26.1 and containerd 1.7, unpacked (not installed) by
//! `scripts/trixie-daemons.sh` under [`TRIXIE_DIR`]; `ctr` bound to a containerd socket
//! ([`Ctr`]); and a plain containerd on temporary directories ([`Containerd`]), as a
//! Kubernetes node or a nerdctl host runs it, with no dockerd.
//!
//! A [`Containerd`] has its own `root`, `state`, gRPC, ttrpc and debug sockets, all in one
//! unique temporary directory; its CRI plugin is disabled (no CNI, no stream server: the tests
//! make their objects with `ctr`, and `ctr run` makes no network but an empty namespace).
//! Dropping it kills the tasks it runs, stops it and unmounts what it left mounted.

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

use super::cleanup::unmount_under;
use super::dockerd::{log_tail, terminate, wait_until_ready, STOP_TIMEOUT};
use super::run::{run_with_timeout, Run};

/// Where `scripts/trixie-daemons.sh` unpacks the packages by default (its `DIR`); the
/// binaries are under `x/`. `STRATA_TEST_TRIXIE_DIR` names another.
pub const TRIXIE_DIR: &str = "/opt/strata-trixie";
/// The variable that overrides [`TRIXIE_DIR`].
pub const TRIXIE_DIR_ENV: &str = "STRATA_TEST_TRIXIE_DIR";

/// How long one `ctr` command may take (an image import included).
const CTR_TIMEOUT: Duration = Duration::from_secs(300);

/// The unpacked packages' root (`<dir>/x`).
fn unpacked() -> PathBuf {
    let dir =
        std::env::var_os(TRIXIE_DIR_ENV).map_or_else(|| PathBuf::from(TRIXIE_DIR), PathBuf::from);
    dir.join("x")
}

/// trixie's `dockerd` (26.1.5).
pub fn dockerd() -> PathBuf {
    unpacked().join("usr/sbin/dockerd")
}

/// trixie's `containerd` (1.7.24).
pub fn containerd() -> PathBuf {
    unpacked().join("usr/bin/containerd")
}

/// trixie's `ctr`.
pub fn ctr() -> PathBuf {
    unpacked().join("usr/bin/ctr")
}

/// Every file the containerd-store tests need from the unpacked packages.
pub fn binaries() -> [PathBuf; 4] {
    [
        dockerd(),
        containerd(),
        ctr(),
        unpacked().join("usr/bin/containerd-shim-runc-v2"),
    ]
}

/// `PATH` with trixie's `usr/bin` and `usr/sbin` first: dockerd starts the `containerd` it
/// finds there, and containerd the `containerd-shim-runc-v2` (bookworm's `runc` serves).
pub fn path_env() -> String {
    let x = unpacked();
    let rest = std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into());
    format!(
        "{}:{}:{rest}",
        x.join("usr/bin").display(),
        x.join("usr/sbin").display()
    )
}

/// The dockerd version the unpacked binary reports (`26.1.5` from
/// `Docker version 26.1.5+dfsg1, build 411e817`).
pub fn dockerd_version() -> String {
    let out = Command::new(dockerd())
        .arg("--version")
        .output()
        .expect("dockerd --version");
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .nth(2)
        .and_then(|v| v.trim_end_matches(',').split('+').next())
        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("dockerd --version printed {text:?}"))
        .to_owned()
}

/// `ctr --address <socket> -n <namespace>`: trixie's client bound to one containerd.
#[derive(Debug, Clone)]
pub struct Ctr {
    address: PathBuf,
    namespace: String,
}

impl Ctr {
    /// A client of the containerd listening on `address`, in `namespace`.
    pub fn new(address: PathBuf, namespace: &str) -> Ctr {
        Ctr {
            address,
            namespace: namespace.to_owned(),
        }
    }

    /// The command, without running it (PATH as [`path_env`], for `ctr run`'s shim).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(ctr());
        cmd.env("PATH", path_env())
            .arg("--address")
            .arg(&self.address)
            .args(["--namespace", &self.namespace])
            .args(args);
        cmd
    }

    /// Runs `ctr <args>` and returns the whole run, whatever its exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        run_with_timeout(self.command(args), CTR_TIMEOUT)
    }

    /// Runs `ctr <args>`; panics unless it exits 0; its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert!(run.success(), "{run}");
        run.stdout
    }
}

/// A plain containerd 1.7 on a private, temporary root.
pub struct Containerd {
    dir: TempDir,
    child: Option<Child>,
}

impl Containerd {
    /// Starts trixie's containerd with a config naming its own `root`, `state` and sockets
    /// under a new temporary directory, and waits until `ctr version` answers.
    pub fn start() -> Containerd {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-containerd-")
            .tempdir()
            .expect("creating containerd's temporary directory");
        let work = dir.path();
        for sub in ["root", "state"] {
            fs::create_dir_all(work.join(sub)).expect("creating containerd's directories");
        }
        let config = format!(
            "version = 2\nroot = {root:?}\nstate = {state:?}\n\
             disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n\
             [grpc]\n  address = {sock:?}\n[ttrpc]\n  address = {ttrpc:?}\n\
             [debug]\n  address = {debug:?}\n",
            root = work.join("root"),
            state = work.join("state"),
            sock = work.join("containerd.sock"),
            ttrpc = work.join("containerd.sock.ttrpc"),
            debug = work.join("debug.sock"),
        );
        fs::write(work.join("config.toml"), config).expect("writing config.toml");
        let log = fs::File::create(work.join("containerd.log")).expect("creating the log");
        let child = Command::new(containerd())
            .env("PATH", path_env())
            .arg("--config")
            .arg(work.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("cloning the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", containerd().display()));
        let mut daemon = Containerd {
            dir,
            child: Some(child),
        };
        let probe = daemon.ctr("default");
        let log = daemon.dir.path().join("containerd.log");
        wait_until_ready("containerd", &mut daemon.child, &log, || {
            probe.run(&["version"]).success()
        });
        daemon
    }

    /// Its root (`root =`): the directory strata analyses with `--containerd-root`.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// `ctr` bound to it, in `namespace`.
    pub fn ctr(&self, namespace: &str) -> Ctr {
        Ctr::new(self.dir.path().join("containerd.sock"), namespace)
    }

    /// The end of its log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.dir.path().join("containerd.log"), lines)
    }

    /// Kills every task it runs (in every namespace; their shims exit), then stops it with
    /// SIGTERM (SIGKILL after the timeout) and unmounts what is left mounted. Idempotent.
    pub fn stop(&mut self) {
        let Some(child) = self.child.take() else {
            return;
        };
        let namespaces = self.ctr("default").run(&["namespaces", "ls", "-q"]).stdout;
        for namespace in namespaces.lines().filter(|n| !n.is_empty()) {
            let ctr = self.ctr(namespace);
            for task in ctr.run(&["tasks", "ls", "-q"]).stdout.lines() {
                if !task.is_empty() {
                    let _ = ctr.run(&["tasks", "delete", "--force", task]);
                }
            }
        }
        if let Err(mut child) = terminate(child, STOP_TIMEOUT) {
            let _ = child.kill();
            let _ = child.wait();
        }
        unmount_under(self.dir.path());
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.stop();
    }
}
