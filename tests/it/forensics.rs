//! The forensic verbs on real dockerd stores: inventories, `diff`, `verify`, `orphans`, `dupes`
//! and `advise`. Read-only checks use the shared stopped fixture; tests that damage or prune a
//! store make their own daemon and fixture.

use serde_json::Value;

use crate::fixture;
use crate::harness::{strata_on, Driver};

/// The rows of an inventory's JSON.
fn items(v: &Value) -> &Vec<Value> {
    v["Items"].as_array().expect("Items is an array")
}

#[test]
fn inventories_list_sizes_and_references_both_ways() {
    let Some(store) = fixture::stopped(Driver::Overlay2) else {
        return;
    };
    let root = &store.data_root;
    let f = &store.fixture;

    let images = strata_on(root, &["--format", "json", "images"]).json();
    let classic = items(&images)
        .iter()
        .find(|i| i["Id"] == f.images.classic.as_str())
        .expect("strata/app:classic is listed");
    let names: Vec<&str> = classic["ContainerRefs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"strata-running") && names.contains(&"strata-volumes"));
    let df_row = fixture::df_entry(&store.daemon_df, "Images", "Id", &f.images.classic)
        .expect("dockerd lists the image");
    assert_eq!(classic["Size"], df_row["Size"]);
    assert_eq!(classic["SharedSize"], df_row["SharedSize"]);

    // The base layer is used by every image and every container.
    let layers = strata_on(root, &["--format", "json", "layers"]).json();
    let base_layer = classic["Layers"][0].as_str().unwrap();
    let row = items(&layers)
        .iter()
        .find(|l| l["ChainId"] == base_layer)
        .expect("the base layer is listed");
    assert!(row["Images"].as_array().unwrap().len() >= 5, "{row}");
    assert_eq!(row["ContainerRefs"].as_array().unwrap().len(), 5, "{row}");

    // A unique id prefix and a name select one container; the volume it mounts is listed.
    let by_prefix = strata_on(
        root,
        &["--format", "json", "containers", &f.containers.volumes[..8]],
    )
    .json();
    let by_name = strata_on(root, &["--format", "json", "containers", "strata-volumes"]).json();
    assert_eq!(by_prefix, by_name);
    assert_eq!(items(&by_name).len(), 1);
    let vols = &items(&by_name)[0]["Volumes"];
    assert!(vols
        .as_array()
        .unwrap()
        .contains(&Value::from("strata-named")));

    let orphaned = strata_on(root, &["--format", "json", "volumes", "--orphaned"]).json();
    let names: Vec<&str> = items(&orphaned)
        .iter()
        .map(|v| v["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![f.volumes.dangling.as_str()]);
    let named = strata_on(root, &["--format", "json", "volumes", "strata-named"]).json();
    assert_eq!(
        items(&named)[0]["ContainerRefs"][0]["Name"],
        "strata-volumes"
    );
}

#[test]
fn unknown_and_ambiguous_names_exit_2_with_one_clear_line() {
    let Some(store) = fixture::stopped(Driver::Overlay2) else {
        return;
    };
    let root = &store.data_root;
    let unknown = strata_on(root, &["containers", "no-such-container"]);
    assert_eq!(unknown.code, Some(2), "{unknown}");
    assert!(unknown.stderr.contains("no such container"), "{unknown}");
    // `strata` prefixes every volume name of the fixture but the anonymous one.
    let ambiguous = strata_on(root, &["volumes", "strata-"]);
    assert_eq!(ambiguous.code, Some(2), "{ambiguous}");
    assert!(ambiguous.stderr.contains("ambiguous"), "{ambiguous}");
    assert_eq!(ambiguous.stderr.lines().count(), 1, "{ambiguous}");
}

/// `docker diff`'s lines (`C /app`), sorted.
fn docker_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

/// strata's changes as `docker diff` lines, sorted.
fn strata_lines(report: &Value) -> Vec<String> {
    let mut lines: Vec<String> = report["Changes"]
        .as_array()
        .expect("Changes is an array")
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["Kind"].as_str().unwrap(),
                c["Path"].as_str().unwrap()
            )
        })
        .collect();
    lines.sort();
    lines
}

