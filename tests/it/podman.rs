//! containers/storage roots made by a real podman 4.3 ([`fixture::podman`]): strata's `df -v`
//! equals libpod's `GET /v4.0.0/libpod/system/df` field by field, `diff` equals `podman diff`,
//! no verb changes the store, and a damaged store gets one-line problems.
//!
//! The contract for `strata --root GRAPHROOT --format json df -v` on such a root is libpod's
//! shape (`pkg/domain/entities/system.go SystemDfReport`): a top-level `ImagesSize`, `Images[]`
//! ([`IMAGE_FIELDS`]), `Containers[]` ([`CONTAINER_FIELDS`]) and `Volumes[]`
//! ([`VOLUME_FIELDS`]), plus strata's own fields (not compared).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::corrupt::{judge_run, FATAL, REPORTED};
use crate::fixture::containerd::copy_tree;
use crate::fixture::podman::{self, top_layer, Stopped, LAYERS_JSON};
use crate::harness::{mount_points_under, strata_on, Run};
use crate::readonly::assert_untouched;

/// The fields of libpod's `SystemDfImageReport`; rows are matched by the first three.
pub const IMAGE_FIELDS: &[&str] = &[
    "ImageID",
    "Repository",
    "Tag",
    "Created",
    "Size",
    "SharedSize",
    "UniqueSize",
    "Containers",
];
/// The fields of libpod's `SystemDfContainerReport`; rows are matched by `ContainerID`.
pub const CONTAINER_FIELDS: &[&str] = &[
    "ContainerID",
    "Image",
    "Command",
    "LocalVolumes",
    "Size",
    "RWSize",
    "Created",
    "Status",
    "Names",
];
/// The fields of libpod's `SystemDfVolumeReport`; rows are matched by `VolumeName`.
pub const VOLUME_FIELDS: &[&str] = &["VolumeName", "Links", "Size", "ReclaimableSize"];

/// Fields whose value is text about the clock ("3 seconds ago"), never compared. podman 4.3's
/// API has none (its table renders `Created` itself); later versions might add them.
const CLOCK_TEXT: &[&str] = &["CreatedAt", "RunningFor"];
/// Timestamps, compared as instants (podman writes RFC 3339 with nanoseconds).
const TIMES: &[&str] = &["Created"];

/// One list of libpod's answer: its name, the fields that identify a row, the fields it has.
struct ListSpec {
    list: &'static str,
    key: &'static [&'static str],
    fields: &'static [&'static str],
}

const LISTS: &[ListSpec] = &[
    ListSpec {
        list: "Images",
        key: &["ImageID", "Repository", "Tag"],
        fields: IMAGE_FIELDS,
    },
    ListSpec {
        list: "Containers",
        key: &["ContainerID"],
        fields: CONTAINER_FIELDS,
    },
    ListSpec {
        list: "Volumes",
        key: &["VolumeName"],
        fields: VOLUME_FIELDS,
    },
];

/// Every difference between libpod's answer `api` and strata's `strata`. `images_size` is the
/// `ImagesSize` expected when `api` has none (podman 4.3).
pub fn libpod_differences(api: &Value, strata: &Value, images_size: u64) -> Vec<String> {
    let mut out = Vec::new();
    let want = api
        .get("ImagesSize")
        .cloned()
        .unwrap_or_else(|| Value::from(images_size));
    if strata.get("ImagesSize") != Some(&want) {
        out.push(format!(
            "ImagesSize: podman {want}, strata {}",
            strata.get("ImagesSize").unwrap_or(&Value::Null)
        ));
    }
    for spec in LISTS {
        compare_list(spec, api, strata, &mut out);
    }
    out
}

/// The rows of `answer[spec.list]` by key (`a / b / c`), sorted.
fn rows<'a>(
    spec: &ListSpec,
    answer: &'a Value,
    out: &mut Vec<String>,
) -> BTreeMap<String, &'a Value> {
    let mut rows = BTreeMap::new();
    let Some(list) = answer[spec.list].as_array() else {
        out.push(format!("{}: not a list: {}", spec.list, answer[spec.list]));
        return rows;
    };
    for row in list {
        let key: Vec<String> = spec.key.iter().map(|k| text(&row[*k])).collect();
        if rows.insert(key.join(" / "), row).is_some() {
            out.push(format!("{}: two rows {}", spec.list, key.join(" / ")));
        }
    }
    rows
}

