//! `strata watch` on containers a real podman 4.3.1 runs: a container that copies up a file
//! of its image, deletes another and writes a new one, once the watch has taken its first
//! sample, shows exactly those bytes in its next samples; an idle one shows none.

use serde_json::Value;

use crate::fixture::podman::import_busybox;
use crate::harness::{podman_usable, Podman};
use crate::watch::watch_lines;

/// Bytes of the image file the changer appends one byte to.
const BIG: u64 = 300_000;
/// Bytes of the new file it writes.
const NEW: u64 = 12_345;

#[test]
fn watch_follows_running_podman_containers() {
    if !podman_usable() {
        return;
    }
    let p = Podman::start();
    import_busybox(&p, "localhost/w/base:1");
    let ctx = p.scratch("ctx");
    std::fs::create_dir_all(&ctx).expect("mkdir ctx");
    std::fs::write(
        ctx.join("Containerfile"),
        format!(
            "FROM localhost/w/base:1\nRUN head -c {BIG} /bin/busybox > /big && echo x > /victim\n"
        ),
    )
    .expect("Containerfile");
    p.podman(&[
        "build",
        "-q",
        "--pull=never",
        "--network",
        "none",
        "-t",
        "localhost/w/img:1",
        ctx.to_str().expect("UTF-8 path"),
    ]);
    let run = |name: &str, script: &str| {
        p.podman(&[
            "run",
            "-d",
            "--network",
            "none",
            "--pull",
            "never",
            "--name",
            name,
            "-v",
            &format!("{name}-vol:/vol"),
            "localhost/w/img:1",
            "sh",
            "-c",
            script,
        ]);
    };
    // The change waits for a file in its volume, written once the watch has its first sample.
    run(
        "changer",
        &format!(
            "while [ ! -e /vol/go ]; do sleep 0.1; done; echo -n x >> /big; rm /victim; \
             head -c {NEW} /bin/busybox > /new; touch /vol/done; sleep 1000"
        ),
    );
    run("idle", "sleep 1000");
    let go = p.graphroot().join("volumes/changer-vol/_data/go");
    let done = go.with_file_name("done");
    let args = [
        "--format",
        "json",
        "watch",
        "--interval",
        "1s",
        "--count",
        "6",
    ];
    let lines = watch_lines(&p.graphroot(), &args, 2, || {
        std::fs::write(&go, "").expect("starting the change");
    });
    assert!(done.exists(), "the changer never finished: {lines:?}");
    let samples: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(samples.len(), 2 * 6, "{lines:?}");
    let last = |name: &str| {
        samples
            .iter()
            .rev()
            .find(|s| s["Name"] == name)
            .unwrap_or_else(|| panic!("no sample of {name}: {lines:?}"))
    };
    let (changer, idle) = (last("changer"), last("idle"));
    // The change is done before the watch ends (`done` exists): its last sample shows it.
    assert_eq!(changer["CopiedUpBytes"], BIG + 1, "{changer}");
    assert_eq!(changer["Whiteouts"], 1, "{changer}");
    // Both containers hold what podman puts in every writable layer (the `/etc/mtab` link,
    // mount points for `/etc/hosts`...): the changer added NEW bytes beyond the idle one's.
    let added = |s: &Value| s["AddedBytes"].as_u64().expect("AddedBytes");
    assert_eq!(added(changer), added(idle) + NEW, "{changer}\n{idle}");
    let top: Vec<(&str, &str, u64)> = changer["TopPaths"]
        .as_array()
        .expect("TopPaths")
        .iter()
        .map(|t| {
            (
                t["Kind"].as_str().unwrap_or_default(),
                t["Path"].as_str().unwrap_or_default(),
                t["Bytes"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    for want in [
        ("copied-up", "/big", BIG + 1),
        ("added", "/new", NEW),
        ("whiteout", "/victim", 0),
    ] {
        assert!(top.contains(&want), "{want:?} not in {top:?}");
    }
    assert_eq!(idle["CopiedUpBytes"], 0, "{idle}");
    assert_eq!(idle["Whiteouts"], 0, "{idle}");
}
