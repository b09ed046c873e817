//! The forensic verbs on real dockerd stores: inventories, `diff`, `verify`, `orphans`, `dupes`
//! and `advise`. Read-only checks use the shared stopped fixture; tests that damage or prune a
//! store make their own daemon and fixture.

use serde_json::Value;

use crate::fixture;
use crate::harness::{strata_on, Driver, Run};

/// The rows of an inventory's JSON.
fn items(v: &Value) -> &Vec<Value> {
    v["Items"].as_array().expect("Items is an array")
}

/// A container's `Status` without its clock-relative part: "Exited (137) 45 seconds ago" is
/// "Exited (137)", "Up 2 minutes (Paused)" is "Up (Paused)": the state word, the exit code and
/// every other parenthesised flag are kept; how long ago is not (two runs a second apart on a
/// loaded machine differ in it).
fn status_without_clock(status: &str) -> String {
    let mut kept: Vec<&str> = status.split_whitespace().take(1).collect();
    let mut rest = status
        .get(kept.first().map_or(0, |w| w.len())..)
        .unwrap_or("");
    while let Some(open) = rest.find('(') {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        kept.push(&rest[open..=open + close]);
        rest = &rest[open + close + 1..];
    }
    kept.join(" ")
}

/// `report` with every `Status` string in it (at any depth) put through
/// [`status_without_clock`].
fn without_clock(report: &Value) -> Value {
    match report {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, value)| {
                    let value = match (key.as_str(), value.as_str()) {
                        ("Status", Some(status)) => Value::from(status_without_clock(status)),
                        _ => without_clock(value),
                    };
                    (key.clone(), value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_clock).collect()),
        other => other.clone(),
    }
}

#[test]
fn status_without_clock_keeps_state_and_exit_code() {
    for (status, want) in [
        ("Exited (137) 45 seconds ago", "Exited (137)"),
        ("Exited (0) About a minute ago", "Exited (0)"),
        ("Up 2 minutes (Paused)", "Up (Paused)"),
        ("Up Less than a second", "Up"),
        ("Created", "Created"),
        ("", ""),
    ] {
        assert_eq!(status_without_clock(status), want, "{status:?}");
    }
}

