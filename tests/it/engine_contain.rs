//! Engine, containment: what an image, a layer tar or a record supplies never reaches the
//! host outside the data root. Each test plays an attack against the engine with a canary
//! directory outside the root (a temporary directory with a file) and asserts that its
//! content is never read into a container or a volume, and that nothing is removed.
//!
//! - [`image_paths_resolve_inside_the_rootfs`]: `VOLUME ["/../../…/etc"]`, a `VOLUME` that
//!   climbs to the canary, and `VOLUME /data` over `data -> <canary>` are filled from the
//!   image (its `/etc`, nothing), never from the host; `WORKDIR` and `COPY` through the link
//!   stay in the image too.
//! - [`whiteouts_that_are_not_one_name_are_refused`]: `.wh...`, `d/.wh..` and `.wh.` in a
//!   layer are refused naming the entry, on vfs and overlay2, and the store is unchanged.
//! - [`added_whiteout_names_delete_nothing`]: an `ADD`ed tar's `.wh.etc`, `.wh...` and
//!   `.wh..wh..opq` are extracted as plain files (deleting nothing), which no layer can
//!   hold: the step fails naming the first, leaves no layer, and the image keeps its `/etc`.
//! - [`names_resolve_in_dockerds_order`]: a name that is another container's id prefix is
//!   accepted and names its own container (`start`, `logs`, `rm -f` leave the other alone);
//!   names outside dockerd's pattern are refused, exit 2, naming the name.
//! - [`a_log_path_elsewhere_is_refused`]: a `LogPath` edited to name the canary is refused by
//!   `logs` and `start`, naming `config.v2.json`; the canary is neither read nor written.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::engine_common::{tar_with, without_times};
use crate::fixture::busybox_rootfs_tar;
use crate::harness::{engine_usable, root_usable, strata_on, Driver};
use crate::tree::TreeState;

/// What the canary file holds.
const SECRET: &str = "host secret\n";

/// A canary directory `dir/<name>` holding the file `secret`.
fn canary(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(&path).unwrap();
    fs::write(path.join("secret"), SECRET).unwrap();
    path
}

/// Asserts that the canary holds exactly its file, unchanged.
fn assert_canary_intact(canary: &Path) {
    let names: Vec<String> = fs::read_dir(canary)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["secret"],
        "{}: something was added",
        canary.display()
    );
    assert_eq!(fs::read_to_string(canary.join("secret")).unwrap(), SECRET);
}

/// A store with the busybox image `bb:1` in `dir/root`.
fn store(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    let tar = busybox_rootfs_tar(dir);
    strata_on(&root, &["import", tar.to_str().unwrap(), "bb:1"]).assert_success();
    root
}

/// Builds `dockerfile` in the context `dir/ctx` (made here, with `files`) as `tag`.
fn build(root: &Path, dir: &Path, dockerfile: &str, files: &[(&str, &[u8])], tag: &str) {
    let ctx = dir.join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::write(ctx.join("Dockerfile"), dockerfile).unwrap();
    for (name, bytes) in files {
        fs::write(ctx.join(name), bytes).unwrap();
    }
    strata_on(root, &["build", "-t", tag, ctx.to_str().unwrap()]).assert_success();
}

