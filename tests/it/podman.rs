//! containers/storage roots made by a real podman 4.3 ([`fixture::podman`]): strata's `df -v`
//! equals libpod's `GET /v4.0.0/libpod/system/df` field by field, `diff` equals `podman diff`,
//! no verb changes the store, and a damaged store gets one-line problems. The same store with
//! libpod's state moved to SQLite (`db.sql`, podman 4.8+), written here from the BoltDB's
//! records, gives the same figures.
//!
//! The contract for `strata --root GRAPHROOT --format json df -v` on such a root is libpod's
//! shape (`pkg/domain/entities/system.go SystemDfReport`): a top-level `ImagesSize`, `Images[]`
//! ([`IMAGE_FIELDS`]), `Containers[]` ([`CONTAINER_FIELDS`]) and `Volumes[]`
//! ([`VOLUME_FIELDS`]), plus strata's own fields (not compared).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use analyzers::format::bolt;
use analyzers::format::libpod::{self, sqlite};
use analyzers::fs::Jail;
use rusqlite::{params, Connection, ToSql};
use serde_json::Value;

use crate::corrupt::{judge_run, REPORTED};
use crate::fixture::containerd::copy_tree;
use crate::fixture::podman::{self, top_layer, Stopped, IMAGES_JSON, LAYERS_JSON};
use crate::harness::{mount_points_under, strata_on, Podman, Run};
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