fn inventories_list_sizes_and_references_both_ways(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
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
    let df_row = fixture::df_entry(&store.live.daemon_df, "Images", "Id", &f.images.classic)
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
    assert_eq!(without_clock(&by_prefix), without_clock(&by_name));
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
fn inventories_list_sizes_and_references_both_ways_overlay2() {
    inventories_list_sizes_and_references_both_ways(Driver::Overlay2);
}

#[test]
fn inventories_list_sizes_and_references_both_ways_overlay() {
    inventories_list_sizes_and_references_both_ways(Driver::Overlay);
}

#[test]
fn inventories_list_sizes_and_references_both_ways_fuse_overlayfs() {
    inventories_list_sizes_and_references_both_ways(Driver::FuseOverlayfs);
}

#[test]
fn inventories_list_sizes_and_references_both_ways_btrfs() {
    inventories_list_sizes_and_references_both_ways(Driver::Btrfs);
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
pub fn strata_lines(report: &Value) -> Vec<String> {
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

/// Why `run` (`strata --format json diff <id>`) does not list what `docker diff`'s output
/// `docker` lists (`what` names the container and the moment), or `None` when it does.
pub fn diff_mismatch(what: &str, docker: &str, run: &Run) -> Option<String> {
    if !run.success() || run.panicked() {
        return Some(format!("{what}: {run}"));
    }
    let (want, got) = (docker_lines(docker), strata_lines(&run.json()));
    (got != want).then(|| {
        format!(
            "{what}:\ndocker diff:\n{}\nstrata diff:\n{}",
            want.join("\n"),
            got.join("\n")
        )
    })
}

/// `strata diff` lists what `docker diff` lists, for every container of the fixture (running,
/// exited after copy-up and deletions, created), while the daemon runs and after it stopped;
/// with `SizeRw`'s bytes (strata's df) accounted for, on every driver.
fn diff_equals_docker_diff(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    let df = strata_on(&store.data_root, &["--format", "json", "df", "-v"]).json();
    let mut failures = Vec::new();
    for (id, docker) in &store.live.docker_diffs {
        let running = &store.live.strata_diffs_while_running[id];
        let after = strata_on(&store.data_root, &["--format", "json", "diff", id]);
        for (when, run) in [("while dockerd ran", running), ("after the stop", &after)] {
            if let Some(mismatch) = diff_mismatch(&format!("{driver} {id} {when}"), docker, run) {
                failures.push(mismatch);
                continue;
            }
            // Every driver: on the naive ones (all but overlay2) SizeRw is what the changes
            // add up to, hard links once, as dockerd's `ChangesSize` counts.
            let report = run.json();
            let size_rw = fixture::df_entry(&df, "Containers", "Id", id).unwrap()["SizeRw"]
                .as_u64()
                .unwrap();
            let total =
                report["Bytes"].as_u64().unwrap() + report["UnlistedBytes"].as_u64().unwrap();
            if total != size_rw {
                failures.push(format!(
                    "{driver} {id} {when}: Bytes + UnlistedBytes {total} != SizeRw {size_rw}"
                ));
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

#[test]
fn diff_equals_docker_diff_overlay() {
    diff_equals_docker_diff(Driver::Overlay);
}

#[test]
fn diff_equals_docker_diff_fuse_overlayfs() {
    diff_equals_docker_diff(Driver::FuseOverlayfs);
}

#[test]
fn diff_equals_docker_diff_btrfs() {
    diff_equals_docker_diff(Driver::Btrfs);
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
    if !crate::harness::root_usable() {
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

/// `verify` passes on every layer dockerd made, on every driver.
fn verify_passes_on_what_dockerd_made(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    let run = strata_on(&store.data_root, &["--format", "json", "verify"]);
    assert!(run.success(), "{run}");
    let report = run.json();
    let layers = report["Layers"].as_array().unwrap();
    assert!(layers.len() >= 8, "{report}");
    assert_eq!(report["Failed"], 0, "{report}");
    assert!(layers
        .iter()
        .all(|l| l["ComputedDiffId"] == l["RecordedDiffId"]));
    // One image's layers only, by tag.
    let one = strata_on(
        &store.data_root,
        &["--format", "json", "verify", "strata/app:classic2"],
    );
    let n = one.json()["Layers"].as_array().unwrap().len();
    assert!(n >= 4 && n < layers.len(), "{one}");
    same_with_one_thread(&store.data_root, &["verify"], &report);
}

/// STYLE 10: the report does not depend on the thread count (but for the wall time).
fn same_with_one_thread(root: &std::path::Path, verb: &[&str], default: &Value) {
    let mut args = vec!["--threads", "1", "--format", "json"];
    args.extend_from_slice(verb);
    let mut one = strata_on(root, &args).json();
    let mut default = default.clone();
    for v in [&mut one, &mut default] {
        v.as_object_mut().unwrap().remove("Millis");
    }
    assert_eq!(one, default, "{verb:?} with one thread");
}

#[test]
fn verify_passes_on_what_dockerd_made_overlay2() {
    verify_passes_on_what_dockerd_made(Driver::Overlay2);
}

#[test]
fn verify_passes_on_what_dockerd_made_vfs() {
    verify_passes_on_what_dockerd_made(Driver::Vfs);
}

#[test]
fn verify_passes_on_what_dockerd_made_overlay() {
    verify_passes_on_what_dockerd_made(Driver::Overlay);
}

#[test]
fn verify_passes_on_what_dockerd_made_fuse_overlayfs() {
    verify_passes_on_what_dockerd_made(Driver::FuseOverlayfs);
}

#[test]
fn verify_passes_on_what_dockerd_made_btrfs() {
    verify_passes_on_what_dockerd_made(Driver::Btrfs);
}

/// A fresh daemon with `strata/base:1` and `strata/small:1`, a classic build whose last layer
/// holds `/app/a.txt`, `/app/b.txt` and a whiteout of `/etc/motd`; stopped. Returns the daemon
/// (for its directory) and the image id of `strata/small:1`.
fn small_store(driver: Driver) -> (crate::harness::Dockerd, String) {
    let mut d = crate::harness::Dockerd::start(driver);
    fixture::import_busybox(&d, "strata/base:1");
    let ctx = d.scratch("small-context");
    std::fs::write(
        ctx.join("Dockerfile"),
        "FROM strata/base:1\nRUN mkdir /app && echo alpha > /app/a.txt && echo bravo > /app/b.txt \
         && head -c 40000 /bin/busybox > /app/blob && rm /etc/motd\n",
    )
    .unwrap();
    let id = d.build_classic(&ctx, "strata/small:1");
    d.stop();
    (d, id)
}

/// The layer directory and tar-split file of `image`'s top layer, found through strata.
fn top_layer(root: &std::path::Path, image: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let images = strata_on(root, &["--format", "json", "images", image]).json();
    let top = items(&images)[0]["Layers"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let layers = strata_on(root, &["--format", "json", "layers", &top]).json();
    let cache = items(&layers)[0]["CacheId"].as_str().unwrap().to_owned();
    let record = root
        .join("image/overlay2/layerdb/sha256")
        .join(top.trim_start_matches("sha256:"));
    (root.join("overlay2").join(cache).join("diff"), record)
}

/// A byte changed, a file added and a file removed in a layer directory are each named; a
/// damaged `tar-split.json.gz` is one problem line and the other layers are still verified.
#[test]
fn verify_names_changed_added_and_removed_files() {
    if !crate::harness::dockerd_usable() {
        return;
    }
    let (d, image) = small_store(Driver::Overlay2);
    let root = d.data_root();
    let healthy = strata_on(root, &["--format", "json", "verify", "strata/small:1"]);
    assert!(healthy.success(), "{healthy}");
    assert_eq!(healthy.json()["Verified"], 2);

    let (content, _) = top_layer(root, &image);
    let a = content.join("app/a.txt");
    let mut bytes = std::fs::read(&a).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&a, bytes).unwrap();
    let run = strata_on(root, &["--format", "json", "verify", "strata/small:1"]);
    assert_eq!(run.code, Some(1), "{run}");
    let mismatches = |run: &crate::harness::Run| -> Vec<(String, String)> {
        run.json()["Layers"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["Mismatches"].as_array().unwrap().clone())
            .map(|m| {
                (
                    m["Kind"].as_str().unwrap().to_owned(),
                    m["Path"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        mismatches(&run),
        vec![("changed".into(), "app/a.txt".into())]
    );

    std::fs::write(content.join("app/new.txt"), "planted\n").unwrap();
    std::fs::remove_file(content.join("app/b.txt")).unwrap();
    let run = strata_on(root, &["verify", "strata/small:1"]);
    assert_eq!(run.code, Some(1), "{run}");
    for name in ["app/a.txt", "app/new.txt", "app/b.txt"] {
        assert!(run.stderr.contains(name), "{name} is not named:\n{run}");
    }
    let run = strata_on(root, &["--format", "json", "verify", "strata/small:1"]);
    let mut got = mismatches(&run);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("added".into(), "app/new.txt".into()),
            ("changed".into(), "app/a.txt".into()),
            ("removed".into(), "app/b.txt".into()),
        ]
    );

    // Damage the base layer's tar-split: one problem naming it; the top layer is still checked.
    let base = strata_on(root, &["--format", "json", "images", "strata/base:1"]).json();
    let base_layer = items(&base)[0]["Layers"][0].as_str().unwrap().to_owned();
    let split = root
        .join("image/overlay2/layerdb/sha256")
        .join(base_layer.trim_start_matches("sha256:"))
        .join("tar-split.json.gz");
    let gz = std::fs::read(&split).unwrap();
    std::fs::write(&split, &gz[..gz.len() / 2]).unwrap();
    let run = strata_on(root, &["--format", "json", "verify"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(!run.panicked());
    let report = run.json();
    let problems = report["Problems"].as_array().unwrap();
    let split_text = split.display().to_string();
    assert_eq!(
        problems
            .iter()
            .filter(|p| p["Path"] == split_text.as_str())
            .count(),
        1,
        "{report}"
    );
    assert_eq!(report["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(mismatches(&run).len(), 3);
}

/// The kinds and paths of `strata orphans --format json`.
fn orphan_list(root: &std::path::Path) -> Vec<(String, String)> {
    let run = strata_on(root, &["--format", "json", "orphans"]);
    assert!(!run.panicked() && run.code.is_some_and(|c| c <= 1), "{run}");
    run.json()["Orphans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["Kind"].as_str().unwrap().to_owned(),
                o["Path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// On what dockerd made (BuildKit's snapshots included) the only leftover is the volume no
/// container mounts.
fn orphans_of_a_healthy_store(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    let dangling = store
        .data_root
        .join("volumes")
        .join(&store.fixture.volumes.dangling);
    assert_eq!(
        orphan_list(&store.data_root),
        vec![(
            "dangling-named-volume".to_owned(),
            dangling.display().to_string()
        )]
    );
}

#[test]
fn orphans_of_a_healthy_store_overlay2() {
    orphans_of_a_healthy_store(Driver::Overlay2);
}

#[test]
fn orphans_of_a_healthy_store_vfs() {
    orphans_of_a_healthy_store(Driver::Vfs);
}

#[test]
fn orphans_of_a_healthy_store_overlay() {
    orphans_of_a_healthy_store(Driver::Overlay);
}

#[test]
fn orphans_of_a_healthy_store_fuse_overlayfs() {
    orphans_of_a_healthy_store(Driver::FuseOverlayfs);
}

#[test]
fn orphans_of_a_healthy_store_btrfs() {
    orphans_of_a_healthy_store(Driver::Btrfs);
}

/// A ustar header for a regular file `name` of `size` bytes.
fn tar_header(name: &str, size: u64) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    let fields: [(usize, String); 5] = [
        (100, "0000644\0".to_owned()),
        (108, "0000000\0".to_owned()),
        (116, "0000000\0".to_owned()),
        (124, format!("{size:011o}\0")),
        (136, "14000000000\0".to_owned()),
    ];
    for (at, text) in fields {
        h[at..at + text.len()].copy_from_slice(text.as_bytes());
    }
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    h
}

/// dockerd SIGKILLed in the middle of an import leaves a layer directory that nothing
/// references (and its unfinished layerdb transaction); a planted directory is found too.
#[test]
fn orphans_finds_what_a_killed_dockerd_and_a_test_left() {
    use std::io::Write;
    if !crate::harness::dockerd_usable() {
        return;
    }
    let mut d = crate::harness::Dockerd::start(Driver::Overlay2);
    let overlay = d.data_root().join("overlay2");
    let before: std::collections::BTreeSet<_> =
        crate::tree::list_dir(&overlay).into_iter().collect();
    let mut import = d.docker_command();
    import
        .args(["import", "-", "strata/interrupted:1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = import.spawn().expect("docker import");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&tar_header("big.bin", 64 << 20)).unwrap();
    stdin.write_all(&vec![0x5a; 8 << 20]).unwrap();
    stdin.flush().unwrap();
    // Wait until the layer being applied has its directory, then crash the daemon.
    let start = std::time::Instant::now();
    let leaked = loop {
        let now: std::collections::BTreeSet<_> =
            crate::tree::list_dir(&overlay).into_iter().collect();
        if let Some(new) = now.difference(&before).find(|n| *n != "l") {
            break overlay.join(new);
        }
        assert!(
            start.elapsed().as_secs() < 60,
            "no layer directory appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    d.kill();
    drop(stdin);
    let _ = child.wait();
    let planted = overlay.join("f".repeat(64));
    std::fs::create_dir_all(planted.join("diff")).unwrap();
    std::fs::write(planted.join("diff/junk"), vec![1u8; 10_000]).unwrap();

    let found = orphan_list(d.data_root());
    for dir in [&leaked, &planted] {
        assert!(
            found.contains(&("layer-dir".to_owned(), dir.display().to_string())),
            "{} not found in {found:?}",
            dir.display()
        );
    }
    assert!(
        found
            .iter()
            .any(|(kind, path)| kind == "tmp" && path.contains("layerdb/tmp")),
        "the unfinished layerdb transaction: {found:?}"
    );
    let run = strata_on(d.data_root(), &["--format", "json", "orphans"]);
    let bytes = run.json()["Orphans"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["Path"] == leaked.display().to_string().as_str())
        .map(|o| o["Bytes"].as_u64().unwrap())
        .unwrap();
    assert!(bytes > 0, "{run}");
}

/// Allocated bytes under `root` as `du -sxB1` counts them (one file system: a running
/// container's `merged/` and `shm` mounts are not the store's bytes; on btrfs each layer
/// subvolume counted as well, see [`fixture::store_du`]).
fn du(root: &std::path::Path, driver: Driver) -> u64 {
    fixture::store_du(root, driver).1
}

/// The bytes `strata advise` predicts for `actions`, summed.
fn predicted(root: &std::path::Path, actions: &[&str]) -> u64 {
    let report = strata_on(root, &["--format", "json", "advise"]).json();
    report["Recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| actions.contains(&r["Action"].as_str().unwrap()))
        .map(|r| r["Bytes"].as_u64().unwrap())
        .sum()
}

/// On a fresh fixture, each prune frees exactly what `strata advise` predicted for it,
/// measured with `du` of the data root before and after (every byte dockerd deletes: layer
/// directories and links, layer and image records, container directories and logs, volume
/// data), and afterwards strata's `df` still equals dockerd's `GET /system/df`. On btrfs the
/// bytes are du's, which count an extent shared between snapshots once per subvolume.
fn advise_predicts_what_each_prune_frees(driver: Driver) {
    if !crate::harness::driver_usable(driver) {
        return;
    }
    let d = crate::harness::Dockerd::start(driver);
    let f = fixture::Fixture::build(&d);
    let root = d.data_root().to_owned();
    let steps: [(&[&str], &[&str]); 3] = [
        (&["image", "prune", "-f"], &["image-prune"]),
        (&["container", "prune", "-f"], &["container-prune"]),
        // dockerd 20.10 (API 1.41) prunes named and anonymous dangling volumes alike.
        (
            &["volume", "prune", "-f"],
            &["volume-prune-named", "volume-prune-anonymous"],
        ),
    ];
    let mut lines = Vec::new();
    for (command, actions) in steps {
        let want = predicted(&root, actions);
        let before = du(&root, driver);
        d.docker(command);
        let freed = before - du(&root, driver);
        lines.push(format!("{command:?}: predicted {want}, du freed {freed}"));
        assert!(want > 0, "{command:?} must free something on the fixture");
        assert_eq!(want, freed, "{}", lines.join("\n"));
        // strata first: until dockerd answers a `/system/df`, BuildKit has stored no size for
        // its `source.local` records (the build context, the Dockerfile), and strata must
        // measure their snapshots itself, as dockerd is about to.
        let strata = strata_on(&root, &["--format", "json", "df", "-v"]);
        let found = crate::dfjson::differences(&d.system_df(), &strata.json());
        assert!(found.is_empty(), "after {command:?}:\n{}", found.join("\n"));
    }
    // `docker rmi` of an image that shares its first layers with a kept one frees only the rest.
    let report = strata_on(&root, &["--format", "json", "advise"]).json();
    let rmi = report["Recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Action"] == "rmi" && r["What"].as_str().unwrap().contains("classic2"))
        .expect("strata/app:classic2 is unused: an rmi recommendation")
        .clone();
    let command: Vec<&str> = rmi["Command"]
        .as_str()
        .unwrap()
        .split(' ')
        .skip(1)
        .collect();
    let before = du(&root, driver);
    d.docker(&command);
    let freed = before - du(&root, driver);
    lines.push(format!(
        "{command:?}: predicted {}, du freed {freed}",
        rmi["Bytes"]
    ));
    assert_eq!(
        rmi["Bytes"].as_u64().unwrap(),
        freed,
        "{}",
        lines.join("\n")
    );
    eprintln!("{}", lines.join("\n"));
    // The dangling image is gone; so is every stopped container.
    assert!(d
        .docker(&["images", "-q", "--no-trunc"])
        .lines()
        .all(|i| i != f.images.dangling));
    assert_eq!(d.docker(&["ps", "-aq"]).lines().count(), 2);
}

#[test]
fn advise_predicts_what_each_prune_frees_to_the_byte() {
    advise_predicts_what_each_prune_frees(Driver::Overlay2);
}

#[test]
fn advise_predicts_what_each_prune_frees_to_the_byte_overlay() {
    advise_predicts_what_each_prune_frees(Driver::Overlay);
}

#[test]
fn advise_predicts_what_each_prune_frees_to_the_byte_fuse_overlayfs() {
    advise_predicts_what_each_prune_frees(Driver::FuseOverlayfs);
}

#[test]
fn advise_predicts_what_each_prune_frees_to_the_byte_btrfs() {
    advise_predicts_what_each_prune_frees(Driver::Btrfs);
}

fn advise_fails_over_a_limit_and_speaks_prometheus(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    let root = &store.data_root;
    let report = strata_on(root, &["--format", "json", "advise"]).json();
    let total = report["ReclaimableBytes"].as_u64().unwrap();
    let recs = report["Recommendations"].as_array().unwrap();
    let bytes: Vec<u64> = recs.iter().map(|r| r["Bytes"].as_u64().unwrap()).collect();
    assert!(
        bytes.windows(2).all(|w| w[0] >= w[1]),
        "sorted by bytes: {bytes:?}"
    );
    assert!(recs
        .iter()
        .all(|r| !r["Command"].as_str().unwrap().is_empty()));
    let under = strata_on(root, &["advise", "--fail-over", &(total + 1).to_string()]);
    assert_eq!(under.code, Some(0), "{under}");
    let over = strata_on(root, &["advise", "--fail-over", &(total - 1).to_string()]);
    assert_eq!(over.code, Some(1), "{over}");
    assert!(over.stderr.contains("fail-over"), "{over}");
    let prom = strata_on(root, &["--format", "prometheus", "advise"]);
    assert!(prom.success(), "{prom}");
    assert!(prom.stdout.contains(&format!(
        "strata_advise_reclaimable_total_bytes{{driver=\"{driver}\"}} {total}"
    )));
}

#[test]
fn advise_fails_over_a_limit_and_speaks_prometheus_overlay2() {
    advise_fails_over_a_limit_and_speaks_prometheus(Driver::Overlay2);
}

#[test]
fn advise_fails_over_a_limit_and_speaks_prometheus_overlay() {
    advise_fails_over_a_limit_and_speaks_prometheus(Driver::Overlay);
}

#[test]
fn advise_fails_over_a_limit_and_speaks_prometheus_fuse_overlayfs() {
    advise_fails_over_a_limit_and_speaks_prometheus(Driver::FuseOverlayfs);
}

#[test]
fn advise_fails_over_a_limit_and_speaks_prometheus_btrfs() {
    advise_fails_over_a_limit_and_speaks_prometheus(Driver::Btrfs);
}

/// The copies of each duplicate group of `strata dupes --format json`, as `(size, [paths])`.
fn dupe_groups(report: &Value) -> Vec<(u64, Vec<String>)> {
    report["Groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let paths = g["Copies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["Path"].as_str().unwrap().to_owned())
                .collect();
            (g["Size"].as_u64().unwrap(), paths)
        })
        .collect()
}

/// The build context's `notes.txt`, copied by the classic and the BuildKit build into layers
/// of their own, is stored twice; every driver agrees.
fn dupes_on_what_dockerd_made(driver: Driver) {
    let Some(store) = fixture::stopped(driver) else {
        return;
    };
    let run = strata_on(&store.data_root, &["--format", "json", "dupes"]);
    assert!(run.success(), "{run}");
    let report = run.json();
    let groups = dupe_groups(&report);
    assert!(
        groups
            .iter()
            .any(|(_, paths)| paths.len() >= 2 && paths.iter().all(|p| p == "/app/notes.txt")),
        "{groups:?}"
    );
    let images = report["Images"].as_array().unwrap();
    assert!(images.len() >= 6, "{report}");
    for i in images {
        let (stored, fin) = (
            i["StoredBytes"].as_u64().unwrap(),
            i["FinalBytes"].as_u64().unwrap(),
        );
        assert!(fin <= stored, "{i}");
    }
}

#[test]
fn dupes_on_what_dockerd_made_overlay2() {
    dupes_on_what_dockerd_made(Driver::Overlay2);
}

#[test]
fn dupes_on_what_dockerd_made_vfs() {
    dupes_on_what_dockerd_made(Driver::Vfs);
}

#[test]
fn dupes_on_what_dockerd_made_overlay() {
    dupes_on_what_dockerd_made(Driver::Overlay);
}

#[test]
fn dupes_on_what_dockerd_made_fuse_overlayfs() {
    dupes_on_what_dockerd_made(Driver::FuseOverlayfs);
}

#[test]
fn dupes_on_what_dockerd_made_btrfs() {
    dupes_on_what_dockerd_made(Driver::Btrfs);
}

/// A file planted in two layers is found with its wasted bytes; a file deleted by a later
/// layer (`rm /etc/motd`) counts against the image's efficiency.
#[test]
fn dupes_finds_a_planted_duplicate_and_deleted_bytes() {
    if !crate::harness::dockerd_usable() {
        return;
    }
    let (d, image) = small_store(Driver::Overlay2);
    let root = d.data_root();
    let (top, _) = top_layer(root, &image);
    let images = strata_on(root, &["--format", "json", "images", "strata/base:1"]).json();
    let base_chain = items(&images)[0]["Layers"][0].as_str().unwrap().to_owned();
    let layers = strata_on(root, &["--format", "json", "layers", &base_chain]).json();
    let base = root
        .join("overlay2")
        .join(items(&layers)[0]["CacheId"].as_str().unwrap())
        .join("diff");
    let planted: Vec<u8> = (0..123_457u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(base.join("planted.bin"), &planted).unwrap();
    std::fs::write(top.join("app/planted-copy.bin"), &planted).unwrap();

    let report = strata_on(root, &["--format", "json", "dupes"]).json();
    let mut groups = dupe_groups(&report);
    for (_, paths) in &mut groups {
        paths.sort();
    }
    assert_eq!(
        groups,
        vec![(
            123_457,
            vec![
                "/app/planted-copy.bin".to_owned(),
                "/planted.bin".to_owned()
            ]
        )]
    );
    assert_eq!(report["WastedBytes"], 123_457);
    let small = report["Images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["Id"] == image.as_str())
        .unwrap();
    let shadowed = small["Shadowed"].as_array().unwrap();
    assert!(
        shadowed
            .iter()
            .any(|s| s["Path"] == "/etc/motd" && s["How"] == "deleted"),
        "{small}"
    );
    assert!(small["Efficiency"].as_f64().unwrap() < 1.0, "{small}");
}
