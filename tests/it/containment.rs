//! Containment: strata reads the data root and nothing outside it, whatever the store holds.
//!
//! Each probe plants a hostile store, a [`SynthStore`] with symlinks out of the root, records
//! naming paths outside it, FIFOs in place of record files, a directory swapped with a symlink
//! while strata runs, hostile file names or absurd numbers, next to a [`Canary`]: a directory
//! outside the root whose every name, byte and time is recorded. The safe outcome, for every
//! verb probed:
//! - the canary is untouched (not read, not listed: its atimes do not move), and no output
//!   names a file in it or counts its bytes;
//! - the run ends before its deadline (a hang fails the test: [`DEADLINE`]);
//! - the exit code is the documented one (0 ok; 1 the store has damaged records, each printed
//!   as `strata: problem: PATH: KIND: DETAIL` on stderr, or listed in the JSON's `Problems`;
//!   2 an unusable root or a usage error), and the problem names the hostile path.
//!
//! They state what the analyzers' fd-relative file access promises (every open beneath the
//! root's directory fd with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`, `O_NOFOLLOW`,
//! `O_NONBLOCK` and a file-type check before reading; the walker descending by fd; record
//! paths validated as they are parsed), and were written before it.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use serde_json::Value;
use tempfile::TempDir;

use crate::fixture::gnu_du;
use crate::harness::{
    root_args, root_usable, run_with_timeout, strata_command, strata_on_within,
    strata_unprivileged, Run, NO_SKIP_ENV,
};
use crate::synth::{tar_split_file, tar_split_segment, SynthStore};
use crate::tree::{age_atimes, TreeState};

/// How long one probe run may take: far more than any of them needs on the small synthetic
/// store, so that only a hang (a FIFO opened for reading, a cycle followed forever) reaches it.
const DEADLINE: Duration = Duration::from_secs(30);

/// Every name in the canary starts with this; no output may contain it.
const CANARY_MARK: &str = "canary-";
/// The canary's big file: counting it shows at once in any total.
const CANARY_BIG: u64 = 8 << 20;
/// The canary's file that records point at.
const CANARY_SECRET: &str = "canary-secret.txt";

/// A directory outside the data root, with files, that strata must never read, list or count.
///
/// Two witnesses: its atimes (aged, so that a read or a listing without `O_NOATIME` moves
/// them: what an unprivileged strata would do), and an inotify watch on each of its
/// directories, which reports every open and read of it or its files even with `O_NOATIME`
/// (what strata does as root, which the atimes cannot show).
///
/// It looks like a layer directory (a `diff/` with files, one of them with the same bytes as a
/// file of the synthetic store's first layer, so that `dupes` would pair them), so that a
/// record or symlink pointing at it is taken for one if strata follows it.
struct Canary {
    dir: TempDir,
    before: TreeState,
    inotify: Inotify,
    /// The watched directories, by watch descriptor.
    watched: Vec<(WatchDescriptor, PathBuf)>,
}

impl Canary {
    fn plant() -> Canary {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-outside-")
            .tempdir()
            .expect("creating the canary directory");
        let p = dir.path();
        let write = |rel: &str, bytes: &[u8]| {
            let path = p.join(rel);
            fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir in the canary");
            fs::write(&path, bytes).expect("writing the canary");
        };
        write(CANARY_SECRET, b"canary: strata must never read this\n");
        write("canary-sub/canary-nested.txt", b"nested canary\n");
        write(
            "diff/canary-big.bin",
            &vec![0xc3; usize::try_from(CANARY_BIG).expect("8 MiB")],
        );
        write("diff/canary-layer.txt", b"hello, layer one\n");
        write("diff/app/canary-app.txt", b"written by the container\n");
        // Old atimes: any read or listing (relatime) moves them.
        age_atimes(p);
        let before = TreeState::capture(p);
        // Watched after the capture, which opens everything itself.
        let inotify =
            Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).expect("inotify_init1");
        let watched = before
            .entries
            .iter()
            .filter(|(_, e)| e.mode & nix::libc::S_IFMT == nix::libc::S_IFDIR)
            .map(|(rel, _)| {
                let dir = p.join(rel);
                let wd = inotify
                    .add_watch(&dir, AddWatchFlags::IN_OPEN | AddWatchFlags::IN_ACCESS)
                    .unwrap_or_else(|e| panic!("inotify_add_watch {}: {e}", dir.display()));
                (wd, dir)
            })
            .collect();
        Canary {
            dir,
            before,
            inotify,
            watched,
        }
    }

    /// The opens and reads of the canary since it was planted (or since the last call).
    fn accesses(&self) -> Vec<String> {
        let mut seen = Vec::new();
        while let Ok(events) = self.inotify.read_events() {
            if events.is_empty() {
                break;
            }
            for event in events {
                let dir = self
                    .watched
                    .iter()
                    .find(|(wd, _)| *wd == event.wd)
                    .map_or_else(|| Path::new("?").to_owned(), |(_, d)| d.clone());
                let path = event.name.map_or(dir.clone(), |n| dir.join(n));
                let what = if event.mask.contains(AddWatchFlags::IN_ACCESS) {
                    "read"
                } else {
                    "opened"
                };
                seen.push(format!("{what} {}", path.display()));
            }
        }
        seen.sort();
        seen.dedup();
        seen
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Everything wrong: a run whose output names something in the canary, and any access
    /// to the canary itself ([`Canary::check_untouched`]).
    fn check(&self, runs: &[&Run], failures: &mut Vec<String>) {
        for run in runs {
            if run.stdout.contains(CANARY_MARK) || run.stderr.contains(CANARY_MARK) {
                failures.push(format!("the output names a file of the canary:\n{run}"));
            }
        }
        self.check_untouched(failures);
    }

    /// Everything wrong with the canary itself: an open or read inotify saw, or an atime that
    /// moved (it was read or listed).
    fn check_untouched(&self, failures: &mut Vec<String>) {
        let accesses = self.accesses();
        if !accesses.is_empty() {
            failures.push(format!(
                "the canary {} outside the root was opened or read (inotify):\n{}",
                self.path().display(),
                accesses.join("\n")
            ));
        }
        let changes = TreeState::capture(self.path()).changes_since(&self.before, 20);
        if !changes.is_empty() {
            failures.push(format!(
                "the canary {} outside the root was touched:\n{}",
                self.path().display(),
                changes.join("\n")
            ));
        }
    }
}

