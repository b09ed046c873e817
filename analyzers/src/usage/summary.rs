//! The summary rows of `docker system df` (TYPE, TOTAL, ACTIVE, SIZE, RECLAIMABLE), computed
//! as the Docker CLI does from the verbose answer (`cli/command/formatter/disk_usage.go`:
//! `ImagesTotalSize`... `ContainersReclaimable`, `VolumesReclaimable`, `BuildCacheReclaimable`).
//! One home for these figures: the table, the JSON `Summary` and the exporter read them here.

use serde::Serialize;

use super::df::DfReport;

/// One row of the summary table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TypeSummary {
    /// Entries of the type (TOTAL).
    pub total: usize,
    /// Entries in use (ACTIVE): images with containers, running containers, volumes with
    /// references, build cache records in use.
    pub active: usize,
    /// Bytes of the type (SIZE); entries whose size is unknown count 0.
    pub size: i64,
    /// Bytes a prune of the type frees (RECLAIMABLE).
    pub reclaimable: i64,
    /// Entries whose size could not be measured (counted 0 in `size`).
    pub unknown: usize,
}

/// `docker system df`'s summary, plus strata's row for other drivers' data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DfSummary {
    /// Images: SIZE is `LayersSize`; RECLAIMABLE what the images without containers hold
    /// alone (`LayersSize` minus the unique sizes of the images in use).
    pub images: TypeSummary,
    /// Containers: SIZE sums `SizeRw`; RECLAIMABLE that of the containers not running,
    /// paused or restarting.
    pub containers: TypeSummary,
    /// Local volumes: SIZE sums their sizes; RECLAIMABLE that of the unreferenced ones.
    pub volumes: TypeSummary,
    /// Build cache: SIZE sums the records not shared; RECLAIMABLE those not in use either.
    pub build_cache: TypeSummary,
    /// strata: the data of the drivers other than the one read, all of it reclaimable
    /// (allocated bytes).
    pub other_drivers: TypeSummary,
}

impl DfSummary {
    /// The summary of `r`.
    pub fn of(r: &DfReport) -> DfSummary {
        let running =
            |s: &str| s.contains("running") || s.contains("paused") || s.contains("restarting");
        let known = |s: i64| s.max(0);
        let images_used: i64 = r
            .images
            .iter()
            .filter(|i| i.containers > 0 && i.size >= 0 && i.shared_size >= 0)
            .map(|i| i.size - i.shared_size)
            .sum();
        let other_bytes: u64 = r.other_drivers.iter().map(|d| d.disk_usage).sum();
        let other_bytes = i64::try_from(other_bytes).unwrap_or(i64::MAX);
        DfSummary {
            images: TypeSummary {
                total: r.images.len(),
                active: r.images.iter().filter(|i| i.containers > 0).count(),
                size: r.layers_size,
                reclaimable: r.layers_size - images_used,
                unknown: r.images.iter().filter(|i| i.size < 0).count(),
            },
            containers: TypeSummary {
                total: r.containers.len(),
                active: r.containers.iter().filter(|c| running(&c.state)).count(),
                size: r.containers.iter().map(|c| known(c.size_rw)).sum(),
                reclaimable: r
                    .containers
                    .iter()
                    .filter(|c| !running(&c.state))
                    .map(|c| known(c.size_rw))
                    .sum(),
                unknown: r.containers.iter().filter(|c| c.size_rw < 0).count(),
            },
            volumes: TypeSummary {
                total: r.volumes.len(),
                active: r
                    .volumes
                    .iter()
                    .filter(|v| v.usage_data.ref_count > 0)
                    .count(),
                size: r.volumes.iter().map(|v| known(v.usage_data.size)).sum(),
                reclaimable: r
                    .volumes
                    .iter()
                    .filter(|v| v.usage_data.ref_count == 0)
                    .map(|v| known(v.usage_data.size))
                    .sum(),
                unknown: r.volumes.iter().filter(|v| v.usage_data.size < 0).count(),
            },
            build_cache: TypeSummary {
                total: r.build_cache.len(),
                active: r.build_cache.iter().filter(|b| b.in_use).count(),
                size: r
                    .build_cache
                    .iter()
                    .filter(|b| !b.shared)
                    .map(|b| b.size)
                    .sum(),
                reclaimable: r
                    .build_cache
                    .iter()
                    .filter(|b| !b.shared && !b.in_use)
                    .map(|b| b.size)
                    .sum(),
                unknown: 0,
            },
            other_drivers: TypeSummary {
                total: r.other_drivers.len(),
                active: 0,
                size: other_bytes,
                reclaimable: other_bytes,
                unknown: 0,
            },
        }
    }
}
