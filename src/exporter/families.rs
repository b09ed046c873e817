//! The exporter's metric model: every family it serves ([`Spec`]: name, help, type, labels,
//! which scan feeds it) and the samples built from one scan's reports, with label cardinality
//! bounded by `--top`. No I/O here but [`write`], which hands the model to the one writer of
//! the exposition format ([`crate::render::prometheus`]).

use std::io::{self, Write};

use analyzers::usage::df::ImageDf;

use super::scan::{MetadataScan, ScanStatus, WalkScan};
use crate::render::prometheus::{Family, Kind, Value};

/// Which scan refreshes a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Recomputed on each scrape from the store's metadata.
    Metadata,
    /// From the last completed background walk.
    Walk,
    /// The exporter's own state.
    Exporter,
}

/// One family the exporter serves.
#[derive(Debug)]
pub struct Spec {
    /// The metric name.
    pub name: &'static str,
    /// Its `# HELP` text.
    pub help: &'static str,
    /// Its `# TYPE`.
    pub kind: Kind,
    /// Its label names, in the order samples give their values.
    pub labels: &'static [&'static str],
    /// Which scan feeds it.
    pub refresh: Refresh,
}

macro_rules! spec {
    ($id:ident, $name:literal, $kind:ident, $refresh:ident, [$($label:literal),*], $help:literal) => {
        #[doc = $help]
        pub const $id: Spec = Spec {
            name: $name,
            help: $help,
            kind: Kind::$kind,
            labels: &[$($label),*],
            refresh: Refresh::$refresh,
        };
    };
}

spec!(
    STORE_INFO,
    "strata_store_info",
    Gauge,
    Metadata,
    ["store", "backend", "driver"],
    "The store read: always 1, with the backend that read its metadata and its storage driver."
);
spec!(
    STORE_BYTES,
    "strata_store_bytes",
    Gauge,
    Walk,
    ["store", "driver", "measure"],
    "Bytes under the data root (du's total), allocated or apparent."
);
spec!(
    STORE_OWNER_BYTES,
    "strata_store_owner_bytes",
    Gauge,
    Walk,
    ["store", "kind", "measure"],
    "Bytes under the data root by kind of owner (du's kinds), allocated or apparent."
);
spec!(
    FILESYSTEM_SIZE,
    "strata_filesystem_size_bytes",
    Gauge,
    Metadata,
    ["store"],
    "Bytes of the filesystem holding the data root (statvfs f_blocks * f_frsize)."
);
spec!(FILESYSTEM_AVAIL, "strata_filesystem_avail_bytes", Gauge, Metadata, ["store"],
    "Bytes an unprivileged user can still write on the data root's filesystem (f_bavail * f_frsize).");
