//! Engine, daemon: `POST /containers/create` honours or refuses every field, driven by
//! Debian's Docker 20.10 CLI and, where present, the Docker 28 CLI (`/usr/local/bin/docker`).
//!
//! - [`create_honours_every_field_it_takes`]: `-u uid:gid` and `-u name` (resolved in the
//!   image's `/etc/passwd` and `/etc/group`, with supplementary groups), `--cap-drop ALL`,
//!   `--cap-add`, `--security-opt no-new-privileges`, `--pids-limit` (the cgroup's
//!   `pids.max`), `--label` (in `inspect`), `--tmpfs` (in `/proc/mounts`), `-w`, `-e`,
//!   `--stop-signal`; a plain `run -d` and `create` pass; strata's own CLI does the same
//!   through the API.
//! - [`create_refuses_what_it_does_not_implement`]: `--privileged`, `--restart always`,
//!   `--device`, `-p`, `--init`, `--security-opt seccomp=unconfined`, an unknown user and an
//!   unknown capability get a 400 naming the field, the CLI fails, and nothing is left (no
//!   container, no layer, no volume); a raw body with an unknown field is refused naming it.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::engine_api::{cgroups_of, imported_root, Engine};
use crate::harness::{dockerd_usable, strata_on, DOCKER_CLI};

/// The Docker 28 CLI, when installed.
const DOCKER_28_CLI: &str = "/usr/local/bin/docker";

/// The CLIs to drive: Debian's, and Docker 28's where present.
fn clis() -> Vec<&'static str> {
    let mut clis = vec![DOCKER_CLI];
    if Path::new(DOCKER_28_CLI).exists() {
        clis.push(DOCKER_28_CLI);
    } else {
        eprintln!("{DOCKER_28_CLI} is not installed: only Debian's Docker CLI is driven");
    }
    clis
}

/// `users:1`: `bb:1` with users and groups planted: `nobody` (65534, group `nogroup`) is a
/// member of `extra` (777); `nobody:1`: `users:1` with `USER nobody`. Built with strata's
/// builder before the engine serves the root.
fn users_image(root: &Path, dir: &Path) {
    let ctx = dir.join("users-ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(
        ctx.join("Dockerfile"),
        "FROM bb:1\n\
         RUN echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >> /etc/passwd && \
         printf 'root:x:0:\\nnogroup:x:65534:\\nextra:x:777:nobody\\n' > /etc/group\n",
    )
    .unwrap();
    let build = |tag: &str| {
        strata_on(root, &["build", "-q", "-t", tag, ctx.to_str().unwrap()]).assert_success();
    };
    build("users:1");
    fs::write(ctx.join("Dockerfile"), "FROM users:1\nUSER nobody\n").unwrap();
    build("nobody:1");
}

/// A root with `users:1`, served by an engine (the directory holds both).
fn served() -> (tempfile::TempDir, std::path::PathBuf, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let root = imported_root(dir.path());
    users_image(&root, dir.path());
    let engine = Engine::start(&root, dir.path());
    (dir, root, engine)
}

/// Runs `docker run -d FLAGS users:1 sh -c SCRIPT` with `cli`, waits for it to exit, and
/// returns its standard output (the container is removed).
fn output_of(engine: &Engine, cli: &str, flags: &[&str], script: &str) -> String {
    let mut args = vec!["run", "-d"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&["users:1", "sh", "-c", script]);
    let run = engine.cli_run(cli, &args);
    assert!(run.success(), "{run}");
    let id = run.stdout.trim().to_owned();
    let waited = engine.cli_run(cli, &["wait", &id]);
    assert_eq!(waited.stdout.trim(), "0", "{waited}");
    let logs = engine.cli_run(cli, &["logs", &id]);
    assert!(logs.success(), "{logs}");
    assert!(engine.cli_run(cli, &["rm", &id]).success());
    logs.stdout
}

/// The value of the `field:` line of a `/proc/<pid>/status` text.
fn status_field<'a>(status: &'a str, field: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in {status}"))
        .trim()
}