fn compare_list(spec: &ListSpec, api: &Value, strata: &Value, out: &mut Vec<String>) {
    let mut found = Vec::new();
    let want = rows(spec, api, &mut found);
    let got = rows(spec, strata, &mut found);
    for (key, row) in &want {
        for field in spec.fields {
            if row.get(*field).is_none() {
                found.push(format!(
                    "podman's {} row {key} has no {field}: {row}",
                    spec.list
                ));
            }
        }
        let Some(mine) = got.get(key) else {
            found.push(format!("{} {key}: missing from strata's answer", spec.list));
            continue;
        };
        let fields = row.as_object().into_iter().flatten();
        for (field, value) in fields.filter(|(f, _)| !CLOCK_TEXT.contains(&f.as_str())) {
            let other = mine.get(field).unwrap_or(&Value::Null);
            let same = if TIMES.contains(&field.as_str()) {
                instant(value).is_some() && instant(value) == instant(other)
            } else {
                value == other
            };
            if !same {
                found.push(format!(
                    "{} {key} {field}: podman {value}, strata {other}",
                    spec.list
                ));
            }
        }
    }
    for key in got.keys().filter(|k| !want.contains_key(*k)) {
        found.push(format!(
            "{} {key}: strata lists it, podman does not",
            spec.list
        ));
    }
    out.extend(found);
}

/// A string as it is, anything else as JSON text.
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// An RFC 3339 timestamp as (seconds, nanoseconds) since the epoch.
fn instant(v: &Value) -> Option<(i64, u32)> {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
    Some((t.timestamp(), t.timestamp_subsec_nanos()))
}

/// The whole comparison of one moment, as failure lines.
pub fn compare_df(when: &str, api: &Value, run: &Run, images_size: u64) -> Vec<String> {
    if !run.success() || run.panicked() {
        return vec![format!("[{when}] strata df failed:\n{run}")];
    }
    let strata: Value = match serde_json::from_str(&run.stdout) {
        Ok(v) => v,
        Err(e) => {
            return vec![format!(
                "[{when}] strata's stdout is not JSON ({e}):\n{run}"
            )]
        }
    };
    libpod_differences(api, &strata, images_size)
        .into_iter()
        .map(|d| format!("[{when}] {d}"))
        .collect()
}

/// strata's `df -v` JSON carries every field of libpod's `GET /libpod/system/df` with the same
/// value (timestamps as instants), with `strata-running` running and again after `podman stop
/// -a`; and strata on the stopped store, later, still says what podman said after the stop.
#[test]
fn df_equals_libpod_system_df() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let live = &store.live;
    let json_df = ["--format", "json", "df", "-v"];
    let later = strata_on(&store.graphroot, &json_df);
    let mut failures = compare_df(
        "running",
        &live.df_running,
        &live.strata_running,
        store.images_size,
    );
    failures.extend(compare_df(
        "stopped",
        &live.df_stopped,
        &live.strata_stopped,
        store.images_size,
    ));
    failures.extend(compare_df(
        "stopped, podman gone",
        &live.df_stopped,
        &later,
        store.images_size,
    ));
    assert!(
        failures.is_empty(),
        "strata df -v vs libpod's system df ({} differences):\n{}\n\npodman system df -v:\n{}",
        failures.len(),
        failures.join("\n"),
        live.system_df_table
    );
}

/// `podman diff --format json`'s lists as `docker diff`-style lines (`A /new.txt`), sorted.
pub fn podman_lines(diff: &Value) -> BTreeSet<String> {
    [("added", "A"), ("changed", "C"), ("deleted", "D")]
        .iter()
        .flat_map(|(list, letter)| {
            diff[*list]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(move |path| format!("{letter} {path}"))
        })
        .collect()
}

