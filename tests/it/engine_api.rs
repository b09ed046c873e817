//! Engine, daemon: `strata engine serve` and its Docker-compatible API, driven by Debian's
//! Docker CLI (`/usr/bin/docker`, API 1.41) and by strata's own CLI with `-H`.
//!
//! - [`the_docker_cli_drives_the_engine`]: the socket is 0660; `docker version`, `images`,
//!   `run -d`, `ps -a`, `logs [-f]` (stdout and stderr apart: the multiplexed framing),
//!   `stop`, `rm`, `volume ls`, `system df`, `diff` and `import` work against it (a `--filter`
//!   is refused, not ignored); strata's CLI with `-H` (unix and TCP) or `STRATA_HOST` imports,
//!   runs (exit code kept), waits, logs and makes volumes through it.
//! - [`the_docker_cli_builds_through_the_engine`]: `DOCKER_BUILDKIT=0 docker build` against
//!   the engine (`POST /build`) builds with Docker's progress lines, the second build comes
//!   from the cache, and a failing `RUN` fails the CLI with the command's exit code named.
//! - [`containment_holds_through_the_api`]: names outside dockerd's pattern get 400 naming
//!   them; a name that is another container's id prefix is created (201) and names its own
//!   container for `start`, `logs` and `DELETE`; a `LogPath` edited to point outside the
//!   root is refused (400, naming `config.v2.json`) without reading the file.
//! - [`listening_is_guarded`]: a TCP address that is not loopback is refused without
//!   `--allow-remote` and warned about with it; a root that another strata daemon serves, or
//!   that a running dockerd uses, is refused (by `engine serve` and by the direct verbs).
//! - [`a_killed_daemon_restarts_clean`]: the daemon and one container's supervisor are
//!   SIGKILLed while two containers run and a layer is half written; the restarted daemon
//!   keeps the container whose supervisor lives (it still answers `stop`), records the other
//!   exited (137), and leaves no stray mount, cgroup or staged layer.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::fixture::busybox_rootfs_tar;
use crate::harness::{
    dockerd_usable, engine_usable, mount_points_under, run_with_timeout, strata_on, Dockerd,
    Driver, Run, DOCKER_CLI,
};

/// A `strata engine serve` on a root; SIGTERMed (and its containers removed) when dropped.
pub(crate) struct Engine {
    child: Option<Child>,
    root: PathBuf,
    socket: PathBuf,
    /// What it said on stderr up to "listening" lines.
    said: Vec<String>,
    tcp: Option<String>,
}

impl Engine {
    /// Starts it with `extra` arguments after `engine serve`, listening on `<dir>/engine.sock`
    /// and on a free loopback port; waits until it listens.
    pub(crate) fn start(root: &Path, dir: &Path) -> Engine {
        let socket = dir.join("engine.sock");
        let unix = format!("unix://{}", socket.display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_strata"))
            .arg("--root")
            .arg(root)
            .args(["engine", "serve", "-H", &unix, "-H", "tcp://127.0.0.1:0"])
            .env_remove("STRATA_HOST")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting strata engine serve");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut said = Vec::new();
        let mut tcp = None;
        while tcp.is_none() {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("engine serve exited: {said:?}"))
                .unwrap();
            if let Some(addr) = line.strip_prefix("strata engine: listening on tcp://") {
                tcp = Some(format!("tcp://{addr}"));
            }
            said.push(line);
        }
        std::thread::spawn(move || lines.for_each(drop));
        Engine {
            child: Some(child),
            root: root.to_owned(),
            socket,
            said,
            tcp,
        }
    }

    pub(crate) fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The Docker CLI against this engine; panics unless it succeeds.
    pub(crate) fn docker(&self, args: &[&str]) -> Run {
        let run = self.docker_run(args);
        assert!(run.success(), "{run}");
        run
    }

    fn docker_run(&self, args: &[&str]) -> Run {
        self.cli_run(DOCKER_CLI, args)
    }

    /// The Docker CLI `cli` against this engine.
    pub(crate) fn cli_run(&self, cli: &str, args: &[&str]) -> Run {
        run_with_timeout(self.cli_command(cli, args), Duration::from_secs(60))
    }