fn record(root: &Path, id: &str) -> Value {
    let path = root.join("containers").join(id).join("config.v2.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn image_paths_resolve_inside_the_rootfs() {
    if !engine_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = store(dir.path());
    let climbed = canary(dir.path(), "climbed");
    let linked = canary(dir.path(), "linked");
    let dockerfile = format!(
        "FROM bb:1\nRUN ln -s {linked} /data\nWORKDIR /data/work\nCOPY f /data/\nWORKDIR /\n\
         VOLUME [\"/../../../../../../../../../../etc\"]\n\
         VOLUME [\"/../../../../../../../../../..{climbed}\"]\nVOLUME /data\n",
        linked = linked.display(),
        climbed = climbed.display()
    );
    build(
        &root,
        dir.path(),
        &dockerfile,
        &[("f", b"from the context\n")],
        "contain:1",
    );
    assert_canary_intact(&linked);

    let script = format!(
        "cat /etc/motd; test -e /etc/shadow && echo SHADOW; cat /data/f; \
         cat /data/secret {climbed}/secret 2>/dev/null; echo done",
        climbed = climbed.display()
    );
    let created = strata_on(
        &root,
        &["create", "--name", "cc", "contain:1", "sh", "-c", &script],
    );
    let id = created.assert_success().stdout.trim().to_owned();
    strata_on(&root, &["start", "cc"]).assert_success();
    assert_eq!(strata_on(&root, &["wait", "cc"]).stdout.trim(), "0");
    let logs = strata_on(&root, &["logs", "cc"]);
    assert_eq!(
        logs.assert_success().stdout,
        "strata test image\nfrom the context\ndone\n",
        "the volumes hold the image's content, not the host's"
    );

    // Every anonymous volume was filled from the image: /etc from its /etc, the others from
    // what the image has where the links lead inside it.
    let rec = record(&root, &id);
    let mounts = rec["MountPoints"].as_object().unwrap();
    assert_eq!(mounts.len(), 3, "{mounts:?}");
    let data = |dest: &str| {
        let name = mounts[dest]["Name"].as_str().unwrap();
        root.join("volumes").join(name).join("_data")
    };
    let listing = |path: PathBuf| -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let etc = listing(data("/../../../../../../../../../../etc"));
    assert!(etc.contains(&"motd".to_owned()), "{etc:?}");
    assert!(
        !etc.contains(&"shadow".to_owned()),
        "the host's /etc: {etc:?}"
    );
    let climbed_dest = format!("/../../../../../../../../../..{}", climbed.display());
    assert_eq!(listing(data(&climbed_dest)), Vec::<String>::new());
    assert_eq!(listing(data("/data")), ["f", "work"]);
    assert_canary_intact(&climbed);
    assert_canary_intact(&linked);
    strata_on(&root, &["rm", "-v", "cc"]).assert_success();
    assert_canary_intact(&climbed);
    assert_canary_intact(&linked);
}

#[test]
fn whiteouts_that_are_not_one_name_are_refused() {
    if !root_usable() {
        return;
    }
    for driver in [Driver::Vfs, Driver::Overlay2] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let outside = canary(dir.path(), "outside");
        let with_driver = |args: &[&str]| {
            let mut full = vec!["--driver", driver.name()];
            full.extend_from_slice(args);
            strata_on(&root, &full)
        };
        let good = tar_with(dir.path(), "good", &[("d/f", b'0', "", &b"kept"[..])]);
        with_driver(&["import", good.to_str().unwrap(), "good:1"]).assert_success();
        fs::create_dir_all(root.join("tmp")).unwrap();
        fs::write(root.join("tmp/canary"), SECRET).unwrap();
        let before = without_times(TreeState::capture(&root));
        let cases: BTreeMap<&str, &str> = BTreeMap::from([
            ("top", ".wh..."),
            ("nested", "d/.wh.."),
            ("empty", "d/.wh."),
        ]);
        for (name, whiteout) in &cases {
            let tar = tar_with(
                dir.path(),
                name,
                &[
                    ("d/f", b'0', "", &b"x"[..]),
                    (*whiteout, b'0', "", &b""[..]),
                ],
            );
            let run = with_driver(&["import", tar.to_str().unwrap(), &format!("bad:{name}")]);
            assert_eq!(
                run.code,
                Some(2),
                "{driver:?} {whiteout}: must fail:\n{run}"
            );
            assert!(
                run.stderr.contains("refused") && run.stderr.contains(whiteout),
                "{driver:?} {whiteout}: the message names the entry:\n{run}"
            );
            assert!(!run.panicked(), "{run}");
        }
        let changes = without_times(TreeState::capture(&root)).changes_since(&before, 20);
        assert!(
            changes.is_empty(),
            "{driver:?}: the store changed: {changes:#?}"
        );
        assert_eq!(fs::read_to_string(root.join("tmp/canary")).unwrap(), SECRET);
        assert_canary_intact(&outside);
    }
}

