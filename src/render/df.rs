//! `strata df [-v]` as the Docker CLI prints `docker system df [-v]`.

use std::io::{self, Write};

use analyzers::units::{human_duration, human_size};
use analyzers::usage::df::{ContainerDf, DfReport, ImageDf};
use analyzers::usage::libpod::SummaryRow as Line;
use analyzers::usage::summary::TypeSummary;
use comfy_table::Table;
use serde::Serialize;

use super::{docker_table, name, write_table, SizeStyle};

/// The verbose images table's columns (Docker's and podman's alike).
pub const IMAGES_HEADER: &[&str] = &[
    "REPOSITORY",
    "TAG",
    "IMAGE ID",
    "CREATED",
    "SIZE",
    "SHARED SIZE",
    "UNIQUE SIZE",
    "CONTAINERS",
];
/// The verbose containers table's columns (Docker's and podman's alike).
pub const CONTAINERS_HEADER: &[&str] = &[
    "CONTAINER ID",
    "IMAGE",
    "COMMAND",
    "LOCAL VOLUMES",
    "SIZE",
    "CREATED",
    "STATUS",
    "NAMES",
];
/// The verbose volumes table's columns (Docker's and podman's alike).
pub const VOLUMES_HEADER: &[&str] = &["VOLUME NAME", "LINKS", "SIZE"];

/// Commands longer than this are cut with an ellipsis, as `docker ps` does.
const COMMAND_WIDTH: usize = 20;

/// One row of a `system df` summary table (Docker's, [`summary_rows`], or podman's,
/// [`super::libpod::summary_rows`]), in bytes: what `strata df` prints and the HTML page shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryRow {
    /// TYPE, TOTAL, ACTIVE, SIZE and RECLAIMABLE, as podman's summary holds them (Docker's
    /// has the same five: `Images`, `Containers`, `Local Volumes`, `Build Cache`, and
    /// strata's `Other drivers`).
    #[serde(flatten)]
    pub line: Line,
    /// Entries whose size could not be measured (a writable layer in a pool that is not
    /// mounted): counted as unknown, never as 0.
    pub unknown: usize,
    /// The reclaimable bytes' share of `size` in percent, as the tool prints it (the Docker
    /// CLI gives none for the build cache or an empty size, and truncates; podman rounds).
    pub reclaimable_percent: Option<i64>,
}

/// A count as the summary holds it.
fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The Docker CLI's share: truncated, and none of an empty size.
fn docker_share(bytes: i64, total: i64) -> Option<i64> {
    (total > 0).then(|| bytes * 100 / total)
}

/// The row of `kind` from its figures ([`analyzers::usage::summary::DfSummary`]), with the
/// Docker CLI's share (`percent`) or none (the build cache's).
fn docker_row(kind: &'static str, s: &TypeSummary, percent: bool) -> SummaryRow {
    SummaryRow {
        line: Line {
            kind,
            total: count(s.total),
            active: count(s.active),
            size: s.size,
            reclaimable: s.reclaimable,
        },
        unknown: s.unknown,
        reclaimable_percent: percent
            .then(|| docker_share(s.reclaimable, s.size))
            .flatten(),
    }
}

/// The summary's rows as the Docker CLI prints them (`cli/command/formatter/disk_usage.go`),
/// with strata's row for other drivers' data when there is any.
pub fn summary_rows(r: &DfReport) -> Vec<SummaryRow> {
    let f = &r.summary;
    let mut rows = vec![
        docker_row("Images", &f.images, true),
        docker_row("Containers", &f.containers, true),
        docker_row("Local Volumes", &f.volumes, true),
        docker_row("Build Cache", &f.build_cache, false),
    ];
    // strata's row: the other drivers' data, none of it in use.
    if f.other_drivers.total > 0 {
        rows.push(docker_row("Other drivers", &f.other_drivers, true));
    }
    rows
}

/// The summary table: one row per kind with TOTAL, ACTIVE, SIZE and RECLAIMABLE.
pub fn summary(out: &mut dyn Write, r: &DfReport, style: SizeStyle) -> io::Result<()> {
    writeln!(out, "{}", driver_line(r))?;
    write_table(out, &summary_table(&summary_rows(r), style))
}

/// `TYPE TOTAL ACTIVE SIZE RECLAIMABLE`, one line per row.
pub fn summary_table(rows: &[SummaryRow], style: SizeStyle) -> Table {
    let mut t = docker_table(&["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"]);
    for row in rows {
        let line = &row.line;
        let size = match row.unknown {
            0 => style.size(line.size),
            n => format!("{} (+{n} unknown)", style.size(line.size)),
        };
        let reclaimable = match row.reclaimable_percent {
            Some(percent) => format!("{} ({percent}%)", style.size(line.reclaimable)),
            None => style.size(line.reclaimable),
        };
        t.add_row(vec![
            line.kind.to_owned(),
            line.total.to_string(),
            line.active.to_string(),
            size,
            reclaimable,
        ]);
    }
    t
}

