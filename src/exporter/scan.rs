//! What one scan of each phase gathers from the store: the metadata scan (each scrape:
//! [`Store::load`], recorded sizes, counts, states, references, log file sizes, the
//! filesystem's statvfs) and the walk (in the background: `du`, which computes `df` from the
//! same walk, `orphans` and `advise`). Only the analyzers' calls live here; what becomes a
//! sample is [`super::families`]'s.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use analyzers::advice::{self, AdviceReport};
use analyzers::backend::{Backend, Trees};
use analyzers::driver::Driver;
use analyzers::forensics::orphans::{self, OrphansReport};
use analyzers::graph::{Container, Store};
use analyzers::host::filesystem::Mounts;
use analyzers::usage::df::ImageDf;
use analyzers::usage::du::{self, DuOptions, DuReport};
use analyzers::walk::WalkOptions;

/// The metadata scan's findings.
#[derive(Debug)]
pub struct MetadataScan {
    /// The `store` label: the data root's path as read.
    pub store: String,
    /// The backend that read the metadata (its own name).
    pub backend: &'static str,
    /// The storage driver read.
    pub driver: String,
    /// The images `docker system df` lists, with Size, SharedSize and unique size.
    pub images: Vec<ImageDf>,
    /// `LayersSize`.
    pub layers_size: i64,
    /// Every container of the driver.
    pub containers: Vec<ContainerMeta>,
    /// The local volumes `docker system df` lists.
    pub volumes: Vec<VolumeMeta>,
    /// The data root's filesystem; `None` when statvfs failed.
    pub filesystem: Option<Space>,
    /// Problems the metadata had.
    pub problems: usize,
}

/// A container as the metadata says it.
#[derive(Debug)]
pub struct ContainerMeta {
    /// Short id (12 characters).
    pub id: String,
    /// Name, without the leading `/`.
    pub name: String,
    /// State word (`running`, `exited`...).
    pub state: &'static str,
    /// Apparent bytes of its current log file; `None` without one.
    pub log_bytes: Option<u64>,
}

/// A local volume as the metadata says it.
#[derive(Debug)]
pub struct VolumeMeta {
    /// Its name.
    pub name: String,
    /// Containers that mount it.
    pub refs: u64,
}

/// A filesystem's size and free space, bytes.
#[derive(Debug, Clone, Copy)]
pub struct Space {
    /// `f_blocks * f_frsize`.
    pub size: u64,
    /// `f_bavail * f_frsize`.
    pub available: u64,
}

/// The walk's reports.
#[derive(Debug)]
pub struct WalkScan {
    /// The `store` label.
    pub store: String,
    /// `du`, with `df` computed from the same walk.
    pub du: DuReport,
    /// `advise`.
    pub advice: AdviceReport,
    /// `orphans`.
    pub orphans: OrphansReport,
}

impl WalkScan {
    /// Problems the walk met: every report's, once each, plus one per size that could not be
    /// measured (left out of the samples).
    pub fn problems(&self) -> usize {
        let mut all: Vec<_> = self
            .du
            .problems
            .iter()
            .chain(&self.orphans.problems)
            .chain(&self.advice.problems)
            .collect();
        all.sort();
        all.dedup();
        let df = &self.du.df;
        all.len() + df.summary.containers.unknown + df.summary.volumes.unknown
    }
}

/// The `store` label of `store`.
pub fn store_label(store: &Store) -> String {
    store.root.display().to_string()
}

/// The metadata scan of `store`; `trees` are the last walk's measured directories (what
/// backends that re-measure live snapshots need for their image figures; empty before the
/// first walk).
pub fn metadata(store: &Store, trees: &Trees) -> MetadataScan {
    let filesystem = Mounts::read()
        .of(&store.jail, &store.root)
        .ok()
        .map(|(_, fs)| Space {
            size: fs.size,
            available: fs.available,
        });
    MetadataScan {
        store: store_label(store),
        backend: store.backend.name(),
        driver: store.driver.name().to_owned(),
        images: store.backend.image_rows(store, trees),
        layers_size: store.backend.layers_size(store, trees),
        containers: store
            .containers
            .iter()
            .map(|c| ContainerMeta {
                id: c.id.short().to_owned(),
                name: c.name.trim_start_matches('/').to_owned(),
                state: c.state.word(),
                log_bytes: log_file(store, c)
                    .and_then(|p| store.jail.stat(&p).ok())
                    .map(|st| u64::try_from(st.st_size).unwrap_or(0)),
            })
            .collect(),
        volumes: store
            .volumes
            .iter()
            .filter(|v| v.options.is_empty())
            .map(|v| VolumeMeta {
                name: v.name.clone(),
                refs: store.volume_refs(&v.name) as u64,
            })
            .collect(),
        filesystem,
        problems: store.problems.len(),
    }
}

/// Where container `c`'s log file is under the root: its `LogPath` when that is under the
/// root, else the file of that name in the container's directory (a root moved or mounted
/// elsewhere keeps the path its daemon recorded).
fn log_file(store: &Store, c: &Container) -> Option<PathBuf> {
    let recorded = c.log_path.as_deref()?;
    if recorded.starts_with(&store.root) {
        return Some(recorded.to_path_buf());
    }
    Path::new(recorded).file_name().map(|name| c.dir.join(name))
}

/// The walk of `store`: `du` (staying on the root's filesystem, as `strata du` does), then
/// `orphans` and `advise`.
pub fn walk(store: &Store, walk: &WalkOptions) -> WalkScan {
    let mut du_walk = walk.clone();
    du_walk.one_file_system = true;
    let du = du::compute(store, &DuOptions { walk: du_walk });
    let orphans = orphans::find(store, walk);
    let advice = advice::advise(store, &orphans, walk);
    WalkScan {
        store: store_label(store),
        du,
        advice,
        orphans,
    }
}

/// How one completed scan went.
#[derive(Debug, Clone, Copy)]
pub struct Completed {
    /// Its wall time.
    pub duration: Duration,
    /// When it completed, Unix seconds.
    pub finished_unix: f64,
    /// Problems it met.
    pub problems: usize,
}

impl Completed {
    /// A scan that started at `started` and completes now with `problems`.
    pub fn now(started: std::time::Instant, problems: usize) -> Completed {
        Completed {
            duration: started.elapsed(),
            finished_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
            problems,
        }
    }
}

/// One phase's history.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseStatus {
    /// Scans completed.
    pub scans: u64,
    /// The last one completed.
    pub last: Option<Completed>,
}

/// The exporter's own state, for its status families.
#[derive(Debug, Clone, Default)]
pub struct ScanStatus {
    /// The `store` label.
    pub store: String,
    /// The metadata scans (one per scrape that did not join another's).
    pub metadata: PhaseStatus,
    /// The background walks.
    pub walk: PhaseStatus,
    /// Whether a walk is running now.
    pub walk_in_progress: bool,
    /// Scrapes that joined a concurrent scrape's metadata scan.
    pub coalesced: u64,
}
