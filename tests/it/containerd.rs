//! The containerd image store (issue 11): Docker's (trixie's dockerd 26.1.5 with the
//! `containerd-snapshotter` feature, over its own containerd 1.7) and a plain containerd's (a
//! Kubernetes node's `k8s.io` namespace, made with `ctr`).
//!
//! - [`df_equals_system_df_of_dockerd_26`]: `strata df -v --format json` against
//!   `GET /v1.45/system/df`, field by field ([`crate::dfjson`]), with the containerd root found
//!   by strata and named by `--containerd-root`, and the accounting rule it says it used;
//! - [`diff_equals_docker_diff`]: `strata diff` against `docker diff`;
//! - [`every_verb_leaves_both_roots_untouched`]: the read-only check
//!   ([`crate::readonly::assert_untouched`]) over the data root, which holds the containerd
//!   root;
//! - [`plain_containerd_equals_ctr`]: snapshots (sizes and inodes to the byte, and as
//!   `ctr snapshots usage` prints them), images and containers of a `k8s.io` store;
//! - [`damaged_containerd_store_is_named`]: a corrupt corpus made from a copy of the fixture.
//!
//! [`fixture_is_what_the_issue_names`] and the ctr truth in [`plain_containerd_equals_ctr`]
//! check the daemons' side alone, so that a failure there is never blamed on strata.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::corrupt::{judge_run, problem_paths, FATAL};
use crate::dfjson::{differences, report, with_state};
use crate::fixture::containerd::{self as c8d, copy_tree, BLOBS, META_DB, OVERLAYFS};
use crate::fixture::df_entry;
use crate::forensics::diff_mismatch;
use crate::harness::{strata, strata_on, strata_on_with_path, trixie, Containerd, Ctr, Run};
use crate::readonly::assert_untouched;

/// strata's `df -v --format json` on `store`, with `global` flags before the verb, on a host
/// whose dockerd (first on `PATH`) is the one that wrote the store.
fn df_json(store: &c8d::Stopped, global: &[&str]) -> Run {
    let args: Vec<&str> = global
        .iter()
        .copied()
        .chain(["--format", "json", "df", "-v"])
        .collect();
    strata_on_with_path(&store.data_root, &args, &trixie::path_env())
}

/// Everything wrong with `run` as strata's `df -v` JSON for a store whose daemon answered
/// `want`: the field-by-field differences, and strata's own fields (`Driver`, `Backend`,
/// `Accounting.Rule`, no `Problems`).
fn judge_df(what: &str, want: &Value, run: &Run, failures: &mut Vec<String>) {
    if !run.success() || run.panicked() {
        failures.push(format!("{what}: strata failed:\n{run}"));
        return;
    }
    let got = run.json();
    let found = differences(want, &got);
    if !found.is_empty() {
        failures.push(report(what, &found));
    }
    if got["Driver"] != "overlayfs" || got["Backend"] != "containerd" {
        failures.push(format!(
            "{what}: want \"Driver\": \"overlayfs\", \"Backend\": \"containerd\"; got {}, {}",
            got["Driver"], got["Backend"]
        ));
    }
    let rule = got["Accounting"]["Rule"].as_str().unwrap_or_default();
    if !rule.contains("26") {
        failures.push(format!(
            "{what}: Accounting.Rule must name the dockerd 26 rule: {}",
            got["Accounting"]
        ));
    }
    if got["Problems"] != Value::Array(Vec::new()) {
        failures.push(format!(
            "{what}: Problems must be an empty list: {}",
            got["Problems"]
        ));
    }
}

