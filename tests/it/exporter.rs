//! `strata exporter`, with real components: Debian's Prometheus scraping it (PromQL through
//! its HTTP API against `strata df`/`advise --format json`), promtool checking its output,
//! node_exporter's textfile collector serving its `--textfile` file, and the refresh model
//! (a scrape during a long walk, concurrent scrapes sharing one metadata scan) observed
//! through the exporter's own families, never through timing.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fixture;
use crate::harness::{
    self, programs_usable, root_args, strata_command, strata_on, Driver, NODE_EXPORTER, PROMETHEUS,
    PROMTOOL,
};
use crate::synth::SynthStore;

/// How long a component may take to come up or a condition to be met (a loaded 2-core
/// machine).
const DEADLINE: Duration = Duration::from_secs(90);

/// The families recomputed on each scrape (what concurrent scrapes share).
const METADATA_FAMILIES: &[&str] = &[
    "strata_store_info",
    "strata_filesystem_size_bytes",
    "strata_filesystem_avail_bytes",
    "strata_images",
    "strata_containers",
    "strata_volumes",
    "strata_layers_size_bytes",
    "strata_image_size_bytes",
    "strata_image_shared_size_bytes",
    "strata_image_unique_size_bytes",
    "strata_container_log_bytes",
    "strata_volume_refs",
];

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A response: status, content type, body.
struct Response {
    status: u16,
    content_type: String,
    body: String,
}

/// `GET path` from 127.0.0.1:`port` (HTTP/1.0, so the server closes after the body); `None`
/// when nothing answers.
fn get(port: u16, path: &str) -> Option<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(DEADLINE)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    Some(Response {
        status,
        content_type,
        body: body.to_owned(),
    })
}

/// Polls `probe` until it gives a value, panicking with `what` (and `context()`) at the
/// deadline.
fn poll<T>(what: &str, context: impl Fn() -> String, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A background program (exporter, Prometheus, node_exporter), its output in a file, ended
/// with SIGTERM when dropped.
struct Daemon {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn spawn(mut cmd: Command) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("output.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        Daemon {
            child,
            log,
            _dir: dir,
        }
    }

    /// Its output so far, and whether it has exited.
    fn context(&self) -> String {
        format!(
            "--- output ---\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// Sends SIGTERM and returns the exit code.
    fn terminate(&mut self) -> Option<i32> {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        self.child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.terminate();
        }
    }
}

/// `strata --root <root> exporter --listen 127.0.0.1:<port> <args>`, once it answers.
pub struct Exporter {
    daemon: Daemon,
    port: u16,
}

impl Exporter {
    fn start(root: &Path, args: &[&str]) -> Exporter {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut full = vec!["exporter", "--listen", &listen];
        full.extend_from_slice(args);
        Exporter::spawn(strata_command(&[], &root_args(root, &full)), port)
    }

    /// The exporter `cmd` starts (a strata command line of its own), listening on
    /// 127.0.0.1:`port`, once it answers.
    pub fn spawn(cmd: Command, port: u16) -> Exporter {
        let daemon = Daemon::spawn(cmd);
        let exporter = Exporter { daemon, port };
        poll(
            "the exporter to answer",
            || exporter.daemon.context(),
            || get(port, "/").filter(|r| r.status == 200),
        );
        exporter
    }

    /// One scrape's body (status 200 and the text format's content type asserted).
    pub fn scrape(&self) -> String {
        let r = get(self.port, "/metrics")
            .unwrap_or_else(|| panic!("no answer on /metrics\n{}", self.daemon.context()));
        assert_eq!(r.status, 200, "{}\n{}", r.body, self.daemon.context());
        assert_eq!(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
        r.body
    }

    /// Scrapes until a walk has completed; returns that body.
    pub fn scrape_after_walk(&self) -> String {
        poll(
            "a completed walk",
            || self.daemon.context(),
            || {
                let body = self.scrape();
                (value(&body, "strata_scans_total", &[("phase", "walk")]) >= 1.0).then_some(body)
            },
        )
    }
}

/// One sample: its family name and labels.
type Series = (String, BTreeMap<String, String>);

/// The samples of an exposition text.
fn parse(text: &str) -> BTreeMap<Series, f64> {
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample line");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value of {line}"));
        out.insert(parse_series(series), value);
    }
    out
}