/// Panics with every failure, one paragraph each.
fn assert_no_failures(what: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{what}: {} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Whether `run` ended on its own with one of the documented exit codes (0, 1, 2) and without
/// a panic; says what went wrong otherwise.
fn ended_cleanly(run: &Run, failures: &mut Vec<String>) -> bool {
    let why = if run.timed_out {
        "hung (killed at its deadline)"
    } else if run.panicked() {
        "panicked"
    } else if !matches!(run.code, Some(0..=2)) {
        "exited with an undocumented code"
    } else {
        return true;
    };
    failures.push(format!("{why}:\n{run}"));
    false
}

/// The paths of the problems a run reported: its `strata: problem: PATH: KIND: DETAIL` lines
/// on stderr, and the `Problems[].Path` of a JSON report on stdout.
fn problem_paths(run: &Run) -> Vec<String> {
    let mut paths: Vec<String> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("strata: problem: "))
        .filter_map(|rest| rest.split(": ").next())
        .map(str::to_owned)
        .collect();
    if let Ok(report) = serde_json::from_slice::<Value>(&run.stdout_bytes) {
        paths.extend(
            report["Problems"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["Path"].as_str().map(str::to_owned)),
        );
    }
    paths
}

/// Whether a problem's path is `want` (absolute, or relative to the root; a trailing `/` aside).
fn names(path: &str, root: &Path, want: &Path) -> bool {
    let path = Path::new(path.trim_end_matches('/'));
    path == want || root.join(path) == want
}

/// `run` ended cleanly with exit 1 and a problem naming one of `wants`.
fn expect_problem(run: &Run, root: &Path, wants: &[PathBuf], failures: &mut Vec<String>) {
    if !ended_cleanly(run, failures) {
        return;
    }
    let named = problem_paths(run)
        .iter()
        .any(|p| wants.iter().any(|w| names(p, root, w)));
    if run.code != Some(1) || !named {
        failures.push(format!(
            "want exit 1 and a problem naming one of {wants:?}:\n{run}"
        ));
    }
}

/// `strata --root <root> <args...>` within [`DEADLINE`].
fn strata(root: &Path, args: &[&str]) -> Run {
    strata_on_within(root, args, DEADLINE)
}

/// The path from directory `from` to `to` with `..` components (`../../../x`), both resolved.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from = fs::canonicalize(from).expect("canonical from");
    let to = fs::canonicalize(to).expect("canonical to");
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut rel = PathBuf::new();
    for _ in from.components().skip(common) {
        rel.push(Component::ParentDir);
    }
    for part in to.components().skip(common) {
        rel.push(part);
    }
    rel
}

/// Replaces the directory `dir` by a symlink to `target`.
fn replace_by_symlink(dir: &Path, target: &Path) {
    fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("rm -r {}: {e}", dir.display()));
    symlink(target, dir).unwrap_or_else(|e| panic!("symlink {}: {e}", dir.display()));
}

/// GNU du's apparent total of the store, not following symlinks: what strata's `du` may at
/// most count (it counts the same entries, each once).
fn store_apparent(store: &SynthStore) -> u64 {
    gnu_du(&store.root).0
}

/// The `Total.Apparent` of a `--format json du` run, if it printed a report.
fn du_apparent(run: &Run) -> Option<u64> {
    serde_json::from_slice::<Value>(&run.stdout_bytes)
        .ok()
        .and_then(|r| r["Total"]["Apparent"].as_u64())
}

/// Names in `/` that no output of strata on a store under `/tmp` has any reason to contain,
/// as a word or after a `/`: a run that prints one listed `/` through a symlink.
fn outside_names() -> Vec<String> {
    const DISTINCT: &[&str] = &[
        "boot",
        "etc",
        "root",
        "usr",
        "sbin",
        "srv",
        "home",
        "opt",
        "mnt",
        "media",
        "lib64",
        "lost+found",
    ];
    let present: BTreeSet<String> = fs::read_dir("/")
        .expect("listing /")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    DISTINCT
        .iter()
        .filter(|n| present.contains(**n))
        .map(|n| (*n).to_owned())
        .collect()
}

/// The first of `names` that `text` shows as listed: `/name/`, `overlay2/name`,
/// `volumes/name`, or the whole word (a volume or layer named after it); `etc` and `root` only
/// as paths (the word "root" is strata's own).
fn lists_outside<'a>(text: &str, names: &'a [String]) -> Option<&'a str> {
    names
        .iter()
        .find(|name| {
            let as_path = [
                format!("/{name}/"),
                format!("overlay2/{name}"),
                format!("volumes/{name}"),
            ]
            .iter()
            .any(|p| text.contains(p.as_str()));
            let as_word = !matches!(name.as_str(), "etc" | "root")
                && text
                    .split(|c: char| c.is_whitespace() || c == '"' || c == ',')
                    .any(|w| w == name.as_str() || w == format!("/{name}"));
            as_path || as_word
        })
        .map(String::as_str)
}