spec!(
    IMAGES,
    "strata_images",
    Gauge,
    Metadata,
    ["store"],
    "Images docker images lists (docker system df TOTAL)."
);
spec!(
    CONTAINERS,
    "strata_containers",
    Gauge,
    Metadata,
    ["store", "state"],
    "Containers by state (running, exited, created...)."
);
spec!(
    VOLUMES,
    "strata_volumes",
    Gauge,
    Metadata,
    ["store"],
    "Local volumes docker system df lists."
);
spec!(
    LAYERS_SIZE,
    "strata_layers_size_bytes",
    Gauge,
    Metadata,
    ["store", "driver"],
    "Bytes of the distinct image layers (docker system df LayersSize)."
);
spec!(
    IMAGE_SIZE,
    "strata_image_size_bytes",
    Gauge,
    Metadata,
    ["store", "image", "tag"],
    "Bytes of an image's layers, shared ones included (docker system df -v SIZE)."
);
spec!(
    IMAGE_SHARED,
    "strata_image_shared_size_bytes",
    Gauge,
    Metadata,
    ["store", "image", "tag"],
    "Bytes of an image's layers that another listed image uses too (SHARED SIZE)."
);
spec!(
    IMAGE_UNIQUE,
    "strata_image_unique_size_bytes",
    Gauge,
    Metadata,
    ["store", "image", "tag"],
    "Bytes of an image's layers no other listed image uses (UNIQUE SIZE)."
);
spec!(
    CONTAINER_RW,
    "strata_container_rw_bytes",
    Gauge,
    Walk,
    ["store", "container", "name", "image"],
    "Bytes of a container's writable layer (SizeRw); absent when it cannot be measured."
);
spec!(
    CONTAINER_LOG,
    "strata_container_log_bytes",
    Gauge,
    Metadata,
    ["store", "container", "name"],
    "Bytes of a container's current log file (LogPath)."
);
spec!(
    VOLUME_BYTES,
    "strata_volume_bytes",
    Gauge,
    Walk,
    ["store", "volume"],
    "Bytes of a local volume's data (docker system df -v SIZE); absent when it cannot be measured."
);
spec!(
    VOLUME_REFS,
    "strata_volume_refs",
    Gauge,
    Metadata,
    ["store", "volume"],
    "Containers that mount a local volume (docker system df -v LINKS)."
);
spec!(
    BUILD_CACHE,
    "strata_build_cache_bytes",
    Gauge,
    Walk,
    ["store"],
    "Bytes of BuildKit's cache records not shared (docker system df Build Cache SIZE)."
);
spec!(
    BUILD_CACHE_RECLAIMABLE,
    "strata_build_cache_reclaimable_bytes",
    Gauge,
    Walk,
    ["store"],
    "Bytes of BuildKit's cache records neither shared nor in use (Build Cache RECLAIMABLE)."
);
spec!(
    DF_RECLAIMABLE,
    "strata_df_reclaimable_bytes",
    Gauge,
    Walk,
    ["store", "type"],
    "docker system df's RECLAIMABLE column, by type (images, containers, volumes, build_cache)."
);
spec!(
    RECLAIMABLE,
    "strata_reclaimable_bytes",
    Gauge,
    Walk,
    ["store", "action"],
    "Bytes a cleanup strata advise recommends frees, by action."
);
spec!(
    RECLAIMABLE_TOTAL,
    "strata_reclaimable_total_bytes",
    Gauge,
    Walk,
    ["store"],
    "Bytes every cleanup strata advise recommends frees, each counted on its own."
);
spec!(
    ORPHANED,
    "strata_orphaned_bytes",
    Gauge,
    Walk,
    ["store", "kind"],
    "Allocated bytes of leftovers nothing references (strata orphans), by kind."
);
spec!(
    SCAN_DURATION,
    "strata_scan_duration_seconds",
    Gauge,
    Exporter,
    ["store", "phase"],
    "Wall time of the last completed scan of a phase (metadata: each scrape; walk: background)."
);
spec!(
    SCAN_LAST_SUCCESS,
    "strata_scan_last_success_timestamp_seconds",
    Gauge,
    Exporter,
    ["store", "phase"],
    "When the last scan of a phase completed, Unix seconds."
);
spec!(
    SCAN_IN_PROGRESS,
    "strata_scan_in_progress",
    Gauge,
    Exporter,
    ["store"],
    "1 while a background walk is running."
);
spec!(
    SCAN_PROBLEMS,
    "strata_scan_problems",
    Gauge,
    Exporter,
    ["store", "phase"],
    "Damaged or unreadable records the last scan of a phase met (an unmeasurable size counts one)."
);
spec!(
    SCANS,
    "strata_scans_total",
    Counter,
    Exporter,
    ["store", "phase"],
    "Scans of a phase completed since the exporter started."
);
spec!(
    SCRAPES_COALESCED,
    "strata_scrapes_coalesced_total",
    Counter,
    Exporter,
    ["store"],
    "Scrapes that used the metadata scan of a concurrent scrape instead of scanning again."
);
spec!(
    BUILD_INFO,
    "strata_exporter_build_info",
    Gauge,
    Exporter,
    ["version"],
    "The exporter's build: always 1, with strata's version."
);

/// Every family, in the order they are served.
pub const ALL: &[&Spec] = &[
    &STORE_INFO,
    &STORE_BYTES,
    &STORE_OWNER_BYTES,
    &FILESYSTEM_SIZE,
    &FILESYSTEM_AVAIL,
    &IMAGES,
    &CONTAINERS,
    &VOLUMES,
    &LAYERS_SIZE,
    &IMAGE_SIZE,
    &IMAGE_SHARED,
    &IMAGE_UNIQUE,
    &CONTAINER_RW,
    &CONTAINER_LOG,
    &VOLUME_BYTES,
    &VOLUME_REFS,
    &BUILD_CACHE,
    &BUILD_CACHE_RECLAIMABLE,
    &DF_RECLAIMABLE,
    &RECLAIMABLE,
    &RECLAIMABLE_TOTAL,
    &ORPHANED,
    &SCAN_DURATION,
    &SCAN_LAST_SUCCESS,
    &SCAN_IN_PROGRESS,
    &SCAN_PROBLEMS,
    &SCANS,
    &SCRAPES_COALESCED,
    &BUILD_INFO,
];