/// `strata diff` lists what `docker diff` lists, for every container of the fixture (running,
/// exited after copy-up and deletions, created), while the daemon runs and after it stopped;
/// with `SizeRw`'s bytes accounted for.
fn diff_equals_docker_diff(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    let df = strata_on(&store.data_root, &["--format", "json", "df", "-v"]).json();
    let mut failures = Vec::new();
    for (id, docker) in &store.docker_diffs {
        let want = docker_lines(docker);
        let running = &store.strata_diffs_while_running[id];
        let after = strata_on(&store.data_root, &["--format", "json", "diff", id]);
        for (when, run) in [("while dockerd ran", running), ("after the stop", &after)] {
            if !run.success() {
                failures.push(format!("{when}: {run}"));
                continue;
            }
            let report = run.json();
            let got = strata_lines(&report);
            if got != want {
                failures.push(format!(
                    "{driver} {id} {when}:\ndocker diff:\n{}\nstrata diff:\n{}",
                    want.join("\n"),
                    got.join("\n")
                ));
            }
            if driver == Driver::Overlay2 {
                let size_rw = fixture::df_entry(&df, "Containers", "Id", id).unwrap()["SizeRw"]
                    .as_u64()
                    .unwrap();
                let total =
                    report["Bytes"].as_u64().unwrap() + report["UnlistedBytes"].as_u64().unwrap();
                if total != size_rw {
                    failures.push(format!(
                        "{id}: Bytes + UnlistedBytes {total} != SizeRw {size_rw}"
                    ));
                }
            }
        }
    }
    // The copy-up of strata-cow appended to /app/notes.txt: new content, not only metadata.
    let cow = strata_on(
        &store.data_root,
        &["--format", "json", "diff", "strata-cow"],
    )
    .json();
    let notes = cow["Changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Path"] == "/app/notes.txt")
        .expect("/app/notes.txt is changed");
    assert_eq!(notes["Alteration"], "content", "{notes}");
    assert!(notes["Bytes"].as_u64().unwrap() > 0);
    assert!(
        cow["Totals"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["Dir"] == "/app"),
        "{cow}"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn diff_equals_docker_diff_overlay2() {
    diff_equals_docker_diff(Driver::Overlay2);
}

#[test]
fn diff_equals_docker_diff_vfs() {
    diff_equals_docker_diff(Driver::Vfs);
}

/// Makes a whiteout (character device 0/0) at `path`, as overlayfs does; needs root.
fn mknod_whiteout(path: &std::path::Path) {
    nix::sys::stat::mknod(
        path,
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o000),
        0,
    )
    .unwrap_or_else(|e| panic!("mknod {}: {e}", path.display()));
}

/// Damage reported in one line each, the rest still listed: a whiteout over nothing, then a
/// writable layer that is gone.
#[test]
fn diff_reports_a_stray_whiteout_and_a_missing_writable_layer() {
    if !crate::harness::is_root() {
        eprintln!("skipped: mknod needs root");
        return;
    }
    let synth = crate::synth::SynthStore::plant();
    let upper = synth.path(&format!("overlay2/{}/diff", synth.mount_id));
    mknod_whiteout(&upper.join("app/ghost"));
    let run = strata_on(&synth.root, &["--format", "json", "diff", "synth-ctr"]);
    assert_eq!(run.code, Some(1), "{run}");
    let report = run.json();
    assert_eq!(strata_lines(&report), vec!["A /app/written.txt", "C /app"]);
    let problems = report["Problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert!(problems[0]["Path"].as_str().unwrap().ends_with("app/ghost"));

    std::fs::remove_dir_all(&upper).unwrap();
    let run = strata_on(&synth.root, &["diff", &synth.container[..10]]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(!run.panicked());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{run}");
    assert!(
        lines[0].contains(&synth.mount_id) && lines[0].contains("gone"),
        "{run}"
    );
}