/// The daemon's answer and the fixture are what issue 11 describes (no strata involved): a
/// check that the truth the other tests compare against is the store they claim.
#[test]
fn fixture_is_what_the_issue_names() {
    let Some(store) = c8d::stopped() else {
        return;
    };
    let df = &store.live.daemon_df;
    let images = &store.images;
    for id in [
        &images.bb,
        &images.base,
        &images.app1,
        &images.app2,
        &images.cl,
        &images.dangling,
    ] {
        assert!(df_entry(df, "Images", "Id", id).is_some(), "{id}: {df}");
    }
    let dangling = df_entry(df, "Images", "Id", &images.dangling).unwrap();
    assert!(
        dangling["RepoTags"].as_array().is_none_or(Vec::is_empty),
        "the first cl:1 is dangling: {dangling}"
    );
    let shared = df_entry(df, "Images", "Id", &images.app1).unwrap()["SharedSize"]
        .as_i64()
        .unwrap();
    assert!(shared > 0, "app:1 shares layers: {df}");
    let c = &store.containers;
    for (id, state) in [
        (&c.run1, "running"),
        (&c.exit1, "exited"),
        (&c.created1, "created"),
    ] {
        let row = df_entry(df, "Containers", "Id", id).unwrap_or_else(|| panic!("{id}: {df}"));
        assert_eq!(row["State"], state, "{row}");
        assert!(row["SizeRootFs"].as_i64().unwrap_or(0) > 0, "{row}");
    }
    for name in ["named1", "dangling1", store.anonymous_volume.as_str()] {
        assert!(
            df_entry(df, "Volumes", "Name", name).is_some(),
            "{name}: {df}"
        );
    }
    let dangling1 = df_entry(df, "Volumes", "Name", "dangling1").unwrap();
    assert_eq!(dangling1["UsageData"]["Size"], 5, "{dangling1}");
    assert_eq!(dangling1["UsageData"]["RefCount"], 0, "{dangling1}");
    assert!(
        df["BuildCache"].as_array().is_some_and(|b| !b.is_empty()),
        "BuildKit leaves cache: {df}"
    );
    assert!(df["LayersSize"].as_i64().unwrap() > 0, "{df}");

    let run1 = &store.live.docker_diffs[&c.run1];
    for line in ["C /data/f1", "D /data/f2", "A /new"] {
        assert!(run1.lines().any(|l| l == line), "run1: {run1}");
    }
    let exit1 = &store.live.docker_diffs[&c.exit1];
    assert!(exit1.lines().any(|l| l == "D /data"), "exit1: {exit1}");

    let dir = store.data_root.join(&store.run1_snapshot_dir);
    assert!(dir.join("fs").is_dir(), "{}", dir.display());
    assert!(store.containerd_root.join(META_DB).is_file());
    assert!(store.pristine.join(meta_db_in_root()).is_file());
    assert!(
        store.docker_version.starts_with("26."),
        "{}",
        store.docker_version
    );
}

/// `containerd/daemon/<META_DB>`: meta.db relative to the data root.
fn meta_db_in_root() -> PathBuf {
    Path::new(crate::harness::CONTAINERD_ROOT_IN_DATA_ROOT).join(META_DB)
}