/// (a) `overlay2` and `volumes` are symlinks to `/`: nothing of `/` is listed or counted, and
/// the symlinks are problems.
#[test]
fn symlinked_driver_and_volumes_dirs_are_not_followed() {
    let store = SynthStore::plant();
    for dir in ["overlay2", "volumes"] {
        replace_by_symlink(&store.path(dir), Path::new("/"));
    }
    let limit = store_apparent(&store);
    let wants = [store.path("overlay2"), store.path("volumes")];
    let outside = outside_names();
    let mut failures = Vec::new();
    for args in [
        &["advise"][..],
        &["du"],
        &["orphans"],
        &["df"],
        &["df", "-v"],
        &["--format", "json", "du", "--apparent-size"],
    ] {
        let run = strata(&store.root, args);
        expect_problem(&run, &store.root, &wants, &mut failures);
        for text in [&run.stdout, &run.stderr] {
            if let Some(name) = lists_outside(text, &outside) {
                failures.push(format!("lists /{name} from outside the root:\n{run}"));
            }
        }
        if args.contains(&"json") {
            match du_apparent(&run) {
                Some(total) if total > limit => failures.push(format!(
                    "du counts {total} bytes, more than the {limit} of the store itself \
                     (GNU du -sbx, symlinks not followed):\n{run}"
                )),
                Some(_) => {}
                None => failures.push(format!("du printed no JSON report:\n{run}")),
            }
        }
    }
    assert_no_failures("overlay2 and volumes symlinked to /", &failures);
}

/// Runs each of `verbs` on `store`, whose directory `dir` is a symlink to `canary`: every run
/// must exit 1 naming `dir` as a problem, and the canary must stay untouched.
fn expect_symlink_refused(
    store: &SynthStore,
    canary: &Canary,
    dir: &Path,
    verbs: &[&[&str]],
    what: &str,
) {
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    for args in verbs {
        let run = strata(&store.root, args);
        expect_problem(&run, &store.root, &[dir.to_path_buf()], &mut failures);
        runs.push(run);
    }
    canary.check(&runs.iter().collect::<Vec<_>>(), &mut failures);
    assert_no_failures(what, &failures);
}

/// (b) An image layer's `diff/` is a symlink to the canary: `verify`, `dupes` and `diff` read
/// nothing of it and name the symlink as a problem.
#[test]
fn image_layer_diff_symlinked_outside_is_not_followed() {
    let store = SynthStore::plant();
    let canary = Canary::plant();
    let diff = store.path(&store.diff_dir(&store.cache2));
    replace_by_symlink(&diff, canary.path());
    expect_symlink_refused(
        &store,
        &canary,
        &diff,
        &[
            &["verify"],
            &["dupes"],
            &["--format", "json", "dupes"],
            &["diff", &store.container],
        ],
        "an image layer's diff/ symlinked outside",
    );
}

/// (b) The running container's writable `diff/` is a symlink to the canary: `diff` and
/// `watch` read, list and watch nothing of it, and name the symlink as a problem.
#[test]
fn writable_layer_diff_symlinked_outside_is_not_followed() {
    let store = SynthStore::plant();
    store.mark_running();
    let canary = Canary::plant();
    let diff = store.path(&store.diff_dir(&store.mount_id));
    replace_by_symlink(&diff, canary.path());
    expect_symlink_refused(
        &store,
        &canary,
        &diff,
        &[
            &["diff", &store.container],
            &["--format", "json", "diff", &store.container],
            // Table format: on a pipe the samples are JSON lines all the same, and the
            // problems go to stderr.
            &["watch", "--count", "1"],
        ],
        "a writable layer's diff/ symlinked outside",
    );
}

/// (c) The container's `mount-id` and `init-id` are `../../../<canary>`: the canary is not
/// taken for the writable layer (neither listed nor counted), and the records are problems.
#[test]
fn mount_ids_with_dot_dot_are_refused() {
    let store = SynthStore::plant();
    let canary = Canary::plant();
    let escape = relative_path(&store.path("overlay2"), canary.path());
    assert!(escape.starts_with(".."), "{}", escape.display());
    let escape = escape.to_str().expect("UTF-8 temp paths").to_owned();
    for file in ["mount-id", "init-id"] {
        fs::write(store.path(&store.mount_record(file)), &escape).expect("writing the record");
    }
    let wants = [
        store.path(&store.mount_record("mount-id")),
        store.path(&store.mount_record("init-id")),
    ];
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    // `diff` of the container: its records are damaged, so it is not loaded; the lookup's
    // one-line error (exit 2) names the damaged record.
    let diff = strata(&store.root, &["diff", &store.container]);
    let named = wants
        .iter()
        .any(|w| diff.stderr.contains(&w.display().to_string()));
    if diff.code != Some(2) || !named {
        failures.push(format!(
            "want exit 2 and an error naming one of {wants:?}:\n{diff}"
        ));
    }
    runs.push(diff);
    for args in [&["df", "-v"][..], &["--format", "json", "df", "-v"]] {
        let run = strata(&store.root, args);
        expect_problem(&run, &store.root, &wants, &mut failures);
        if let Ok(report) = serde_json::from_slice::<Value>(&run.stdout_bytes) {
            for c in report["Containers"].as_array().into_iter().flatten() {
                if c["SizeRw"].as_u64().is_some_and(|s| s >= CANARY_BIG) {
                    failures.push(format!("the canary is counted as SizeRw: {c}"));
                }
            }
        }
        runs.push(run);
    }
    canary.check(&runs.iter().collect::<Vec<_>>(), &mut failures);
    assert_no_failures("mount-id and init-id escaping the root", &failures);
}

