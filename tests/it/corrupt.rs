//! Damaged stores: strata must never panic or hang, must name the damaged file, and must still
//! report the rest of the store.
//!
//! Each damage of [`corpus`] is applied to a freshly planted [`SynthStore`]; `strata df` and
//! `strata df -v --format json` then run on it. Rules: the exit code is one of [`REPORTED`]
//! (a report was printed) or [`FATAL`] (never 101, never a kill at the deadline), no
//! "panicked" on stderr; the damaged path appears in the table output (stdout or stderr) and in
//! the JSON run's `Problems[].Path` (or its stderr when it is fatal); where the damage leaves
//! images intact, the JSON run prints a report that lists them.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use serde_json::Value;

use crate::harness::{dockerd_usable, is_root, strata_on, Dockerd, Driver, Run};
use crate::synth::{SynthStore, LAYER1_SIZE, LAYER2_SIZE, RW_SIZE, VOLUME_SIZE};

/// Exit codes with which strata printed its report: 0 (healthy), 1 (the report lists
/// problems: `src/main.rs` maps any problem to 1).
pub const REPORTED: &[i32] = &[0, 1];
/// The exit code of a store that cannot be read at all (and of usage errors).
pub const FATAL: i32 = 2;

/// What a damage must produce.
///
/// Without its tags (damaged `repositories.json`), image `a` is an untagged image with a child:
/// an intermediate image, which `GET /system/df` does not list; only `b` (dangling now) must be.
struct Expect {
    /// Relative paths (or distinctive parts of them), any of which naming the damage is
    /// enough; empty when nothing needs to be named.
    names: Vec<String>,
    /// Image ids the JSON report must still list (requires exit 0).
    survivors: Vec<String>,
}

impl Expect {
    fn named(names: &[&str], survivors: &[&String]) -> Expect {
        Expect {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            survivors: survivors.iter().map(|s| (*s).clone()).collect(),
        }
    }
}

type Damage = fn(&SynthStore) -> Expect;

fn truncate(store: &SynthStore, rel: &str) {
    let path = store.path(rel);
    let bytes = fs::read(&path).expect("reading a file to truncate");
    fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncating");
}

fn replace(store: &SynthStore, rel: &str, content: &str) {
    fs::write(store.path(rel), content).expect("overwriting");
}

const REPOSITORIES: &str = "image/overlay2/repositories.json";

const NOT_JSON: &str = "{\"this is\": not json at all";

