//! The deployment recipes of `deploy/` work as they are: the alert rules pass `promtool check
//! rules` and their own unit tests (`promtool test rules`), every query of the Grafana
//! dashboard is valid PromQL, the systemd units pass `systemd-analyze verify` and their
//! commands export a real store, every family the dashboard and the rules query is one the
//! exporter writes, the DaemonSet's arguments serve a Kubernetes node's containerd store
//! ([`assert_the_daemonset_serves`], from the `k8s.io` test of `containerd.rs`), and the image
//! of `deploy/image` (the static binary, FROM scratch), built with `strata build`, is run by a
//! real dockerd and prints the `df` of a store mounted read-only as the host binary does.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::exporter::{assert_promtool_accepts, family, free_port, Exporter};
use crate::fixture;
use crate::harness::{strata, strata_command, strata_on, usable, Dockerd, Driver};

/// Debian's promtool (package `prometheus`).
const PROMTOOL: &str = "/usr/bin/promtool";
/// systemd's unit checker (package `systemd`).
const SYSTEMD_ANALYZE: &str = "/usr/bin/systemd-analyze";

/// A file of the repository's `deploy/` directory.
fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(path)
}

/// Runs `cmd`, panicking with its output unless it exits 0; returns its stdout and stderr.
fn checked(mut cmd: Command, what: &str) -> (String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    if !usable("root and Debian's prometheus (promtool)", &[PROMTOOL]) {
        return;
    }
    let rules = deploy("prometheus/strata-alerts.yml");
    let mut check = Command::new(PROMTOOL);
    check.args(["check", "rules"]).arg(&rules);
    let (stdout, _) = checked(check, "promtool check rules");
    assert!(stdout.contains("SUCCESS"), "{stdout}");
    let mut test = Command::new(PROMTOOL);
    test.args(["test", "rules"])
        .arg(deploy("prometheus/strata-alerts.test.yml"));
    let (stdout, _) = checked(test, "promtool test rules");
    assert!(stdout.contains("SUCCESS"), "{stdout}");
}

/// Every `expr` of the Grafana dashboard's panels, with its template variables (`$instance`,
/// `$store`: regexes in the dashboard) set to match anything.
fn dashboard_queries() -> Vec<String> {
    let text = fs::read_to_string(deploy("grafana/strata-dashboard.json")).expect("dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a target's expr");
            exprs.push(expr.replace("$instance", ".*").replace("$store", ".*"));
        }
    }
    exprs
}

#[test]
fn dashboard_queries_are_valid_promql() {
    if !usable("root and Debian's prometheus (promtool)", &[PROMTOOL]) {
        return;
    }
    let exprs = dashboard_queries();
    assert!(exprs.len() >= 20, "{exprs:?}");
    // promtool parses a rule's expression as Prometheus does: one recording rule per query.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in exprs.iter().enumerate() {
        let quoted = serde_json::to_string(expr).expect("JSON string");
        rules.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: {quoted}\n"
        ));
    }
    let file = dir.path().join("dashboard-rules.yml");
    fs::write(&file, rules).expect("writing the rules");
    let mut check = Command::new(PROMTOOL);
    check.args(["check", "rules"]).arg(&file);
    let (stdout, _) = checked(check, "promtool check rules on the dashboard's queries");
    assert!(
        stdout.contains(&format!("SUCCESS: {} rules found", exprs.len())),
        "{stdout}"
    );
}

#[test]
fn systemd_units_pass_systemd_analyze_verify() {
    if !usable("root and systemd-analyze", &[SYSTEMD_ANALYZE]) {
        return;
    }
    // The units name the installed binary (/usr/local/bin/strata); verify checks that the
    // command exists, so the copies name this build's.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut units = Vec::new();
    for entry in fs::read_dir(deploy("systemd")).expect("deploy/systemd") {
        let path = entry.expect("entry").path();
        let text = fs::read_to_string(&path).expect("unit");
        let copy = dir.path().join(path.file_name().expect("name"));
        fs::write(
            &copy,
            text.replace("/usr/local/bin/strata", env!("CARGO_BIN_EXE_strata")),
        )
        .expect("writing the unit");
        units.push(copy);
    }
    assert_eq!(units.len(), 3, "{units:?}");
    let mut verify = Command::new(SYSTEMD_ANALYZE);
    verify.arg("verify").args(&units);
    let (_, stderr) = checked(verify, "systemd-analyze verify");
    // An unknown key or a bad value is only a warning (exit 0): none is allowed.
    assert_eq!(stderr.trim(), "", "systemd-analyze verify warned");
}