/// `Storage driver: overlay2`, naming the other drivers that left data in the root too, and
/// for the containerd image store the accounting rules followed.
fn driver_line(r: &DfReport) -> String {
    let others: Vec<&str> = r
        .drivers
        .iter()
        .filter(|d| d.name != r.driver)
        .map(|d| d.name.as_str())
        .collect();
    let line = if others.is_empty() {
        format!("Storage driver: {}", r.driver)
    } else {
        format!(
            "Storage driver: {} (data of other drivers also here: {}; see --driver)",
            r.driver,
            others.join(", ")
        )
    };
    // Where a driver keeps its layers in a pool, what the root says of it.
    let line = r
        .drivers
        .iter()
        .filter_map(|d| d.pool.as_ref().map(|p| (d, p)))
        .fold(line, |line, (d, pool)| {
            let mut facts: Vec<String> = pool
                .files
                .iter()
                .map(|f| {
                    format!(
                        "{} {} apparent, {} allocated",
                        crate::render::path(&f.path),
                        human_size(f.apparent_bytes as f64),
                        human_size(f.allocated_bytes as f64)
                    )
                })
                .collect();
            if let (Some(n), Some(bytes)) = (pool.devices, pool.virtual_bytes) {
                facts.push(format!(
                    "{n} layer devices, {} virtual",
                    human_size(bytes as f64)
                ));
            }
            let facts = if facts.is_empty() {
                String::new()
            } else {
                format!(": {}", facts.join("; "))
            };
            format!(
                "{line}\nPool ({}): {}{facts}\n  {}",
                d.name, pool.kind, pool.unknown
            )
        });
    // The containerd image store's figures follow one dockerd release's rules: say which.
    match &r.accounting {
        Some(a) => format!(
            "{line}\nAccounting: {} rules (dockerd {}, from {}); containerd root {} ({})",
            a.rule,
            a.docker_version,
            a.source,
            crate::render::path(&a.containerd_root),
            a.containerd_root_found_by
        ),
        None => line,
    }
}

/// The verbose report: images, containers, volumes and build cache, each its own table.
pub fn verbose(out: &mut dyn Write, r: &DfReport, style: SizeStyle, now: i64) -> io::Result<()> {
    let ago = |t: i64| format!("{} ago", human_duration(now - t));
    writeln!(out, "{}\n", driver_line(r))?;
    writeln!(out, "Images space usage:\n")?;
    let mut t = docker_table(IMAGES_HEADER);
    for img in &r.images {
        let tags = img.repo_tags.clone().unwrap_or_default();
        let tags = if tags.is_empty() {
            vec!["<none>:<none>".to_owned()]
        } else {
            tags
        };
        for tag in tags {
            let (repo, tag) = tag.rsplit_once(':').unwrap_or((&tag, "<none>"));
            t.add_row(vec![
                name(repo),
                name(tag),
                img.id.digest().short().to_owned(),
                ago(img.created),
                style.size(img.size),
                style.size(img.shared_size),
                style.size(img.unique_size),
                img.containers.to_string(),
            ]);
        }
    }
    write_table(out, &t)?;
    writeln!(out, "\nContainers space usage:\n")?;
    let mut t = docker_table(CONTAINERS_HEADER);
    for c in &r.containers {
        let volumes = c.mounts.iter().filter(|m| m.driver == "local").count();
        let image = if c.image.starts_with("sha256:") {
            c.image_id.digest().short().to_owned()
        } else {
            name(&c.image)
        };
        t.add_row(vec![
            c.id[..12.min(c.id.len())].to_owned(),
            image,
            format!("\"{}\"", name(&ellipsis(&c.command, COMMAND_WIDTH))),
            volumes.to_string(),
            style.size_with_precision(c.size_rw, 3),
            ago(c.created),
            name(&c.status),
            name(
                &c.names
                    .iter()
                    .map(|n| n.trim_start_matches('/'))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        ]);
    }
    write_table(out, &t)?;
    writeln!(out, "\nLocal Volumes space usage:\n")?;
    let mut t = docker_table(VOLUMES_HEADER);
    for v in &r.volumes {
        t.add_row(vec![
            name(&v.name),
            v.usage_data.ref_count.to_string(),
            style.size(v.usage_data.size),
        ]);
    }
    write_table(out, &t)?;
    writeln!(out, "\nBuild cache usage: {}\n", style.size(r.builder_size))?;
    write_table(out, &build_cache_table(r, style))?;
    if r.other_drivers.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nOther drivers' data (not the driver read; all reclaimable):\n"
    )?;
    let mut t = docker_table(&["DRIVER", "SIZE", "RECLAIMABLE", "PATHS"]);
    for d in &r.other_drivers {
        let paths: Vec<String> = d.paths.iter().map(|p| crate::render::path(p)).collect();
        t.add_row(vec![
            name(&d.name),
            style.bytes(d.size),
            style.bytes(d.disk_usage),
            paths.join(" "),
        ]);
    }
    write_table(out, &t)
}