/// Every damage, by name.
fn corpus() -> Vec<(&'static str, Damage)> {
    vec![
        ("repositories.json truncated", |s| {
            truncate(s, REPOSITORIES);
            Expect::named(&[REPOSITORIES], &[&s.image_b])
        }),
        ("repositories.json invalid", |s| {
            replace(s, REPOSITORIES, NOT_JSON);
            Expect::named(&[REPOSITORIES], &[&s.image_b])
        }),
        ("repositories.json empty", |s| {
            replace(s, REPOSITORIES, "");
            Expect::named(&[REPOSITORIES], &[&s.image_b])
        }),
        // dockerd treats a missing repositories.json as "no tags yet" and writes a new one at
        // start: not a damage to report, but the images must still be there, untagged.
        ("repositories.json missing", |s| {
            fs::remove_file(s.path(REPOSITORIES)).expect("rm");
            Expect::named(&[], &[&s.image_b])
        }),
        ("image config truncated", |s| {
            let rel = s.image_config(&s.image_b);
            truncate(s, &rel);
            Expect::named(&[&rel], &[&s.image_a])
        }),
        ("image config invalid", |s| {
            let rel = s.image_config(&s.image_b);
            replace(s, &rel, NOT_JSON);
            Expect::named(&[&rel], &[&s.image_a])
        }),
        ("image config is a directory", |s| {
            let rel = s.image_config(&s.image_b);
            fs::remove_file(s.path(&rel)).expect("rm");
            fs::create_dir(s.path(&rel)).expect("mkdir");
            Expect::named(&[&rel], &[&s.image_a])
        }),
        // Root reads a mode-000 file anyway: as root this is no damage at all (the directory
        // and dangling-symlink cases stand in for "unreadable"); as another user it is.
        ("image config mode 000", |s| {
            let rel = s.image_config(&s.image_b);
            fs::set_permissions(s.path(&rel), fs::Permissions::from_mode(0o000)).expect("chmod");
            if is_root() {
                Expect::named(&[], &[&s.image_a, &s.image_b])
            } else {
                Expect::named(&[&rel], &[&s.image_a])
            }
        }),
        ("config.v2.json truncated", |s| {
            let rel = s.container_file("config.v2.json");
            truncate(s, &rel);
            Expect::named(&[&rel], &[&s.image_a, &s.image_b])
        }),
        ("config.v2.json invalid", |s| {
            let rel = s.container_file("config.v2.json");
            replace(s, &rel, NOT_JSON);
            Expect::named(&[&rel], &[&s.image_a, &s.image_b])
        }),
        ("config.v2.json is a dangling symlink", |s| {
            let rel = s.container_file("config.v2.json");
            fs::remove_file(s.path(&rel)).expect("rm");
            symlink("/nonexistent/config.v2.json", s.path(&rel)).expect("symlink");
            Expect::named(&[&rel], &[&s.image_a, &s.image_b])
        }),
        ("hostconfig.json truncated", |s| {
            let rel = s.container_file("hostconfig.json");
            truncate(s, &rel);
            Expect::named(&[&rel], &[&s.image_a, &s.image_b])
        }),
        ("hostconfig.json invalid", |s| {
            let rel = s.container_file("hostconfig.json");
            replace(s, &rel, NOT_JSON);
            Expect::named(&[&rel], &[&s.image_a, &s.image_b])
        }),
        ("layer directory (cache-id) missing", |s| {
            fs::remove_dir_all(s.path(&format!("overlay2/{}", s.cache2))).expect("rm -r");
            let record = s.layer_record(&s.chain2);
            let dir = format!("overlay2/{}", s.cache2);
            Expect::named(&[&record, &dir], &[&s.image_a])
        }),
        ("container's writable layer directory missing", |s| {
            fs::remove_dir_all(s.path(&format!("overlay2/{}", s.mount_id))).expect("rm -r");
            let record = format!("image/overlay2/layerdb/mounts/{}", s.container);
            let dir = format!("overlay2/{}", s.mount_id);
            Expect::named(&[&record, &dir, &s.container], &[&s.image_a, &s.image_b])
        }),
        ("cyclic parent chain", |s| {
            let rel = format!("{}/parent", s.layer_record(&s.chain1));
            replace(s, &rel, &s.chain2);
            let (one, two) = (s.layer_record(&s.chain1), s.layer_record(&s.chain2));
            Expect::named(&[&one, &two], &[])
        }),
        ("layer size not a number", |s| {
            let rel = format!("{}/size", s.layer_record(&s.chain2));
            replace(s, &rel, "12abc");
            Expect::named(&[&s.layer_record(&s.chain2)], &[&s.image_a])
        }),
        ("layer diff not a digest", |s| {
            let rel = format!("{}/diff", s.layer_record(&s.chain2));
            replace(s, &rel, "sha256:not-a-digest");
            Expect::named(&[&s.layer_record(&s.chain2)], &[&s.image_a])
        }),
    ]
}

/// Everything wrong with `run` as a run on a damaged store.
pub fn judge_run(run: &Run, out: &mut Vec<String>) {
    if run.timed_out {
        out.push(format!("hung:\n{run}"));
    } else if run.panicked() {
        out.push(format!("panicked:\n{run}"));
    } else if !run
        .code
        .is_some_and(|c| REPORTED.contains(&c) || c == FATAL)
    {
        out.push(format!(
            "exit code must be one of {REPORTED:?} or {FATAL}:\n{run}"
        ));
    }
}

/// The `Path`s of a JSON report's `Problems`.
pub fn problem_paths(report: &Value) -> Vec<String> {
    report["Problems"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["Path"].as_str().map(str::to_owned))
        .collect()
}

/// Every other verb, which must neither panic nor hang on any damaged store either.
const OTHER_VERBS: &[&[&str]] = &[
    &["du"],
    &["--format", "json", "du", "--by", "image"],
    &["--format", "prometheus", "du"],
    &["--format", "prometheus", "df"],
    &["images"],
    &["--format", "json", "layers"],
    &["containers"],
    &["volumes", "--orphaned"],
    &["orphans"],
    &["--format", "json", "verify"],
    &["dupes"],
    &["--format", "json", "advise"],
];