    /// The command line of the Docker CLI `cli` against this engine, not started.
    fn cli_command(&self, cli: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(cli);
        cmd.env("DOCKER_CONFIG", self.socket.with_file_name("docker-cli"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .arg("-H")
            .arg(self.host())
            .args(args);
        cmd
    }

    /// The Docker CLI against this engine, expected to fail.
    pub(crate) fn docker_fails(&self, args: &[&str]) -> Run {
        let run = self.docker_run(args);
        assert!(!run.success(), "{run}");
        run
    }

    /// strata's CLI through this engine (`-H <host>`).
    pub(crate) fn strata(&self, host: &str, args: &[&str]) -> Run {
        let mut full = vec!["-H", host];
        full.extend_from_slice(args);
        strata_on(&self.root, &full)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILLs the daemon (nothing else).
    fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        // Whatever a failed test left running.
        let ids = fs::read_dir(self.root.join("containers"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned());
        for id in ids {
            strata_on(&self.root, &["rm", "-f", "-v", &id]);
        }
    }
}

/// A data root with the busybox image imported as `bb:1`.
pub(crate) fn imported_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let tar = busybox_rootfs_tar(dir);
    strata_on(&root, &["import", tar.to_str().unwrap(), "bb:1"]).assert_success();
    root
}

/// The cgroup directories of container `id`, in any hierarchy.
pub(crate) fn cgroups_of(id: &str) -> Vec<PathBuf> {
    let base = Path::new("/sys/fs/cgroup");
    let mut dirs = vec![base.join("strata").join(id)];
    for e in fs::read_dir(base).unwrap().flatten() {
        dirs.push(e.path().join("strata").join(id));
    }
    dirs.into_iter().filter(|d| d.exists()).collect()
}

/// A container logs 1 to 5 and waits for a file of a bind-mounted directory; `docker logs -f
/// --tail 2`, started then, prints 4 and 5 at once, and 6, which the container logs once the
/// file is made after those two lines were read, then ends with the container.
fn logs_follow_tail(engine: &Engine, dir: &Path) {
    let trigger = dir.join("trigger");
    fs::create_dir_all(&trigger).unwrap();
    let bind = format!("{}:/trigger", trigger.display());
    engine.docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "tailed",
        "-v",
        &bind,
        "bb:1",
        "sh",
        "-c",
        "for i in 1 2 3 4 5; do echo $i; done; until [ -e /trigger/go ]; do sleep 0.05; done; \
         echo 6",
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while engine.docker(&["logs", "tailed"]).stdout != "1\n2\n3\n4\n5\n" {
        assert!(Instant::now() < deadline, "tailed never logged 1 to 5");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut follow = engine
        .cli_command(DOCKER_CLI, &["logs", "-f", "--tail", "2", "tailed"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Read on a thread, so that a stream that stalls fails at a deadline instead of hanging.
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap_or_default());
        }
    });
    // A line, or `None` once the stream has ended; a stall past the deadline is an error.
    let next = || match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(line) => Ok(Some(line)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Ok(None),
        Err(timeout) => Err(timeout),
    };
    let lines = (next(), next());
    if lines != (Ok(Some("4".to_owned())), Ok(Some("5".to_owned()))) {
        let _ = follow.kill();
        panic!("logs -f --tail 2 began with {lines:?}");
    }
    fs::write(trigger.join("go"), "").unwrap();
    let rest = (next(), next());
    if rest != (Ok(Some("6".to_owned())), Ok(None)) {
        let _ = follow.kill();
        panic!("after the trigger, logs -f --tail 2 gave {rest:?}");
    }
    assert!(follow.wait().unwrap().success());
    engine.docker(&["rm", "tailed"]);
}

#[test]
fn the_docker_cli_drives_the_engine() {
    if !dockerd_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = imported_root(dir.path());
    let engine = Engine::start(&root, dir.path());
    let mode = fs::metadata(&engine.socket).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o660, "{:?}", engine.said);

    let version = engine.docker(&["version", "--format", "{{.Server.APIVersion}}"]);
    assert_eq!(version.stdout.trim(), "1.41");
    let images = engine.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(images.stdout.trim(), "bb:1");