fn build_cache_table(r: &DfReport, style: SizeStyle) -> Table {
    let mut t = docker_table(&[
        "CACHE ID",
        "CACHE TYPE",
        "SIZE",
        "CREATED",
        "LAST USED",
        "USAGE",
        "SHARED",
    ]);
    for b in &r.build_cache {
        t.add_row(vec![
            b.id[..12.min(b.id.len())].to_owned(),
            name(&b.record_type),
            style.size(b.size),
            name(&b.created_at),
            name(b.last_used_at.as_deref().unwrap_or_default()),
            b.usage_count.to_string(),
            b.shared.to_string(),
        ]);
    }
    t
}

/// Cuts `s` to `width` characters, ending in `…` when cut (Docker's `Ellipsis`).
fn ellipsis(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_owned()
    } else {
        let mut cut: String = s.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

/// The tag an image's samples carry: its first, or `<none>:<none>`.
pub fn first_tag(i: &ImageDf) -> &str {
    i.repo_tags
        .as_ref()
        .and_then(|t| t.first())
        .map_or("<none>:<none>", String::as_str)
}

/// The name a container's samples carry: its first, without the leading `/`.
pub fn container_name(c: &ContainerDf) -> &str {
    c.names.first().map_or("", |n| n.trim_start_matches('/'))
}

/// The report as Prometheus gauges: Docker's totals, and one sample per image, container and
/// volume, labelled by id and name.
pub fn prometheus(out: &mut dyn Write, r: &DfReport) -> io::Result<()> {
    use super::prometheus::Gauge;
    let driver = r.driver.as_str();
    Gauge::new(
        out,
        "strata_layers_size_bytes",
        "Bytes of the distinct image layers (docker system df LayersSize).",
    )?
    .sample(&[("driver", driver)], r.layers_size)?;
    let mut g = Gauge::new(
        out,
        "strata_image_size_bytes",
        "Bytes of an image's layers, shared ones included.",
    )?;
    for i in &r.images {
        g.sample(
            &[("image", i.id.digest().short()), ("tag", first_tag(i))],
            i.size,
        )?;
    }
    let mut g = Gauge::new(
        out,
        "strata_image_unique_size_bytes",
        "Bytes of an image's layers that no other listed image uses.",
    )?;
    for i in &r.images {
        g.sample(&[("image", i.id.digest().short())], i.unique_size)?;
    }
    let mut g = Gauge::new(
        out,
        "strata_container_size_rw_bytes",
        "Bytes of a container's writable layer (SizeRw); -1 when unreadable.",
    )?;
    for c in &r.containers {
        let name = container_name(c);
        g.sample(
            &[
                ("container", &c.id[..12.min(c.id.len())]),
                ("name", name),
                ("state", &c.state),
            ],
            c.size_rw,
        )?;
    }
    let mut g = Gauge::new(
        out,
        "strata_volume_size_bytes",
        "Bytes of a local volume's data; -1 when unreadable.",
    )?;
    for v in &r.volumes {
        let refs = v.usage_data.ref_count.to_string();
        g.sample(&[("volume", &v.name), ("refs", &refs)], v.usage_data.size)?;
    }
    Gauge::new(
        out,
        "strata_build_cache_size_bytes",
        "Bytes of BuildKit's cache records (BuilderSize).",
    )?
    .sample(&[], r.builder_size)?;
    let mut g = Gauge::new(
        out,
        "strata_other_driver_bytes",
        "Allocated bytes of a storage driver's data other than the driver read (reclaimable).",
    )?;
    for d in &r.other_drivers {
        g.sample(
            &[("driver", driver), ("other", &d.name)],
            i64::try_from(d.disk_usage).unwrap_or(i64::MAX),
        )?;
    }
    Gauge::new(
        out,
        "strata_problems",
        "Damaged or inconsistent records found in the store.",
    )?
    .sample(&[], i64::try_from(r.problems.len()).unwrap_or(i64::MAX))
}