/// `name{k="v",...}` into the name and labels, undoing the escapes.
fn parse_series(series: &str) -> Series {
    let Some((name, rest)) = series.split_once('{') else {
        return (series.to_owned(), BTreeMap::new());
    };
    let mut labels = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() || key == "}" {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "{series}");
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => val.push('\n'),
                    Some(other) => val.push(other),
                    None => break,
                },
                '"' => break,
                c => val.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').to_owned(), val);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    (name.to_owned(), labels)
}

/// The samples of `family` in `text`, with their labels.
pub fn family(text: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    parse(text)
        .into_iter()
        .filter(|((n, _), _)| n == name)
        .map(|((_, l), v)| (l, v))
        .collect()
}

/// The value of the sample of `name` whose labels include `labels`; panics when there is not
/// exactly one.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = family(text, name)
        .into_iter()
        .filter(|(l, _)| {
            labels
                .iter()
                .all(|(k, v)| l.get(*k).map(String::as_str) == Some(v))
        })
        .map(|(_, v)| v)
        .collect();
    assert_eq!(found.len(), 1, "{name}{labels:?} in:\n{text}");
    found[0]
}

/// Asserts `promtool check metrics` accepts `body` (exit 0), showing its output if not.
pub fn assert_promtool_accepts(body: &str) {
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- checked ---\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A real Prometheus scraping 127.0.0.1:`target` every second, on its own temp storage.
struct Prometheus {
    daemon: Daemon,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(target: u16) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 scrape_configs:\n  - job_name: strata\n    static_configs:\n      \
                 - targets: ['127.0.0.1:{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let mut cmd = Command::new(PROMETHEUS);
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let daemon = Daemon::spawn(cmd);
        let p = Prometheus {
            daemon,
            port,
            _dir: dir,
        };
        poll(
            "Prometheus to be ready",
            || p.daemon.context(),
            || get(port, "/-/ready").filter(|r| r.status == 200),
        );
        p
    }

    /// The result vector of an instant `query`: each sample's labels and value.
    fn query(&self, query: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let path = format!("/api/v1/query?query={}", percent_encode(query));
        let r = get(self.port, &path).expect("Prometheus answers");
        let json: Value =
            serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{query}: {e}: {}", r.body));
        assert_eq!(json["status"], "success", "{query}: {}", r.body);
        json["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let labels = s["metric"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                    .collect();
                let v: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
                (labels, v)
            })
            .collect()
    }

    /// The single value of `query`.
    fn scalar(&self, query: &str) -> f64 {
        let r = self.query(query);
        assert_eq!(r.len(), 1, "{query}: {r:?}");
        r[0].1
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `strata --root <root> --format json <verb>`.
fn json_of(root: &Path, verb: &str) -> Value {
    let run = strata_on(root, &["--format", "json", verb]);
    assert!(run.code == Some(0) || run.code == Some(1), "{run}");
    run.json()
}

#[test]
fn prometheus_scrapes_the_figures_strata_df_and_advise_print() {
    let Some(stopped) = fixture::stopped(Driver::Overlay2) else {
        return;
    };
    if !programs_usable(
        "Debian's prometheus (apt-get install prometheus)",
        &[PROMETHEUS],
    ) {
        return;
    }
    let root = &stopped.data_root;
    let df = json_of(root, "df");
    let advise = json_of(root, "advise");
    let exporter = Exporter::start(root, &["--walk-interval", "1m"]);
    let prometheus = Prometheus::start(exporter.port);
    let images = df["Images"].as_array().unwrap();
    assert!(images.len() > 1, "{df}");
    // Samples of both parts have arrived once the walk's total and every image are there.
    poll(
        "Prometheus to hold the exporter's samples",
        || prometheus.daemon.context(),
        || {
            let walked = !prometheus
                .query("strata_reclaimable_total_bytes")
                .is_empty();
            let listed = prometheus.query("strata_image_size_bytes").len() == images.len();
            (walked && listed).then_some(())
        },
    );
    let sizes: BTreeMap<String, f64> = prometheus
        .query("strata_image_size_bytes")
        .into_iter()
        .map(|(l, v)| (l["image"].clone(), v))
        .collect();
    for img in images {
        let id = img["Id"].as_str().unwrap();
        let short = &id["sha256:".len()..][..12];
        assert_eq!(
            sizes.get(short).copied(),
            Some(img["Size"].as_f64().unwrap()),
            "image {id}: {sizes:?}"
        );
    }
    let summary = &df["Summary"];
    let mut total = 0.0;
    for (kind, row) in [
        ("images", "Images"),
        ("containers", "Containers"),
        ("volumes", "Volumes"),
        ("build_cache", "BuildCache"),
    ] {
        let expected = summary[row]["Reclaimable"].as_f64().unwrap();
        total += expected;
        assert_eq!(
            prometheus.scalar(&format!("strata_df_reclaimable_bytes{{type=\"{kind}\"}}")),
            expected,
            "{kind}: {summary}"
        );
    }
    assert_eq!(prometheus.scalar("sum(strata_df_reclaimable_bytes)"), total);
    assert_eq!(
        prometheus.scalar("strata_reclaimable_total_bytes"),
        advise["ReclaimableBytes"].as_f64().unwrap()
    );
}

#[test]
fn promtool_accepts_a_scrape() {
    if !programs_usable("Debian's prometheus (promtool)", &[PROMTOOL]) {
        return;
    }
    let store = SynthStore::plant();
    let exporter = Exporter::start(&store.root, &[]);
    let body = exporter.scrape_after_walk();
    assert_promtool_accepts(&body);
    // Every family has its HELP and TYPE; the counter is typed so.
    assert!(
        body.contains("# TYPE strata_scans_total counter\n"),
        "{body}"
    );
    assert!(get(exporter.port, "/nothing").is_some_and(|r| r.status == 404));
}

/// Plants `n` empty files under `dir`, a thousand per directory.
fn plant_files(dir: &Path, n: usize) {
    for i in 0..n {
        let sub = dir.join(format!("d{}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        std::fs::File::create(sub.join(format!("f{i}"))).unwrap();
    }
}

/// A unique directory on a tmpfs when the machine has one (`/dev/shm`: planting many files
/// there takes a fraction of the time it takes on a disk), else in the temp directory.
fn fast_tempdir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().unwrap())
}

#[test]
fn a_scrape_during_a_walk_does_not_wait_for_it() {
    let dir = fast_tempdir();
    let store = SynthStore::plant_in(dir.path());
    plant_files(&store.volume_data(), 200_000);
    // Walks back to back: a scrape almost always meets one running.
    let exporter = Exporter::start(&store.root, &["--walk-interval", "10ms"]);
    let counts = |body: &str| {
        (
            value(body, "strata_scan_in_progress", &[]),
            value(body, "strata_scans_total", &[("phase", "walk")]),
            value(body, "strata_scans_total", &[("phase", "metadata")]),
        )
    };
    // Two scrapes in a row, both answered while one and the same walk was running (no walk
    // completed between them), each with a metadata scan of its own: neither waited for the
    // walk. A scrape that waited would end with the walk, so the next one would see another
    // walk counted.
    let mut previous: Option<String> = None;
    let during = poll(
        "two scrapes in a row during one walk",
        || exporter.daemon.context(),
        || {
            let body = exporter.scrape();
            let pair = previous.as_deref().is_some_and(|before| {
                let (running_before, walks_before, loads_before) = counts(before);
                let (running, walks, loads) = counts(&body);
                running_before == 1.0
                    && running == 1.0
                    && walks == walks_before
                    && loads > loads_before
            });
            previous = Some(body.clone());
            pair.then_some(body)
        },
    );
    let walks_before = value(&during, "strata_scans_total", &[("phase", "walk")]);
    // The metadata part is fresh in it.
    assert_eq!(value(&during, "strata_images", &[]), 2.0, "{during}");
    // The walk running then completes only after that response.
    poll(
        "the walk to complete",
        || exporter.daemon.context(),
        || {
            let body = exporter.scrape();
            (value(&body, "strata_scans_total", &[("phase", "walk")]) > walks_before).then_some(())
        },
    );
}

/// The lines of the families recomputed on each scrape, and the metadata scan counter.
fn metadata_part(body: &str) -> Vec<&str> {
    body.lines()
        .filter(|l| {
            METADATA_FAMILIES.iter().any(|f| {
                l.strip_prefix(f)
                    .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
            }) || l.starts_with("strata_scans_total{") && l.contains("phase=\"metadata\"")
        })
        .collect()
}

#[test]
fn concurrent_scrapes_share_one_metadata_scan() {
    const SCRAPES: usize = 8;
    let store = SynthStore::plant();
    let exporter = Exporter::start(&store.root, &["--walk-interval", "1m"]);
    let before = exporter.scrape();
    let bodies: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..SCRAPES)
            .map(|_| s.spawn(|| exporter.scrape()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let after = exporter.scrape();
    let loads = |b: &str| value(b, "strata_scans_total", &[("phase", "metadata")]);
    let joined = |b: &str| value(b, "strata_scrapes_coalesced_total", &[]);
    // Every scrape of the burst either loaded the metadata or joined a load running.
    let burst_loads = loads(&after) - loads(&before) - 1.0;
    let burst_joins = joined(&after) - joined(&before);
    assert_eq!(burst_loads + burst_joins, SCRAPES as f64);
    // Scrapes served by one load have the same metadata part, to the byte.
    let mut by_load: BTreeMap<u64, Vec<&String>> = BTreeMap::new();
    for b in &bodies {
        by_load.entry(loads(b) as u64).or_default().push(b);
    }
    assert_eq!(by_load.len() as f64, burst_loads, "{by_load:?}");
    for group in by_load.values() {
        for b in group {
            assert_eq!(metadata_part(b), metadata_part(group[0]));
        }
    }
}

#[test]
fn textfile_is_written_atomically_and_node_exporter_serves_it() {
    if !programs_usable(
        "Debian's prometheus (promtool) and prometheus-node-exporter",
        &[PROMTOOL, NODE_EXPORTER],
    ) {
        return;
    }
    let store = SynthStore::plant();
    let dir = tempfile::tempdir().unwrap();
    let run = strata_on(
        &store.root,
        &["exporter", "--textfile", dir.path().to_str().unwrap()],
    );
    run.assert_success();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["strata.prom"], "no temporary file is left");
    let file = dir.path().join("strata.prom");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    let text = std::fs::read_to_string(&file).unwrap();
    assert_promtool_accepts(&text);
    assert_eq!(value(&text, "strata_scan_in_progress", &[]), 0.0);

    let port = free_port();
    let mut cmd = Command::new(NODE_EXPORTER);
    cmd.arg("--collector.disable-defaults")
        .arg("--collector.textfile")
        .arg(format!(
            "--collector.textfile.directory={}",
            dir.path().display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let node = Daemon::spawn(cmd);
    let served = poll(
        "node_exporter to serve the file",
        || node.context(),
        || {
            get(port, "/metrics")
                .filter(|r| r.status == 200 && r.body.contains("strata_store_info"))
                .map(|r| r.body)
        },
    );
    let strata_only = |samples: BTreeMap<Series, f64>| -> BTreeMap<Series, f64> {
        samples
            .into_iter()
            .filter(|((n, _), _)| n.starts_with("strata_"))
            .collect()
    };
    assert_eq!(strata_only(parse(&served)), strata_only(parse(&text)));
    drop(node);
}

#[test]
fn top_one_keeps_one_image_and_sums_the_rest() {
    let store = SynthStore::plant();
    let exporter = Exporter::start(&store.root, &["--top", "1"]);
    let body = exporter.scrape();
    let df = json_of(&store.root, "df");
    let total: f64 = df["Images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["Size"].as_f64().unwrap())
        .sum();
    let series = family(&body, "strata_image_size_bytes");
    assert_eq!(series.len(), 2, "{body}");
    let other: Vec<_> = series
        .iter()
        .filter(|(l, _)| l["image"] == "_other")
        .collect();
    assert_eq!(other.len(), 1, "{body}");
    assert_eq!(other[0].0["tag"], "");
    assert_eq!(series.iter().map(|(_, v)| v).sum::<f64>(), total);
}

#[test]
fn bad_input_is_a_one_line_error() {
    let store = SynthStore::plant();
    let one_line = |run: &harness::Run, names: &str| {
        assert_eq!(run.code, Some(2), "{run}");
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{run}");
        assert!(run.stderr.contains(names), "{run}");
    };
    let run = strata_on(&store.root, &["exporter", "--listen", "localhost-ish"]);
    one_line(&run, "--listen localhost-ish");
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = strata_on(&store.root, &["exporter", "--listen", &addr]);
    one_line(&run, &format!("--listen {addr}"));
    let inside = store.root.join("containers");
    let run = strata_on(
        &store.root,
        &["exporter", "--textfile", inside.to_str().unwrap()],
    );
    one_line(&run, "inside the store");
    assert!(!inside.join("strata.prom").exists());
    let missing = store.root.join("no-such-root");
    let run = strata_on(&missing, &["exporter"]);
    one_line(&run, &missing.display().to_string());
    let args: Vec<&OsStr> = vec![OsStr::new("exporter"), OsStr::new("--top")];
    let run = harness::run_with_timeout(strata_command(&[], &args), DEADLINE);
    assert_eq!(run.code, Some(2), "{run}");
}

#[test]
fn sigterm_ends_the_exporter_with_exit_0() {
    let store = SynthStore::plant();
    let mut exporter = Exporter::start(&store.root, &[]);
    exporter.scrape();
    assert_eq!(
        exporter.daemon.terminate(),
        Some(0),
        "{}",
        exporter.daemon.context()
    );
}

/// Asserts a scrape (after a walk) says what `strata df --format json` says with the same
/// store `flags`: each image's Size, LayersSize and the reclaimable column.
fn assert_scrape_equals_df(root: &Path, flags: &[&str]) {
    let exporter = Exporter::start(root, flags);
    exporter.scrape_after_walk();
    // The scrape after the walk completed reads the live measurements it made.
    let body = exporter.scrape();
    let mut args = flags.to_vec();
    args.extend(["--format", "json", "df"]);
    let run = strata_on(root, &args);
    assert!(run.code == Some(0) || run.code == Some(1), "{run}");
    let df = run.json();
    assert_eq!(
        value(&body, "strata_layers_size_bytes", &[]),
        df["LayersSize"].as_f64().unwrap()
    );
    let images = df["Images"].as_array().unwrap();
    assert_eq!(family(&body, "strata_image_size_bytes").len(), images.len());
    for img in images {
        let short = &img["Id"].as_str().unwrap()["sha256:".len()..][..12];
        assert_eq!(
            value(&body, "strata_image_size_bytes", &[("image", short)]),
            img["Size"].as_f64().unwrap(),
            "{short}"
        );
    }
    for (kind, row) in [
        ("images", "Images"),
        ("containers", "Containers"),
        ("volumes", "Volumes"),
        ("build_cache", "BuildCache"),
    ] {
        assert_eq!(
            value(&body, "strata_df_reclaimable_bytes", &[("type", kind)]),
            df["Summary"][row]["Reclaimable"].as_f64().unwrap(),
            "{kind}"
        );
    }
}

#[test]
fn on_the_containerd_image_store_a_scrape_says_what_df_says() {
    let Some(store) = fixture::containerd::stopped() else {
        return;
    };
    assert_scrape_equals_df(
        &store.data_root,
        &["--docker-version", &store.docker_version],
    );
}

#[test]
fn on_a_vfs_store_a_scrape_says_what_df_says() {
    let Some(stopped) = fixture::stopped(Driver::Vfs) else {
        return;
    };
    assert_scrape_equals_df(&stopped.data_root, &[]);
}

#[test]
fn on_a_podman_store_the_exporter_serves_valid_metrics() {
    let Some(store) = fixture::podman::stopped() else {
        return;
    };
    if !programs_usable("Debian's prometheus (promtool)", &[PROMTOOL]) {
        return;
    }
    let exporter = Exporter::start(&store.graphroot, &[]);
    exporter.scrape_after_walk();
    let body = exporter.scrape();
    assert_promtool_accepts(&body);
    assert_eq!(
        family(&body, "strata_store_info")[0].0["backend"],
        "containers-storage",
        "{body}"
    );
    let images = value(&body, "strata_images", &[]);
    assert!(images >= 1.0, "{body}");
    assert_eq!(
        family(&body, "strata_image_size_bytes").len() as f64,
        images,
        "{body}"
    );
    assert!(value(&body, "strata_store_bytes", &[("measure", "allocated")]) > 0.0);
}
