//! The catalog of every family `strata exporter` serves: name, help, type, labels and which
//! scan refreshes it. README's table is printed from it (`--list-families`), and a test keeps
//! the two in step.

use crate::render::prometheus::Kind;

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

#[cfg(test)]
mod tests {
    use super::*;

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
