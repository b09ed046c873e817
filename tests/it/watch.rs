//! `strata watch` on containers a real dockerd runs: a container writing about 1 MB/s (as
//! fast as a loaded machine lets it) is reported at the rate it really wrote, by its own log of
//! bytes and clock; appending one byte to a 5 MB file of the image shows 5 MB
//! copied up; deleting an image file shows a whiteout and no growth; the writable layer's size is
//! dockerd's `SizeRw`; every JSON line parses and carries the documented fields; an idle
//! container's tick examines nothing. On every graphdriver this kernel runs (overlay2, legacy
//! overlay, fuse-overlayfs, btrfs), with the same expectations: they are dockerd's figures.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixture::import_busybox;
use crate::harness::{driver_usable, root_args, strata_command, strata_on, Dockerd, Driver};

/// What the writer appends per step, ten steps a second at most (1,024,000 bytes a second on
/// an idle machine, less on a loaded one: the test measures what it got, never assumes it).
const CHUNK: u64 = 102_400;
/// The writer's log in its volume: one line per step, `<uptime seconds> <bytes of /grow>`,
/// written after the step's bytes. `/proc/uptime` is the clock both sides can read (busybox's
/// `date` has no sub-second format), and the container shares the host's.
const WRITER_LOG: &str = "log";
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

/// The wall-clock time of boot, Unix seconds: what turns the writer's uptimes into times
/// comparable with the samples' `Time` (to 10 ms, `/proc/uptime`'s resolution).
fn boot_time() -> f64 {
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .expect("reading /proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .expect("/proc/uptime starts with seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64();
    now - uptime
}

/// A sample's `Time` (RFC 3339), Unix seconds.
fn sample_time(sample: &Value) -> f64 {
    let text = sample["Time"].as_str().expect("Time is a string");
    let time = chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("Time {text:?} is not RFC 3339 ({e})"));
    time.timestamp_micros() as f64 / 1e6
}

/// The bounds of the size of `/grow` at `time`, from the writer's log (`(time, bytes)` pairs
/// in order): at least what the last line at or before `time` says (its bytes were written
/// before it was logged), at most what the next line says (the next step's bytes were
/// written before that line), or the last size if the writer had finished.
fn size_bounds(log: &[(f64, u64)], time: f64) -> (u64, u64) {
    let before = log.iter().rev().find(|(t, _)| *t <= time);
    let after = log.iter().find(|(t, _)| *t > time);
    let lo = before.map_or(0, |(_, b)| *b);
    let hi = after.map_or_else(|| log.last().map_or(0, |(_, b)| *b), |(_, b)| *b);
    (lo, hi)
}

/// Runs `strata --root <root> <args...>` and returns its stdout lines, calling `after_first`
/// as soon as the first `first` lines (the first tick's samples) are out. Fails if it does
/// not exit 0 within two minutes.
pub(crate) fn watch_lines(
    root: &Path,
    args: &[&str],
    first: usize,
    after_first: impl FnOnce(),
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut child = strata_command(&[], &root_args(root, args))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting strata watch");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut lines = Vec::new();
    let mut after_first = Some(after_first);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                lines.push(line);
                if lines.len() >= first {
                    if let Some(f) = after_first.take() {
                        f();
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("strata watch still runs after two minutes; so far: {lines:?}");
            }
        }
    }
    let status = child.wait().expect("waiting for strata watch");
    let errors = errors.join().expect("stderr reader");
    assert!(
        status.success(),
        "strata watch: {status}\n{lines:?}\n{errors}"
    );
    lines
}

fn last_of<'a>(samples: &'a [Value], name: &str) -> &'a Value {
    samples
        .iter()
        .rev()
        .find(|s| s["Name"] == name)
        .unwrap_or_else(|| panic!("no sample of {name}"))
}

#[test]
fn rates_copy_ups_and_whiteouts_live() {
    watch_live(Driver::Overlay2);
}

#[test]
fn rates_copy_ups_and_whiteouts_live_overlay() {
    watch_live(Driver::Overlay);
}

#[test]
fn rates_copy_ups_and_whiteouts_live_fuse_overlayfs() {
    watch_live(Driver::FuseOverlayfs);
}

#[test]
fn rates_copy_ups_and_whiteouts_live_btrfs() {
    watch_live(Driver::Btrfs);
}