/// Polls `read` until it gives something (the container's cgroup appears once it runs).
fn poll<T>(what: &str, mut read: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = read() {
            return v;
        }
        assert!(Instant::now() < deadline, "no {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn create_honours_every_field_it_takes() {
    if !dockerd_usable() {
        return;
    }
    let (_dir, root, engine) = served();
    for cli in clis() {
        let ids = output_of(&engine, cli, &["-u", "1000:1000"], "id -u; id -g");
        assert_eq!(ids, "1000\n1000\n", "{cli}");
        let ids = output_of(&engine, cli, &["-u", "nobody"], "id -u; id -g; id -G");
        assert_eq!(ids, "65534\n65534\n65534 777\n", "{cli}");
        let groups = output_of(
            &engine,
            cli,
            &[
                "-u",
                "nobody",
                "--group-add",
                "12",
                "--group-add",
                "nogroup",
            ],
            "id -G",
        );
        assert_eq!(groups, "65534 12 777\n", "{cli}");
        let root_ids = output_of(&engine, cli, &[], "id -u");
        assert_eq!(root_ids, "0\n", "{cli}");
        // The image's USER applies when -u is not given, and -u overrides it.
        let image_user = engine.cli_run(cli, &["run", "-d", "nobody:1", "id", "-u"]);
        let id = image_user.stdout.trim();
        assert_eq!(engine.cli_run(cli, &["wait", id]).stdout.trim(), "0");
        assert_eq!(
            engine.cli_run(cli, &["logs", id]).stdout,
            "65534\n",
            "{cli}"
        );
        assert!(engine.cli_run(cli, &["rm", id]).success());
        let anon = output_of(
            &engine,
            cli,
            &["-v", "/anon"],
            "grep -c ' /anon ' /proc/mounts",
        );
        assert_eq!(anon, "1\n", "{cli}: -v /anon mounts an anonymous volume");
        assert!(engine.cli_run(cli, &["volume", "prune", "-f"]).success());

        let caps_in = |set: &str, flags: &[&str]| {
            let status = output_of(&engine, cli, flags, "cat /proc/self/status");
            u64::from_str_radix(status_field(&status, set), 16).unwrap()
        };
        let caps = |flags: &[&str]| caps_in("CapEff", flags);
        let default = caps(&[]);
        assert_eq!(default, 0xa804_25fb, "{cli}: Docker's default set");
        // Not root: only the bounding set, as moby's SetCapabilities.
        assert_eq!(caps(&["-u", "1000"]), 0, "{cli}");
        assert_eq!(caps_in("CapBnd", &["-u", "1000"]), default, "{cli}");
        assert_eq!(caps(&["--cap-drop", "ALL"]), 0, "{cli}");
        assert_eq!(
            caps(&["--cap-add", "SYS_ADMIN"]),
            default | 1 << 21,
            "{cli}"
        );
        assert_eq!(
            caps(&["--cap-drop", "ALL", "--cap-add", "cap_kill"]),
            1 << 5,
            "{cli}"
        );
        let status = output_of(
            &engine,
            cli,
            &["--security-opt", "no-new-privileges"],
            "cat /proc/self/status",
        );
        assert_eq!(status_field(&status, "NoNewPrivs"), "1", "{cli}");
        let status = output_of(&engine, cli, &[], "cat /proc/self/status");
        assert_eq!(status_field(&status, "NoNewPrivs"), "0", "{cli}");

        let mounts = output_of(&engine, cli, &["--tmpfs", "/t:size=1m"], "cat /proc/mounts");
        let t = mounts
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("/t"))
            .unwrap_or_else(|| panic!("{cli}: no /t in {mounts}"));
        assert!(
            t.starts_with("tmpfs /t tmpfs") && t.contains("size=1024k"),
            "{cli}: {t}"
        );
        let env = output_of(
            &engine,
            cli,
            &["-w", "/tmp", "-e", "A=1"],
            "pwd; echo \"$A\"",
        );
        assert_eq!(env, "/tmp\n1\n", "{cli}");

        // --pids-limit, --label and --stop-signal on a running container.
        let run = engine.cli_run(
            cli,
            &[
                "run",
                "-d",
                "--pids-limit",
                "10",
                "--label",
                "a=b",
                "--stop-signal",
                "SIGUSR1",
                "--stop-timeout",
                "20",
                "users:1",
                "sh",
                "-c",
                "trap 'echo got USR1; exit 5' USR1; echo ready; while true; do sleep 1; done",
            ],
        );
        assert!(run.success(), "{run}");
        let id = run.stdout.trim().to_owned();
        let pids_max = poll("pids.max", || {
            cgroups_of(&id)
                .iter()
                .find_map(|d| fs::read_to_string(d.join("pids.max")).ok())
        });
        assert_eq!(pids_max.trim(), "10", "{cli}");
        let label = engine.cli_run(cli, &["inspect", "-f", "{{.Config.Labels.a}}", &id]);
        assert_eq!(label.stdout.trim(), "b", "{cli}: {label}");
        let timeout = engine.cli_run(cli, &["inspect", "-f", "{{.Config.StopTimeout}}", &id]);
        assert_eq!(timeout.stdout.trim(), "20", "{cli}: {timeout}");
        poll("ready", || {
            let logs = engine.cli_run(cli, &["logs", &id]);
            logs.stdout.contains("ready").then_some(())
        });
        // No -t: the container's --stop-timeout (20 s) is the grace period.
        assert!(engine.cli_run(cli, &["stop", &id]).success());
        let ps = engine.cli_run(cli, &["ps", "-a", "--format", "{{.Status}}"]);
        assert!(ps.stdout.starts_with("Exited (5)"), "{cli}: {ps}");
        let logs = engine.cli_run(cli, &["logs", &id]);
        assert!(logs.stdout.contains("got USR1"), "{cli}: {logs}");
        assert!(engine.cli_run(cli, &["rm", &id]).success());

        let created = engine.cli_run(cli, &["create", "users:1", "true"]);
        assert!(created.success(), "{cli}: {created}");
        assert!(engine
            .cli_run(cli, &["rm", created.stdout.trim()])
            .success());
    }

    // strata's own CLI, through the API.
    let ran = engine.strata(
        &engine.host(),
        &[
            "run",
            "--rm",
            "-u",
            "nobody",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--tmpfs",
            "/t:size=1m",
            "users:1",
            "sh",
            "-c",
            "id -u; id -G; grep -c ' /t tmpfs' /proc/mounts; \
             grep -E '^(CapEff|NoNewPrivs)' /proc/self/status",
        ],
    );
    assert_eq!(
        ran.assert_success().stdout,
        "65534\n65534 777\n1\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\n"
    );
    let refused = engine.strata(
        &engine.host(),
        &["run", "--cap-add", "FLY", "users:1", "true"],
    );
    assert!(
        !refused.success() && refused.stderr.contains("FLY"),
        "{refused}"
    );
    // And on the root directly, without a daemon: the same engine code.
    drop(engine);
    let direct = strata_on(
        &root,
        &[
            "run",
            "--rm",
            "-u",
            "nobody",
            "--pids-limit",
            "5",
            "users:1",
            "id",
            "-u",
        ],
    );
    assert_eq!(direct.assert_success().stdout, "65534\n");
    let refused = strata_on(&root, &["create", "-u", "ghost", "users:1", "true"]);
    assert!(
        !refused.success() && refused.stderr.contains("ghost"),
        "{refused}"
    );
    let containers = fs::read_dir(root.join("containers")).unwrap().count();
    assert_eq!(containers, 0, "a refused create leaves no container");
}