impl Refresh {
    /// How the README's table says it.
    fn word(self) -> &'static str {
        match self {
            Refresh::Metadata => "each scrape",
            Refresh::Walk => "walk",
            Refresh::Exporter => "exporter",
        }
    }
}

/// Every family as a Markdown table (name, type, labels, refreshed, meaning): what
/// `strata exporter --list-families` prints and README's section holds.
pub fn markdown_table() -> String {
    let mut text = String::from(
        "| family | type | labels | refreshed | meaning |\n| --- | --- | --- | --- | --- |\n",
    );
    for spec in ALL {
        let kind = match spec.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        text.push_str(&format!(
            "| `{}` | {kind} | {} | {} | {} |\n",
            spec.name,
            spec.labels.join(", "),
            spec.refresh.word(),
            spec.help
        ));
    }
    text
}

/// The label value of the one series that sums everything past `--top`.
pub const OTHER: &str = "_other";

/// One sample: its label values (in its family's [`Spec::labels`] order) and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Label values.
    pub labels: Vec<String>,
    /// The value.
    pub value: Value,
}

/// A family with its samples.
#[derive(Debug, Clone)]
pub struct MetricFamily {
    /// What it is.
    pub spec: &'static Spec,
    /// Its samples.
    pub samples: Vec<Sample>,
}

impl MetricFamily {
    fn new(spec: &'static Spec) -> MetricFamily {
        MetricFamily {
            spec,
            samples: Vec::new(),
        }
    }

    /// Adds a sample; `labels` must give one value per label of the spec.
    fn push(&mut self, labels: &[&str], value: impl Into<Value>) {
        debug_assert_eq!(labels.len(), self.spec.labels.len(), "{}", self.spec.name);
        self.samples.push(Sample {
            labels: labels.iter().map(|l| (*l).to_owned()).collect(),
            value: value.into(),
        });
    }

    /// The family with one sample.
    fn one(spec: &'static Spec, labels: &[&str], value: impl Into<Value>) -> MetricFamily {
        let mut f = MetricFamily::new(spec);
        f.push(labels, value);
        f
    }
}

/// Writes `families` in the text format; a family without samples is left out.
pub fn write(out: &mut dyn Write, families: &[MetricFamily]) -> io::Result<()> {
    for f in families.iter().filter(|f| !f.samples.is_empty()) {
        let mut family = Family::new(out, f.spec.name, f.spec.help, f.spec.kind)?;
        for s in &f.samples {
            let labels: Vec<(&str, &str)> = f
                .spec
                .labels
                .iter()
                .copied()
                .zip(s.labels.iter().map(String::as_str))
                .collect();
            family.sample(&labels, s.value)?;
        }
    }
    Ok(())
}

/// Splits `items` into the `n` largest by `size` (largest first; ties in `items`' order) and
/// the rest, whose sizes the `_other` series sums.
fn largest<T>(items: &[T], n: usize, size: impl Fn(&T) -> i64) -> (Vec<&T>, Vec<&T>) {
    let mut sorted: Vec<&T> = items.iter().collect();
    sorted.sort_by_key(|t| std::cmp::Reverse(size(t)));
    let rest = sorted.split_off(n.min(sorted.len()));
    (sorted, rest)
}

/// Adds one sample per item of `top` (labels from `labels`) and, when `rest` is not empty,
/// the `_other` sample summing theirs (first item label `_other`, the others empty).
fn bounded<T>(
    family: &mut MetricFamily,
    store: &str,
    (top, rest): (&[&T], &[&T]),
    labels: impl Fn(&T) -> Vec<String>,
    value: impl Fn(&T) -> i64,
) {
    for t in top {
        let mut l = vec![store.to_owned()];
        l.extend(labels(t));
        let l: Vec<&str> = l.iter().map(String::as_str).collect();
        family.push(&l, value(t));
    }
    if !rest.is_empty() {
        let sum: i64 = rest.iter().map(|t| value(t).max(0)).sum();
        let mut l = vec![store, OTHER];
        l.resize(family.spec.labels.len(), "");
        family.push(&l, sum);
    }
}

/// The family `spec` with a series for each of the `top` largest `items` by `value` and one
/// `_other` series for the rest.
fn top_family<T>(
    spec: &'static Spec,
    store: &str,
    items: &[T],
    top: usize,
    labels: impl Fn(&T) -> Vec<String>,
    value: impl Fn(&T) -> i64,
) -> MetricFamily {
    let (first, rest) = largest(items, top, &value);
    let mut f = MetricFamily::new(spec);
    bounded(&mut f, store, (&first, &rest), labels, value);
    f
}

