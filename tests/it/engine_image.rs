//! Engine, images: `strata import` and `strata load` write the store exactly as dockerd does.
//!
//! - [`import_and_load_interoperate_with_dockerd`]: the same busybox rootfs imported by
//!   `docker import` (on one root) and `strata import` (on another) gives the same diff id
//!   and recorded size; a multi-layer image that dockerd built (with a deletion and an opaque
//!   directory) goes through `docker save` → `strata load`; then a real dockerd on strata's
//!   root lists both images, runs them, and `docker save` rebuilds layer tars whose digests
//!   are the original diff ids (so the tar-split records are exact).
//! - [`crafted_tars_are_refused`]: `../x`, `/etc/x`, a file through a symlink to `/`, and a
//!   hard link to `/etc/shadow` are each refused with a message naming the entry, and the
//!   store is left exactly as it was.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::engine_common::{layerdb, tar_with, without_times, RawEntry};
use crate::fixture::busybox_rootfs_tar;
use crate::harness::{dockerd_usable, strata_on, Dockerd, Driver};
use crate::tree::TreeState;

fn save_diff_ids(daemon: &Dockerd, image: &str, dir: &Path) -> Vec<String> {
    let out = dir.join(format!("{}.tar", image.replace([':', '/'], "_")));
    daemon.docker(&["save", "-o", out.to_str().unwrap(), image]);
    let unpacked = dir.join(format!("{}.d", image.replace([':', '/'], "_")));
    fs::create_dir_all(&unpacked).unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&out)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest: Value =
        serde_json::from_slice(&fs::read(unpacked.join("manifest.json")).unwrap()).unwrap();
    let config: Value = serde_json::from_slice(
        &fs::read(unpacked.join(manifest[0]["Config"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let ids: Vec<String> = config["rootfs"]["diff_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect();
    // Each layer tar dockerd rebuilt (from strata's tar-split) hashes to its diff id.
    for (layer, want) in manifest[0]["Layers"].as_array().unwrap().iter().zip(&ids) {
        let bytes = fs::read(unpacked.join(layer.as_str().unwrap())).unwrap();
        assert_eq!(&analyzers::ids::Digest::of_bytes(&bytes).to_string(), want);
    }
    ids
}

fn interop(driver: Driver) {
    let scratch = tempfile::tempdir().unwrap();
    let work = scratch.path().to_owned();
    let docker_made = Dockerd::start(driver);
    let rootfs = busybox_rootfs_tar(&work);
    let rootfs = rootfs.to_str().unwrap();
    docker_made.docker(&["import", rootfs, "bb:1"]);
    let context = work.join("context");
    fs::create_dir_all(context.join("etc2")).unwrap();
    fs::write(
        context.join("Dockerfile"),
        "FROM bb:1\nRUN rm /bin/ls && mkdir -p /opq && touch /opq/old\n\
         RUN rm -rf /opq && mkdir /opq && echo new > /opq/new && ln /opq/new /opq/link\n",
    )
    .unwrap();
    docker_made.docker_env(
        &[("DOCKER_BUILDKIT", "0")],
        &["build", "-q", "-t", "multi:1", context.to_str().unwrap()],
    );
    let saved = work.join("multi-save.tar");
    docker_made.docker(&["save", "-o", saved.to_str().unwrap(), "multi:1"]);
    let multi_ids = save_diff_ids(&docker_made, "multi:1", &work);
    let docker_layers = layerdb(docker_made.data_root(), driver);
    drop(docker_made);

    let strata_root = work.join("strata-root");
    let root = strata_root.to_str().unwrap();
    let driver_arg = ["--driver", driver.name()];
    let import = strata_on(
        &strata_root,
        &[&driver_arg[..], &["import", rootfs, "bb:1"]].concat(),
    );
    import.assert_success();
    assert!(import.stdout.trim().starts_with("sha256:"), "{import}");
    let load = strata_on(
        &strata_root,
        &[&driver_arg[..], &["load", "-i", saved.to_str().unwrap()]].concat(),
    );
    load.assert_success();
    assert_eq!(load.stdout.trim(), "Loaded image: multi:1", "{load}");
    let strata_layers = layerdb(&strata_root, driver);
    assert_eq!(
        strata_layers.keys().collect::<Vec<_>>(),
        docker_layers.keys().collect::<Vec<_>>(),
        "the same chain ids"
    );
    for (chain, (diff, size)) in &docker_layers {
        assert_eq!(
            &strata_layers[chain],
            &(diff.clone(), *size),
            "{driver}: layer {chain}: strata's diff and size must be dockerd's"
        );
    }

    let daemon = Dockerd::start_with_root(driver, Path::new(root));
    let images = daemon.docker(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    let mut listed: Vec<&str> = images.lines().collect();
    listed.sort_unstable();
    assert_eq!(listed, ["bb:1", "multi:1"]);
    let out = daemon.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        "multi:1",
        "sh",
        "-c",
        "test ! -e /bin/ls && test ! -e /opq/old && cat /opq/new && stat -c %h /opq/link",
    ]);
    assert_eq!(out, "new\n2");
    assert_eq!(save_diff_ids(&daemon, "multi:1", &work), multi_ids);
    let bb = save_diff_ids(&daemon, "bb:1", &work);
    assert_eq!(bb.len(), 1);
}

#[test]
fn import_and_load_interoperate_with_dockerd() {
    if !dockerd_usable() {
        return;
    }
    interop(Driver::Overlay2);
}

#[test]
fn import_and_load_interoperate_with_dockerd_vfs() {
    if !dockerd_usable() {
        return;
    }
    interop(Driver::Vfs);
}

#[test]
fn crafted_tars_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let good = tar_with(dir.path(), "good", &[("ok.txt", b'0', "", b"fine")]);
    strata_on(&root, &["import", good.to_str().unwrap(), "good:1"]).assert_success();
    let victim = dir.path().join("victim");
    fs::create_dir(&victim).unwrap();
    let through = format!("evil{}/pwned", victim.display());
    let cases: BTreeMap<&str, Vec<RawEntry<'_>>> = BTreeMap::from([
        ("dotdot", vec![("../x", b'0', "", &b"x"[..])]),
        ("absolute", vec![("/etc/x", b'0', "", &b"x"[..])]),
        (
            "symlink",
            vec![
                ("evil", b'2', "/", &b""[..]),
                (through.as_str(), b'0', "", &b"x"[..]),
            ],
        ),
        ("hardlink", vec![("shadow", b'1', "/etc/shadow", &b""[..])]),
    ]);
    let before = without_times(TreeState::capture(&root));
    for (name, entries) in &cases {
        let tar = tar_with(dir.path(), name, entries);
        let run = strata_on(
            &root,
            &["import", tar.to_str().unwrap(), &format!("bad:{name}")],
        );
        assert_eq!(run.code, Some(2), "{name}: must fail:\n{run}");
        assert!(
            run.stderr.contains("refused") && run.stderr.contains(entries.last().unwrap().0),
            "{name}: the message names the entry:\n{run}"
        );
        assert!(!run.panicked(), "{run}");
    }
    assert!(
        !victim.join("pwned").exists(),
        "nothing written through the symlink"
    );
    let changes = without_times(TreeState::capture(&root)).changes_since(&before, 20);
    assert!(changes.is_empty(), "the store changed: {changes:#?}");
}
