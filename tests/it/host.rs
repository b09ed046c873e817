//! Roots where they really are, and `strata host`.
//!
//! - A root whose driver was switched: the other driver's data (its home and
//!   `image/<driver>/`) is `du`'s own category, `df`'s reclaimable row and `advise`'s
//!   `rm -rf` of exactly those directories, to the byte of GNU du, never the active driver's.
//! - A userns-remap parent: every verb names its `<uid>.<gid>` sub-root and how to read it;
//!   `du` counts the sub-root apart; `advise` offers the parent's own data, when none of its
//!   containers runs, and nothing else.
//! - `--user NAME` finds a rootless Docker root, and asks to pick with `--root` when the user
//!   also has a podman store.
//! - `strata host --sysroot` on a disk image: synthetic stores (always), and real ones made
//!   by dockerd 20.10 (a graphdriver root, then userns-remapped), another dockerd 20.10 for a
//!   rootless user, trixie's dockerd 26.1 with the containerd image store for another, and a
//!   podman store: every store's bytes equal GNU du of its directories minus the stores nested
//!   in it, and the total equals `du -x` of their union, no byte twice; the table and the
//!   Prometheus text are well-formed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::fixture::{du_total, import_busybox};
use crate::harness::{
    containerd_usable, dockerd_usable, move_into, podman_usable, strata, strata_on, Dockerd,
    Driver, HostImage, Podman, RemapUser, Run,
};
use crate::synth::SynthStore;

/// GNU du's `(apparent, allocated)` bytes of `paths` together, on their filesystems (`-x`),
/// each inode once.
fn du<P: AsRef<std::ffi::OsStr>>(paths: &[P]) -> (u64, u64) {
    if paths.is_empty() {
        return (0, 0);
    }
    (
        du_total(&["-scbx", "--apparent-size"], paths),
        du_total(&["-scxB1"], paths),
    )
}

/// `(apparent, allocated)` of a JSON `Sizes`.
fn sizes(v: &Value) -> (u64, u64) {
    let get = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}"));
    (get("Apparent"), get("Allocated"))
}

/// Adds a second driver's data to `root`: `aufs/` with a layer's files and `image/aufs/`
/// with its records. Returns the two directories.
fn plant_aufs(root: &Path) -> Vec<PathBuf> {
    let diff = root.join("aufs/diff/0123abcd");
    fs::create_dir_all(&diff).unwrap();
    fs::write(diff.join("big"), vec![7u8; 150_000]).unwrap();
    fs::create_dir_all(root.join("aufs/layers")).unwrap();
    fs::write(root.join("aufs/layers/0123abcd"), "").unwrap();
    let records = root.join("image/aufs/layerdb/sha256/0123");
    fs::create_dir_all(&records).unwrap();
    fs::write(records.join("cache-id"), "0123abcd").unwrap();
    // Written before the switch: dockerd's last repositories.json is the active driver's.
    let repositories = root.join("image/aufs/repositories.json");
    fs::write(&repositories, "{}").unwrap();
    let before_the_switch = std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400);
    fs::File::options()
        .write(true)
        .open(&repositories)
        .unwrap()
        .set_modified(before_the_switch)
        .unwrap();
    vec![root.join("aufs"), root.join("image/aufs")]
}

/// The owners of kind `kind` in a `du` JSON report.
fn owners<'a>(du: &'a Value, kind: &str) -> Vec<&'a Value> {
    du["Owners"]
        .as_array()
        .expect("Owners")
        .iter()
        .filter(|o| o["Kind"] == kind)
        .collect()
}

/// The recommendations of an `advise` JSON report.
fn recommendations(advise: &Value) -> &Vec<Value> {
    advise["Recommendations"]
        .as_array()
        .expect("Recommendations")
}