/// What a refused create must not leave: containers, layers, volumes.
fn left_behind(root: &Path) -> Vec<String> {
    ["containers", "overlay2", "vfs", "volumes"]
        .iter()
        .flat_map(|d| fs::read_dir(root.join(d)).into_iter().flatten().flatten())
        .map(|e| e.path().display().to_string())
        .collect()
}

#[test]
fn create_refuses_what_it_does_not_implement() {
    if !dockerd_usable() {
        return;
    }
    let (_dir, root, engine) = served();
    let before = left_behind(&root);
    let refusals: &[(&[&str], &str)] = &[
        (&["--privileged"], "HostConfig.Privileged"),
        (
            &["--restart", "always"],
            "restart policy always is not supported",
        ),
        (&["--device", "/dev/null"], "HostConfig.Devices"),
        (&["-p", "8080:80"], "PortBindings"),
        (&["--init"], "HostConfig.Init"),
        (
            &["--security-opt", "seccomp=unconfined"],
            "seccomp=unconfined",
        ),
        (&["-u", "ghost"], "ghost"),
        (&["-u", "nobody:wheel", "-v", "/anon"], "wheel"),
        (&["--cap-add", "FLY"], "FLY"),
        (&["--group-add", "wheel"], "HostConfig.GroupAdd"),
        (&["--tmpfs", "/t:bogus=1"], "bogus=1"),
    ];
    for cli in clis() {
        for (flags, named) in refusals {
            let mut args = vec!["run", "-d"];
            args.extend_from_slice(flags);
            args.extend_from_slice(&["users:1", "true"]);
            let run = engine.cli_run(cli, &args);
            assert!(
                run.code == Some(125)
                    && run.stderr.contains("Error response from daemon")
                    && run.stderr.contains(named),
                "{cli} {flags:?}: {run}"
            );
            let ps = engine.cli_run(cli, &["ps", "-aq"]);
            assert!(ps.stdout.trim().is_empty(), "{cli} {flags:?}: {ps}");
        }
    }
    assert_eq!(left_behind(&root), before);

    let (status, body) = engine.request(
        "POST",
        "/v1.41/containers/create",
        r#"{"Image": "users:1", "Cmd": ["true"], "Bogus": 1}"#,
    );
    assert_eq!(status, 400, "{body}");
    let message: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        message["message"].as_str().unwrap().contains("Bogus"),
        "{body}"
    );
    let (status, body) = engine.request(
        "POST",
        "/containers/create?platform=windows/amd64",
        r#"{"Image": "users:1"}"#,
    );
    assert!(status == 400 && body.contains("windows/amd64"), "{body}");
    let (status, body) = engine.request("POST", "/containers/create", "{not json");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"message\""), "{body}");
    assert_eq!(left_behind(&root), before);
}
