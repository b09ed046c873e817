//! Rootless podman stores, made by a real rootless podman 4.3 of a throwaway user
//! ([`Rootless`]), found by `strata --user NAME` (and `--all-users`) as that user's podman
//! finds them: from `/etc/passwd` and `~/.config/containers/storage.conf`.
//!
//! The three stores rootless podman 4.3 keeps are tested: vfs, its default without a
//! storage.conf; the kernel's overlayfs in the user namespace; and fuse-overlayfs as the
//! `mount_program`, whose layers hold AUFS-style `.wh.` whiteouts (the image layers
//! containers/storage applies) beside 0/0 devices and `.wh..wh..opq` opaque markers (what
//! fuse-overlayfs writes itself). In each, strata's `df -v`
//! equals the user's `GET /libpod/system/df` field by field, and `diff` equals `podman diff`.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::fixture::busybox_rootfs_tar;
use crate::harness::{strata, Rootless, RootlessStore};
use crate::podman::{compare_df, podman_lines, strata_lines};

/// The base image, imported from the busybox rootfs tar.
const BASE: &str = "localhost/strata/rootless-base:1";
/// The base with `strata-writer`'s changes, committed: its layer deletes `/etc/motd`.
const COMMITTED: &str = "localhost/strata/rootless-committed:1";
/// What `strata-writer` does on the base: a new file, a deletion, a copy-up, a new directory.
const WRITER: &str = "echo new > /new.txt && rm /etc/motd && echo app >> /etc/passwd \
     && mkdir /d /keep && echo x > /d/x && echo y > /d/y && ln -s x /d/link \
     && echo gone > /keep/gone.txt && echo stay > /keep/stay.txt";
/// What `strata-running` does on the committed image: a directory replaced (opaque), a
/// deletion of a file of the layer below, a copy-up, a new directory, a file back where the
/// committed layer deleted one, and a file in its volume.
///
/// The deletion is not at the top of the tree: with a whiteout in the root of the writable
/// layer, a fresh fuse-overlayfs 1.10 mount lists an opaque directory right but still finds
/// the names it hides on lookup (readdir of `/d` gives `z`, lstat of `/d/x` succeeds), so
/// podman's naive diff of a stopped container then misses the deletions below it.
const RUNNER: &str = "rm -rf /d && mkdir /d && echo z > /d/z && rm /keep/gone.txt \
     && echo more >> /etc/passwd && mkdir /e && echo e > /e/f && echo back > /etc/motd \
     && echo vol > /vol/data";

/// The overlay layer directory of the layer `id` of the store `graphroot`.
fn layer_diff(graphroot: &Path, id: &str) -> std::path::PathBuf {
    graphroot.join("overlay").join(id).join("diff")
}

/// `id`'s field `field` in the store's records file `rel` (a JSON list).
fn record_field(graphroot: &Path, rel: &str, id: &str, field: &str) -> String {
    let records: Value = serde_json::from_slice(
        &fs::read(graphroot.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}")),
    )
    .unwrap_or_else(|e| panic!("{rel}: {e}"));
    records
        .as_array()
        .and_then(|all| all.iter().find(|r| r["id"] == id))
        .and_then(|r| r[field].as_str())
        .unwrap_or_else(|| panic!("no {field} for {id} in {rel}"))
        .to_owned()
}

/// How the overlay store records its mount program and deletions: `.has-mount-program`, an
/// AUFS whiteout file in the committed image's layer and an opaque marker in the running
/// container's, exactly with fuse-overlayfs.
fn overlay_facts(p: &Rootless, running: &str, store: RootlessStore, failures: &mut Vec<String>) {
    let graphroot = p.graphroot();
    let fuse = store == RootlessStore::FuseOverlayfs;
    let flag = fs::read_to_string(graphroot.join("overlay/.has-mount-program"))
        .unwrap_or_else(|e| format!("unreadable: {e}"));
    let want_flag = if fuse { "true" } else { "false" };
    if flag.trim() != want_flag {
        failures.push(format!(".has-mount-program is {flag:?}, not {want_flag}"));
    }
    let committed = p.podman(&["image", "inspect", "--format", "{{.Id}}", COMMITTED]);
    let committed_layer = record_field(
        &graphroot,
        "overlay-images/images.json",
        &committed,
        "layer",
    );
    let deleted = layer_diff(&graphroot, &committed_layer).join("etc/.wh.motd");
    if fuse != deleted.is_file() {
        failures.push(format!(
            "{}: an AUFS whiteout file is expected exactly with fuse-overlayfs",
            deleted.display()
        ));
    }
    let running_layer = record_field(
        &graphroot,
        "overlay-containers/containers.json",
        running,
        "layer",
    );
    let marker = layer_diff(&graphroot, &running_layer).join("d/.wh..wh..opq");
    if fuse != marker.exists() {
        failures.push(format!(
            "{}: fuse-overlayfs' opaque marker is expected exactly with it",
            marker.display()
        ));
    }
}