#[test]
fn a_switched_drivers_data_is_counted_apart_and_reclaimable() {
    let store = SynthStore::plant();
    let root = &store.root;
    let dirs = plant_aufs(root);
    let (apparent, allocated) = du(&dirs);

    let du_json = strata_on(root, &["--format", "json", "du"]);
    let report = du_json.assert_success().json();
    let other = owners(&report, "other-driver");
    assert_eq!(other.len(), 1, "{du_json}");
    assert_eq!(other[0]["Id"], "aufs");
    assert_eq!(
        sizes(&other[0]["Sizes"]),
        (apparent, allocated),
        "{du_json}"
    );
    // image/aufs is the other driver's, not the active one's image metadata.
    let (image, aufs_records) = (du(&[root.join("image")]), du(&[&dirs[1]]));
    let metadata = owners(&report, "image-metadata")
        .iter()
        .map(|o| sizes(&o["Sizes"]))
        .fold((0, 0), |t, s| (t.0 + s.0, t.1 + s.1));
    assert_eq!(
        metadata,
        (image.0 - aufs_records.0, image.1 - aufs_records.1),
        "{du_json}"
    );
    assert_eq!(sizes(&report["Total"]), du(&[root]), "{du_json}");

    let df = strata_on(root, &["--format", "json", "df"]);
    let row = &df.assert_success().json()["OtherDrivers"][0];
    assert_eq!(row["Name"], "aufs", "{df}");
    assert_eq!(row["Size"].as_u64(), Some(apparent), "{df}");
    assert_eq!(row["DiskUsage"].as_u64(), Some(allocated), "{df}");
    let table = strata_on(root, &["df"]);
    assert!(
        table.assert_success().stdout.contains("Other drivers"),
        "{table}"
    );

    let advise = strata_on(root, &["--format", "json", "advise"]);
    let advise = advise.assert_success().json();
    let rec = recommendations(&advise)
        .iter()
        .find(|r| r["Action"] == "remove-other-driver-data")
        .unwrap_or_else(|| panic!("no remove-other-driver-data in {advise}"));
    assert_eq!(rec["Bytes"].as_u64(), Some(allocated), "{rec}");
    assert_eq!(
        rec["Command"],
        format!("rm -rf {} {}", dirs[0].display(), dirs[1].display())
    );
    assert_eq!(rec["Risk"], "high");
}

#[test]
fn a_userns_remap_parent_names_its_sub_root_and_offers_its_own_data() {
    let parent = SynthStore::plant();
    let child = SynthStore::plant();
    let root = &parent.root;
    let sub = root.join("100000.100000");
    move_into(&child.root, &sub);
    let how = format!("--root {}", sub.display());
    for verb in [&["df"][..], &["du"], &["images"], &["orphans"], &["advise"]] {
        let run = strata_on(root, verb);
        assert_eq!(run.code, Some(1), "a sub-root is a notice (exit 1):\n{run}");
        assert!(
            run.stderr.contains("not read") && run.stderr.contains(&how),
            "{run}"
        );
    }

    let du_json = strata_on(root, &["--format", "json", "du"]).json();
    let remapped = owners(&du_json, "remapped-root");
    assert_eq!(remapped.len(), 1, "{du_json}");
    assert_eq!(sizes(&remapped[0]["Sizes"]), du(&[&sub]));
    assert_eq!(sizes(&du_json["Total"]), du(&[root]));

    let own: Vec<PathBuf> = {
        let mut own: Vec<PathBuf> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| *p != sub)
            .collect();
        own.sort();
        own
    };
    let advise = strata_on(root, &["--format", "json", "advise"]).json();
    let recs = recommendations(&advise);
    assert_eq!(
        recs.len(),
        1,
        "the parent's own data, and nothing else: {advise}"
    );
    assert_eq!(recs[0]["Action"], "remove-pre-remap-data");
    assert_eq!(recs[0]["Bytes"].as_u64(), Some(du(&own).1), "{advise}");
    let paths: Vec<String> = own.iter().map(|p| p.display().to_string()).collect();
    assert_eq!(recs[0]["Paths"], serde_json::json!(paths));

    // The sub-root is a data root of its own.
    let sub_df = strata_on(&sub, &["--format", "json", "df"]);
    assert_eq!(
        sub_df.assert_success().json()["Images"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );

    // A container of the parent runs: its data is in use, and the usual advice stands (a
    // dangling volume's, here).
    parent.mark_running();
    fs::create_dir_all(root.join("volumes/unused/_data")).unwrap();
    let advise = strata_on(root, &["--format", "json", "advise"]).json();
    let actions: Vec<&Value> = recommendations(&advise)
        .iter()
        .map(|r| &r["Action"])
        .collect();
    assert_eq!(actions, [&Value::from("volume-prune-named")], "{advise}");
}

