//! `strata watch` on containers a real dockerd runs: a container writing about 1 MB/s is
//! reported at that rate within 10%; appending one byte to a 5 MB file of the image shows 5 MB
//! copied up; deleting an image file shows a whiteout and no growth; every JSON line parses and
//! carries the documented fields; an idle container's tick examines nothing.

use serde_json::Value;

use crate::fixture::import_busybox;
use crate::harness::{dockerd_usable, strata_on, Dockerd, Driver};

/// What the writer appends per step, and how often: 1,024,000 bytes a second.
const CHUNK: u64 = 102_400;
const NOMINAL_RATE: f64 = (CHUNK * 10) as f64;
/// The image file the copier appends to.
const BIG: u64 = 5 * 1024 * 1024;

/// The fields every sample carries (README documents them).
const FIELDS: &[&str] = &[
    "Time",
    "Tick",
    "Id",
    "Name",
    "SizeRw",
    "Growth",
    "RateBytesPerSec",
    "RateAvgBytesPerSec",
    "AddedBytes",
    "AddedFiles",
    "CopiedUpBytes",
    "CopiedUpFiles",
    "Whiteouts",
    "TopPaths",
    "Volumes",
    "PathsExamined",
    "TickMicros",
];

fn last_of<'a>(samples: &'a [Value], name: &str) -> &'a Value {
    samples
        .iter()
        .rev()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no sample of {name}"))
}

#[test]
fn rates_copy_ups_and_whiteouts_live() {
    if !dockerd_usable() {
        return;
    }
    let d = Dockerd::start(Driver::Overlay2);
    import_busybox(&d, "wbb:1");
    let ctx = d.scratch("watch-ctx");
    std::fs::create_dir_all(&ctx).expect("mkdir ctx");
    std::fs::write(
        ctx.join("Dockerfile"),
        format!(
            "FROM wbb:1\nRUN dd if=/dev/zero of=/big bs=1024 count={} 2>/dev/null && head -c 1000 /dev/zero > /victim\n",
            BIG / 1024
        ),
    )
    .expect("Dockerfile");
    d.build_classic(&ctx, "wimg:1");
    let run = |name: &str, script: &str| {
        d.docker(&[
            "run",
            "-d",
            "--network",
            "none",
            "--name",
            name,
            "-v",
            &format!("{name}-vol:/vol"),
            "wimg:1",
            "sh",
            "-c",
            script,
        ]);
    };
    run(
        "writer",
        &format!("i=0; while [ $i -lt 150 ]; do head -c {CHUNK} /dev/zero >> /grow; echo $i > /vol/n; sleep 0.1; i=$((i+1)); done; sleep 1000"),
    );
    run("copier", "sleep 3; echo -n x >> /big; sleep 1000");
    run("deleter", "sleep 3; rm /victim; sleep 1000");

    let watch = strata_on(
        d.data_root(),
        &[
            "--format",
            "json",
            "watch",
            "--interval",
            "1s",
            "--count",
            "7",
        ],
    );
    let samples: Vec<Value> = watch
        .assert_success()
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(samples.len(), 3 * 7, "{watch}");
    for s in &samples {
        for f in FIELDS {
            assert!(!s[*f].is_null(), "{f} missing in {s}");
        }
    }

    let writer = last_of(&samples, "writer");
    let rate = writer["RateAvgBytesPerSec"].as_f64().unwrap();
    assert!(
        (rate - NOMINAL_RATE).abs() <= NOMINAL_RATE * 0.10,
        "writer at {rate} B/s, want {NOMINAL_RATE} within 10%: {writer}"
    );
    assert_eq!(writer["TopPaths"][0]["Path"], "/grow", "{writer}");
    assert_eq!(writer["TopPaths"][0]["Kind"], "added");
    assert_eq!(writer["Volumes"][0]["Name"], "writer-vol");
    assert!(writer["Volumes"][0]["Bytes"].as_u64().unwrap() > 0);

    let copier = last_of(&samples, "copier");
    assert_eq!(copier["CopiedUpFiles"], 1, "{copier}");
    assert_eq!(copier["CopiedUpBytes"], BIG + 1, "{copier}");
    assert_eq!(copier["Growth"], BIG + 1, "{copier}");
    assert_eq!(copier["TopPaths"][0]["Path"], "/big");
    assert_eq!(copier["TopPaths"][0]["Kind"], "copied-up");

    let deleter = last_of(&samples, "deleter");
    assert_eq!(deleter["Whiteouts"], 1, "{deleter}");
    assert_eq!(deleter["Growth"], 0, "a whiteout adds no bytes: {deleter}");
    // Once nothing changes, a tick examines nothing.
    assert_eq!(deleter["PathsExamined"], 0, "{deleter}");

    // Naming a container that does not run is an error naming it.
    let missing = strata_on(
        d.data_root(),
        &["watch", "--count", "1", "no-such-container"],
    );
    assert_eq!(missing.code, Some(2), "{missing}");
    assert!(missing.stderr.contains("no-such-container"), "{missing}");
}