fn watch_live(driver: Driver) {
    if !driver_usable(driver) {
        return;
    }
    let d = Dockerd::start(driver);
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
        &format!("i=0; while [ $i -lt 600 ] && [ ! -e /vol/stop ]; do head -c {CHUNK} /dev/zero >> /grow; i=$((i+1)); echo \"$(cut -d' ' -f1 /proc/uptime) $((i*{CHUNK}))\" >> /vol/{WRITER_LOG}; sleep 0.1; done; sleep 1000"),
    );
    // The copier and the deleter act once the watch has taken its first sample (a fixed
    // sleep loses that race on a loaded machine): they wait for a file in their volume.
    let wait_for_go = "while [ ! -e /vol/go ]; do sleep 0.1; done";
    run(
        "copier",
        &format!("{wait_for_go}; echo -n x >> /big; sleep 1000"),
    );
    run("deleter", &format!("{wait_for_go}; rm /victim; sleep 1000"));

    let args = [
        "--format",
        "json",
        "watch",
        "--interval",
        "1s",
        "--count",
        "7",
    ];
    let lines = watch_lines(d.data_root(), &args, 3, || {
        for name in ["copier", "deleter"] {
            let go = d.data_root().join(format!("volumes/{name}-vol/_data/go"));
            std::fs::write(&go, "").expect("starting a container's change");
        }
    });
    let samples: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert_eq!(samples.len(), 3 * 7, "{lines:?}");
    for s in &samples {
        for f in FIELDS {
            assert!(!s[*f].is_null(), "{f} missing in {s}");
        }
    }

    // The average rate is over the whole watch (7 ticks, within the rate window): times the
    // samples' own span, it must be the bytes the writer's log says it wrote in that span,
    // give or take a step at each end (the walk stats /grow a little after `Time` is taken).
    let writer_samples: Vec<&Value> = samples.iter().filter(|s| s["Name"] == "writer").collect();
    let (first, writer) = (writer_samples[0], last_of(&samples, "writer"));
    let boot = boot_time();
    let log_path = d
        .data_root()
        .join("volumes/writer-vol/_data")
        .join(WRITER_LOG);
    let log: Vec<(f64, u64)> = crate::tree::read_noatime(&log_path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", log_path.display()))
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let line = String::from_utf8_lossy(l);
            let (uptime, bytes) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("writer log line {line:?}"));
            (
                boot + uptime.parse::<f64>().expect("uptime"),
                bytes.parse::<u64>().expect("bytes"),
            )
        })
        .collect();
    std::fs::write(log_path.with_file_name("stop"), "").expect("stopping the writer");
    let (t0, t1) = (sample_time(first), sample_time(writer));
    let (lo0, hi0) = size_bounds(&log, t0);
    let (lo1, hi1) = size_bounds(&log, t1);
    let slack = 2 * CHUNK;
    let least = lo1.saturating_sub(hi0 + slack);
    let most = (hi1 + slack).saturating_sub(lo0);
    let rate = writer["RateAvgBytesPerSec"].as_f64().unwrap();
    let measured = rate * (t1 - t0);
    assert!(
        t1 > t0 && least > 0 && (least as f64..=most as f64).contains(&measured),
        "writer at {rate} B/s over {:.3} s is {measured} bytes; its log says it wrote between \
         {least} and {most} bytes then:\n{first}\n{writer}\nlog: {log:?}",
        t1 - t0
    );
    assert_eq!(writer["TopPaths"][0]["Path"], "/grow", "{writer}");
    assert_eq!(writer["TopPaths"][0]["Kind"], "added");
    assert_eq!(writer["Volumes"][0]["Name"], "writer-vol");
    assert!(writer["Volumes"][0]["Bytes"].as_u64().unwrap() > 0);

    // The copier and the deleter, every figure checked and every mismatch reported at once.
    // The same on every driver: appending a byte to an image file changes it whole in the
    // writable layer (overlayfs copies it up; on btrfs dockerd's naive diff lists it changed,
    // and `SizeRw`, `Growth` and `CopiedUpBytes` count its whole size); nothing else changed,
    // so no file is added (fuse-overlayfs's opaque markers in the volume's mount point
    // directory are no files; legacy overlay's copy of the init layer's files is no change), and
    // `SizeRw` is dockerd's own (`GET /containers/<id>/json?size=1`).
    let copier = last_of(&samples, "copier");
    let deleter = last_of(&samples, "deleter");
    let size_rw = |sample: &Value| {
        let id = sample["Id"].as_str().expect("Id");
        let inspect = d.api_get(&format!("/v1.41/containers/{id}/json?size=1"));
        Value::from(inspect["SizeRw"].as_u64().unwrap_or(0))
    };
    let expected: [(&Value, &str, Value); 11] = [
        (copier, "CopiedUpFiles", 1.into()),
        (copier, "CopiedUpBytes", (BIG + 1).into()),
        (copier, "Growth", (BIG + 1).into()),
        (copier, "AddedFiles", 0.into()),
        (copier, "SizeRw", size_rw(copier)),
        (deleter, "Whiteouts", 1.into()),
        // A whiteout adds no bytes.
        (deleter, "Growth", 0.into()),
        // Once nothing changes, a tick examines nothing.
        (deleter, "PathsExamined", 0.into()),
        (deleter, "AddedFiles", 0.into()),
        (deleter, "CopiedUpFiles", 0.into()),
        (deleter, "SizeRw", size_rw(deleter)),
    ];
    let mut failures: Vec<String> = expected
        .iter()
        .filter(|(sample, field, want)| sample[*field] != *want)
        .map(|(sample, field, want)| {
            format!(
                "{} {field}: {}, want {want}",
                sample["Name"], sample[*field]
            )
        })
        .collect();
    for (sample, path, kind) in [
        (copier, "/big", "copied-up"),
        (deleter, "/victim", "whiteout"),
    ] {
        let top = &sample["TopPaths"][0];
        if top["Path"] != path || top["Kind"] != kind {
            failures.push(format!(
                "{} TopPaths[0]: {top}, want {path} {kind}",
                sample["Name"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{driver}:\n{}\n{copier}\n{deleter}",
        failures.join("\n")
    );

    // Naming a container that does not run is an error naming it.
    let missing = strata_on(
        d.data_root(),
        &["watch", "--count", "1", "no-such-container"],
    );
    assert_eq!(missing.code, Some(2), "{missing}");
    assert!(missing.stderr.contains("no-such-container"), "{missing}");
}