/// The static binary `scripts/static-binary.sh` builds (what `scripts/test.sh` runs before the
/// tests), when it is there.
fn static_binary() -> Option<PathBuf> {
    let out = Command::new("rustc").arg("-vV").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let triple = text.lines().find_map(|l| l.strip_prefix("host: "))?;
    let bin = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/static")
        .join(triple)
        .join("debug/strata");
    bin.exists().then_some(bin)
}

#[test]
fn the_strata_image_built_by_strata_runs_under_dockerd() {
    let Some(store) = fixture::stopped(Driver::Overlay2) else {
        return;
    };
    let bin = static_binary();
    let bin_path = bin
        .as_ref()
        .and_then(|p| p.to_str())
        .unwrap_or("target/static/<host>/debug/strata (run scripts/static-binary.sh)");
    if !usable("the static binary of scripts/static-binary.sh", &[bin_path]) {
        return;
    }
    let bin = bin.expect("checked above");
    // The image, built by strata's engine into a fresh data root that dockerd then runs on.
    let work = tempfile::tempdir().expect("temp dir");
    let context = work.path().join("context");
    let root = work.path().join("root");
    fs::create_dir_all(&context).expect("context dir");
    fs::create_dir_all(&root).expect("root dir");
    fs::copy(deploy("image/Dockerfile"), context.join("Dockerfile")).expect("Dockerfile");
    fs::copy(&bin, context.join("strata")).expect("the static binary");
    let context_arg = context.to_str().expect("UTF-8 path");
    strata_on(&root, &["build", "-q", "-t", "strata:test", context_arg]).assert_success();

    let want = {
        let _readers = fixture::atime_readers();
        strata_on(&store.data_root, &["df"])
            .assert_success()
            .stdout
            .clone()
    };
    let d = Dockerd::start_with_root(Driver::Overlay2, &root);
    let images = d.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert!(images.lines().any(|l| l == "strata:test"), "{images}");
    let mount = format!("{}:/store:ro", store.data_root.display());
    let got = {
        let _readers = fixture::atime_readers();
        d.docker(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--pull",
            "never",
            "-v",
            &mount,
            "strata:test",
        ])
    };
    assert_eq!(
        got.trim_end(),
        want.trim_end(),
        "the image's df of the store differs from the host binary's"
    );
    // Nothing else in the image: one layer holding the binary alone.
    let history = d.docker(&[
        "image",
        "inspect",
        "--format",
        "{{len .RootFS.Layers}}",
        "strata:test",
    ]);
    assert_eq!(history.trim(), "1");
}

/// The arguments of the `ExecStart=` line of the unit `name` (after the binary), each
/// `(from, to)` of `replace` applied to each word; the units quote nothing.
fn exec_start_args(name: &str, replace: &[(&str, &str)]) -> Vec<String> {
    let text = fs::read_to_string(deploy("systemd").join(name)).expect("unit");
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap_or_else(|| panic!("{name} has no ExecStart"));
    let mut words = line.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/strata"), "{line}");
    words
        .map(|w| {
            replace
                .iter()
                .fold(w.to_owned(), |word, (from, to)| word.replace(from, to))
        })
        .collect()
}

/// The metric names `text` (a dashboard or a rules file) queries: each `strata_...` word not
/// part of a recording rule's name (`level:metric:op`), outside comments.
fn queried_families(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let mut rest = line;
        while let Some(at) = rest.find("strata_") {
            let before = rest[..at].chars().last();
            let word: String = rest[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let in_recorded_name = before.is_some_and(|c| c == ':' || c.is_ascii_alphanumeric());
            if !in_recorded_name && !word.contains(':') {
                names.insert(word.clone());
            }
            rest = &rest[at + word.len()..];
        }
    }
    names
}