/// Every difference between libpod's answer `api` and strata's `strata` (`ImagesSize` too:
/// absent from both for podman 4.3, which strata finds on `PATH` and follows).
pub fn libpod_differences(api: &Value, strata: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if strata.get("ImagesSize") != api.get("ImagesSize") {
        out.push(format!(
            "ImagesSize: podman {:?}, strata {:?}",
            api.get("ImagesSize"),
            strata.get("ImagesSize")
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
pub fn compare_df(when: &str, api: &Value, run: &Run) -> Vec<String> {
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
    libpod_differences(api, &strata)
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
    let mut failures = compare_df("running", &live.df_running, &live.strata_running);
    failures.extend(compare_df(
        "stopped",
        &live.df_stopped,
        &live.strata_stopped,
    ));
    failures.extend(compare_df("stopped, podman gone", &live.df_stopped, &later));
    let report: Value = serde_json::from_str(&later.stdout).unwrap_or_default();
    let accounting = &report["Accounting"];
    if accounting["PodmanVersion"] != "4.3.1" || accounting["Source"]["From"] != "binary" {
        failures.push(format!(
            "the rules followed are not those of the host's podman 4.3.1: {accounting}"
        ));
    }
    // podman 5.5's rules: ImagesSize is every layer's diff-size once plus every image's big
    // data, which the fixture summed from layers.json and images.json itself.
    let newer = strata_on(
        &store.graphroot,
        &["--podman-version", "5.5.0", "--format", "json", "df", "-v"],
    );
    let newer: Value = serde_json::from_str(&newer.stdout).unwrap_or_default();
    if newer["ImagesSize"] != store.images_size {
        failures.push(format!(
            "podman 5.5 rules: ImagesSize {} but layers.json and images.json sum to {}",
            newer["ImagesSize"], store.images_size
        ));
    }
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
    // On a copy of its own: other tests read the shared stopped store with tools (GNU du,
    // cp) that move directory atimes while this one watches them.
    let (_dir, root) = pristine_copy(store);
    assert_untouched(&root, &[], &verbs);
}

/// The `Paths` of a `du` owner, as strings (relative to the root).
fn owner_paths(owner: &Value) -> Vec<&str> {
    owner["Paths"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// `strata du` of the stopped podman store attributes every byte: the owners add up to GNU
/// du's totals of the graphroot (apparent and allocated; strata never writes, so libpod's
/// BoltDB keeps its size), with one thread and with four alike; nothing is unknown or leaked;
/// each image's big data is that image's, each layer's tar-split its layer's, each container's
/// `userdata` and `ctr.log` the container's, `bolt_state.db` libpod's, and the driver's
/// `.has-mount-program` bookkeeping.
#[test]
fn du_attributes_every_byte_of_the_graphroot() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let root = &store.graphroot;
    let du = |threads: &str| {
        strata_on(root, &["--format", "json", "--threads", threads, "du"])
            .assert_success()
            .json()
    };
    let report = du("1");
    let (apparent, allocated) = crate::fixture::gnu_du(root);
    crate::du::assert_totals(&report, apparent, allocated, "podman graphroot");
    let four = du("4");
    for part in ["Total", "Kinds", "Owners"] {
        assert_eq!(report[part], four[part], "{part}: one thread vs four");
    }
    for kind in ["unknown", "leaked-layer"] {
        let found: Vec<&Value> = crate::du::owners_of(&report, kind).collect();
        assert!(found.is_empty(), "{kind} owners: {found:#?}");
    }
    let owner = |kind: &str, id: &str| -> &Value {
        report["Owners"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["Kind"] == kind && o["Id"] == id)
            .unwrap_or_else(|| panic!("no {kind} owner {id}: {:#}", report["Owners"]))
    };
    let f = &store.fixture;
    let images = [&f.images.base, &f.images.app1, &f.images.app2]
        .into_iter()
        .chain([&f.images.dangling, &f.images.dangling_successor])
        .chain(&f.images.intermediate);
    for id in images {
        let paths = owner_paths(owner("image-big-data", &format!("sha256:{id}")));
        assert_eq!(paths, [format!("overlay-images/{id}")], "image {id}");
    }
    let layers: Vec<&Value> = crate::du::owners_of(&report, "image-layer").collect();
    assert!(!layers.is_empty(), "no image layers");
    for layer in layers {
        let id = text(&layer["Id"]);
        let id = id.trim_start_matches("sha256:");
        // df's measures of a layer's `diff/` are roots of the same walk, listed too.
        let (tar_split, dir) = (
            format!("overlay-layers/{id}.tar-split.gz"),
            format!("overlay/{id}"),
        );
        let paths = owner_paths(layer);
        assert!(
            paths.contains(&tar_split.as_str())
                && paths.contains(&dir.as_str())
                && paths.iter().all(|p| *p == tar_split || p.starts_with(&dir)),
            "layer {id}: {paths:?}"
        );
    }
    for id in f.containers.all_ids() {
        let dir = format!("overlay-containers/{id}");
        assert_eq!(owner_paths(owner("container-meta", id)), [dir.as_str()]);
        assert!(!owner_paths(owner("container-layer", id)).is_empty());
    }
    for id in [&f.containers.running, &f.containers.exited] {
        let log = format!("overlay-containers/{id}/userdata/ctr.log");
        assert_eq!(owner_paths(owner("container-log", id)), [log.as_str()]);
    }
    assert_eq!(owner_paths(owner("libpod-state", "libpod")), ["libpod"]);
    assert_eq!(
        owner_paths(owner("daemon", ".has-mount-program")),
        ["overlay/.has-mount-program"]
    );
    for (id, path) in [
        ("overlay-images/", "overlay-images"),
        ("overlay-layers/", "overlay-layers"),
    ] {
        assert_eq!(owner_paths(owner("image-metadata", id)), [path]);
    }
}

/// One recommendation of `strata advise`: what it frees, its command, the paths it deletes.
struct Advised {
    bytes: u64,
    command: String,
    paths: Vec<PathBuf>,
}

/// `strata advise`'s recommendations on `root` (every command checked: none may reset the
/// store), and the one of `action` whose `What` contains `what`.
fn advised(root: &Path, action: &str, what: &str) -> Advised {
    let report = strata_on(root, &["--format", "json", "advise"])
        .assert_success()
        .json();
    let all = report["Recommendations"]
        .as_array()
        .expect("Recommendations");
    for r in all {
        let command = text(&r["Command"]);
        assert!(!command.contains("system reset"), "{command}: {report:#}");
    }
    let found = all
        .iter()
        .find(|r| r["Action"] == action && text(&r["What"]).contains(what))
        .unwrap_or_else(|| panic!("no {action} recommendation ({what}): {report:#}"));
    Advised {
        bytes: found["Bytes"].as_u64().expect("Bytes"),
        command: text(&found["Command"]),
        paths: found["Paths"]
            .as_array()
            .expect("Paths")
            .iter()
            .map(|p| PathBuf::from(text(p)))
            .collect(),
    }
}

/// Allocated bytes under `paths` as `du -scxB1` counts them (each inode once), less the files
/// a cleanup rewrites rather than deletes: libpod's BoltDB (`*.db`, which never shrinks) and
/// containers/storage's records files (which lose records).
fn allocated(paths: &[PathBuf]) -> u64 {
    let args = [
        "-scxB1",
        "--exclude=*.db",
        "--exclude=layers.json",
        "--exclude=images.json",
        "--exclude=containers.json",
    ];
    crate::fixture::du_total(&args, paths)
}

/// What podman lists: image, container and volume ids (images' without `sha256:`).
#[derive(Debug)]
struct Listed {
    images: BTreeSet<String>,
    containers: BTreeSet<String>,
    volumes: BTreeSet<String>,
}

impl Listed {
    fn of(p: &Podman) -> Listed {
        let ids = |args: &[&str]| -> BTreeSet<String> {
            p.podman(args)
                .lines()
                .map(|id| id.trim_start_matches("sha256:").to_owned())
                .collect()
        };
        Listed {
            images: ids(&["images", "-a", "-q", "--no-trunc"]),
            containers: ids(&["ps", "-a", "-q", "--no-trunc"]),
            volumes: ids(&["volume", "ls", "-q"]),
        }
    }

    /// What `self` lists and `now` does not, as (images, containers, volumes).
    fn gone(&self, now: &Listed) -> [BTreeSet<String>; 3] {
        let diff = |a: &BTreeSet<String>, b: &BTreeSet<String>| a.difference(b).cloned().collect();
        [
            diff(&self.images, &now.images),
            diff(&self.containers, &now.containers),
            diff(&self.volumes, &now.volumes),
        ]
    }
}

/// The names of the entries of each of `dirs` (relative to `root`) among `paths`.
fn named_under<const N: usize>(
    root: &Path,
    dirs: [&str; N],
    paths: &[PathBuf],
) -> [BTreeSet<String>; N] {
    dirs.map(|dir| {
        paths
            .iter()
            .filter_map(|p| p.strip_prefix(root.join(dir)).ok())
            .filter_map(|p| p.to_str().map(str::to_owned))
            .collect()
    })
}

/// On a podman fixture of its own (stopped), each cleanup `strata advise` recommends, run with
/// podman, deletes every path strata named for it, and those paths held exactly the bytes
/// strata predicted, which is exactly what `du` of the graphroot lost (libpod's BoltDB and the
/// records files left out: they are rewritten, not deleted); it removes exactly the images,
/// containers or volumes strata counted; strata's `df -v` still equals libpod's afterwards. In
/// order: `podman volume prune -f` (only `strata-orphan` is unused), `podman image prune -f`
/// (the first `strata/dangling:1`, not the build's intermediate images: they have children),
/// `podman container prune -f` (all three: exited, created, and the one stopped), `podman
/// volume rm` of the anonymous volume (a prune would take the named one too), `podman volume
/// prune -f` (the named one, all that is left), and `podman rmi localhost/strata/app:2`, which
/// takes the intermediate image only it stood on along.
#[test]
fn advise_predicts_what_each_podman_cleanup_frees() {
    if !crate::harness::podman_usable() {
        return;
    }
    let p = Podman::start();
    let f = podman::PodmanFixture::build(&p);
    p.stop_containers();
    let root = p.graphroot();
    let anonymous = format!("podman volume rm {}", f.volumes.anonymous);
    let steps: [(&str, &str, &str); 6] = [
        ("volume-prune-named", "", "podman volume prune -f"),
        ("image-prune", "", "podman image prune -f"),
        ("container-prune", "", "podman container prune -f"),
        ("volume-prune-anonymous", "", &anonymous),
        ("volume-prune-named", "", "podman volume prune -f"),
        ("rmi", "app:2", "podman rmi localhost/strata/app:2"),
    ];
    let app2_parent = p.podman(&[
        "image",
        "inspect",
        "--format",
        "{{.Parent}}",
        &f.images.app2,
    ]);
    let app2_parent = app2_parent.trim_start_matches("sha256:").to_owned();
    assert!(
        f.images.intermediate.contains(&app2_parent),
        "app:2's parent {app2_parent}"
    );
    let mut lines = Vec::new();
    let mut listed = Listed::of(&p);
    for (action, what, command) in steps {
        let advice = advised(&root, action, what);
        assert_eq!(advice.command, command, "{action}");
        let held = allocated(&advice.paths);
        let before = allocated(std::slice::from_ref(&root));
        let words: Vec<&str> = command.split(' ').skip(1).collect();
        p.podman(&words);
        let freed = before - allocated(std::slice::from_ref(&root));
        lines.push(format!(
            "{command}: predicted {}, its paths held {held}, du of the graphroot lost {freed}",
            advice.bytes
        ));
        let left: Vec<&PathBuf> = advice.paths.iter().filter(|p| p.exists()).collect();
        assert!(
            left.is_empty(),
            "{command} left {left:?}\n{}",
            lines.join("\n")
        );
        assert!(advice.bytes > 0, "{command} must free something");
        assert_eq!(advice.bytes, held, "{}", lines.join("\n"));
        assert_eq!(freed, advice.bytes, "{}", lines.join("\n"));
        let now = Listed::of(&p);
        assert_eq!(
            listed.gone(&now),
            named_under(
                &root,
                ["overlay-images", "overlay-containers", "volumes"],
                &advice.paths
            ),
            "{command}: the images, containers and volumes removed"
        );
        listed = now;
        let run = strata_on(&root, &["--format", "json", "df", "-v"]);
        let found = compare_df(command, &p.system_df(), &run);
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
    eprintln!("{}", lines.join("\n"));
    for (id, gone) in [
        (&f.images.dangling, true),
        (&f.images.app2, true),
        (&app2_parent, true),
        (&f.images.app1, false),
        (&f.images.base, false),
    ] {
        assert_eq!(
            !listed.images.contains(id),
            gone,
            "image {id}: {:?}",
            listed.images
        );
    }
}

/// A fresh `cp -a` of the pristine stopped graphroot in a temporary directory of its own.
fn pristine_copy(store: &Stopped) -> (tempfile::TempDir, PathBuf) {
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

/// Checks that `strata orphans` on `root` finds exactly `want` (kind, path relative to `root`)
/// and nothing else: every leftover once, and none of the driver's own files.
fn expect_orphans(name: &str, root: &Path, want: &[(&str, String)], out: &mut Vec<String>) {
    let report = strata_on(root, &["--format", "json", "orphans"]).json();
    let found: BTreeSet<(String, String)> = report["Orphans"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            let path = text(&o["Path"]);
            let rel = Path::new(&path)
                .strip_prefix(root)
                .map_or(path.clone(), |p| p.to_string_lossy().into_owned());
            (text(&o["Kind"]), rel)
        })
        .collect();
    let want: BTreeSet<(String, String)> = want
        .iter()
        .map(|(kind, path)| ((*kind).to_owned(), path.clone()))
        .chain([(
            "dangling-named-volume".to_owned(),
            "volumes/strata-orphan".to_owned(),
        )])
        .collect();
    if found != want || report["Orphans"].as_array().map(Vec::len) != Some(want.len()) {
        out.push(format!(
            "[{name}] orphans:\n  found {found:?}\n  want  {want:?}\n{report:#}"
        ));
    }
}

/// Damages, each on its own copy of the stopped store: `layers.json` cut mid-JSON (no layer can
/// be read: exit 1, one problem line naming `layers.json` and saying so); one layer's
/// `overlay/<id>` directory deleted (a problem naming it; `orphans` finds its record without
/// content, the tar-split, and its `l/` link dangling); one layer record flagged `"incomplete":
/// true` (what containers/storage leaves when a layer's creation was interrupted: a problem
/// naming it, and one `incomplete-layer`, not also a leaked directory); a layer directory no
/// record names (`layer-dir`); an image record removed from `images.json`, its top layer left
/// standing under nothing (`unreferenced-layer`); sizes at the ends of `i64`
/// ([`sizes_at_the_ends`]: figures saturate). The pristine store has no leftover but its unused
/// volume (`.has-mount-program`, `l/` are the driver's). Never a panic or a hang.
#[test]
fn corrupt_store_gets_one_line_problems() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let mut failures = Vec::new();

    let (_dir, root) = pristine_copy(store);
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
        // The problem is a stderr line, or in the JSON report's Problems with --format json.
        let phrase = "none of its layer records is read";
        let says =
            |path: &str, detail: &str| path.ends_with("layers.json") && detail.contains(phrase);
        let in_stderr = run
            .stderr
            .lines()
            .filter(|l| l.contains("layers.json: ") && l.contains(phrase))
            .count();
        let in_json = serde_json::from_str::<Value>(&run.stdout)
            .ok()
            .and_then(|v| v["Problems"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter(|p| says(&text(&p["Path"]), &text(&p["Detail"])))
            .count();
        if run.code != Some(1) || in_stderr + in_json != 1 {
            failures.push(format!(
                "[layers.json truncated] want exit 1 and one problem line saying no layer \
                 record of layers.json is read:\n{run}"
            ));
        }
    }

    expect_orphans("pristine", &store.graphroot, &[], &mut failures);

    let (_dir, root) = pristine_copy(store);
    let layer = top_layer(&root, &store.fixture.images.app1);
    let link = fs::read_to_string(root.join("overlay").join(&layer).join("link"))
        .expect("reading the layer's link file");
    fs::remove_dir_all(root.join("overlay").join(&layer)).expect("removing a layer directory");
    expect_layer_problem("layer directory missing", &root, &layer, &mut failures);
    expect_orphans(
        "layer directory missing",
        &root,
        &[
            (
                "record-without-content",
                format!("overlay-layers/{layer}.tar-split.gz"),
            ),
            ("link", format!("overlay/l/{}", link.trim())),
        ],
        &mut failures,
    );

    let (_dir, root) = pristine_copy(store);
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
    expect_orphans(
        "layer flagged incomplete",
        &root,
        &[("incomplete-layer", format!("overlay/{layer}"))],
        &mut failures,
    );

    let (_dir, root) = pristine_copy(store);
    let planted = "ab".repeat(32);
    let diff = root.join("overlay").join(&planted).join("diff");
    fs::create_dir_all(&diff).expect("planting a layer directory");
    fs::write(diff.join("left.bin"), vec![7u8; 5000]).expect("filling it");
    expect_orphans(
        "layer directory without a record",
        &root,
        &[("layer-dir", format!("overlay/{planted}"))],
        &mut failures,
    );

    let (_dir, root) = pristine_copy(store);
    let image = &store.fixture.images.dangling;
    let layer = top_layer(&root, image);
    let path = root.join(podman::IMAGES_JSON);
    let mut records: Value =
        serde_json::from_slice(&fs::read(&path).expect("reading images.json")).expect("JSON");
    records
        .as_array_mut()
        .expect("images.json is a list")
        .retain(|i| i["id"] != image.as_str());
    fs::write(&path, serde_json::to_vec(&records).expect("JSON")).expect("writing images.json");
    expect_orphans(
        "image record removed",
        &root,
        &[("unreferenced-layer", format!("overlay/{layer}"))],
        &mut failures,
    );

    let (_dir, root) = pristine_copy(store);
    sizes_at_the_ends(&root, store);
    let run = strata_on(&root, &["--format", "json", "df", "-v"]);
    let mut judged = Vec::new();
    judge_run(&run, &mut judged);
    failures.extend(judged);
    let dangling = &store.fixture.images.dangling;
    let unique = serde_json::from_str::<Value>(&run.stdout)
        .ok()
        .and_then(|r| {
            r["Images"]
                .as_array()?
                .iter()
                .find(|i| i["ImageID"] == dangling.as_str())
                .and_then(|i| i["UniqueSize"].as_i64())
        });
    if unique != Some(i64::MIN) {
        failures.push(format!(
            "[sizes at the ends of i64] want the dangling image's UniqueSize saturated to {}, \
             got {unique:?}:\n{run}",
            i64::MIN
        ));
    }

    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Sizes at the ends of `i64` in `graphroot`'s records (containers/storage keeps them as
/// `int64`, -1 meaning unknown): the base image's config recorded as 9 EB in `images.json`,
/// and the own layer of the dangling image (a child of the base, in libimage's layer tree) as
/// -9 EB in `layers.json`. That image's unique size, its size less its parent's, is then
/// below `i64::MIN`.
fn sizes_at_the_ends(graphroot: &Path, store: &Stopped) {
    const HUGE: i64 = 9_000_000_000_000_000_000;
    let images = &store.fixture.images;
    let edit = |rel: &str, change: &mut dyn FnMut(&mut Vec<Value>)| {
        let path = graphroot.join(rel);
        let mut records: Value =
            serde_json::from_slice(&fs::read(&path).expect("reading records")).expect("JSON");
        change(records.as_array_mut().expect("a list of records"));
        fs::write(&path, serde_json::to_vec(&records).expect("JSON")).expect("writing records");
    };
    let config_key = format!("sha256:{}", images.base);
    edit(IMAGES_JSON, &mut |all| {
        let base = all
            .iter_mut()
            .find(|i| i["id"] == images.base.as_str())
            .expect("the base image");
        base["big-data-sizes"][&config_key] = HUGE.into();
    });
    let layer = top_layer(graphroot, &images.dangling);
    edit(LAYERS_JSON, &mut |all| {
        let own = all
            .iter_mut()
            .find(|l| l["id"] == layer.as_str())
            .expect("the dangling image's layer");
        own["diff-size"] = (-HUGE).into();
    });
}

/// The runtime-config keys of the BoltDB, in the order of the `DBConfig` columns after
/// `SchemaVersion` (`OS, StaticDir, TmpDir, GraphRoot, RunRoot, GraphDriver, VolumeDir`).
const DB_CONFIG_KEYS: [&str; 7] = [
    "os",
    "static-dir",
    "tmp-dir",
    "graph-root",
    "run-root",
    "graph-driver-name",
    "volume-path",
];

/// Writes `<graphroot>/db.sql`, libpod's SQLite state as podman 4.8+ makes it (its schema,
/// [`sqlite::SCHEMA`], and the rows of `sqlite_state.go`'s `addVolume` and `addContainer`),
/// holding the volumes and containers of `<graphroot>/libpod/bolt_state.db`, read with strata's
/// Bolt reader: the same config and state documents, bound as BLOBs as podman binds Go
/// `[]byte`, and the `Name`, `PodID`, `State`, `ExitCode` and `ContainerVolume` columns taken
/// from them.
fn sqlite_from_bolt(graphroot: &Path) -> PathBuf {
    let jail = Jail::open(graphroot).expect("opening the graphroot");
    let bolt = bolt::Db::open(&jail, &graphroot.join(libpod::BOLT_STATE))
        .unwrap_or_else(|p| panic!("reading the BoltDB: {p}"));
    let root = bolt.root();
    let bucket = |name: &str| {
        root.bucket(name)
            .unwrap_or_else(|| panic!("no bucket {name} in the BoltDB"))
    };
    let record = |records: &str, key: &[u8], part: &str| {
        bucket(records)
            .bucket(key)
            .and_then(|r| r.get(part))
            .map(<[u8]>::to_vec)
    };
    let path = graphroot.join(libpod::SQLITE_STATE);
    let mut conn = Connection::open(&path).expect("creating db.sql");
    conn.pragma_update(None, "foreign_keys", true)
        .expect("foreign keys on");
    for statement in sqlite::SCHEMA {
        conn.execute(statement, []).expect("podman's schema");
    }
    let runtime = bucket(libpod::bolt::RUNTIME_CONFIG_BUCKET);
    let mut db_config = vec![
        Box::new(1) as Box<dyn ToSql>,
        Box::new(sqlite::SCHEMA_VERSION),
    ];
    for key in DB_CONFIG_KEYS {
        let value = runtime
            .get(key)
            .unwrap_or_else(|| panic!("no runtime {key}"));
        db_config.push(Box::new(String::from_utf8_lossy(value).into_owned()));
    }
    conn.execute(
        "INSERT INTO DBConfig VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);",
        rusqlite::params_from_iter(db_config),
    )
    .expect("DBConfig");
    let tx = conn.transaction().expect("a transaction");
    // Keys are bound as text, as podman binds Go strings (a BLOB never equals a TEXT key).
    let utf8 = |key: &[u8]| String::from_utf8(key.to_vec()).expect("a UTF-8 key");
    for (key, _) in bucket(libpod::bolt::ALL_VOLS_BUCKET).iter() {
        let name = utf8(key);
        let config = record(libpod::bolt::VOL_BUCKET, key, libpod::bolt::CONFIG_KEY)
            .expect("a volume config");
        // podman marshals the volume's state whatever it holds.
        let state = record(libpod::bolt::VOL_BUCKET, key, libpod::bolt::STATE_KEY)
            .unwrap_or_else(|| b"{}".to_vec());
        tx.execute(
            "INSERT INTO VolumeConfig VALUES (?, ?, ?);",
            params![name, None::<String>, config],
        )
        .expect("VolumeConfig");
        tx.execute(
            "INSERT INTO VolumeState VALUES (?, ?);",
            params![name, state],
        )
        .expect("VolumeState");
    }
    for (key, _) in bucket(libpod::bolt::ALL_CTRS_BUCKET).iter() {
        let id = utf8(key);
        let config_bytes = record(libpod::bolt::CTR_BUCKET, key, libpod::bolt::CONFIG_KEY)
            .expect("a container config");
        let state_bytes = record(libpod::bolt::CTR_BUCKET, key, libpod::bolt::STATE_KEY)
            .expect("a container state");
        let config: Value = serde_json::from_slice(&config_bytes).expect("config JSON");
        let state: Value = serde_json::from_slice(&state_bytes).expect("state JSON");
        let pod = config["pod"].as_str().filter(|p| !p.is_empty());
        tx.execute("INSERT INTO IDNamespace VALUES (?);", [&id])
            .expect("IDNamespace");
        tx.execute(
            "INSERT INTO ContainerConfig VALUES (?, ?, ?, ?);",
            params![id, text(&config["name"]), pod, config_bytes],
        )
        .expect("ContainerConfig");
        tx.execute(
            "INSERT INTO ContainerState VALUES (?, ?, ?, ?);",
            params![
                id,
                state["state"].as_i64().expect("a state number"),
                state["exitCode"].as_i64().unwrap_or(0),
                state_bytes
            ],
        )
        .expect("ContainerState");
        for volume in config["namedVolumes"].as_array().into_iter().flatten() {
            tx.execute(
                "INSERT INTO ContainerVolume VALUES (?, ?);",
                params![id, text(&volume["volumeName"])],
            )
            .expect("ContainerVolume");
        }
    }
    tx.commit().expect("committing");
    path
}

/// The stopped store with libpod's state in SQLite, as podman 4.8+ keeps it: with
/// `libpod/bolt_state.db` replaced by a `db.sql` holding the same records
/// ([`sqlite_from_bolt`]), strata's `df -v` still equals what podman answered after the stop,
/// with no problem, and leaves the store untouched. With both files present (the `db.sql`
/// emptied of records, so that reading it would show), strata reads the BoltDB, as podman 4.8
/// to 5.x do, gives the same answer, and says in one problem that it left `db.sql` unread.
#[test]
fn sqlite_state_gives_the_same_df() {
    let Some(store) = podman::stopped() else {
        return;
    };
    let json_df = ["--format", "json", "df", "-v"];
    let (_dir, root) = pristine_copy(store);
    let db = sqlite_from_bolt(&root);
    fs::remove_file(root.join(libpod::BOLT_STATE)).expect("removing the BoltDB");
    let run = strata_on(&root, &json_df);
    let failures = compare_df("db.sql", &store.live.df_stopped, &run);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_untouched(&root, &[], &[&json_df, &["containers"], &["volumes"]]);
    assert!(db.is_file() && !root.join("db.sql-journal").exists());

    let (_dir, root) = pristine_copy(store);
    let db = sqlite_from_bolt(&root);
    let conn = Connection::open(&db).expect("opening db.sql");
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; BEGIN; DELETE FROM ContainerVolume; \
         DELETE FROM ContainerState; DELETE FROM ContainerConfig; DELETE FROM IDNamespace; \
         DELETE FROM VolumeState; DELETE FROM VolumeConfig; COMMIT;",
    )
    .expect("emptying db.sql");
    drop(conn);
    let run = strata_on(&root, &json_df);
    assert!(
        run.code == Some(1) && !run.panicked(),
        "want exit 1 (a problem):\n{run}"
    );
    let report = run.json();
    let differences = libpod_differences(&store.live.df_stopped, &report);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    let problems = report["Problems"].as_array().expect("a Problems list");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(text(&problems[0]["Path"]), db.display().to_string());
    let detail = text(&problems[0]["Detail"]);
    assert!(
        detail.starts_with("not read: ") && detail.contains(libpod::BOLT_STATE),
        "{detail}"
    );
    let run = strata_on(&root, &["df"]);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        run.code == Some(1) && lines.len() == 1 && lines[0].contains("db.sql: "),
        "want one problem line naming db.sql:\n{run}"
    );
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
