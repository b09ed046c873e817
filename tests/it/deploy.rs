//! The deployment recipes of `deploy/` work as they are: the alert rules pass `promtool check
//! rules` and their own unit tests (`promtool test rules`), every query of the Grafana
//! dashboard is valid PromQL, the systemd units pass `systemd-analyze verify`, and the image
//! of `deploy/image` (the static binary, FROM scratch), built with `strata build`, is run by a
//! real dockerd and prints the `df` of a store mounted read-only as the host binary does.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::fixture;
use crate::harness::{strata_on, usable, Dockerd, Driver};

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