/// The families an exposition text declares (`# TYPE name kind`).
fn declared_families(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_units_commands_export_a_real_store_with_every_family_queried() {
    let Some(store) = fixture::stopped(Driver::Overlay2) else {
        return;
    };
    if !usable("root and Debian's prometheus (promtool)", &[PROMTOOL]) {
        return;
    }
    let root = store.data_root.to_str().expect("UTF-8 path");
    let _readers = fixture::atime_readers();

    // The timer's one-shot: the textfile for node_exporter.
    let dir = tempfile::tempdir().expect("temp dir");
    let textfile_dir = dir.path().to_str().expect("UTF-8 path");
    let args = exec_start_args(
        "strata-textfile.service",
        &[
            ("/var/lib/docker", root),
            ("/var/lib/prometheus/node-exporter", textfile_dir),
        ],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    strata(&args).assert_success();
    let text = fs::read_to_string(dir.path().join("strata.prom")).expect("the textfile");
    assert_promtool_accepts(&text);
    let exported = declared_families(&text);
    for file in [
        "grafana/strata-dashboard.json",
        "prometheus/strata-alerts.yml",
    ] {
        let queried = queried_families(&fs::read_to_string(deploy(file)).expect("recipe"));
        assert!(queried.len() >= 5, "{file}: {queried:?}");
        let missing: Vec<&String> = queried.difference(&exported).collect();
        assert!(
            missing.is_empty(),
            "{file} queries families the exporter does not write: {missing:?}"
        );
    }

    // The service: the exporter on its port (here a free one), serving the same store.
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = exec_start_args(
        "strata-exporter.service",
        &[("/var/lib/docker", root), ("127.0.0.1:9489", &listen)],
    );
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let exporter = Exporter::spawn(strata_command(&[], &args), port);
    let body = exporter.scrape_after_walk();
    let info = family(&body, "strata_store_info");
    assert_eq!(info.len(), 1, "{body}");
    assert_eq!(info[0].0.get("store").map(String::as_str), Some(root));
    let images = family(&body, "strata_images");
    assert_eq!(images.len(), 1, "{body}");
    let df = strata_on(&store.data_root, &["--format", "json", "df"]).json();
    let listed = df["Images"].as_array().expect("Images").len();
    assert_eq!(images[0].1, listed as f64, "{body}");
}

/// The DaemonSet's container arguments (deploy/kubernetes), in order.
fn daemonset_args() -> Vec<String> {
    let text = fs::read_to_string(deploy("kubernetes/strata-exporter.yaml")).expect("manifest");
    let mut lines = text.lines().skip_while(|l| l.trim() != "args:").skip(1);
    let mut args = Vec::new();
    for line in lines.by_ref() {
        let Some(arg) = line.trim_start().strip_prefix("- ") else {
            break;
        };
        args.push(arg.trim().to_owned());
    }
    assert!(!args.is_empty(), "no args: in the DaemonSet");
    args
}

/// The DaemonSet's arguments, its mount of the node's containerd root (`/store/containerd`)
/// and its pod address (`$(POD_IP)`) put where this machine has them (`containerd_root`,
/// 127.0.0.1 and a free port), serve the `k8s.io` store there: one store, containerd's, with
/// `images` images.
pub fn assert_the_daemonset_serves(containerd_root: &Path, images: usize) {
    let root = containerd_root.to_str().expect("UTF-8 path");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args: Vec<String> = daemonset_args()
        .into_iter()
        .map(|a| {
            a.replace("/store/containerd", root)
                .replace("$(POD_IP):9489", &listen)
        })
        .collect();
    assert!(
        args.iter().any(|a| a.contains(&listen)),
        "the DaemonSet does not listen on $(POD_IP):9489: {args:?}"
    );
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let exporter = Exporter::spawn(strata_command(&[], &args), port);
    let body = exporter.scrape_after_walk();
    let info = family(&body, "strata_store_info");
    assert_eq!(info.len(), 1, "{body}");
    assert_eq!(
        info[0].0.get("backend").map(String::as_str),
        Some("containerd"),
        "{body}"
    );
    let counted = family(&body, "strata_images");
    assert_eq!(counted.len(), 1, "{body}");
    assert_eq!(counted[0].1, images as f64, "{body}");
    assert_promtool_accepts(&body);
}
