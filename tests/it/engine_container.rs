//! Engine, containers: real isolation and limits, asserted from inside containers that
//! strata runs with libcontainer on a store it imported, and the records a real dockerd then
//! reads.
//!
//! - new pid namespace (the container sees only its own processes, pid 1 its init), its own
//!   hostname, a network namespace with only `lo`;
//! - `--memory 64m` and an allocation beyond it: OOM-killed, exit 137, `OOMKilled` recorded;
//! - `--cpus 0.5` busy loop: about half a core by the cgroup's `cpuacct.usage`;
//! - a bind mount and a named volume are writable and keep their files after `rm`;
//! - stdout/stderr in the json-file log (`logs`), `stop` (SIGTERM), `wait`, `rm` leaving no
//!   layer, mount or cgroup behind;
//! - dockerd started on the store lists strata's exited container (`docker ps -a`).

use std::fs;
use std::path::Path;
use std::time::Duration;

use crate::fixture::busybox_rootfs_tar;
use crate::harness::{dockerd_usable, mount_points_under, strata_on, Dockerd, Driver};

fn cpu_usage_ns(id: &str) -> u64 {
    let path = format!("/sys/fs/cgroup/cpuacct/strata/{id}/cpuacct.usage");
    fs::read_to_string(&path)
        .or_else(|_| {
            fs::read_to_string(format!("/sys/fs/cgroup/strata/{id}/cpu.stat")).map(|s| {
                let usec: u64 = s
                    .lines()
                    .find_map(|l| l.strip_prefix("usage_usec "))
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0);
                (usec * 1000).to_string()
            })
        })
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .trim()
        .parse()
        .unwrap()
}

/// The CFS quota and period of container `id`'s cgroup, in microseconds (v1 or v2).
fn cpu_limit(id: &str) -> (u64, u64) {
    let v1 = |f: &str| fs::read_to_string(format!("/sys/fs/cgroup/cpu/strata/{id}/{f}"));
    if let (Ok(q), Ok(p)) = (v1("cpu.cfs_quota_us"), v1("cpu.cfs_period_us")) {
        return (q.trim().parse().unwrap(), p.trim().parse().unwrap());
    }
    let max = fs::read_to_string(format!("/sys/fs/cgroup/strata/{id}/cpu.max"))
        .unwrap_or_else(|e| panic!("no cpu limit file for {id}: {e}"));
    let mut parts = max.split_whitespace().map(|n| n.parse().unwrap());
    (parts.next().unwrap(), parts.next().unwrap())
}

#[test]
fn containers_are_isolated_limited_and_recorded() {
    if !dockerd_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let tar = busybox_rootfs_tar(dir.path());
    strata_on(&root, &["import", tar.to_str().unwrap(), "bb:1"]).assert_success();

    let inside = strata_on(
        &root,
        &[
            "run",
            "--rm",
            "--hostname",
            "boxy",
            "bb:1",
            "sh",
            "-c",
            "ls /proc | grep -c '^[0-9]'; cat /proc/1/status | grep -c Name; hostname; \
             tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
        ],
    );
    inside.assert_success();
    let lines: Vec<&str> = inside.stdout.lines().collect();
    let processes: usize = lines[0].parse().unwrap();
    assert!(
        processes <= 4,
        "a new pid namespace shows only the container's processes: {inside}"
    );
    assert_eq!(&lines[2..], ["boxy", "lo"], "{inside}");

    let oom = strata_on(
        &root,
        &[
            "run",
            "-d",
            "--name",
            "hog",
            "--memory",
            "64m",
            "bb:1",
            "sh",
            "-c",
            "x=$(head -c 300000000 /dev/zero | tr '\\0' a); echo survived",
        ],
    );
    oom.assert_success();
    let waited = strata_on(&root, &["wait", "hog"]);
    assert_eq!(waited.stdout.trim(), "137", "{waited}");
    let id = oom.stdout.trim();
    let config: serde_json::Value = serde_json::from_slice(
        &fs::read(root.join("containers").join(id).join("config.v2.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["State"]["OOMKilled"], true);
    assert_eq!(config["State"]["ExitCode"], 137);
    strata_on(&root, &["rm", "hog"]).assert_success();

    let busy = strata_on(
        &root,
        &[
            "run",
            "-d",
            "--cpus",
            "0.5",
            "bb:1",
            "sh",
            "-c",
            "while :; do :; done",
        ],
    );
    busy.assert_success();
    let busy_id = busy.stdout.trim().to_owned();
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_usage_ns(&busy_id);
    std::thread::sleep(Duration::from_secs(2));
    let used = cpu_usage_ns(&busy_id) - before;
    // The limit is the kernel's: the cgroup holds quota/period = 0.5, and however busy the
    // machine is, the loop never gets more than that (a lower bound would measure the load of
    // the machine, not strata).
    assert_eq!(
        cpu_limit(&busy_id),
        (50_000, 100_000),
        "cgroup quota and period"
    );
    let share = used as f64 / 2e9;
    assert!(share < 0.65, "--cpus 0.5 used {share:.2} of a core");
    let stop = strata_on(&root, &["stop", "-t", "1", &busy_id]);
    stop.assert_success();
    strata_on(&root, &["rm", &busy_id]).assert_success();

    let host = dir.path().join("bind");
    fs::create_dir(&host).unwrap();
    let bind = format!("{}:/host", host.display());
    let run = strata_on(
        &root,
        &[
            "run",
            "--name",
            "writer",
            "-v",
            &bind,
            "-v",
            "keep:/data",
            "bb:1",
            "sh",
            "-c",
            "echo a > /host/a && echo b > /data/b && echo out && echo err >&2",
        ],
    );
    run.assert_success();
    let logs = strata_on(&root, &["logs", "writer"]);
    assert_eq!(
        (logs.stdout.as_str(), logs.stderr.as_str()),
        ("out\n", "err\n")
    );
    let log_path = root.join("containers").join(
        fs::read_dir(root.join("containers"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .file_name(),
    );
    let log = fs::read_dir(&log_path)
        .unwrap()
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with("-json.log"))
        .unwrap();
    // stdout and stderr are two pipes pumped by two threads: their lines' order is not fixed.
    let lines: Vec<serde_json::Value> = fs::read_to_string(log.path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["log"] == "out\n" && l["stream"] == "stdout"),
        "{lines:?}"
    );

    // dockerd reads strata's container records.
    {
        let daemon = Dockerd::start_with_root(Driver::Overlay2, &root);
        let listed = daemon.docker(&["ps", "-a", "--format", "{{.Names}} {{.Image}} {{.Status}}"]);
        assert!(listed.starts_with("writer bb:1 Exited (0)"), "{listed}");
    }
    strata_on(&root, &["rm", "writer"]).assert_success();
    assert_eq!(fs::read_to_string(host.join("a")).unwrap(), "a\n");
    assert_eq!(
        fs::read_to_string(root.join("volumes/keep/_data/b")).unwrap(),
        "b\n"
    );
    assert!(fs::read_dir(root.join("containers"))
        .unwrap()
        .next()
        .is_none());
    assert!(mount_points_under(&root).is_empty());
    assert_eq!(
        fs::read_dir(root.join("overlay2")).unwrap().count(),
        2,
        "image layer and l/"
    );
    assert!(!Path::new(&format!("/sys/fs/cgroup/memory/strata/{busy_id}")).exists());
}
