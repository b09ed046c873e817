//! `strata df -v --format json` against dockerd's `GET /system/df` on the fixture store, per
//! driver: while the daemon runs, and again after it stopped (strata works offline: the
//! daemon's numbers from before the stop must still be what strata reads from the files, except
//! the containers the stop ended, which dockerd records as exited).

use serde_json::Value;

use crate::dfjson::{differences, report, with_state};
use crate::fixture::{self, Stopped};
use crate::harness::{strata_on, Driver};

fn parity(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    let mut failures = Vec::new();

    let running = &store.live.strata_while_running;
    if running.success() && !running.panicked() {
        let found = differences(&store.live.daemon_df, &running.json());
        if !found.is_empty() {
            failures.push(report("while dockerd ran", &found));
        }
    } else {
        failures.push(format!("while dockerd ran, strata failed:\n{running}"));
    }

    let after = strata_on(&store.data_root, &["--format", "json", "df", "-v"]);
    if after.success() && !after.panicked() {
        let strata = after.json();
        let expected = after_stop(store);
        let found = differences(&expected, &strata);
        if !found.is_empty() {
            failures.push(report("after dockerd stopped", &found));
        }
        check_extras(driver, &strata, &mut failures);
        check_thread_counts(store, &strata, &mut failures);
    } else {
        failures.push(format!("after dockerd stopped, strata failed:\n{after}"));
    }

    for args in [&["df"][..], &["df", "-v"][..]] {
        let run = strata_on(&store.data_root, args);
        if !run.success() || run.panicked() || !run.stdout.contains(driver.name()) {
            failures.push(format!(
                "the table output must exit 0 and name the driver {driver}:\n{run}"
            ));
        }
    }

    assert!(failures.is_empty(), "{driver}:\n{}", failures.join("\n"));
}

/// The daemon's answer from before the stop, as the stopped store must read: the containers
/// that were running are `exited` (dockerd's clean shutdown stops them and writes
/// `"Running": false` and their exit code to `config.v2.json`; see `fixture::facts`).
fn after_stop(store: &Stopped) -> Value {
    with_state(
        &store.live.daemon_df,
        &store.fixture.containers.running_ids(),
        "exited",
    )
}

/// The report does not depend on the walker's thread count (STYLE 10): one thread and four
/// give the default's report, but for the scan statistics and the clock-relative `Status`.
fn check_thread_counts(store: &Stopped, default: &Value, failures: &mut Vec<String>) {
    let want = comparable(default);
    for threads in ["1", "4"] {
        let args = ["--threads", threads, "--format", "json", "df", "-v"];
        let run = strata_on(&store.data_root, &args);
        if !run.success() || run.panicked() {
            failures.push(format!("with --threads {threads}:\n{run}"));
        } else if comparable(&run.json()) != want {
            let got = comparable(&run.json());
            let mut found = differences(&want, &got);
            if found.is_empty() {
                found.push(format!("default: {want}\n--threads {threads}: {got}"));
            }
            failures.push(format!(
                "--threads {threads} changes the report:\n{}",
                found.join("\n")
            ));
        }
    }
}

/// `report` without what may differ between two runs on the same store.
fn comparable(report: &Value) -> Value {
    let mut report = report.clone();
    if let Some(object) = report.as_object_mut() {
        object.remove("Scan");
    }
    for container in report["Containers"].as_array_mut().into_iter().flatten() {
        if let Some(object) = container.as_object_mut() {
            object.remove("Status");
        }
    }
    report
}

/// strata's additions: `Drivers` names the driver (as a string or as an object's `Name`),
/// `Problems` is empty on a healthy store, every image has a `UniqueSize` of
/// `Size - SharedSize`.
fn check_extras(driver: Driver, strata: &Value, failures: &mut Vec<String>) {
    let drivers = &strata["Drivers"];
    let names_driver = |d: &Value| d == driver.name() || d["Name"] == driver.name();
    if !drivers
        .as_array()
        .is_some_and(|d| d.iter().any(names_driver))
    {
        failures.push(format!("Drivers must list {driver}: {drivers}"));
    }
    match strata["Problems"].as_array() {
        Some(problems) if problems.is_empty() => {}
        _ => failures.push(format!(
            "Problems must be an empty list on the fixture: {}",
            strata["Problems"]
        )),
    }
    for image in strata["Images"].as_array().into_iter().flatten() {
        let (size, shared) = (image["Size"].as_i64(), image["SharedSize"].as_i64());
        let unique = image["UniqueSize"].as_i64();
        if let (Some(size), Some(shared)) = (size, shared) {
            if unique != Some(size - shared) {
                failures.push(format!(
                    "Images[{}].UniqueSize: {:?}, want Size - SharedSize = {}",
                    image["Id"],
                    unique,
                    size - shared
                ));
            }
        }
    }
}

#[test]
fn overlay2() {
    parity(Driver::Overlay2);
}

#[test]
fn vfs() {
    parity(Driver::Vfs);
}

#[test]
fn overlay() {
    parity(Driver::Overlay);
}

#[test]
fn fuse_overlayfs() {
    parity(Driver::FuseOverlayfs);
}

#[test]
fn btrfs() {
    parity(Driver::Btrfs);
}