#[test]
fn user_finds_a_rootless_docker_root_and_asks_to_pick_between_two_stores() {
    let image = HostImage::new();
    image.accounts(&[("root", 0, "/root"), ("alice", 1000, "/home/alice")]);
    let docker = image.path("/home/alice/.local/share/docker");
    let store = SynthStore::plant();
    move_into(&store.root, &docker);
    let sysroot = image.dir().to_str().expect("UTF-8");
    let df = strata(&[
        "--sysroot",
        sysroot,
        "--user",
        "alice",
        "--format",
        "json",
        "df",
    ]);
    let images = df.assert_success().json()["Images"]
        .as_array()
        .map(Vec::len);
    assert_eq!(images, Some(2), "{df}");

    let podman = image.path("/home/alice/.local/share/containers/storage");
    fs::create_dir_all(&podman).unwrap();
    let both = strata(&["--sysroot", sysroot, "--user", "alice", "df"]);
    assert_eq!(both.code, Some(2), "{both}");
    for root in [&docker, &podman] {
        let pick = format!("--root {}", root.display());
        assert!(both.stderr.contains(&pick), "{both}");
    }
}

/// Checks a `host` JSON report against GNU du: each store's bytes are du of its directories
/// minus its nested stores, each store is listed once, and the stores add up to the total,
/// which is `du -x` of their union. Returns the stores by path.
fn check_host(report: &Value) -> Vec<&Value> {
    let stores: Vec<&Value> = report["Stores"]
        .as_array()
        .expect("Stores")
        .iter()
        .collect();
    let paths = |v: &Value| -> Vec<PathBuf> {
        v.as_array()
            .unwrap_or_else(|| panic!("not a list: {v}"))
            .iter()
            .map(|p| PathBuf::from(p.as_str().expect("a path")))
            .collect()
    };
    let mut seen = BTreeSet::new();
    let mut sum = (0, 0);
    let mut all_dirs = Vec::new();
    for s in &stores {
        assert!(seen.insert(s["Path"].to_string()), "listed twice: {s}");
        let (dirs, nested) = (paths(&s["Dirs"]), paths(&s["Nested"]));
        let (outer, inner) = (du(&dirs), du(&nested));
        let want = (outer.0 - inner.0, outer.1 - inner.1);
        assert_eq!(sizes(&s["Sizes"]), want, "{} against du", s["Path"]);
        sum = (sum.0 + want.0, sum.1 + want.1);
        all_dirs.extend(dirs);
    }
    let top: Vec<PathBuf> = all_dirs
        .iter()
        .filter(|d| !all_dirs.iter().any(|o| o != *d && d.starts_with(o)))
        .cloned()
        .collect();
    assert_eq!(
        sizes(&report["Total"]),
        sum,
        "the stores add up to the total"
    );
    assert_eq!(sum, du(&top), "the total is du -x of the stores' union");
    stores
}

/// The stores as `(Kind, Role, Path)`.
fn listed(stores: &[&Value]) -> Vec<(String, String, PathBuf)> {
    stores
        .iter()
        .map(|s| {
            let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
            (text("Kind"), text("Role"), PathBuf::from(text("Path")))
        })
        .collect()
}

/// Checks the table and Prometheus outputs of `host` on `sysroot`: the table names every
/// store; every Prometheus sample belongs to a family declared with HELP and TYPE before it,
/// with well-formed labels and an integer value.
fn check_outputs(sysroot: &str, stores: &[&Value]) {
    let table = strata(&["--sysroot", sysroot, "--bytes", "host"]);
    for s in stores {
        let path = s["Path"].as_str().expect("Path");
        assert!(
            table.stdout.contains(path),
            "{path} not in the table:\n{table}"
        );
    }
    assert!(table.stdout.starts_with("Host files read under"), "{table}");
    let prom = strata(&["--sysroot", sysroot, "--format", "prometheus", "host"]);
    assert_prometheus(&prom);
}