fn check(name: &str, damage: Damage) -> Vec<String> {
    let store = SynthStore::plant();
    let expect = damage(&store);
    let table = strata_on(&store.root, &["df"]);
    let json = strata_on(&store.root, &["--format", "json", "df", "-v"]);
    let mut out = Vec::new();
    judge_run(&table, &mut out);
    judge_run(&json, &mut out);
    for args in OTHER_VERBS {
        judge_run(&strata_on(&store.root, args), &mut out);
    }
    judge_run(
        &strata_on(&store.root, &["diff", &store.container]),
        &mut out,
    );

    let mentions = |text: &str| expect.names.iter().any(|n| text.contains(n.as_str()));
    let table_names = mentions(&table.stdout) || mentions(&table.stderr);
    if !expect.names.is_empty() && table.code.is_some() && !table_names {
        out.push(format!(
            "the table output names none of {:?}:\n{table}",
            expect.names
        ));
    }
    let reported = json.code.is_some_and(|c| REPORTED.contains(&c));
    let report = reported.then(|| serde_json::from_str::<Value>(&json.stdout));
    match report {
        Some(Ok(report)) => {
            let paths = problem_paths(&report);
            if !expect.names.is_empty() && !paths.iter().any(|p| mentions(p)) {
                out.push(format!(
                    "no JSON Problem names any of {:?}; Problems: {}",
                    expect.names, report["Problems"]
                ));
            }
            for id in &expect.survivors {
                let listed = report["Images"]
                    .as_array()
                    .is_some_and(|images| images.iter().any(|i| i["Id"] == *id));
                if !listed {
                    out.push(format!("the intact image {id} is no longer listed"));
                }
            }
        }
        Some(Err(e)) => out.push(format!("a report, but stdout is not JSON ({e}):\n{json}")),
        None => {
            if !expect.survivors.is_empty() {
                out.push(format!(
                    "intact images remain, the JSON run must report:\n{json}"
                ));
            }
            if !expect.names.is_empty() && !mentions(&json.stderr) {
                out.push(format!("stderr names none of {:?}:\n{json}", expect.names));
            }
        }
    }
    out.into_iter().map(|o| format!("[{name}] {o}")).collect()
}