/// The families the metadata scan feeds.
pub fn metadata_families(m: &MetadataScan, top: usize) -> Vec<MetricFamily> {
    let store = m.store.as_str();
    let mut out = vec![
        MetricFamily::one(&STORE_INFO, &[store, m.backend, &m.driver], 1_i64),
        MetricFamily::one(&IMAGES, &[store], m.images.len()),
        MetricFamily::one(&VOLUMES, &[store], m.volumes.len()),
        MetricFamily::one(&LAYERS_SIZE, &[store, &m.driver], m.layers_size),
    ];
    if let Some(fs) = &m.filesystem {
        out.push(MetricFamily::one(&FILESYSTEM_SIZE, &[store], fs.size));
        out.push(MetricFamily::one(&FILESYSTEM_AVAIL, &[store], fs.available));
    }
    let mut states = MetricFamily::new(&CONTAINERS);
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for c in &m.containers {
        *counts.entry(c.state).or_default() += 1;
    }
    for (state, n) in counts {
        states.push(&[store, state], n);
    }
    out.push(states);

    let images = largest(&m.images, top, |i| i.size);
    let image_labels = |i: &ImageDf| {
        vec![
            i.id.digest().short().to_owned(),
            crate::render::df::first_tag(i).to_owned(),
        ]
    };
    for (spec, value) in [
        (&IMAGE_SIZE, (|i: &ImageDf| i.size) as fn(&ImageDf) -> i64),
        (&IMAGE_SHARED, |i: &ImageDf| i.shared_size),
        (&IMAGE_UNIQUE, |i: &ImageDf| i.unique_size),
    ] {
        let mut f = MetricFamily::new(spec);
        bounded(
            &mut f,
            store,
            (&images.0, &images.1),
            image_labels,
            |i: &ImageDf| value(i),
        );
        out.push(f);
    }

    let logged: Vec<_> = m
        .containers
        .iter()
        .filter(|c| c.log_bytes.is_some())
        .collect();
    out.push(top_family(
        &CONTAINER_LOG,
        store,
        &logged,
        top,
        |c| vec![c.id.clone(), c.name.clone()],
        |c| to_i64(c.log_bytes.unwrap_or(0)),
    ));
    out.push(top_family(
        &VOLUME_REFS,
        store,
        &m.volumes,
        top,
        |v| vec![v.name.clone()],
        |v| to_i64(v.refs),
    ));
    out
}

/// The families the background walk feeds.
pub fn walk_families(w: &WalkScan, top: usize) -> Vec<MetricFamily> {
    let store = w.store.as_str();
    let du = &w.du;
    let df = &du.df;
    let mut out = Vec::new();

    let mut f = MetricFamily::new(&STORE_BYTES);
    f.push(&[store, &du.driver, "allocated"], du.total.allocated);
    f.push(&[store, &du.driver, "apparent"], du.total.apparent);
    out.push(f);
    let mut f = MetricFamily::new(&STORE_OWNER_BYTES);
    for k in &du.kinds {
        let kind = crate::render::du::kind_slug(k.kind);
        f.push(&[store, kind, "allocated"], k.sizes.allocated);
        f.push(&[store, kind, "apparent"], k.sizes.apparent);
    }
    out.push(f);

    let measured: Vec<_> = df.containers.iter().filter(|c| c.size_rw >= 0).collect();
    out.push(top_family(
        &CONTAINER_RW,
        store,
        &measured,
        top,
        |c| {
            vec![
                c.id[..12.min(c.id.len())].to_owned(),
                crate::render::df::container_name(c).to_owned(),
                c.image.clone(),
            ]
        },
        |c| c.size_rw,
    ));
    let sized: Vec<_> = df
        .volumes
        .iter()
        .filter(|v| v.usage_data.size >= 0)
        .collect();
    out.push(top_family(
        &VOLUME_BYTES,
        store,
        &sized,
        top,
        |v| vec![v.name.clone()],
        |v| v.usage_data.size,
    ));

    let s = &df.summary;
    out.push(MetricFamily::one(
        &BUILD_CACHE,
        &[store],
        s.build_cache.size,
    ));
    out.push(MetricFamily::one(
        &BUILD_CACHE_RECLAIMABLE,
        &[store],
        s.build_cache.reclaimable,
    ));
    let mut f = MetricFamily::new(&DF_RECLAIMABLE);
    for (kind, row) in [
        ("images", s.images),
        ("containers", s.containers),
        ("volumes", s.volumes),
        ("build_cache", s.build_cache),
    ] {
        f.push(&[store, kind], row.reclaimable);
    }
    out.push(f);

    let mut f = MetricFamily::new(&RECLAIMABLE);
    for (action, bytes) in analyzers::advice::by_action(&w.advice) {
        f.push(&[store, action], bytes);
    }
    out.push(f);
    out.push(MetricFamily::one(
        &RECLAIMABLE_TOTAL,
        &[store],
        w.advice.reclaimable_bytes,
    ));
    let mut f = MetricFamily::new(&ORPHANED);
    for (kind, bytes) in crate::render::orphans::bytes_by_kind(&w.orphans) {
        f.push(&[store, &kind], bytes);
    }
    out.push(f);
    out
}