    // `info` tells the truth: this machine's memory, CPUs and cgroup version, and the limits
    // a container gets here (memory, CFS quota and pids with this kernel's cgroups; never
    // swap, CPU shares or cpusets, which the engine refuses).
    let info = engine.docker(&[
        "info",
        "--format",
        "{{.MemTotal}} {{.NCPU}} {{.CgroupVersion}} {{.MemoryLimit}} {{.CPUCfsQuota}} \
         {{.PidsLimit}} {{.SwapLimit}} {{.CPUShares}} {{.CPUSet}}",
    ]);
    let meminfo = fs::read_to_string("/proc/meminfo").unwrap();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|k| k.parse().ok())
        .unwrap();
    let ncpu = std::thread::available_parallelism().unwrap();
    let version = if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        2
    } else {
        1
    };
    assert_eq!(
        info.stdout.split_whitespace().collect::<Vec<_>>(),
        [
            (mem_kib * 1024).to_string(),
            ncpu.to_string(),
            version.to_string(),
            "true".to_owned(),
            "true".to_owned(),
            "true".to_owned(),
            "false".to_owned(),
            "false".to_owned(),
            "false".to_owned(),
        ],
        "{info}"
    );

    let run = engine.docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "talker",
        "bb:1",
        "sh",
        "-c",
        // `err` last: once the log has it, the changes below are made.
        "echo out; echo new > /added; rm /bin/ls; echo err >&2; sleep 60",
    ]);
    let id = run.stdout.trim().to_owned();
    assert_eq!(id.len(), 64, "{run}");
    let ps = engine.docker(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.stdout.starts_with("talker Up"), "{ps}");
    // The log has both lines once the shell has made its changes and gone on to sleep.
    let deadline = Instant::now() + Duration::from_secs(20);
    let logs = loop {
        let logs = engine.docker(&["logs", "talker"]);
        if logs.stderr.contains("err") || Instant::now() > deadline {
            break logs;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        (logs.stdout.as_str(), logs.stderr.as_str()),
        ("out\n", "err\n")
    );
    // A log option strata does not implement is refused, naming it, never ignored.
    let since = engine.docker_fails(&["logs", "--since", "1h", "talker"]);
    assert!(since.stderr.contains("since="), "{since}");
    let changes = engine.strata_api_get(&format!("/v1.41/containers/{id}/changes"));
    let listed: Vec<(String, i64)> = changes
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["Path"].as_str().unwrap().to_owned(),
                c["Kind"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(listed.contains(&("/added".to_owned(), 1)), "{listed:?}");
    assert!(listed.contains(&("/bin/ls".to_owned(), 2)), "{listed:?}");
    let diff = engine.docker(&["diff", "talker"]);
    assert!(
        diff.stdout.contains("A /added\n") && diff.stdout.contains("D /bin/ls\n"),
        "{diff}"
    );
    // `docker kill` (SIGKILL) returns once the container is dead, as with dockerd: the next
    // command sees it exited, without polling.
    engine.docker(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "killed",
        "bb:1",
        "sleep",
        "600",
    ]);
    engine.docker(&["kill", "killed"]);
    let state = engine.docker(&[
        "inspect",
        "-f",
        "{{.State.Status}} {{.State.ExitCode}}",
        "killed",
    ]);
    assert_eq!(state.stdout.trim(), "exited 137", "{state}");
    engine.docker(&["rm", "killed"]);

    // `logs -f --tail 2`: the last two lines logged so far, then what comes.
    logs_follow_tail(&engine, dir.path());
    engine.docker(&["stop", "-t", "1", "talker"]);
    let ps = engine.docker(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    assert!(ps.stdout.starts_with("talker Exited (143)"), "{ps}");
    assert_eq!(engine.docker(&["logs", "-f", "talker"]).stdout, "out\n");
    let filtered = engine.docker_fails(&["ps", "-a", "--filter", "name=talker"]);
    assert!(
        filtered.stderr.contains("filters are not supported"),
        "{filtered}"
    );
    engine.docker(&["rm", "talker"]);
    assert!(engine.docker(&["ps", "-aq"]).stdout.trim().is_empty());
    assert!(!root.join("containers").join(&id).exists());

    // strata's own CLI through the daemon, over the socket and over TCP.
    let host = engine.host();
    let tcp = engine.tcp.clone().unwrap();
    let tar = dir.path().join("rootfs.tar");
    let imported = engine.strata(&tcp, &["import", tar.to_str().unwrap(), "again:2"]);
    assert!(imported.assert_success().stdout.starts_with("sha256:"));
    engine.docker(&["import", tar.to_str().unwrap(), "viadocker:3"]);
    let images = engine.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.stdout.contains("viadocker:3"), "{images}");
    let ran = engine.strata(
        &host,
        &["run", "--rm", "again:2", "sh", "-c", "echo via api; exit 3"],
    );
    assert_eq!(
        (ran.code, ran.stdout.as_str()),
        (Some(3), "via api\n"),
        "{ran}"
    );
    assert!(
        engine.docker(&["ps", "-aq"]).stdout.trim().is_empty(),
        "--rm"
    );
    engine
        .strata(&tcp, &["volume", "create", "kept"])
        .assert_success();
    let volumes = engine.docker(&["volume", "ls", "--format", "{{.Name}}"]);
    assert_eq!(volumes.stdout.trim(), "kept");
    // STRATA_HOST, as DOCKER_HOST: the verbs go to the daemon, not to --root.
    let elsewhere = dir.path().join("not-the-root");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_strata"));
    cmd.env("STRATA_HOST", &host)
        .arg("--root")
        .arg(&elsewhere)
        .args(["volume", "ls"]);
    let listed = run_with_timeout(cmd, Duration::from_secs(60));
    assert!(listed.stdout.contains("local     kept"), "{listed}");
    assert!(!elsewhere.exists());
    let detached = engine.strata(
        &host,
        &[
            "run",
            "-d",
            "-v",
            "kept:/k",
            "bb:1",
            "sh",
            "-c",
            "echo hi > /k/f",
        ],
    );
    let cid = detached.assert_success().stdout.trim().to_owned();
    assert_eq!(engine.strata(&host, &["wait", &cid]).stdout.trim(), "0");
    assert_eq!(
        fs::read_to_string(root.join("volumes/kept/_data/f")).unwrap(),
        "hi\n"
    );

    let df = engine.docker(&[
        "system",
        "df",
        "--format",
        "{{.Type}} {{.TotalCount}} {{.Active}}",
    ]);
    assert_eq!(
        df.stdout.lines().collect::<Vec<_>>(),
        [
            "Images 3 1",
            "Containers 1 0",
            "Local Volumes 1 1",
            "Build Cache 0 0"
        ],
        "{df}"
    );
    engine.strata(&host, &["rm", &cid]).assert_success();
    let missing = engine.strata(&host, &["rm", "nothing"]);
    assert!(
        !missing.success() && missing.stderr.contains("404"),
        "{missing}"
    );
}