#[test]
fn every_damage_is_reported_without_panic() {
    let failures: Vec<String> = corpus()
        .into_iter()
        .flat_map(|(name, damage)| check(name, damage))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The planted store, undamaged: strata reads all of it, with no problem.
#[test]
fn synthetic_store_is_healthy() {
    let store = SynthStore::plant();
    let run = strata_on(&store.root, &["--format", "json", "df", "-v"]);
    let report = run.assert_success().json();
    assert_eq!(report["Problems"], serde_json::json!([]), "{run}");
    let image = |id: &str| {
        report["Images"]
            .as_array()
            .and_then(|images| images.iter().find(|i| i["Id"] == id))
            .unwrap_or_else(|| panic!("{id} is not listed:\n{run}"))
            .clone()
    };
    let (a, b) = (image(&store.image_a), image(&store.image_b));
    assert_eq!(a["Size"], LAYER1_SIZE);
    assert_eq!(b["Size"], LAYER1_SIZE + LAYER2_SIZE);
    assert_eq!(b["SharedSize"], LAYER1_SIZE);
    assert_eq!(b["ParentId"], store.image_a.as_str());
    assert_eq!(report["LayersSize"], LAYER1_SIZE + LAYER2_SIZE);
    let container = &report["Containers"][0];
    assert_eq!(container["Id"], store.container.as_str(), "{run}");
    assert_eq!(container["SizeRw"], RW_SIZE);
    assert_eq!(container["State"], "exited");
    let volume = &report["Volumes"][0];
    assert_eq!(volume["Name"], store.volume.as_str(), "{run}");
    assert_eq!(volume["UsageData"]["Size"], VOLUME_SIZE);
    assert_eq!(volume["UsageData"]["RefCount"], 1);
}

/// dockerd itself loads the planted store and reports exactly what it was planted with, and
/// strata reads it as dockerd does: the synthetic store is a faithful one.
#[test]
fn synthetic_store_is_what_dockerd_reads() {
    if !dockerd_usable() {
        return;
    }
    let store = SynthStore::plant();
    let d = Dockerd::start_with_root(Driver::Overlay2, &store.root);
    let df = d.system_df();
    let strata = strata_on(&store.root, &["--format", "json", "df", "-v"]);
    drop(d);

    let image = |id: &str| crate::fixture::df_entry(&df, "Images", "Id", id).cloned();
    let b = image(&store.image_b).unwrap_or_else(|| panic!("dockerd lists no image b: {df}"));
    assert!(
        image(&store.image_a).is_some(),
        "dockerd lists no image a: {df}"
    );
    assert_eq!(b["RepoTags"], serde_json::json!(["synth/b:latest"]), "{df}");
    assert_eq!(b["Size"], LAYER1_SIZE + LAYER2_SIZE, "{df}");
    assert_eq!(b["ParentId"], store.image_a.as_str(), "{df}");
    let container = crate::fixture::df_entry(&df, "Containers", "Id", &store.container)
        .unwrap_or_else(|| panic!("dockerd lists no container: {df}"));
    assert_eq!(container["SizeRw"], RW_SIZE, "{df}");
    assert_eq!(container["State"], "exited", "{df}");
    let volume = crate::fixture::df_entry(&df, "Volumes", "Name", &store.volume)
        .unwrap_or_else(|| panic!("dockerd lists no volume: {df}"));
    assert_eq!(volume["UsageData"]["Size"], VOLUME_SIZE, "{df}");
    assert_eq!(volume["UsageData"]["RefCount"], 1, "{df}");
    assert_eq!(
        volume["Labels"],
        serde_json::json!({"org.strata.synthetic": "volume"}),
        "the BoltDB metadata.db written by the test is read by dockerd: {df}"
    );

    let found = crate::dfjson::differences(&df, &strata.assert_success().json());
    assert!(
        found.is_empty(),
        "{}",
        crate::dfjson::report("strata vs dockerd on the synthetic store", &found)
    );
}

/// Not a store at all: exit 2 and one line on stderr that names the path.
#[test]
fn bad_roots_exit_2_naming_the_path() {
    let dir = tempfile::Builder::new()
        .prefix("strata-it-badroot-")
        .tempdir()
        .expect("tempdir");
    let missing = dir.path().join("does-not-exist");
    let file = dir.path().join("a-file");
    fs::write(&file, "not a directory\n").expect("writing a file");
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");

    let mut failures = Vec::new();
    for root in [&missing, &file, &empty] {
        for args in [&["df"][..], &["--format", "json", "df", "-v"][..]] {
            let run = strata_on(root, args);
            let stderr = run.stderr.trim_end();
            let ok = run.code == Some(FATAL)
                && !run.panicked()
                && stderr.lines().count() == 1
                && stderr.contains(root.to_str().expect("UTF-8 path"));
            if !ok {
                failures.push(format!("{run}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "want exit {FATAL} and one stderr line naming the root:\n{}",
        failures.join("\n\n")
    );
}

/// A root that holds the data of two drivers (the driver was switched): the one read is named,
/// and so is the other, in the table and in the JSON; `--driver` reads the other.
#[test]
fn a_switched_driver_is_reported() {
    let store = SynthStore::plant();
    fs::create_dir_all(store.root.join("vfs/dir/0123")).expect("mkdir vfs");
    fs::create_dir_all(store.root.join("image/vfs/layerdb")).expect("mkdir image/vfs");
    let json = strata_on(&store.root, &["--format", "json", "df"]);
    let report = json.assert_success().json();
    let names: Vec<&str> = report["Drivers"]
        .as_array()
        .expect("Drivers")
        .iter()
        .filter_map(|d| d["Name"].as_str())
        .collect();
    assert!(
        names.contains(&"overlay2") && names.contains(&"vfs"),
        "{names:?}"
    );
    let table = strata_on(&store.root, &["df"]);
    assert!(table.assert_success().stdout.contains("vfs"), "{table}");
    let other = strata_on(&store.root, &["--driver", "vfs", "--format", "json", "df"]);
    assert_eq!(other.assert_success().json()["Driver"], "vfs");
}