/// (d) A `tar-split.json.gz` whose file entries are absolute or climb out of the layer
/// (`/etc/shadow`, `../../../../etc/shadow`, the canary by absolute and by relative path):
/// `verify` opens none of them, and fails the layer with a problem naming the tar-split file.
#[test]
fn tar_split_names_outside_the_layer_are_refused() {
    let store = SynthStore::plant();
    let canary = Canary::plant();
    let secret = canary.path().join(CANARY_SECRET);
    let secret_size = fs::metadata(&secret).expect("the canary's secret").len();
    let climb = relative_path(&store.path(&store.diff_dir(&store.cache2)), &secret);
    let block = [0u8; 512];
    let split = store.write_tar_split(
        &store.chain2,
        &[
            tar_split_segment(&block),
            tar_split_file("/etc/shadow", 64),
            tar_split_segment(&block),
            tar_split_file("../../../../etc/shadow", 64),
            tar_split_segment(&block),
            tar_split_file(secret.to_str().expect("UTF-8"), secret_size),
            tar_split_segment(&block),
            tar_split_file(climb.to_str().expect("UTF-8"), secret_size),
            tar_split_segment(&[0u8; 1024]),
        ],
    );
    let mut failures = Vec::new();
    for args in [&["verify"][..], &["--format", "json", "verify"]] {
        let run = strata(&store.root, args);
        expect_problem(
            &run,
            &store.root,
            std::slice::from_ref(&split),
            &mut failures,
        );
    }
    // /etc/shadow's atime proves nothing (relatime, and others read it); strace does.
    if let Some(opened) = traced_opens(&store.root, &["verify"]) {
        for path in &opened.paths {
            if path.ends_with("/etc/shadow") || path.contains(CANARY_MARK) {
                failures.push(format!("verify opened {path}"));
            }
        }
    } else {
        eprintln!(
            "tar_split_names_outside_the_layer_are_refused: no strace, /etc/shadow unchecked"
        );
    }
    // The problem may well quote the hostile names (they are the canary's paths): only
    // accesses count here.
    canary.check_untouched(&mut failures);
    assert_no_failures("tar-split names outside the layer", &failures);
}

/// The verbs each FIFO store is probed with.
const FIFO_VERBS: &[&[&str]] = &[
    &["df", "-v"],
    &["du"],
    &["verify"],
    &["orphans"],
    &["advise"],
];
/// The verbs that read a record of the layer store's or the containers' (all but the layer's
/// `tar-split.json.gz` and `link`).
const ALL_VERBS: &[&str] = &["df", "du", "verify", "orphans", "advise"];

/// The record files a FIFO replaces in turn, relative to the root, and the verbs (by their
/// first word) that read that record, and so must name it. The others do not read it: they
/// must still finish, with exit 0 or 1 (today's code shows which read what: they hang).
fn fifo_targets(store: &SynthStore) -> Vec<(String, &'static [&'static str])> {
    let layer = store.layer_record(&store.chain2);
    vec![
        ("image/overlay2/repositories.json".to_owned(), ALL_VERBS),
        (store.container_file("config.v2.json"), ALL_VERBS),
        (store.container_file("hostconfig.json"), ALL_VERBS),
        (format!("{layer}/diff"), ALL_VERBS),
        (format!("{layer}/size"), ALL_VERBS),
        (format!("{layer}/cache-id"), ALL_VERBS),
        (format!("{layer}/parent"), ALL_VERBS),
        // Only `verify` rebuilds the tar.
        (format!("{layer}/tar-split.json.gz"), &["verify"]),
        (store.image_config(&store.image_b), ALL_VERBS),
        ("volumes/metadata.db".to_owned(), ALL_VERBS),
        // The link name matters to the leftovers' check (`l/` entries without a layer).
        (
            format!("overlay2/{}/link", store.cache2),
            &["orphans", "advise"],
        ),
        (store.mount_record("mount-id"), ALL_VERBS),
    ]
}

/// (e) A FIFO in place of each record file in turn (nothing ever writes to it: a plain open
/// for reading blocks forever): every verb finishes; each that reads the record exits 1 and
/// names the FIFO, the others exit 0 or 1.
#[test]
fn fifos_in_place_of_records_never_hang() {
    let probes: Vec<(SynthStore, PathBuf, &[&str])> = fifo_targets(&SynthStore::plant())
        .into_iter()
        .map(|(rel, readers)| {
            let store = SynthStore::plant();
            let path = store.path(&rel);
            let _ = fs::remove_file(&path);
            nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644))
                .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
            (store, path, readers)
        })
        .collect();
    let jobs: Vec<(&SynthStore, &PathBuf, &[&str], bool)> = probes
        .iter()
        .flat_map(|(store, fifo, readers)| {
            FIFO_VERBS
                .iter()
                .map(move |args| (store, fifo, *args, readers.contains(&args[0])))
        })
        .collect();
    // A few at a time: all of them hang at worst (each until its own deadline), and the runs
    // that do not must not be starved past theirs on a loaded machine.
    let next = AtomicU64::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((store, fifo, args, reads)) = jobs.get(usize::try_from(i).expect("small"))
                else {
                    break;
                };
                let run = strata(&store.root, args);
                let mut found = Vec::new();
                if *reads {
                    expect_problem(&run, &store.root, std::slice::from_ref(fifo), &mut found);
                } else if ended_cleanly(&run, &mut found) && run.code == Some(2) {
                    found.push(format!("want exit 0 or 1:\n{run}"));
                }
                failures.lock().expect("no panics holding it").extend(
                    found
                        .into_iter()
                        .map(|f| format!("[FIFO {}] {f}", fifo.display())),
                );
            });
        }
    });
    let failures = failures.into_inner().expect("no panics holding it");
    assert_no_failures("FIFOs in place of record files", &failures);
}

