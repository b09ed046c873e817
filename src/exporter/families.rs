//! The exporter's metric model: the samples of each family of [`super::catalog`] built from
//! one scan's reports, with label cardinality bounded by `--top`. No I/O here but [`write`],
//! which hands the model to the one writer of the exposition format
//! ([`crate::render::prometheus`]).

use std::io::{self, Write};

use analyzers::usage::df::ImageDf;

use super::catalog::*;
use super::scan::{MetadataScan, ScanStatus, WalkScan};
use crate::render::prometheus::{Family, Value};

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
}