impl Engine {
    /// `method path` with a JSON `body` on the daemon's socket, in plain HTTP/1.0; the
    /// status and the body.
    pub(crate) fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: strata\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status: {response}"));
        (status, body.to_owned())
    }

    /// `GET path` on the daemon's socket with curl-free plain HTTP/1.0; the JSON body.
    fn strata_api_get(&self, path: &str) -> serde_json::Value {
        use std::io::{Read, Write};
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: strata\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.0 200"), "{response}");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }
}

#[test]
fn listening_is_guarded() {
    if !dockerd_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let refused = strata_on(&root, &["engine", "serve", "-H", "tcp://0.0.0.0:0"]);
    assert_eq!(refused.code, Some(2), "{refused}");
    assert!(refused.stderr.contains("--allow-remote"), "{refused}");

    let mut remote = Command::new(env!("CARGO_BIN_EXE_strata"))
        .arg("--root")
        .arg(&root)
        .args(["engine", "serve", "-H", "tcp://0.0.0.0:0", "--allow-remote"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(remote.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = remote.kill();
    let _ = remote.wait();
    assert!(
        first.contains("WARNING") && first.contains("0.0.0.0"),
        "{first}"
    );

    // A second strata daemon on a served root.
    let served = imported_root(dir.path());
    let first = Engine::start(&served, dir.path());
    let second = strata_on(&served, &["engine", "serve", "-H", "tcp://127.0.0.1:0"]);
    assert_eq!(second.code, Some(2), "{second}");
    assert!(second.stderr.contains("another strata engine"), "{second}");
    drop(first);

    let daemon = Dockerd::start(Driver::Overlay2);
    let busy = strata_on(
        daemon.data_root(),
        &[
            "engine",
            "serve",
            "-H",
            &format!("unix://{}/s.sock", dir.path().display()),
        ],
    );
    assert_eq!(busy.code, Some(2), "{busy}");
    assert!(busy.stderr.contains("in use by dockerd"), "{busy}");
    // The engine verbs without a daemon refuse it too, and write nothing.
    let entries = |rel: &str| fs::read_dir(daemon.data_root().join(rel)).map_or(0, |d| d.count());
    let before = (entries("containers"), entries("volumes"));
    for args in [&["volume", "create", "v"][..], &["create", "busybox"][..]] {
        let direct = strata_on(daemon.data_root(), args);
        assert_eq!(direct.code, Some(2), "{direct}");
        assert!(
            direct.stderr.contains("in use by a running dockerd"),
            "{direct}"
        );
    }
    assert_eq!((entries("containers"), entries("volumes")), before);
}

#[test]
fn a_killed_daemon_restarts_clean() {
    if !dockerd_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = imported_root(dir.path());
    let mut engine = Engine::start(&root, dir.path());
    let host = engine.host();
    let run = |name: &str| {
        let r = engine.strata(
            &host,
            &["run", "-d", "--name", name, "bb:1", "sleep", "600"],
        );
        r.assert_success().stdout.trim().to_owned()
    };
    let (kept, orphan) = (run("kept"), run("orphan"));
    let supervisor_of = |id: &str| -> u32 {
        let pidfile = fs::read_dir("/run/strata")
            .unwrap()
            .flatten()
            .map(|e| e.path().join("b").join(id).join("supervisor.pid"))
            .find(|p| p.exists())
            .expect("the supervisor's pidfile");
        fs::read_to_string(pidfile).unwrap().trim().parse().unwrap()
    };
    let orphan_supervisor = supervisor_of(&orphan);
    // A layer being written when the crash comes: staged content and its write-set record.
    let staged = root.join("tmp").join("layer-staged");
    fs::create_dir_all(staged.join("diff")).unwrap();
    fs::write(staged.join("diff/half"), "half").unwrap();
    let write_set = root.join("image/overlay2/layerdb/tmp/write-set-123");
    fs::create_dir_all(&write_set).unwrap();

    let daemon_pid = engine.pid();
    engine.crash();
    assert!(!Path::new(&format!("/proc/{daemon_pid}")).exists());
    Command::new("kill")
        .args(["-KILL", &orphan_supervisor.to_string()])
        .status()
        .unwrap();
    let orphan_layer = fs::read_to_string(
        root.join("image/overlay2/layerdb/mounts")
            .join(&orphan)
            .join("mount-id"),
    )
    .unwrap();
    let orphan_merged = root.join("overlay2").join(&orphan_layer).join("merged");
    assert!(mount_points_under(&root).contains(&orphan_merged));
    assert!(!cgroups_of(&orphan).is_empty());

    let engine = Engine::start(&root, dir.path());
    assert!(
        engine.said[0].contains("1 live, 1 stopped"),
        "{:?}",
        engine.said
    );
    let ps = engine.docker(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    let lines: Vec<&str> = ps.stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with("orphan Exited (137)")),
        "{ps}"
    );
    assert!(lines.iter().any(|l| l.starts_with("kept Up")), "{ps}");
    assert!(!mount_points_under(&root).contains(&orphan_merged));
    assert!(cgroups_of(&orphan).is_empty(), "{:?}", cgroups_of(&orphan));
    assert!(!staged.exists() && !write_set.exists());

    // The container that lived on is the daemon's again.
    engine.docker(&["stop", "-t", "1", "kept"]);
    engine.docker(&["rm", "kept", "orphan"]);
    assert!(
        mount_points_under(&root).is_empty(),
        "{:?}",
        mount_points_under(&root)
    );
    assert!(cgroups_of(&kept).is_empty() && cgroups_of(&orphan).is_empty());
    assert_eq!(
        fs::read_dir(root.join("overlay2")).unwrap().count(),
        2,
        "the image layer and l/"
    );
    assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

#[test]
fn the_docker_cli_builds_through_the_engine() {
    if !dockerd_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = imported_root(dir.path());
    let engine = Engine::start(&root, dir.path());
    let ctx = dir.path().join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("app.txt"), "hello from the context\n").unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM bb:1\nCOPY app.txt /app.txt\nRUN echo built > /built.txt\nCMD [\"cat\", \"/app.txt\"]\n",
    )
    .unwrap();
    let build = |tag: &str, dockerfile: &str| {
        let mut cmd = Command::new(DOCKER_CLI);
        cmd.env("DOCKER_CONFIG", dir.path().join("docker-cli"))
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_HOST")
            .args(["-H", &engine.host(), "build", "-t", tag, "-f", dockerfile])
            .arg(&ctx);
        run_with_timeout(cmd, Duration::from_secs(120))
    };
    let first = build("apitest:1", &ctx.join("Dockerfile").display().to_string());
    assert!(first.success(), "{first}");
    for want in [
        "Step 1/4 : FROM bb:1",
        "Step 3/4 : RUN echo built",
        "Successfully tagged apitest:1",
    ] {
        assert!(first.stdout.contains(want), "{want:?} missing: {first}");
    }
    let second = build("apitest:2", &ctx.join("Dockerfile").display().to_string());
    assert!(second.success(), "{second}");
    assert_eq!(second.stdout.matches("Using cache").count(), 3, "{second}");
    let images = engine.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.stdout.contains("apitest:1"), "{images}");

    fs::write(ctx.join("Dockerfile.fail"), "FROM bb:1\nRUN exit 7\n").unwrap();
    let failed = build(
        "apitest:fail",
        &ctx.join("Dockerfile.fail").display().to_string(),
    );
    assert!(!failed.success(), "{failed}");
    let said = format!("{}{}", failed.stdout, failed.stderr);
    assert!(said.contains('7'), "the exit code is named: {failed}");
}

#[test]
fn containment_holds_through_the_api() {
    if !engine_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = imported_root(dir.path());
    let outside = dir.path().join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("secret"), "host secret\n").unwrap();
    let engine = Engine::start(&root, dir.path());
    let host = engine.host();
    let named_body = r#"{"Image":"bb:1","Cmd":["echo","named"]}"#;
    for (bad, shown) in [
        ("a%2Fb", r#""a/b""#),
        ("..", r#""..""#),
        ("x%0Ay", r#""x\ny""#),
        ("%1B%5B31m", r#""\u{1b}[31m""#),
        ("-x", r#""-x""#),
    ] {
        let (status, answer) = engine.request(
            "POST",
            &format!("/containers/create?name={bad}"),
            named_body,
        );
        assert_eq!(status, 400, "{bad}: {answer}");
        let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("invalid container name") && message.contains(shown),
            "{bad}: the answer names it: {message}"
        );
    }
    let id_of = |(status, answer): (u16, String)| {
        assert_eq!(status, 201, "{answer}");
        let made: serde_json::Value = serde_json::from_str(&answer).unwrap();
        made["Id"].as_str().unwrap().to_owned()
    };
    let unrelated = id_of(engine.request(
        "POST",
        "/containers/create",
        r#"{"Image":"bb:1","Cmd":["echo","unrelated"]}"#,
    ));
    let prefix = unrelated[..6].to_owned();
    let named = id_of(engine.request(
        "POST",
        &format!("/containers/create?name={prefix}"),
        named_body,
    ));
    let (status, answer) = engine.request("POST", &format!("/containers/{prefix}/start"), "");
    assert_eq!(status, 204, "{answer}");
    let waited = engine.strata(&host, &["wait", &prefix]);
    assert_eq!(waited.assert_success().stdout.trim(), "0");
    let logs_path = format!("/containers/{prefix}/logs?stdout=1&stderr=1");
    let (status, answer) = engine.request("GET", &logs_path, "");
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.contains("named") && !answer.contains("unrelated"),
        "{answer}"
    );

    let config = root.join("containers").join(&named).join("config.v2.json");
    let mut rec: serde_json::Value = serde_json::from_slice(&fs::read(&config).unwrap()).unwrap();
    rec["LogPath"] = serde_json::Value::from(outside.join("secret").to_str().unwrap());
    fs::write(&config, serde_json::to_vec(&rec).unwrap()).unwrap();
    let (status, answer) = engine.request("GET", &logs_path, "");
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer.contains("config.v2.json") && !answer.contains("host secret"),
        "{answer}"
    );

    let (status, answer) = engine.request("DELETE", &format!("/containers/{prefix}?force=1"), "");
    assert_eq!(status, 204, "{answer}");
    assert!(!root.join("containers").join(&named).exists());
    let kept = root
        .join("containers")
        .join(&unrelated)
        .join("config.v2.json");
    let kept: serde_json::Value = serde_json::from_slice(&fs::read(kept).unwrap()).unwrap();
    assert_eq!(
        kept["State"]["StartedAt"], "0001-01-01T00:00:00Z",
        "never started"
    );
    assert_eq!(
        fs::read_to_string(outside.join("secret")).unwrap(),
        "host secret\n"
    );
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
}