/// (f) A directory of the writable layer and, beside it, a symlink to the canary, swapped with
/// `renameat2(RENAME_EXCHANGE)` over and over while `diff`, `du` and `df -v` run: no run ever
/// names a canary file or counts its bytes, whichever way each name resolved when it looked.
#[test]
fn a_directory_swapped_with_a_symlink_is_never_followed() {
    const RUNS: usize = 50;
    let store = SynthStore::plant();
    let canary = Canary::plant();
    let app = store.path(&store.diff_dir(&store.mount_id)).join("app");
    let dir = app.join("swapdir");
    let link = app.join("swaplink");
    fs::create_dir_all(&dir).expect("mkdir swapdir");
    for i in 0..20 {
        fs::write(dir.join(format!("swapped-{i}.txt")), [b'x'; 100]).expect("a swapped file");
    }
    symlink(canary.path(), &link).expect("the symlink to the canary");
    // The exchange changes which name is which, never the entries: the store's size is the
    // same in both states. A walk racing the swap may see the swapped directory twice (under
    // both names, a moment apart), so the bound is twice the store: still far below the
    // canary's 8 MiB, which counting it would add.
    let limit = 2 * store_apparent(&store);
    let stop = AtomicBool::new(false);
    let swaps = AtomicU64::new(0);
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                nix::fcntl::renameat2(
                    nix::fcntl::AT_FDCWD,
                    &dir,
                    nix::fcntl::AT_FDCWD,
                    &link,
                    nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                )
                .expect("renameat2(RENAME_EXCHANGE)");
                swaps.fetch_add(1, Ordering::Relaxed);
            }
        });
        for _ in 0..RUNS {
            for args in [
                &["--format", "json", "diff", &store.container][..],
                &["--format", "json", "du", "--apparent-size"],
                &["--format", "json", "df", "-v"],
            ] {
                let run = strata(&store.root, args);
                if ended_cleanly(&run, &mut failures) && run.code == Some(2) {
                    failures.push(format!("want exit 0 or 1:\n{run}"));
                }
                if args.contains(&"du") {
                    if let Some(total) = du_apparent(&run).filter(|t| *t > limit) {
                        failures.push(format!(
                            "du counts {total} bytes, more than the store's {limit}:\n{run}"
                        ));
                    }
                }
                if let Ok(report) = serde_json::from_slice::<Value>(&run.stdout_bytes) {
                    for c in report["Containers"].as_array().into_iter().flatten() {
                        if c["SizeRw"].as_u64().is_some_and(|s| s >= CANARY_BIG) {
                            failures.push(format!("the canary is counted as SizeRw: {c}"));
                        }
                    }
                }
                if run.stdout.contains(CANARY_MARK) || run.stderr.contains(CANARY_MARK) {
                    runs.push(run);
                }
            }
            if failures.len() > 10 {
                break;
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert!(swaps.load(Ordering::Relaxed) > 0, "the swapper never ran");
    canary.check(&runs.iter().collect::<Vec<_>>(), &mut failures);
    assert_no_failures("a directory swapped with a symlink", &failures);
}

/// A tmpfs mounted with `strictatime` on a fresh temporary directory (every read moves an
/// atime there), unmounted when dropped.
struct StrictAtimeTmpfs {
    dir: TempDir,
}

impl StrictAtimeTmpfs {
    fn mount() -> StrictAtimeTmpfs {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-strictatime-")
            .tempdir()
            .expect("tempdir");
        let status = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                "strictatime,size=64m,mode=755",
                "tmpfs",
            ])
            .arg(dir.path())
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs on {}",
            dir.path().display()
        );
        StrictAtimeTmpfs { dir }
    }
}

impl Drop for StrictAtimeTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// (g) As an unprivileged user (uid 65534, who may not use `O_NOATIME` on root's files) on a
/// world-readable store where every read moves an atime: either no atime changes, or strata
/// says, in one line, that it cannot keep them. A silent change fails.
#[test]
fn unprivileged_runs_keep_atimes_or_say_they_cannot() {
    if !root_usable() {
        return;
    }
    let tmpfs = StrictAtimeTmpfs::mount();
    let store = SynthStore::plant_in(tmpfs.dir.path());
    store.open_to_all();
    age_atimes(&store.root);
    let before = TreeState::capture(&store.root).without_symlink_atimes();
    let run = strata_unprivileged(&store.root, &["df"]);
    let after = TreeState::capture(&store.root).without_symlink_atimes();
    let changed = after.changes_since(&before, 10);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.to_lowercase().contains("atime"))
        .collect();
    let mut failures = Vec::new();
    if ended_cleanly(&run, &mut failures) && run.code == Some(2) {
        failures.push(format!("a world-readable store is readable:\n{run}"));
    }
    if !changed.is_empty() && warnings.len() != 1 {
        failures.push(format!(
            "atimes changed, and strata did not say so in one line:\n{}\n{run}",
            changed.join("\n")
        ));
    }
    drop(store);
    assert_no_failures("atimes as an unprivileged user", &failures);
}

/// What `strace` saw a run open.
struct Opens {
    /// The resolved path of every open that succeeded (`strace -y` prints it after the fd),
    /// or the path as passed when strace printed none.
    paths: Vec<String>,
    /// The run itself (strace's exit code is strata's).
    run: Run,
}

const STRACE: &str = "/usr/bin/strace";