/// The families of the exporter's own state.
pub fn status_families(s: &ScanStatus) -> Vec<MetricFamily> {
    let store = s.store.as_str();
    let mut duration = MetricFamily::new(&SCAN_DURATION);
    let mut last = MetricFamily::new(&SCAN_LAST_SUCCESS);
    let mut problems = MetricFamily::new(&SCAN_PROBLEMS);
    let mut scans = MetricFamily::new(&SCANS);
    for (phase, p) in [("metadata", &s.metadata), ("walk", &s.walk)] {
        scans.push(&[store, phase], p.scans);
        if let Some(done) = &p.last {
            duration.push(&[store, phase], done.duration.as_secs_f64());
            last.push(&[store, phase], done.finished_unix);
            problems.push(&[store, phase], done.problems);
        }
    }
    vec![
        duration,
        last,
        MetricFamily::one(&SCAN_IN_PROGRESS, &[store], i64::from(s.walk_in_progress)),
        problems,
        scans,
        MetricFamily::one(&SCRAPES_COALESCED, &[store], s.coalesced),
        MetricFamily::one(&BUILD_INFO, &[env!("CARGO_PKG_VERSION")], 1_i64),
    ]
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(families: &[MetricFamily]) -> String {
        let mut text = Vec::new();
        write(&mut text, families).unwrap();
        String::from_utf8(text).unwrap()
    }

    #[test]
    fn largest_keeps_the_top_n_and_the_rest() {
        let sizes = [3_i64, 10, 7, 1];
        let (top, rest) = largest(&sizes, 2, |s| *s);
        assert_eq!(top, [&10, &7]);
        assert_eq!(rest, [&3, &1]);
        let (top, rest) = largest(&sizes, 9, |s| *s);
        assert_eq!(top.len(), 4);
        assert!(rest.is_empty());
    }

    #[test]
    fn the_rest_is_one_other_series_with_empty_labels() {
        let items = [("a", 5_i64), ("b", 3), ("c", 2), ("d", -1)];
        let f = top_family(
            &CONTAINER_LOG,
            "/s",
            &items,
            1,
            |i| vec![i.0.to_owned(), format!("n-{}", i.0)],
            |i| i.1,
        );
        let text = text_of(&[f]);
        // -1 (unknown) is not summed into the rest.
        assert!(
            text.ends_with(
                "strata_container_log_bytes{store=\"/s\",container=\"a\",name=\"n-a\"} 5\n\
             strata_container_log_bytes{store=\"/s\",container=\"_other\",name=\"\"} 5\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let f = MetricFamily::one(&VOLUME_REFS, &["/a\"b", "x\\y\nz"], 2_i64);
        let text = text_of(&[f]);
        assert!(
            text.contains("strata_volume_refs{store=\"/a\\\"b\",volume=\"x\\\\y\\nz\"} 2\n"),
            "{text}"
        );
    }

    #[test]
    fn names_follow_prometheus_conventions() {
        let mut seen = std::collections::BTreeSet::new();
        for spec in ALL {
            assert!(seen.insert(spec.name), "{} twice", spec.name);
            assert!(spec.name.starts_with("strata_"), "{}", spec.name);
            assert!(
                spec.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                spec.name
            );
            assert_eq!(
                spec.kind == Kind::Counter,
                spec.name.ends_with("_total"),
                "{}: counters and only counters end in _total",
                spec.name
            );
            assert!(
                spec.labels.iter().all(|l| !l.starts_with("__")),
                "{}",
                spec.name
            );
        }
    }

    #[test]
    fn readme_holds_the_table_of_families() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("## `strata exporter`")
            .nth(1)
            .expect("README has a `strata exporter` section");
        assert!(
            section.contains(&markdown_table()),
            "README's exporter section must hold `strata exporter --list-families`:\n{}",
            markdown_table()
        );
    }
}