/// strata's `diff` JSON (`Changes[]` with `Kind` `A`/`C`/`D` and `Path`) as the same lines.
pub fn strata_lines(report: &Value) -> BTreeSet<String> {
    report["Changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| format!("{} {}", text(&c["Kind"]), text(&c["Path"])))
        .collect()
}

/// `strata diff` lists what `podman diff` lists (the same (kind, path) pairs), for the exited
/// container (copy-up, whiteout, new file and directory, a volume's mount point), the running
/// one and the one never started. podman leaves out what it mounts over itself (`/etc/hosts`,
/// `/etc/resolv.conf`, `/etc/hostname`, `/run/.containerenv`...): strata must too.
#[test]
fn diff_equals_podman_diff() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let exited = &store.fixture.containers.exited;
    let want = podman_lines(&store.live.podman_diffs[exited]);
    for line in [
        "C /shared/lower.txt",
        "D /shared/remove-me",
        "A /new.txt",
        "A /newdir",
        "A /newdir/x",
    ] {
        assert!(
            want.contains(line),
            "podman diff of strata-exited lacks {line}: {want:?}"
        );
    }
    let mut failures = Vec::new();
    for (id, diff) in &store.live.podman_diffs {
        let run = strata_on(&store.graphroot, &["--format", "json", "diff", id]);
        if !run.success() || run.panicked() {
            failures.push(format!("{id}: {run}"));
            continue;
        }
        let (want, got) = (podman_lines(diff), strata_lines(&run.json()));
        if want != got {
            failures.push(format!(
                "{id}:\n  only podman: {:?}\n  only strata: {:?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every analyzer verb, on the stopped podman store, leaves it exactly as it was: bytes,
/// modes, owners, inodes and times (atimes included), as [`assert_untouched`] checks for Docker
/// roots.
#[test]
fn every_verb_leaves_the_podman_store_unchanged() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let c = &store.fixture.containers;
    let verbs: Vec<Vec<&str>> = vec![
        vec!["df"],
        vec!["df", "-v"],
        vec!["--format", "json", "df", "-v"],
        vec!["--format", "prometheus", "df"],
        vec!["du"],
        vec!["--format", "json", "du"],
        vec!["images"],
        vec!["--format", "json", "images"],
        vec!["layers"],
        vec!["--format", "json", "layers"],
        vec!["containers"],
        vec!["--format", "json", "containers"],
        vec!["volumes"],
        vec!["--format", "json", "volumes"],
        vec!["orphans"],
        vec!["--format", "json", "orphans"],
        vec!["dupes"],
        vec!["verify"],
        vec!["--format", "json", "verify"],
        vec!["advise"],
        vec!["--format", "json", "advise"],
        vec!["diff", &c.exited],
        vec!["--format", "json", "diff", &c.running],
        vec!["diff", "strata-created"],
    ];
    let verbs: Vec<&[&str]> = verbs.iter().map(Vec::as_slice).collect();
    assert_untouched(&store.graphroot, &[], &verbs);
}

/// A fresh `cp -a` of the pristine stopped graphroot in a temporary directory of its own.
fn damaged_copy(store: &Stopped) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("strata-it-podman-corrupt-")
        .tempdir()
        .expect("creating a temporary directory");
    let root = dir.path().join("root");
    copy_tree(&store.pristine, &root);
    (dir, root)
}

/// Whether a problem of the JSON report `report` names `what` in its `Path` or `Detail`.
fn problem_names(report: &Value, what: &str) -> bool {
    report["Problems"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|p| text(&p["Path"]).contains(what) || text(&p["Detail"]).contains(what))
}

/// A damaged layer (`layer`) must leave `orphans` and `df` reporting (exit 0 or 1, no panic),
/// with a JSON problem naming the layer.
fn expect_layer_problem(name: &str, root: &Path, layer: &str, out: &mut Vec<String>) {
    for args in [
        &["--format", "json", "orphans"][..],
        &["--format", "json", "df", "-v"][..],
        &["df"][..],
        &["orphans"][..],
    ] {
        let run = strata_on(root, args);
        let mut judged = Vec::new();
        judge_run(&run, &mut judged);
        out.extend(judged.into_iter().map(|j| format!("[{name}] {j}")));
        if !run.code.is_some_and(|c| REPORTED.contains(&c)) {
            out.push(format!(
                "[{name}] no report (want exit {REPORTED:?}):\n{run}"
            ));
            continue;
        }
        if args[0] == "--format" {
            match serde_json::from_str::<Value>(&run.stdout) {
                Ok(report) if problem_names(&report, layer) => {}
                Ok(report) => out.push(format!(
                    "[{name}] `{}`: no problem names layer {layer}; Problems: {}",
                    args.join(" "),
                    report["Problems"]
                )),
                Err(e) => out.push(format!("[{name}] stdout is not JSON ({e}):\n{run}")),
            }
        } else if !run.stdout.contains(layer) && !run.stderr.contains(layer) {
            out.push(format!("[{name}] the table names no layer {layer}:\n{run}"));
        }
    }
}

/// Three damages, each on its own copy of the stopped store: `layers.json` cut mid-JSON (the
/// store cannot be read: exit 2, one stderr line naming `layers.json`); one layer's
/// `overlay/<id>` directory deleted; one layer record flagged `"incomplete": true` (what
/// containers/storage leaves when a layer's creation was interrupted). Never a panic or a hang.
#[test]
fn corrupt_store_gets_one_line_problems() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let mut failures = Vec::new();

    let (_dir, root) = damaged_copy(store);
    let layers = root.join(LAYERS_JSON);
    let bytes = fs::read(&layers).expect("reading layers.json");
    fs::write(&layers, &bytes[..bytes.len() / 2]).expect("truncating layers.json");
    for args in [
        &["df"][..],
        &["--format", "json", "df", "-v"][..],
        &["orphans"][..],
    ] {
        let run = strata_on(&root, args);
        let mut judged = Vec::new();
        judge_run(&run, &mut judged);
        failures.extend(judged);
        let stderr = run.stderr.trim_end();
        if run.code != Some(FATAL) || stderr.lines().count() != 1 || !stderr.contains("layers.json")
        {
            failures.push(format!(
                "[layers.json truncated] want exit {FATAL} and one stderr line naming layers.json:\n{run}"
            ));
        }
    }

    let (_dir, root) = damaged_copy(store);
    let layer = top_layer(&root, &store.fixture.images.app1);
    fs::remove_dir_all(root.join("overlay").join(&layer)).expect("removing a layer directory");
    expect_layer_problem("layer directory missing", &root, &layer, &mut failures);

    let (_dir, root) = damaged_copy(store);
    let layer = top_layer(&root, &store.fixture.images.dangling);
    let path = root.join(LAYERS_JSON);
    let mut records: Value =
        serde_json::from_slice(&fs::read(&path).expect("reading layers.json")).expect("JSON");
    let record = records
        .as_array_mut()
        .and_then(|all| all.iter_mut().find(|l| l["id"] == layer.as_str()))
        .expect("the dangling image's layer is in layers.json");
    record["flags"] = serde_json::json!({"incomplete": true});
    fs::write(&path, serde_json::to_vec(&records).expect("JSON")).expect("writing layers.json");
    expect_layer_problem("layer flagged incomplete", &root, &layer, &mut failures);

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What podman 4.3 writes and answers, checked on the fixture (no strata involved): the facts
/// the backend and the tests above rely on. If Debian's podman ever behaves otherwise, this
/// fails first and says which fact broke.
#[test]
fn podman_fixture_facts() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let (f, df) = (&store.fixture, &store.live.df_running);
    let hex64 = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());

    // The answer has exactly three lists; 4.3 has no ImagesSize.
    let mut keys: Vec<&str> = df
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["Containers", "Images", "Volumes"], "{df}");

    // Images: ImageID is the bare 64-hex id; one row per tag; untagged rows say <none>.
    let images = df["Images"].as_array().expect("Images");
    for image in images {
        assert!(hex64(&text(&image["ImageID"])), "{image}");
    }
    let row = |repo: &str, tag: &str| {
        images
            .iter()
            .find(|i| i["Repository"] == repo && i["Tag"] == tag)
            .unwrap_or_else(|| panic!("no row {repo}:{tag} in {df}"))
    };
    for (name, id) in &f.tags {
        let (repo, tag) = name.rsplit_once(':').expect("repo:tag");
        assert_eq!(row(repo, tag)["ImageID"], id.as_str(), "{name}");
    }
    assert_eq!(f.tags["localhost/strata/app:alias"], f.images.app1);
    assert_eq!(f.tags["localhost/strata/app:2"], f.images.app2);
    assert_eq!(
        f.tags["localhost/strata/dangling:1"],
        f.images.dangling_successor
    );
    let untagged: BTreeSet<String> = images
        .iter()
        .filter(|i| i["Repository"] == "<none>")
        .map(|i| text(&i["ImageID"]))
        .collect();
    assert!(untagged.contains(&f.images.dangling), "{df}");
    assert!(
        !f.images.intermediate.is_empty(),
        "buildah's cache left no intermediate image"
    );
    for id in &f.images.intermediate {
        assert!(
            untagged.contains(id),
            "intermediate {id} is listed as <none>: {df}"
        );
    }
    // The shared layer is counted as shared by both app images.
    for tag in ["1", "2"] {
        let shared = row("localhost/strata/app", tag)["SharedSize"]
            .as_u64()
            .unwrap();
        let base = row("localhost/strata/base", "1")["Size"].as_u64().unwrap();
        assert!(shared >= base + 100_000, "app:{tag} shares {shared}: {df}");
    }

    // Containers: Names is one string, Command a list, Status the state word.
    let container = |id: &str| {
        df["Containers"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["ContainerID"] == id))
            .unwrap_or_else(|| panic!("no container {id} in {df}"))
    };
    let running = container(&f.containers.running);
    assert_eq!(running["Names"], "strata-running");
    assert_eq!(running["Command"], serde_json::json!(["sleep", "1000"]));
    assert_eq!(running["Status"], "running");
    assert_eq!(running["Image"], f.images.app1.as_str());
    assert_eq!(running["LocalVolumes"], 1);
    let exited = container(&f.containers.exited);
    assert_eq!(exited["Status"], "exited");
    assert_eq!(exited["LocalVolumes"], 1, "the anonymous volume counts");
    let created = container(&f.containers.created);
    assert_eq!(created["Status"], "created");
    assert_eq!(created["Image"], f.images.base.as_str());
    assert_eq!(created["RWSize"], 0);
    for id in f.containers.all_ids() {
        let stopped = store.live.df_stopped["Containers"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["ContainerID"] == id))
            .expect("listed after the stop");
        assert_ne!(stopped["Status"], "running", "{stopped}");
    }

    // Volumes: Links counts containers; an unused one is all reclaimable.
    let volume = |name: &str| {
        df["Volumes"]
            .as_array()
            .and_then(|all| all.iter().find(|v| v["VolumeName"] == name))
            .unwrap_or_else(|| panic!("no volume {name} in {df}"))
    };
    assert_eq!(volume(&f.volumes.named)["Links"], 1);
    assert_eq!(volume(&f.volumes.named)["Size"], 6, "`named\\n`");
    assert_eq!(volume(&f.volumes.anonymous)["Links"], 1);
    let orphan = volume(&f.volumes.orphan);
    assert_eq!(orphan["Links"], 0);
    assert_eq!(orphan["Size"], 10_012);
    assert_eq!(orphan["ReclaimableSize"], 10_012);

    // 4.3's CLI TOTAL adds up the rows (a second tag counts twice), unlike ImagesSize.
    let rows_total: u64 = images.iter().map(|i| i["Size"].as_u64().unwrap()).sum();
    assert_eq!(store.live.cli_images_total, rows_total);

    // The runroot keeps each container's userdata (hosts, hostname, .containerenv...).
    assert!(store.runroot.join("overlay-containers").is_dir());
    // The layout strata reads, and nothing left mounted or running.
    for rel in [
        "libpod/bolt_state.db",
        "overlay-layers/layers.json",
        "overlay-images/images.json",
        "overlay-containers/containers.json",
        "volumes/strata-orphan/_data/orphan.txt",
    ] {
        assert!(store.graphroot.join(rel).exists(), "{rel} is missing");
    }
    let work = store.graphroot.parent().expect("the temporary directory");
    assert_eq!(mount_points_under(work), Vec::<PathBuf>::new());
}