#[test]
fn df_equals_system_df_of_dockerd_26() {
    let Some(store) = c8d::stopped() else {
        return;
    };
    let mut failures = Vec::new();
    judge_df(
        "while dockerd ran",
        &store.live.daemon_df,
        &store.live.strata_while_running,
        &mut failures,
    );
    // dockerd's clean shutdown stopped run1 and recorded it as exited; nothing else changed.
    let after = with_state(&store.live.daemon_df, &[&store.containers.run1], "exited");
    judge_df(
        "after the stop, containerd root found by strata",
        &after,
        &df_json(store, &[]),
        &mut failures,
    );
    let croot = store.containerd_root.to_str().expect("UTF-8 path");
    let explicit = [
        "--containerd-root",
        croot,
        "--docker-version",
        &store.docker_version,
    ];
    judge_df(
        "after the stop, --containerd-root and --docker-version given",
        &after,
        &df_json(store, &explicit),
        &mut failures,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn diff_equals_docker_diff() {
    let Some(store) = c8d::stopped() else {
        return;
    };
    let mut failures = Vec::new();
    for (id, docker) in &store.live.docker_diffs {
        let running = &store.live.strata_diffs_while_running[id];
        let after = strata_on(&store.data_root, &["--format", "json", "diff", id]);
        for (when, run) in [("while dockerd ran", running), ("after the stop", &after)] {
            failures.extend(diff_mismatch(&format!("{id} {when}"), docker, run));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Every analyzer verb, on the containerd store; each must exit 0.
const VERBS: &[&[&str]] = &[
    &["df"],
    &["df", "-v"],
    &["--format", "json", "df", "-v"],
    &["du"],
    &["--format", "json", "du"],
    &["images"],
    &["--format", "json", "images"],
    &["layers"],
    &["containers"],
    &["--format", "json", "containers"],
    &["volumes"],
    &["diff", "run1"],
    &["--format", "json", "diff", "exit1"],
    &["verify"],
    &["orphans"],
    &["dupes"],
    &["advise"],
    &["--format", "json", "advise"],
    &["snapshots"],
    &["--format", "json", "snapshots"],
];

#[test]
fn every_verb_leaves_both_roots_untouched() {
    let Some(store) = c8d::stopped() else {
        return;
    };
    // The containerd root is inside the data root: one capture covers both.
    assert!(store.containerd_root.starts_with(&store.data_root));
    assert_untouched(&store.data_root, &[], VERBS);
    let croot = store.containerd_root.to_str().expect("UTF-8 path");
    assert_untouched(
        &store.data_root,
        &["--containerd-root", croot],
        &[&["df", "-v"], &["snapshots"], &["verify"]],
    );
}

/// ctr's human size (`progress.Bytes`: go-units `CustomSize("%02.1f %s", size, 1024.0,
/// ["B", "KiB", ..., "YiB"])`): divide by 1024 while at least 1024, one decimal.
fn ctr_size(bytes: u64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    #[allow(clippy::cast_precision_loss)] // as Go's float64(b)
    let mut size = bytes as f64;
    let mut unit = 0;
    while size >= 1024.0 && unit < UNITS.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:02.1} {}", UNITS[unit])
}

#[test]
fn ctr_size_formats_as_go_units() {
    for (bytes, want) in [
        (0, "0.0 B"),
        (5, "5.0 B"),
        (1023, "1023.0 B"),
        (1024, "1.0 KiB"),
        (24_576, "24.0 KiB"),
        (36_864, "36.0 KiB"),
        (1_990_656, "1.9 MiB"),
        (1_048_576, "1.0 MiB"),
    ] {
        assert_eq!(ctr_size(bytes), want, "{bytes}");
    }
}

/// One snapshot as ctr reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CtrSnapshot {
    parent: String,
    /// `view`, `active` or `committed` (ctr prints `Active`...).
    kind: String,
    size: u64,
    inodes: u64,
    /// The size as `ctr snapshots usage` prints it.
    human: String,
}

/// The rows of a ctr table (header skipped), split on whitespace.
fn table_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|r| !r.is_empty())
        .collect()
}

/// `ctr snapshots ls`, `usage -b` and `usage` of the overlayfs snapshotter, by key.
fn ctr_snapshots(ctr: &Ctr) -> BTreeMap<String, CtrSnapshot> {
    let sn = |args: &[&str]| {
        let mut all = vec!["snapshots", "--snapshotter", "overlayfs"];
        all.extend_from_slice(args);
        ctr.ok(&all)
    };
    let (ls, bytes, human) = (sn(&["ls"]), sn(&["usage", "-b"]), sn(&["usage"]));
    let mut out = BTreeMap::new();
    for row in table_rows(&ls) {
        let (parent, kind) = match row.as_slice() {
            [_, kind] => ("", *kind),
            [_, parent, kind] => (*parent, *kind),
            _ => panic!("ctr snapshots ls: {row:?}\n{ls}"),
        };
        let key = row[0].to_owned();
        let usage = table_rows(&bytes)
            .into_iter()
            .find(|r| r[0] == key)
            .unwrap_or_else(|| panic!("{key} not in usage -b:\n{bytes}"));
        let printed = table_rows(&human)
            .into_iter()
            .find(|r| r[0] == key)
            .unwrap_or_else(|| panic!("{key} not in usage:\n{human}"));
        let snapshot = CtrSnapshot {
            parent: parent.to_owned(),
            kind: kind.to_lowercase(),
            size: usage[1].parse().expect("usage -b size"),
            inodes: usage[2].parse().expect("usage -b inodes"),
            human: printed[1..printed.len() - 1].join(" "),
        };
        out.insert(key, snapshot);
    }
    out
}

/// A JSON answer's rows: a top-level array, or an inventory's `Items`.
fn rows(v: &Value) -> Vec<Value> {
    v.as_array()
        .or_else(|| v["Items"].as_array())
        .cloned()
        .unwrap_or_default()
}

/// An image reference without Docker Hub's implied parts (`docker.io/library/bb:1` is
/// `bb:1`), so that either spelling matches.
fn familiar(reference: &str) -> &str {
    reference
        .strip_prefix("docker.io/library/")
        .or_else(|| reference.strip_prefix("docker.io/"))
        .unwrap_or(reference)
}

/// Polls `ready` (every 100 ms) until it holds; panics after `timeout`.
fn poll(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Everything wrong with strata's view of the `k8s.io` store at `root` against ctr's.
fn judge_plain(
    when: &str,
    root: &Path,
    snapshots: &BTreeMap<String, CtrSnapshot>,
    images: &BTreeSet<String>,
    containers: &BTreeSet<String>,
) -> Vec<String> {
    let root = root.to_str().expect("UTF-8 path");
    let mut out = Vec::new();
    let mut json = |args: &[&str]| -> Option<Value> {
        let mut all = vec!["--containerd-root", root];
        all.extend_from_slice(args);
        let run = strata(&all);
        if run.success() && !run.panicked() {
            Some(run.json())
        } else {
            out.push(format!("{when}: {run}"));
            None
        }
    };
    let got_snapshots = json(&["--namespace", "k8s.io", "snapshots", "--format", "json"]);
    let got_images = json(&["images", "--format", "json"]);
    let got_containers = json(&["containers", "--format", "json"]);

    if let Some(got) = got_snapshots {
        let got = rows(&got);
        for (key, want) in snapshots {
            let Some(row) = got.iter().find(|r| r["Key"] == key.as_str()) else {
                out.push(format!("{when}: snapshot {key} missing from strata"));
                continue;
            };
            let size = row["Size"].as_u64();
            let parent = row["Parent"].as_str().unwrap_or_default();
            let seen = (
                row["Namespace"] == "k8s.io",
                row["Kind"] == want.kind.as_str(),
                parent == want.parent,
                size == Some(want.size),
                row["Inodes"].as_u64() == Some(want.inodes),
                size.map(ctr_size).as_deref() == Some(want.human.as_str()),
                row["Id"].is_u64(),
            );
            if seen != (true, true, true, true, true, true, true) {
                out.push(format!(
                    "{when}: snapshot {key}: ctr {want:?}, strata {row}"
                ));
            }
        }
        for row in &got {
            let key = row["Key"].as_str().unwrap_or_default();
            if !snapshots.contains_key(key) {
                out.push(format!("{when}: snapshot {row} is not in ctr's list"));
            }
        }
    }
    if let Some(got) = got_images {
        let tags: BTreeSet<String> = rows(&got)
            .iter()
            .filter(|i| i["Id"].is_string())
            .flat_map(|i| rows(&i["RepoTags"]))
            .filter_map(|t| t.as_str().map(|t| familiar(t).to_owned()))
            .collect();
        let want: BTreeSet<String> = images.iter().map(|i| familiar(i).to_owned()).collect();
        if tags != want {
            out.push(format!(
                "{when}: images: ctr {want:?}, strata {tags:?}\n{got}"
            ));
        }
    }
    if let Some(got) = got_containers {
        let ids: BTreeSet<String> = rows(&got)
            .iter()
            .filter_map(|c| c["Id"].as_str().map(str::to_owned))
            .collect();
        if &ids != containers {
            out.push(format!(
                "{when}: containers: ctr {containers:?}, strata {ids:?}"
            ));
        }
    }
    out
}

/// A Kubernetes-style store: containerd 1.7 alone, images imported into `k8s.io` from a
/// `docker save` tar, one container running and one exited (`ctr run`, runc); ctr's answers
/// while it runs are the truth, strata is asked while it runs and after it stopped.
#[test]
fn plain_containerd_equals_ctr() {
    let Some(store) = c8d::stopped() else {
        return;
    };
    let mut containerd = Containerd::start();
    let ctr = containerd.ctr("k8s.io");
    let tar = store.images_tar.to_str().expect("UTF-8 path");
    ctr.ok(&["images", "import", tar]);
    let sh = |script: &str| ["sh".to_owned(), "-c".to_owned(), script.to_owned()];
    let run = sh(
        "echo hi > /written && echo x >> /data/f1 && rm /data/f2 && touch /ready \
                  && exec sleep 100000",
    );
    let mut args = vec!["run", "-d", "--snapshotter", "overlayfs"];
    args.extend(["docker.io/library/base:1", "k8s-running"]);
    args.extend(run.iter().map(String::as_str));
    ctr.ok(&args);
    let mut attempt = 0;
    poll("k8s-running wrote /ready", Duration::from_secs(120), || {
        attempt += 1;
        let exec_id = format!("probe{attempt}");
        let probe = ["tasks", "exec", "--exec-id", &exec_id, "k8s-running"];
        let mut probe = probe.to_vec();
        probe.extend(["test", "-e", "/ready"]);
        ctr.run(&probe).success()
    });
    let exited = sh("echo bye > /bye && mkdir /d && head -c 7000 /bin/busybox > /d/b");
    let mut args = vec!["run", "--snapshotter", "overlayfs"];
    args.extend(["docker.io/library/bb:1", "k8s-exited"]);
    args.extend(exited.iter().map(String::as_str));
    ctr.ok(&args);

    let snapshots = ctr_snapshots(&ctr);
    let names = |text: String| -> BTreeSet<String> {
        text.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let images = names(ctr.ok(&["images", "ls", "-q"]));
    let containers = names(ctr.ok(&["containers", "ls", "-q"]));
    // The truth is the store described above (2 layers, 2 writable snapshots), and ctr's
    // human sizes are what `ctr_size` makes of its exact ones.
    let kinds: Vec<&str> = snapshots.values().map(|s| s.kind.as_str()).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "committed").count(),
        2,
        "{snapshots:?}"
    );
    assert_eq!(
        kinds.iter().filter(|k| **k == "active").count(),
        2,
        "{snapshots:?}"
    );
    for (key, s) in &snapshots {
        assert_eq!(ctr_size(s.size), s.human, "{key}");
    }
    assert_eq!(images.len(), 2, "{images:?}");
    let want: BTreeSet<String> = ["k8s-exited", "k8s-running"].map(String::from).into();
    assert_eq!(containers, want);

    let root = containerd.root();
    let mut failures = judge_plain(
        "while containerd ran",
        &root,
        &snapshots,
        &images,
        &containers,
    );
    containerd.stop();
    failures.extend(judge_plain(
        "after containerd stopped",
        &root,
        &snapshots,
        &images,
        &containers,
    ));
    crate::deploy::assert_the_daemonset_serves(&root, images.len());
    assert!(
        failures.is_empty(),
        "{}\n--- containerd log ---\n{}",
        failures.join("\n"),
        containerd.log_tail(20)
    );
}

/// What a damage of the corpus must produce.
enum Expect {
    /// Nothing can be read: exit 2, one line on stderr naming the file (every verb).
    Fatal(&'static str),
    /// Either that, or exit 1 with a `Problems` entry naming the file.
    FatalOrProblem(String),
    /// The rest could be read: `df` exits 1 and lists a problem naming this path.
    Problem(String),
    /// `verify` exits 1 and names this digest.
    BadBlob(String),
}

/// A deterministic non-repeating byte stream (xorshift64), for "random" content.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// The largest blob of the content store (a layer): its digest hex.
fn largest_blob(croot: &Path) -> String {
    let blobs = croot.join(BLOBS);
    fs::read_dir(&blobs)
        .expect("listing the blobs")
        .map(|e| e.expect("a blob entry"))
        .max_by_key(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .expect("a blob")
        .file_name()
        .to_string_lossy()
        .into_owned()
}

type Damage = fn(&Path, &c8d::Stopped) -> Expect;

/// Every damage, by name, applied to a copy of the data root.
fn corpus() -> Vec<(&'static str, Damage)> {
    vec![
        ("meta.db truncated", |root, _| {
            let path = root.join(meta_db_in_root());
            let bytes = fs::read(&path).expect("meta.db");
            fs::write(&path, &bytes[..1000]).expect("truncating meta.db");
            Expect::Fatal("meta.db")
        }),
        ("metadata.db random bytes", |root, _| {
            let croot = root.join(crate::harness::CONTAINERD_ROOT_IN_DATA_ROOT);
            let path = croot.join(OVERLAYFS).join("metadata.db");
            let len = fs::metadata(&path).expect("metadata.db").len();
            fs::write(&path, noise(usize::try_from(len).unwrap())).expect("overwriting");
            Expect::FatalOrProblem("metadata.db".to_owned())
        }),
        ("run1's snapshot directory removed", |root, store| {
            fs::remove_dir_all(root.join(&store.run1_snapshot_dir)).expect("rm -r");
            let n = store
                .run1_snapshot_dir
                .file_name()
                .unwrap()
                .to_string_lossy();
            Expect::Problem(format!("snapshots/{n}"))
        }),
        ("a layer blob with wrong content", |root, _| {
            let croot = root.join(crate::harness::CONTAINERD_ROOT_IN_DATA_ROOT);
            let hex = largest_blob(&croot);
            let path = croot.join(BLOBS).join(&hex);
            let bytes: Vec<u8> = fs::read(&path)
                .expect("the blob")
                .iter()
                .map(|b| !b)
                .collect();
            fs::write(&path, bytes).expect("overwriting the blob");
            Expect::BadBlob(hex)
        }),
    ]
}

/// Verbs that must neither panic nor hang on any damaged store.
const DAMAGED_VERBS: &[&[&str]] = &[
    &["df"],
    &["--format", "json", "df", "-v"],
    &["du"],
    &["images"],
    &["--format", "json", "containers"],
    &["verify"],
    &["--format", "json", "verify"],
    &["orphans"],
    &["advise"],
    &["snapshots"],
];

fn check_damage(store: &c8d::Stopped, name: &str, damage: Damage) -> Vec<String> {
    let dir = tempfile::Builder::new()
        .prefix("strata-it-c8d-corrupt-")
        .tempdir()
        .expect("a temporary directory");
    let root = dir.path().join("root");
    copy_tree(&store.pristine, &root);
    let expect = damage(&root, store);
    let mut out = Vec::new();
    let runs: Vec<Run> = DAMAGED_VERBS.iter().map(|v| strata_on(&root, v)).collect();
    for run in &runs {
        judge_run(run, &mut out);
        if run.code == Some(FATAL) && run.stderr.trim().lines().count() != 1 {
            out.push(format!("exit 2 must say why in one line:\n{run}"));
        }
    }
    let (table, json) = (&runs[0], &runs[1]);
    let fatal_names = |run: &Run, file: &str| {
        run.code == Some(FATAL)
            && run.stderr.trim().lines().count() == 1
            && run.stderr.contains(file)
    };
    let problem_names = |run: &Run, file: &str| {
        run.code == Some(1)
            && serde_json::from_str::<Value>(&run.stdout)
                .is_ok_and(|r| problem_paths(&r).iter().any(|p| p.contains(file)))
    };
    match &expect {
        Expect::Fatal(file) => {
            for run in [table, json] {
                if !fatal_names(run, file) {
                    out.push(format!("want exit 2 and one line naming {file}:\n{run}"));
                }
            }
        }
        Expect::FatalOrProblem(file) => {
            if !(fatal_names(json, file) || problem_names(json, file)) {
                out.push(format!(
                    "want exit 2 naming {file}, or exit 1 with a problem naming it:\n{json}"
                ));
            }
        }
        Expect::Problem(path) => {
            if !problem_names(json, path) {
                out.push(format!("want exit 1 and a Problem naming {path}:\n{json}"));
            }
            let named =
                table.stdout.contains(path.as_str()) || table.stderr.contains(path.as_str());
            if table.code != Some(1) || !named {
                out.push(format!("want the table to exit 1 naming {path}:\n{table}"));
            }
        }
        Expect::BadBlob(hex) => {
            for run in &runs[5..7] {
                let named = run.stdout.contains(hex.as_str()) || run.stderr.contains(hex.as_str());
                if run.code != Some(1) || !named {
                    out.push(format!("verify must exit 1 naming the blob {hex}:\n{run}"));
                }
            }
        }
    }
    out.into_iter().map(|o| format!("[{name}] {o}")).collect()
}

#[test]
fn damaged_containerd_store_is_named() {
    let Some(store) = c8d::stopped() else {
        return;
    };
    let failures: Vec<String> = corpus()
        .into_iter()
        .flat_map(|(name, damage)| check_damage(store, name, damage))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `strata du` of a Docker root with the containerd image store: owners add up to GNU du's
/// totals of the root (the containerd root is inside it), blobs are the images', BuildKit's
/// leased snapshots are build cache, nothing is unknown, and a snapshot no record claims is one
/// containerd's collector would delete.
#[test]
fn du_attributes_both_roots_to_the_byte() {
    let Some(store) = c8d::stopped() else {
        return;
    };
    let root = &store.data_root;
    let report = strata_on(root, &["--format", "json", "du"])
        .assert_success()
        .json();
    let (apparent, allocated) = crate::fixture::gnu_du(root);
    crate::du::assert_totals(&report, apparent, allocated, "containerd store");
    let unknown: Vec<&Value> = crate::du::owners_of(&report, "unknown").collect();
    assert!(unknown.is_empty(), "unknown owners: {unknown:?}");
    // A snapshot no record claims must be garbage containerd's collector would delete (dockerd
    // may stop before BuildKit's temporary leases are collected): `orphans` says the same.
    let orphans = strata_on(root, &["--format", "json", "orphans"]).json();
    let garbage: BTreeSet<&str> = orphans["Orphans"]
        .as_array()
        .expect("Orphans")
        .iter()
        .filter(|o| o["Kind"] == "unreachable-snapshot" || o["Kind"] == "snapshot-dir")
        .filter_map(|o| o["Path"].as_str())
        .collect();
    for leaked in crate::du::owners_of(&report, "leaked-layer") {
        let paths = leaked["Paths"].as_array().expect("Paths");
        assert!(
            paths.iter().all(|p| p
                .as_str()
                .is_some_and(|p| garbage.iter().any(|g| g.ends_with(p) || p.ends_with(g)))),
            "a leaked snapshot `orphans` does not call garbage: {leaked}\norphans: {orphans}"
        );
    }
    for kind in [
        "image-content",
        "image-layer",
        "container-layer",
        "build-cache",
    ] {
        assert!(
            crate::du::owners_of(&report, kind).next().is_some(),
            "no {kind} owner: {}",
            report["Kinds"]
        );
    }
}

/// Allocated bytes under `root` as `du -sxB1` counts them, less every BoltDB file (`*.db`:
/// containerd's `meta.db` and snapshotter `metadata.db`, dockerd's `network/files/local-kv.db`
/// and `volumes/metadata.db`, BuildKit's): a bolt file never shrinks and may grow by a page
/// when records are deleted from it, which `advise` says it does not predict.
fn du_without_databases(store_root: &Path) -> u64 {
    crate::fixture::du_total(&["-sxB1", "--exclude=*.db"], &[store_root])
}

/// [`du_without_databases`] once two measures in a row agree: containerd collects garbage
/// in the background after some operations (the fixture's builds and runs), and the store is
/// measured when that is over.
fn settled_du(store_root: &Path) -> u64 {
    let mut last = du_without_databases(store_root);
    let mut same = 0;
    for _ in 0..300 {
        std::thread::sleep(Duration::from_millis(100));
        let now = du_without_databases(store_root);
        same = if now == last { same + 1 } else { 0 };
        if same == 10 {
            return now;
        }
        last = now;
    }
    panic!("{}: du never settled", store_root.display());
}

/// On a fresh containerd-image-store daemon, each prune deletes every path `strata advise`
/// names for it, those paths held exactly the bytes it predicted, and the root lost at least
/// that much (containerd's garbage collection runs with dockerd's deletes, and may collect
/// other garbage at the same time); afterwards strata's `df` still equals the daemon's.
#[test]
fn advise_predicts_what_each_prune_frees_here() {
    if !crate::harness::containerd_usable() {
        return;
    }
    let d = crate::harness::Dockerd::start_containerd_store();
    c8d::populate(&d);
    settled_du(d.data_root());
    let root = d.data_root().to_owned();
    let version = trixie::dockerd_version();
    let flags = ["--docker-version", version.as_str(), "--format", "json"];
    let advise = |action: &str| -> (u64, String, Vec<PathBuf>) {
        let args: Vec<&str> = flags.iter().copied().chain(["advise"]).collect();
        let report = strata_on(&root, &args).json();
        let found = report["Recommendations"]
            .as_array()
            .expect("Recommendations")
            .iter()
            .find(|r| r["Action"] == action)
            .unwrap_or_else(|| panic!("no {action} recommendation: {report}"))
            .clone();
        let paths = found["Paths"]
            .as_array()
            .expect("Paths")
            .iter()
            .map(|p| PathBuf::from(p.as_str().expect("a path")))
            .collect();
        (
            found["Bytes"].as_u64().expect("Bytes"),
            found["Command"].as_str().expect("Command").to_owned(),
            paths,
        )
    };
    let mut lines = Vec::new();
    // Not `rmi`: dockerd 26.1 deletes the image record and leaves its blobs and snapshots to
    // containerd's next garbage collection (deletions alone do not trigger one), so when they
    // go is containerd's scheduler's call.
    for action in ["container-prune", "image-prune"] {
        let (want, command, paths) = advise(action);
        // The bytes the paths it names hold now (each inode once, as du of the root counts).
        let held = crate::fixture::du_total(&["-scxB1"], &paths);
        let before = settled_du(&root);
        let words: Vec<&str> = command.split(' ').skip(1).collect();
        d.docker(&words);
        // containerd removes the files after the records, in the background.
        poll(
            &format!("{command} to delete {paths:?}"),
            Duration::from_secs(60),
            || paths.iter().all(|p| fs::symlink_metadata(p).is_err()),
        );
        let freed = before - settled_du(&root);
        lines.push(format!(
            "{command}: predicted {want}, its paths held {held}, du of the root lost {freed}"
        ));
        assert!(want > 0, "{command} must free something");
        assert_eq!(want, held, "{}", lines.join("\n"));
        // containerd may collect other garbage meanwhile: the root loses at least that much.
        assert!(freed >= want, "{}", lines.join("\n"));
        let args: Vec<&str> = flags.iter().copied().chain(["df", "-v"]).collect();
        let found = differences(
            &d.api_get("/v1.45/system/df"),
            &strata_on(&root, &args).json(),
        );
        assert!(found.is_empty(), "after {command}:\n{}", found.join("\n"));
    }
    eprintln!("{}", lines.join("\n"));
}