/// Makes the store, then compares strata with podman: df (by `--user` and in `--all-users`),
/// and diff of each container. Returns the failures.
fn compare(p: &mut Rootless, store: RootlessStore) -> Vec<String> {
    let graphroot = p.graphroot();
    let tar = busybox_rootfs_tar(&p.scratch());
    let tar = tar.to_str().expect("UTF-8 path");
    p.podman(&["import", "-q", tar, BASE]);
    let run = ["run", "--pull", "never", "--network", "none"];
    p.podman(
        &[
            &run[..],
            &["--name", "strata-writer", BASE, "sh", "-c", WRITER],
        ]
        .concat(),
    );
    p.podman(&["commit", "-q", "strata-writer", COMMITTED]);
    p.podman(
        &[
            &run[..],
            &["-d", "--name", "strata-running", "-v", "strata-vol:/vol"],
            &[COMMITTED, "sleep", "1000"],
        ]
        .concat(),
    );
    p.podman(&["exec", "strata-running", "sh", "-c", RUNNER]);
    p.podman(&[
        "create",
        "--pull",
        "never",
        "--network",
        "none",
        "--name",
        "strata-created",
        BASE,
        "true",
    ]);
    let ids: Vec<String> = ["strata-writer", "strata-running", "strata-created"]
        .iter()
        .map(|n| p.podman(&["container", "inspect", "--format", "{{.Id}}", n]))
        .collect();

    // The facts this test stands on: how each store records its mount program and deletions.
    let mut failures = Vec::new();
    if store == RootlessStore::Vfs {
        if !graphroot.join("vfs-layers").is_dir() || graphroot.join("overlay-layers").exists() {
            failures.push("podman without a storage.conf did not make a vfs store".to_owned());
        }
    } else {
        overlay_facts(p, &ids[1], store, &mut failures);
    }

    let diffs: Vec<(String, Value)> = ids
        .iter()
        .map(|id| {
            let text = p.podman(&["diff", "--format", "json", id]);
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("podman diff {id}: not JSON ({e}): {text}"));
            (id.clone(), json)
        })
        .collect();
    let api = p.system_df();
    let user = p.user().to_owned();
    let by_user = strata(&["--user", &user, "--format", "json", "df", "-v"]);
    let all_users = strata(&["--all-users", "--format", "json", "df", "-v"]);
    failures.extend(compare_df("--user", &api, &by_user));

    // --all-users: this user's entry names its root and holds the same report.
    if !all_users.success() {
        failures.push(format!("--all-users failed:\n{all_users}"));
    } else {
        let entries = all_users.json();
        match entries
            .as_array()
            .and_then(|all| all.iter().find(|e| e["User"] == user.as_str()))
        {
            Some(entry) => {
                if entry["Root"] != graphroot.to_str().expect("UTF-8 path") {
                    failures.push(format!("--all-users names another root: {}", entry["Root"]));
                }
                let mut report = all_users.clone();
                report.stdout = entry["Report"].to_string();
                failures.extend(compare_df("--all-users", &api, &report));
            }
            None => failures.push(format!("--all-users lists no {user}: {entries}")),
        }
    }

    for (id, diff) in &diffs {
        let run = strata(&["--user", &user, "--format", "json", "diff", id]);
        if !run.success() || run.panicked() {
            failures.push(format!("strata diff {id}: {run}"));
            continue;
        }
        let (want, got) = (podman_lines(diff), strata_lines(&run.json()));
        if want != got {
            failures.push(format!(
                "diff {id}:\n  only podman: {:?}\n  only strata: {:?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    // What the running container's diff must show: the replaced directory (containers/storage
    // lists a native overlay's opaque one as deleted, the naive diff of fuse-overlayfs and vfs
    // its lost children), and /etc/motd added back over the committed layer's whiteout.
    let running = podman_lines(&diffs[1].1);
    let replaced = if store == RootlessStore::NativeOverlay {
        "D /d"
    } else {
        "D /d/x"
    };
    for line in [
        replaced,
        "D /keep/gone.txt",
        "A /d/z",
        "A /etc/motd",
        "C /etc/passwd",
    ] {
        if !running.contains(line) {
            failures.push(format!(
                "podman diff of strata-running lacks {line}: {running:?}"
            ));
        }
    }
    failures
}

fn rootless_case(store: RootlessStore) {
    let Some(mut p) = Rootless::start(store) else {
        return;
    };
    let failures = compare(&mut p, store);
    p.remove();
    assert!(
        failures.is_empty(),
        "rootless podman ({store:?}) vs strata ({} differences):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A rootless store without any storage.conf: podman 4.3's default, vfs (full copies; the
/// writable layer's size is its naive diff against the image's copy).
#[test]
fn rootless_default_vfs_equals_podman() {
    rootless_case(RootlessStore::Vfs);
}

/// A rootless store on the kernel's overlayfs (`user.overlay.opaque`, 0/0 whiteouts).
#[test]
fn rootless_native_overlay_equals_podman() {
    rootless_case(RootlessStore::NativeOverlay);
}

/// A rootless store mounted by fuse-overlayfs (AUFS whiteout files in image layers,
/// `.wh..wh..opq` markers in the container's).
#[test]
fn rootless_fuse_overlayfs_equals_podman() {
    rootless_case(RootlessStore::FuseOverlayfs);
}