/// `strace -f` of `strata --root <root> <args...>`: every successful `open`, `openat` and
/// `openat2` of it and its threads; `None` (after saying so) when strace is not installed.
fn traced_opens(root: &Path, args: &[&str]) -> Option<Opens> {
    if !Path::new(STRACE).exists() {
        return None;
    }
    let out = tempfile::Builder::new()
        .prefix("strata-it-strace-")
        .tempdir()
        .expect("tempdir");
    let log = out.path().join("trace");
    let log_arg = log.to_str().expect("UTF-8 temp path");
    let wrapper = [
        STRACE,
        "-f",
        "-y",
        "-z",
        "-qq",
        "-s",
        "65536",
        "-e",
        "trace=open,openat,openat2",
        "-o",
        log_arg,
    ];
    let run = run_with_timeout(strata_command(&wrapper, &root_args(root, args)), DEADLINE);
    let text = fs::read_to_string(&log).unwrap_or_default();
    Some(Opens {
        paths: text.lines().filter_map(opened_path).collect(),
        run,
    })
}

/// The path a successful open of one strace line resolved to: the `</path>` after a
/// non-negative return value (`-y`), else the quoted path argument. `None` for a failed call
/// or a line that is no open's end (`<unfinished ...>`, signals, exits).
fn opened_path(line: &str) -> Option<String> {
    let (call, ret) = line.rsplit_once(") = ")?;
    let ret = ret.trim();
    let digits = ret.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    if let Some(resolved) = ret[digits..].strip_prefix('<') {
        return Some(resolved.split('>').next().unwrap_or(resolved).to_owned());
    }
    let start = call.find('"')? + 1;
    let end = call[start..].find('"')? + start;
    Some(call[start..end].to_owned())
}