#[test]
fn added_whiteout_names_delete_nothing() {
    if !engine_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = store(dir.path());
    let outside = canary(dir.path(), "outside");
    let entries = [
        (".wh.etc", b'0', "", &b"1"[..]),
        (".wh...", b'0', "", &b"2"[..]),
        (".wh..wh..opq", b'0', "", &b"3"[..]),
        ("bin/.wh.busybox", b'0', "", &b"4"[..]),
    ];
    let tar = tar_with(dir.path(), "whiteouts", &entries);
    let ctx = dir.path().join("ctx");
    fs::create_dir_all(&ctx).unwrap();
    fs::copy(&tar, ctx.join("whiteouts.tar")).unwrap();
    fs::write(ctx.join("Dockerfile"), "FROM bb:1\nADD whiteouts.tar /\n").unwrap();
    let layers = || {
        let mut names: Vec<String> = ["overlay2", "image/overlay2/layerdb/sha256"]
            .iter()
            .flat_map(|d| fs::read_dir(root.join(d)).unwrap())
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let before = layers();
    let run = strata_on(&root, &["build", "-t", "added:1", ctx.to_str().unwrap()]);
    assert!(!run.success(), "{run}");
    assert!(
        run.stderr.contains("\".wh...\"") && run.stderr.contains("whiteout"),
        "the error names the entry that cannot be a layer's: {run}"
    );
    assert!(!run.panicked(), "{run}");
    assert_eq!(layers(), before, "the failed step left a layer");
    let kept = strata_on(
        &root,
        &[
            "run",
            "--rm",
            "bb:1",
            "sh",
            "-c",
            "cat /etc/motd && test -x /bin/busybox && ls -a /",
        ],
    );
    let kept = kept.assert_success().stdout.clone();
    assert!(kept.starts_with("strata test image\n"), "{kept}");
    assert!(!kept.contains(".wh."), "{kept}");
    assert_canary_intact(&outside);
}

#[test]
fn names_resolve_in_dockerds_order() {
    if !engine_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = store(dir.path());
    let unrelated = strata_on(&root, &["create", "bb:1", "echo", "unrelated"]);
    let unrelated = unrelated.assert_success().stdout.trim().to_owned();
    let prefix = &unrelated[..6];
    let named = strata_on(
        &root,
        &["create", "--name", prefix, "bb:1", "echo", "named"],
    );
    let named = named.assert_success().stdout.trim().to_owned();
    assert_eq!(record(&root, &named)["Name"], format!("/{prefix}"));
    strata_on(&root, &["start", prefix]).assert_success();
    assert_eq!(strata_on(&root, &["wait", prefix]).stdout.trim(), "0");
    assert_eq!(strata_on(&root, &["logs", prefix]).stdout, "named\n");
    let again = strata_on(&root, &["create", "--name", prefix, "bb:1", "true"]);
    assert_eq!(again.code, Some(2), "{again}");
    assert!(again.stderr.contains("already in use"), "{again}");
    strata_on(&root, &["rm", "-f", prefix]).assert_success();
    assert!(!root.join("containers").join(&named).exists());
    let rec = record(&root, &unrelated);
    assert_eq!(
        rec["State"]["StartedAt"], "0001-01-01T00:00:00Z",
        "never started"
    );

    let containers = || fs::read_dir(root.join("containers")).unwrap().count();
    let before = containers();
    for bad in ["a/b", "..", "x\ny", "\u{1b}[31mred", "", "/", "-x", "a"] {
        let flag = format!("--name={bad}");
        let run = strata_on(&root, &["create", &flag, "bb:1", "true"]);
        assert_eq!(run.code, Some(2), "{bad:?}: {run}");
        assert!(
            run.stderr.contains("invalid container name")
                && run.stderr.contains(&format!("{bad:?}")),
            "{bad:?}: the message names it: {run}"
        );
    }
    assert_eq!(containers(), before, "a refused name made a container");
    // Once the name is gone, the prefix is the unrelated container's again.
    strata_on(&root, &["rm", prefix]).assert_success();
    assert!(!root.join("containers").join(&unrelated).exists());
}

#[test]
fn a_log_path_elsewhere_is_refused() {
    if !engine_usable() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = store(dir.path());
    let outside = canary(dir.path(), "outside");
    let id = strata_on(&root, &["create", "--name", "talk", "bb:1", "echo", "hi"]);
    let id = id.assert_success().stdout.trim().to_owned();
    strata_on(&root, &["start", "talk"]).assert_success();
    assert_eq!(strata_on(&root, &["wait", "talk"]).stdout.trim(), "0");
    assert_eq!(strata_on(&root, &["logs", "talk"]).stdout, "hi\n");

    let config = root.join("containers").join(&id).join("config.v2.json");
    let mut rec = record(&root, &id);
    rec["LogPath"] = Value::from(outside.join("secret").to_str().unwrap());
    fs::write(&config, serde_json::to_vec(&rec).unwrap()).unwrap();
    let logs = strata_on(&root, &["logs", "talk"]);
    assert_eq!(logs.code, Some(2), "{logs}");
    assert!(
        logs.stderr.contains(config.to_str().unwrap()) && logs.stderr.contains("LogPath"),
        "the error names the record: {logs}"
    );
    assert!(!logs.stdout.contains("host secret"), "{logs}");
    let start = strata_on(&root, &["start", "talk"]);
    assert_eq!(start.code, Some(2), "{start}");
    assert!(start.stderr.contains("LogPath"), "{start}");
    assert_canary_intact(&outside);
    strata_on(&root, &["rm", "-f", "talk"]).assert_success();
    assert_canary_intact(&outside);
}