fn assert_prometheus(run: &Run) {
    let mut declared: BTreeSet<&str> = BTreeSet::new();
    let mut helped: BTreeSet<&str> = BTreeSet::new();
    let mut samples = 0;
    for line in run.stdout.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split(' ').next().expect("a name"));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(helped.contains(name) && kind == "gauge", "{line}\n{run}");
            declared.insert(name);
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
        assert!(value.parse::<i64>().is_ok(), "value of {line}");
        let name = series.split('{').next().expect("a name");
        assert!(declared.contains(name), "{name} undeclared:\n{run}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            let inner = labels
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .unwrap_or_else(|| panic!("labels of {line}"));
            // name="value" pairs, the values' quotes escaped.
            let mut rest = inner;
            while !rest.is_empty() {
                let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                assert!(
                    key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                    "label {key:?} of {line}"
                );
                let mut end = None;
                let mut escaped = false;
                for (i, c) in after.char_indices() {
                    match (escaped, c) {
                        (false, '\\') => escaped = true,
                        (false, '"') => {
                            end = Some(i);
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                let end = end.unwrap_or_else(|| panic!("unterminated label in {line}"));
                rest = after[end + 1..]
                    .strip_prefix(',')
                    .unwrap_or(&after[end + 1..]);
            }
        }
        samples += 1;
    }
    assert!(samples > 0, "no samples:\n{run}");
}

#[test]
fn host_on_a_synthetic_image_counts_every_store_once() {
    let image = HostImage::new();
    image.accounts(&[("root", 0, "/root"), ("alice", 1000, "/home/alice")]);
    let system = image.path("/var/lib/docker");
    let parent = SynthStore::plant();
    move_into(&parent.root, &system);
    let child = SynthStore::plant();
    let sub = system.join("100000.100000");
    move_into(&child.root, &sub);
    let alice = image.path("/home/alice/.local/share/docker");
    let rootless = SynthStore::plant();
    move_into(&rootless.root, &alice);
    let aufs = plant_aufs(&alice);

    let sysroot = image.dir().to_str().expect("UTF-8");
    let run = strata(&["--sysroot", sysroot, "--format", "json", "host"]);
    let report = run.assert_success().json();
    let stores = check_host(&report);
    assert_eq!(
        listed(&stores),
        [
            ("docker".into(), "system".into(), system.clone()),
            ("docker".into(), "userns-remap".into(), sub.clone()),
            ("docker".into(), "rootless".into(), alice.clone()),
            ("docker".into(), "inactive-driver".into(), aufs[0].clone()),
        ],
        "{report}"
    );
    let owner = |i: usize| stores[i]["Owner"]["User"].clone();
    assert_eq!(
        (owner(0), owner(2), owner(3)),
        ("root".into(), "alice".into(), "alice".into())
    );
    // The other driver's data: its own entry, all of it reclaimable.
    let inactive = stores[3];
    assert_eq!(inactive["Driver"], "aufs");
    assert_eq!(
        inactive["ReclaimableBytes"].as_u64(),
        Some(du(&aufs).1),
        "{inactive}"
    );
    assert_eq!(
        stores[2]["Nested"],
        serde_json::json!(aufs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>())
    );
    // The parent's own data is reclaimable; the sub-root's notice is not a problem here.
    assert_eq!(
        stores[0]["Recommendations"][0]["Action"], "remove-pre-remap-data",
        "{}",
        stores[0]
    );
    assert_eq!(report["Problems"], serde_json::json!([]), "{report}");
    let device = stores[0]["Filesystem"].as_str().expect("Filesystem");
    let fs_row = report["Filesystems"]
        .as_array()
        .expect("Filesystems")
        .iter()
        .find(|f| f["Device"] == device)
        .unwrap_or_else(|| panic!("no filesystem {device} in {report}"));
    assert!(
        fs_row["Size"].as_u64() >= fs_row["Used"].as_u64(),
        "{fs_row}"
    );
    check_outputs(sysroot, &stores);
}

/// Makes an image and a container with the harness's busybox on `d`.
fn image_and_container(d: &Dockerd, name: &str) {
    import_busybox(d, "strata/host:1");
    d.docker(&[
        "create",
        "--network",
        "none",
        "--name",
        name,
        "strata/host:1",
        "true",
    ]);
}

#[test]
fn host_reports_real_stores_of_every_kind_each_byte_once() {
    if !dockerd_usable() || !containerd_usable() || !podman_usable() {
        return;
    }
    let image = HostImage::new();
    image.accounts(&[
        ("root", 0, "/root"),
        ("alice", 1000, "/home/alice"),
        ("bob", 1001, "/home/bob"),
    ]);
    // root's dockerd on overlay2, then the same root remapped: the parent keeps its data.
    let system = image.path("/var/lib/docker");
    image_and_container(
        &Dockerd::start_with_root(Driver::Overlay2, &system),
        "before",
    );
    let remap = RemapUser::create(image.dir());
    let remapped =
        Dockerd::start_with_flags(Driver::Overlay2, &system, &["--userns-remap", remap.name()]);
    image_and_container(&remapped, "remapped");
    drop(remapped);
    let sub = system.join(remap.subroot());
    // alice's rootless root, by a dockerd 20.10 on it.
    let alice = image.path("/home/alice/.local/share/docker");
    image_and_container(
        &Dockerd::start_with_root(Driver::Overlay2, &alice),
        "alices",
    );
    // bob's, by trixie's dockerd 26.1 with the containerd image store, moved in once stopped.
    let bob = image.path("/home/bob/.local/share/docker");
    let mut c8d = Dockerd::start_containerd_store();
    image_and_container(&c8d, "bobs");
    c8d.stop();
    move_into(c8d.data_root(), &bob);
    // root's podman store.
    let podman_root = image.path("/var/lib/containers/storage");
    let mut podman = Podman::start();
    crate::fixture::podman::import_busybox(&podman, "localhost/strata/host:1");
    podman.podman(&[
        "create",
        "--network",
        "none",
        "--pull",
        "never",
        "--name",
        "podmans",
        "localhost/strata/host:1",
        "true",
    ]);
    podman.stop();
    move_into(&podman.graphroot(), &podman_root);

    let sysroot = image.dir().to_str().expect("UTF-8");
    let run = strata(&["--sysroot", sysroot, "--format", "json", "host"]);
    assert!(!run.panicked(), "{run}");
    let report = run.json();
    let stores = check_host(&report);
    let by_path = |p: &Path| {
        stores
            .iter()
            .find(|s| s["Path"] == p.display().to_string())
            .unwrap_or_else(|| panic!("no store at {} in {report}", p.display()))
    };
    let own_containerd = |root: &Path| root.join("containerd/daemon");
    for (path, kind, role, owner, driver, backend) in [
        (&system, "docker", "system", "root", "overlay2", "moby"),
        (&sub, "docker", "userns-remap", "root", "overlay2", "moby"),
        (&alice, "docker", "rootless", "alice", "overlay2", "moby"),
        (&bob, "docker", "rootless", "bob", "overlayfs", "containerd"),
        (
            &podman_root,
            "containers-storage",
            "system",
            "root",
            "overlay",
            "containers-storage",
        ),
    ] {
        let s = by_path(path);
        let got = (
            &s["Kind"],
            &s["Role"],
            &s["Owner"]["User"],
            &s["Driver"],
            &s["Backend"],
        );
        assert_eq!(
            got,
            (
                &kind.into(),
                &role.into(),
                &owner.into(),
                &driver.into(),
                &backend.into()
            ),
            "{s}"
        );
        assert!(s.get("Error").is_none(), "{s}");
        assert!(
            s["Images"].as_u64() >= Some(1) && s["Containers"].as_u64() >= Some(1),
            "{s}"
        );
    }
    // Each dockerd's own containerd: an entry of its own, nested in its data root; bob's
    // holds his images in namespace moby, reported with his data root.
    for root in [&system, &alice, &bob] {
        let c = by_path(&own_containerd(root));
        assert_eq!(
            (&c["Kind"], &c["Role"]),
            (&"containerd".into(), &"docker-containerd".into())
        );
    }
    let bobs = by_path(&own_containerd(&bob));
    let moby = bobs["Namespaces"]
        .as_array()
        .expect("Namespaces")
        .iter()
        .find(|n| n["Name"] == "moby")
        .unwrap_or_else(|| panic!("no moby namespace: {bobs}"));
    assert!(moby["Images"].as_u64() >= Some(1), "{moby}");
    assert_eq!(moby["DockerRoot"], bob.display().to_string());
    let nested = by_path(&bob)["Nested"].clone();
    assert_eq!(
        nested,
        serde_json::json!([own_containerd(&bob).display().to_string()])
    );
    // The parent's own data (the store from before remapping) is reclaimable.
    assert_eq!(
        by_path(&system)["Recommendations"][0]["Action"],
        "remove-pre-remap-data"
    );
    assert_eq!(report["Problems"], serde_json::json!([]), "{report}");
    check_outputs(sysroot, &stores);
    drop(remap);
}