#[test]
fn opened_path_reads_strace_lines() {
    let cases = [
        (
            r#"12 openat(AT_FDCWD</w>, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3</etc/ld.so.cache>"#,
            Some("/etc/ld.so.cache"),
        ),
        (
            r#"12 openat2(3</r>, "diff", {flags=O_RDONLY, resolve=RESOLVE_BENEATH}, 24) = 5</r/diff>"#,
            Some("/r/diff"),
        ),
        (r#"12 <... openat resumed>) = 4</r/x>"#, Some("/r/x")),
        (
            r#"12 openat(AT_FDCWD, "/nope", O_RDONLY) = -1 ENOENT (No such file or directory)"#,
            None,
        ),
        (r#"12 openat(AT_FDCWD, "rel", O_RDONLY) = 7"#, Some("rel")),
        (
            r#"12 openat(AT_FDCWD, "/x", O_RDONLY <unfinished ...>"#,
            None,
        ),
    ];
    for (line, want) in cases {
        assert_eq!(opened_path(line).as_deref(), want, "{line}");
    }
}

/// Where strata may open files outside the data root, and why (seen with `strace -f -y` on
/// a healthy store: nothing else is opened). Everything else is a leak.
const ALLOWED_OUTSIDE: &[(&str, &str)] = &[
    // The dynamic loader, before main: its cache and the shared libraries (libc, libgcc_s,
    // libm), which Debian resolves under /usr/lib (merged /usr).
    ("/etc/ld.so.cache", "the dynamic loader's cache"),
    ("/lib/", "shared libraries"),
    ("/lib64/", "shared libraries"),
    ("/usr/lib/", "shared libraries"),
    // std's runtime: the main thread's stack guard (/proc/self/maps), and
    // available_parallelism for the default thread count (/proc/self/cgroup, mountinfo; the
    // cgroup's CPU quota; CPU lists). strace -y names /proc/self as /proc/<pid>: only a
    // process's own entry is allowed (checked by `own_proc_entry`).
    ("/proc/", "std's runtime and thread count"),
    (
        "/sys/fs/cgroup/",
        "the cgroup's CPU quota, for the thread count",
    ),
    (
        "/sys/devices/system/cpu/",
        "the CPUs online, for the thread count",
    ),
    // chrono's local time zone, for the times in tables.
    ("/etc/localtime", "the local time zone"),
    ("/usr/share/zoneinfo/", "the local time zone"),
];

/// Whether `path` is under `/proc/self/` or `/proc/<pid>/` (a process's own entry), not
/// elsewhere in `/proc`.
fn own_proc_entry(path: &str) -> bool {
    path.strip_prefix("/proc/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(first, _)| first == "self" || first.bytes().all(|b| b.is_ascii_digit()))
}

/// What is wrong with the opens of one traced run on the store at `root`: one failure per
/// run, with the first paths opened outside it.
fn judge_opens(root: &Path, opens: &Opens, failures: &mut Vec<String>) {
    const SHOWN: usize = 20;
    let root = fs::canonicalize(root).expect("canonical root");
    let mut outside = BTreeSet::new();
    for path in &opens.paths {
        let p = Path::new(path);
        let allowed = p.starts_with(&root)
            // Relative to a directory fd (openat2 beneath the root): strace -y resolves every
            // successful open, so only one strace could not name stays relative.
            || p.is_relative()
            || ALLOWED_OUTSIDE.iter().any(|(prefix, _)| {
                path.starts_with(prefix) && (!prefix.starts_with("/proc/") || own_proc_entry(path))
            });
        if path == "/etc/docker/daemon.json" {
            failures.push(format!(
                "opened {path} although --root was given:\n{}",
                opens.run
            ));
        } else if !allowed {
            outside.insert(path.as_str());
        }
    }
    if !outside.is_empty() {
        let shown: Vec<&str> = outside.iter().take(SHOWN).copied().collect();
        failures.push(format!(
            "opened {} paths outside the root {} (first {}):\n{}\nin `{}` ({})",
            outside.len(),
            root.display(),
            shown.len(),
            shown.join("\n"),
            opens.run.command,
            opens
                .run
                .code
                .map_or("killed".to_owned(), |c| format!("exit {c}")),
        ));
    }
}

/// (h) Under strace, on the stores of (a) and (b): every file `df -v`, `du`, `verify`, `diff`
/// and `dupes` open is under the root, or one of [`ALLOWED_OUTSIDE`]; never `/etc/docker/daemon.json` when
/// `--root` is given. Skipped when strace is missing (CI installs it: `scripts/test.sh`).
#[test]
fn every_open_is_beneath_the_root() {
    if !Path::new(STRACE).exists() {
        assert!(
            std::env::var(NO_SKIP_ENV).as_deref() != Ok("1"),
            "{NO_SKIP_ENV}=1 but {STRACE} is missing (scripts/test.sh installs it)"
        );
        eprintln!("every_open_is_beneath_the_root: skipped: needs strace ({STRACE} is missing)");
        return;
    }
    let canary = Canary::plant();
    let to_root = SynthStore::plant();
    for dir in ["overlay2", "volumes"] {
        replace_by_symlink(&to_root.path(dir), Path::new("/"));
    }
    let to_canary = SynthStore::plant();
    replace_by_symlink(
        &to_canary.path(&to_canary.diff_dir(&to_canary.cache2)),
        canary.path(),
    );
    replace_by_symlink(
        &to_canary.path(&to_canary.diff_dir(&to_canary.mount_id)),
        canary.path(),
    );
    let mut failures = Vec::new();
    let mut runs = Vec::new();
    for store in [&to_root, &to_canary] {
        // `diff` and `dupes` too: on the second store they are the verbs that read layer
        // contents (the walk of `df` and `du` does not follow a symlinked `diff/` even now).
        for args in [
            &["df", "-v"][..],
            &["du"],
            &["verify"],
            &["diff", &store.container],
            &["dupes"],
        ] {
            let opens = traced_opens(&store.root, args).expect("strace is there");
            if ended_cleanly(&opens.run, &mut failures) && opens.paths.is_empty() {
                failures.push(format!("strace saw no open at all:\n{}", opens.run));
            }
            judge_opens(&store.root, &opens, &mut failures);
            runs.push(opens.run);
        }
    }
    canary.check(&runs.iter().collect::<Vec<_>>(), &mut failures);
    assert_no_failures("opens outside the root", &failures);
}

/// Hostile names: not UTF-8, with ESC and BEL (a terminal would obey them), with a newline
/// (which would split a table row). The part after the newline is [`AFTER_NEWLINE`].
fn hostile_names() -> Vec<Vec<u8>> {
    vec![
        b"bad-\xff-utf8.txt".to_vec(),
        b"esc-\x1b[31m-red.txt".to_vec(),
        b"bel-\x07-bell.txt".to_vec(),
        [b"nl-before\n".as_slice(), AFTER_NEWLINE.as_bytes()].concat(),
    ]
}

const AFTER_NEWLINE: &str = "nl-after-row.txt";

/// (i) Hostile names in the writable layer (and in an image layer, with a twin's bytes, so
/// that `dupes` lists them): JSON stays valid UTF-8 JSON, tables hold no raw ESC or BEL and
/// no name splits a row, and `watch` keeps going.
#[test]
fn hostile_names_are_escaped_in_every_format() {
    let store = SynthStore::plant();
    store.mark_running();
    for dir in [&store.mount_id, &store.cache2] {
        let app = store.path(&store.diff_dir(dir)).join("app");
        for name in hostile_names() {
            // The bytes of layer one's hello.txt: a duplicate for `dupes`.
            fs::write(app.join(OsStr::from_bytes(&name)), "hello, layer one\n")
                .expect("a hostile name");
        }
    }
    let mut failures = Vec::new();
    for args in [
        &["--format", "json", "diff", &store.container][..],
        &["--format", "json", "dupes"],
    ] {
        let run = strata(&store.root, args);
        if ended_cleanly(&run, &mut failures) && run.code == Some(2) {
            failures.push(format!("want exit 0 or 1:\n{run}"));
        }
        if let Err(e) = serde_json::from_slice::<Value>(&run.stdout_bytes) {
            failures.push(format!("not valid JSON ({e}):\n{run}"));
        }
    }
    for args in [&["diff", &store.container][..], &["dupes"]] {
        let run = strata(&store.root, args);
        if ended_cleanly(&run, &mut failures) && run.code == Some(2) {
            failures.push(format!("want exit 0 or 1:\n{run}"));
        }
        if run.stdout_bytes.iter().any(|b| matches!(b, 0x1b | 0x07)) {
            failures.push(format!("raw ESC or BEL in the table:\n{run}"));
        }
        if run
            .stdout
            .lines()
            .any(|l| l.contains(AFTER_NEWLINE) && !l.contains("nl-before"))
        {
            failures.push(format!("a name's newline splits a row:\n{run}"));
        }
    }
    let watch = strata(
        &store.root,
        &["watch", "--count", "2", "--interval", "200ms"],
    );
    if ended_cleanly(&watch, &mut failures) && watch.code == Some(2) {
        failures.push(format!("watch died:\n{watch}"));
    }
    let lines: Vec<&[u8]> = watch
        .stdout_bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    if lines.len() != 2
        || lines
            .iter()
            .any(|l| serde_json::from_slice::<Value>(l).is_err())
    {
        failures.push(format!("want two JSON lines from watch:\n{watch}"));
    }
    assert_no_failures("hostile names", &failures);
}

/// (j) Damaged records make `verify` and `dupes` exit 1 and name the record, as every verb.
#[test]
fn verify_and_dupes_exit_1_on_damaged_records() {
    let mut failures = Vec::new();
    for damage in ["truncated image config", "garbage layer size"] {
        let store = SynthStore::plant();
        let path = match damage {
            "truncated image config" => {
                let path = store.path(&store.image_config(&store.image_b));
                let bytes = fs::read(&path).expect("the config");
                fs::write(&path, &bytes[..bytes.len() / 2]).expect("truncating");
                path
            }
            _ => {
                let path = store.path(&store.layer_record(&store.chain2)).join("size");
                fs::write(&path, "\x00\x13garbage\n").expect("garbage");
                path
            }
        };
        for args in [&["verify"][..], &["dupes"]] {
            let run = strata(&store.root, args);
            let mut found = Vec::new();
            expect_problem(&run, &store.root, std::slice::from_ref(&path), &mut found);
            failures.extend(found.into_iter().map(|f| format!("[{damage}] {f}")));
        }
    }
    assert_no_failures("verify and dupes on damaged records", &failures);
}

/// Every negative number anywhere in `value`, with its JSON path.
fn negatives(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f < 0.0) => out.push(format!("{at} = {n}")),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                negatives(v, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                negatives(v, &format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

/// (j) A layer `size` of `i64::MAX`: image sizes (unsigned) never wrap to negative numbers;
/// the size is refused as a problem or saturates.
#[test]
fn a_huge_layer_size_never_makes_sizes_negative() {
    let store = SynthStore::plant();
    let size = store.path(&store.layer_record(&store.chain2)).join("size");
    fs::write(&size, i64::MAX.to_string()).expect("writing the size");
    let mut failures = Vec::new();
    for args in [
        &["--format", "json", "df"][..],
        &["--format", "json", "df", "-v"],
    ] {
        let run = strata(&store.root, args);
        if !ended_cleanly(&run, &mut failures) {
            continue;
        }
        match serde_json::from_slice::<Value>(&run.stdout_bytes) {
            Ok(report) if run.code != Some(2) => {
                let mut found = Vec::new();
                negatives(&report, "", &mut found);
                if !found.is_empty() {
                    failures.push(format!("negative sizes: {}\n{run}", found.join(", ")));
                }
            }
            _ => failures.push(format!("want a JSON report, exit 0 or 1:\n{run}")),
        }
    }
    assert_no_failures("a layer size of i64::MAX", &failures);
}

/// (j) 6000 layer records whose parents form one ring: `df` reports the cycle and finishes
/// well within 20 s.
#[test]
fn a_ring_of_6000_layers_is_a_problem_not_a_hang() {
    const RING: usize = 6000;
    let store = SynthStore::plant();
    let chains: Vec<String> = (0..RING)
        .map(|i| crate::synth::hex(format!("ring layer {i}").as_bytes()))
        .collect();
    for (i, chain) in chains.iter().enumerate() {
        let dir = store.path(&store.layer_record(chain));
        fs::create_dir_all(&dir).expect("mkdir a ring layer");
        let parent = &chains[(i + 1) % RING];
        fs::write(dir.join("diff"), format!("sha256:{chain}")).expect("diff");
        fs::write(dir.join("parent"), format!("sha256:{parent}")).expect("parent");
        fs::write(dir.join("cache-id"), &store.cache2).expect("cache-id");
        fs::write(dir.join("size"), "0").expect("size");
    }
    let mut failures = Vec::new();
    let run = strata_on_within(&store.root, &["df"], Duration::from_secs(20));
    if ended_cleanly(&run, &mut failures)
        && !(run.code == Some(1) && run.stderr.lines().any(|l| l.contains(": cycle: ")))
    {
        failures.push(format!("want exit 1 and a `cycle` problem:\n{run}"));
    }
    assert_no_failures("a ring of 6000 layers", &failures);
}

/// (j) A directory tree 5000 levels deep in a volume (deeper than `PATH_MAX` allows to name
/// from the root): `du` counts all of it, as GNU du does.
#[test]
fn a_5000_deep_tree_is_counted_completely() {
    const DEPTH: usize = 5000;
    let store = SynthStore::plant();
    let data = store.volume_data();
    {
        use nix::fcntl::{openat, OFlag};
        use nix::sys::stat::{mkdirat, Mode};
        let mut dir = nix::fcntl::open(
            &data,
            OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .expect("open _data");
        for level in 0..DEPTH {
            if level % 1000 == 999 {
                let file = openat(
                    &dir,
                    "deep-file",
                    OFlag::O_CREAT | OFlag::O_WRONLY | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o644),
                )
                .expect("a deep file");
                nix::unistd::write(&file, &[0x11; 777]).expect("writing a deep file");
            }
            mkdirat(&dir, "d", Mode::from_bits_truncate(0o755)).expect("mkdirat");
            dir = openat(
                &dir,
                "d",
                OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .expect("openat a level");
        }
    }
    let want = gnu_du(&store.root).0;
    let run = strata(&store.root, &["--format", "json", "du", "--apparent-size"]);
    let mut failures = Vec::new();
    if ended_cleanly(&run, &mut failures) {
        let report = serde_json::from_slice::<Value>(&run.stdout_bytes).unwrap_or(Value::Null);
        let total = report["Total"]["Apparent"].as_u64();
        if total != Some(want) || run.code != Some(0) {
            // The report itself is mostly the 5000 levels: show the total and the problems.
            failures.push(format!(
                "want exit 0 and a total of {want} bytes (GNU du -sbx --apparent-size), got \
                 exit {:?}, total {total:?}, problems {}; stderr:\n{}",
                run.code, report["Problems"], run.stderr
            ));
        }
    }
    assert_no_failures("a 5000-deep tree", &failures);
}
