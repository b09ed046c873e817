//! `strata watch`: live writable-layer and volume growth of running containers.
//!
//! A [`Watch`] tracks each running container of the store (dockerd's or strata's engine's,
//! found from the files alone): its writable layer (overlay2 `diff/`) and its volumes, each by
//! a [`tracker::TreeTracker`] that walks the tree once and then follows inotify events, so a
//! tick costs what changed, not what is there. For the writable layer a path is *added* when no
//! lower layer (the init layer, then the image's layers, top first) has it, *copied up* when
//! one does (overlayfs copied the whole file up before changing it), and a whiteout when it is
//! a character device 0/0 (a deletion of a lower file, which adds no bytes).
//!
//! Every [`Watch::tick`] returns one [`Sample`] per tracked container. The container list is
//! read again only when `containers/` or a tracked container's config changes. The analyzers
//! never write: inotify watches are read-only and end with the process.

pub mod tracker;

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::changes::stat_differs;
use crate::driver::{DiffMeasure, Driver};
use crate::error::{Error, Problem, ProblemKind, Result};
use crate::forensics::union::Union;
use crate::format::whiteout::{Role, Whiteouts};
use crate::fs::{Entry, Jail};
use crate::graph::{Container, LoadOptions, Store};
use crate::layout::{CONTAINERS_DIR, CONTAINER_CONFIG};
use crate::root::DataRoot;
use tracker::{AllAdded, Classify, Kind, TreeTracker};

/// Ticks over which [`Sample::rate_avg_bytes_per_sec`] is averaged.
const RATE_WINDOW: usize = 10;

/// What to watch.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Container names or id prefixes; all running containers when empty.
    pub containers: Vec<String>,
    /// How many growing paths each sample lists.
    pub top: usize,
    /// How to load the store (`--driver`, `--containerd-root`...).
    pub load: LoadOptions,
}

/// One container at one tick. Sizes are apparent bytes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Sample {
    /// When the tick was taken (RFC 3339).
    pub time: String,
    /// The tick's number, from 0 (the first full walk).
    pub tick: u64,
    /// Container id.
    pub id: String,
    /// Container name (without `/`).
    pub name: String,
    /// Bytes of the writable layer now, Docker's `SizeRw` (each inode once).
    pub size_rw: u64,
    /// Bytes gained (or lost, negative) since the watch began.
    pub growth: i64,
    /// Growth rate over the last tick, bytes per second.
    pub rate_bytes_per_sec: f64,
    /// Growth rate over the last ticks (up to ten), bytes per second.
    pub rate_avg_bytes_per_sec: f64,
    /// Bytes of files that no lower layer has (each name).
    pub added_bytes: u64,
    /// Files (and links, devices) that no lower layer has.
    pub added_files: u64,
    /// Bytes of files copied up from a lower layer (each name).
    pub copied_up_bytes: u64,
    /// Files copied up from a lower layer.
    pub copied_up_files: u64,
    /// Whiteouts: lower files deleted in the container.
    pub whiteouts: u64,
    /// The paths that grew most since the watch began.
    pub top_paths: Vec<PathGrowth>,
    /// The container's volumes.
    pub volumes: Vec<VolumeSample>,
    /// Paths this tick re-examined: those inotify named since the last tick.
    pub paths_examined: usize,
    /// Cost of this tick for this container, microseconds.
    pub tick_micros: u64,
}

/// A growing path of a writable layer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PathGrowth {
    /// The path in the container.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// Its bytes now.
    pub bytes: u64,
    /// Bytes gained since the watch began (its whole size if it appeared since).
    pub growth: i64,
    /// `added`, `copied-up` or `whiteout`.
    pub kind: &'static str,
}

/// A volume of a watched container.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeSample {
    /// Volume name.
    pub name: String,
    /// Where the container mounts it.
    pub destination: String,
    /// Its bytes now.
    pub bytes: u64,
    /// Growth rate over the last tick, bytes per second.
    pub rate_bytes_per_sec: f64,
}

/// Tells copied-up files from new ones by looking for them in the lower layers.
struct Lowers(Jail, Vec<PathBuf>);

/// The classifier of a driver whose `SizeRw` is the naive diff (legacy overlay, fuse-overlayfs,
/// vfs, btrfs): a path is a change only where the parent's view (the init layer's mount)
/// differs, and a deletion is what that view has and the container's no longer does.
struct ParentView {
    jail: Jail,
    /// The tracked directory.
    upper: PathBuf,
    parent: Union,
    /// How the tracked directory records deletions; `None` for a full copy, where a deletion
    /// is an absence.
    whiteouts: Option<Whiteouts>,
}

impl Classify for ParentView {
    fn classify(&self, rel: &Path, st: &nix::sys::stat::FileStat) -> Kind {
        match self.parent.lookup(rel) {
            None => Kind::Added,
            Some(old) => {
                let new = self.upper.join(rel.strip_prefix("/").unwrap_or(rel));
                let caps = self.jail.capability(&old.path) != self.jail.capability(&new);
                if stat_differs(&old.stat, st) || caps {
                    Kind::CopiedUp
                } else {
                    Kind::Unchanged
                }
            }
        }
    }

    fn kind(&self, rel: &Path, st: &nix::sys::stat::FileStat) -> Kind {
        let Some(whiteouts) = self.whiteouts else {
            return self.classify(rel, st);
        };
        let name = rel.file_name().unwrap_or_default();
        match whiteouts.role(name, st.st_mode, st.st_rdev) {
            Role::Entry => self.classify(rel, st),
            // fuse-overlayfs' own markers, and a whiteout over nothing, delete nothing.
            Role::Hidden => Kind::Unchanged,
            Role::Deletes(target) => {
                let deleted = rel.parent().unwrap_or(Path::new("/")).join(target);
                if self.parent.lookup(&deleted).is_some() {
                    Kind::Whiteout
                } else {
                    Kind::Unchanged
                }
            }
        }
    }

    fn absence_deletes(&self, rel: &Path) -> bool {
        self.whiteouts.is_none() && self.parent.lookup(rel).is_some()
    }
}

impl Classify for Lowers {
    fn classify(&self, rel: &Path, _st: &nix::sys::stat::FileStat) -> Kind {
        if self
            .1
            .iter()
            .any(|l| tracker::stat_in(&self.0, l, rel).is_some())
        {
            Kind::CopiedUp
        } else {
            Kind::Added
        }
    }
}

struct VolumeTrack {
    name: String,
    destination: String,
    tracker: TreeTracker,
    last: u64,
}

struct Tracked {
    name: String,
    config: PathBuf,
    config_mtime: Option<(i64, i64)>,
    upper: TreeTracker,
    lowers: Box<dyn Classify + Send>,
    volumes: Vec<VolumeTrack>,
    start_bytes: u64,
    history: VecDeque<(Instant, u64)>,
    touched: BTreeMap<PathBuf, ()>,
}

/// A watch over the running containers of a data root.
pub struct Watch {
    root: DataRoot,
    opts: WatchOptions,
    tracked: BTreeMap<String, Tracked>,
    containers_listing: Vec<Entry>,
    tick: u64,
    /// Problems met (unreadable entries, containers that vanished).
    pub problems: Vec<Problem>,
}

impl Watch {
    /// Finds the running containers and walks each one's writable layer and volumes once.
    /// A name in `opts.containers` that matches no running container is an error.
    pub fn new(root: DataRoot, opts: WatchOptions) -> Result<Watch> {
        let mut w = Watch {
            root,
            opts,
            tracked: BTreeMap::new(),
            containers_listing: Vec::new(),
            tick: 0,
            problems: Vec::new(),
        };
        w.reload(true)?;
        Ok(w)
    }

    /// Whether no container is being watched.
    pub fn is_empty(&self) -> bool {
        self.tracked.is_empty()
    }

    /// Takes one sample of every watched container.
    pub fn tick(&mut self) -> Vec<Sample> {
        if self.changed() {
            let _ = self.reload(false);
        }
        let now = Instant::now();
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let tick = self.tick;
        self.tick += 1;
        let top = self.opts.top;
        let mut out = Vec::new();
        for (id, t) in &mut self.tracked {
            let started = Instant::now();
            let errors = t.upper.refresh(t.lowers.as_ref());
            let examined = t.upper.last_touched;
            for e in errors {
                self.problems.push(e.problem());
            }
            // Paths touched since the start are the candidates for the top list.
            for p in t.upper.recently_touched() {
                t.touched.insert(p, ());
            }
            let totals = t.upper.totals();
            t.history.push_back((now, totals.bytes));
            while t.history.len() > RATE_WINDOW + 1 {
                t.history.pop_front();
            }
            let rate = |from: &(Instant, u64), to: &(Instant, u64)| {
                let dt = to.0.duration_since(from.0).as_secs_f64();
                if dt > 0.0 {
                    (to.1 as f64 - from.1 as f64) / dt
                } else {
                    0.0
                }
            };
            let last = t.history.back().copied().unwrap_or((now, 0));
            let prev = t.history.iter().rev().nth(1).copied().unwrap_or(last);
            let first = t.history.front().copied().unwrap_or(last);
            let volumes = t
                .volumes
                .iter_mut()
                .map(|v| {
                    let before = v.last;
                    let _ = v.tracker.refresh(&AllAdded);
                    v.last = v.tracker.totals().bytes;
                    let dt = now.duration_since(prev.0).as_secs_f64();
                    VolumeSample {
                        name: v.name.clone(),
                        destination: v.destination.clone(),
                        bytes: v.last,
                        rate_bytes_per_sec: if dt > 0.0 {
                            (v.last as f64 - before as f64) / dt
                        } else {
                            0.0
                        },
                    }
                })
                .collect();
            let entries = t.upper.entries();
            let mut growing: Vec<PathGrowth> = t
                .touched
                .keys()
                .filter_map(|p| entries.get(p).map(|e| (p, e)))
                .filter(|(_, e)| !matches!(e.kind, Kind::Dir | Kind::Unchanged))
                .map(|(p, e)| PathGrowth {
                    path: p.clone(),
                    bytes: e.size,
                    growth: to_i64(e.size) - to_i64(e.first_size),
                    kind: match e.kind {
                        Kind::CopiedUp => "copied-up",
                        Kind::Whiteout => "whiteout",
                        _ => "added",
                    },
                })
                .collect();
            growing.sort_by(|a, b| b.growth.cmp(&a.growth).then_with(|| a.path.cmp(&b.path)));
            growing.truncate(top);
            out.push(Sample {
                time: time.clone(),
                tick,
                id: id.clone(),
                name: t.name.clone(),
                size_rw: totals.bytes,
                growth: to_i64(totals.bytes) - to_i64(t.start_bytes),
                rate_bytes_per_sec: rate(&prev, &last),
                rate_avg_bytes_per_sec: rate(&first, &last),
                added_bytes: totals.added_bytes,
                added_files: totals.added,
                copied_up_bytes: totals.copied_up_bytes,
                copied_up_files: totals.copied_up,
                whiteouts: totals.whiteouts,
                top_paths: growing,
                volumes,
                paths_examined: examined,
                tick_micros: u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
            });
        }
        out
    }

    /// Whether a container appeared, vanished or changed state since the last look.
    fn changed(&self) -> bool {
        let jail = &self.root.jail;
        let listing = jail
            .read_dir(&self.root.join(CONTAINERS_DIR))
            .unwrap_or_default();
        listing != self.containers_listing
            || self
                .tracked
                .values()
                .any(|t| mtime(jail, &t.config) != t.config_mtime)
    }

    /// Re-reads the store and starts or stops tracking containers.
    fn reload(&mut self, first: bool) -> Result<()> {
        self.containers_listing = self
            .root
            .jail
            .read_dir(&self.root.join(CONTAINERS_DIR))
            .unwrap_or_default();
        let store = Store::load(&self.root, &self.opts.load)?;
        // Damaged records are problems of the watch too (each once, however often it reloads).
        self.problems.extend(store.problems.iter().cloned());
        self.problems.sort();
        self.problems.dedup();
        let running: Vec<&Container> = store
            .containers
            .iter()
            .filter(|c| c.state.running)
            .filter(|c| self.opts.containers.is_empty() || self.wanted(c))
            .collect();
        if first {
            for name in &self.opts.containers {
                if !running.iter().any(|c| matches(c, name)) {
                    return Err(Error::Lookup {
                        kind: "container",
                        name: name.clone(),
                        detail: "no such running container".to_owned(),
                    });
                }
            }
        }
        let ids: Vec<String> = running.iter().map(|c| c.id.0.clone()).collect();
        self.tracked.retain(|id, _| ids.contains(id));
        for c in running {
            if self.tracked.contains_key(&c.id.0) {
                if let Some(t) = self.tracked.get_mut(&c.id.0) {
                    t.config_mtime = mtime(&self.root.jail, &t.config);
                }
                continue;
            }
            match track(&store, c) {
                Ok(t) => {
                    self.tracked.insert(c.id.0.clone(), t);
                }
                Err(p) => self.problems.push(p),
            }
        }
        Ok(())
    }

    fn wanted(&self, c: &Container) -> bool {
        self.opts.containers.iter().any(|n| matches(c, n))
    }
}

fn matches(c: &Container, name: &str) -> bool {
    c.name.trim_start_matches('/') == name.trim_start_matches('/')
        || (!name.is_empty() && c.id.0.starts_with(name))
}

fn mtime(jail: &Jail, path: &Path) -> Option<(i64, i64)> {
    jail.stat(path)
        .ok()
        .map(|st| (st.st_mtime, st.st_mtime_nsec))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Starts tracking one container: its writable layer against its lower layers, and its
/// volumes.
fn track(store: &Store, c: &Container) -> std::result::Result<Tracked, Problem> {
    let driver = &store.driver;
    let rw = &c.rw_layer;
    if let Some(problem) = driver.unreadable(&store.jail, &rw.mount_id) {
        return Err(problem);
    }
    let below = store.rw_below(rw);
    // What the container's mount stacks, and what its changes are measured against: the
    // parent's view for a naive-diff driver (legacy overlay: its upper over its base's root,
    // against the init layer's), else every layer below the writable one.
    let jail = store.jail.clone();
    let (upper_dir, lowers): (PathBuf, Box<dyn Classify + Send>) =
        match driver.diff_measure(&store.jail, &rw.mount_id, &below) {
            DiffMeasure::Views {
                layer,
                parent,
                whiteouts,
            } => (
                layer.top.clone(),
                Box::new(ParentView {
                    parent: parent.union(&jail, whiteouts),
                    upper: layer.top,
                    jail,
                    whiteouts: Some(whiteouts),
                }),
            ),
            DiffMeasure::Compare { layer, parent } => (
                layer.clone(),
                Box::new(ParentView {
                    parent: Union::new(&jail, Whiteouts::Kernel, vec![parent]),
                    upper: layer,
                    jail,
                    whiteouts: None,
                }),
            ),
            measure => (
                measure.dir().to_path_buf(),
                Box::new(Lowers(
                    jail,
                    below.iter().map(|l| driver.content_dir(l)).collect(),
                )),
            ),
        };
    let upper = TreeTracker::new(&store.jail, &upper_dir, lowers.as_ref()).map_err(|e| {
        Problem::new(
            &upper_dir,
            ProblemKind::Unreadable,
            format!("cannot watch: {e}"),
        )
    })?;
    let volumes = c
        .mounts
        .iter()
        .filter(|m| m.kind == "volume" && !m.name.is_empty())
        .filter_map(|m| {
            let v = store.volumes.iter().find(|v| v.name == m.name)?;
            let tracker = TreeTracker::new(&store.jail, &v.data, &AllAdded).ok()?;
            Some(VolumeTrack {
                name: m.name.clone(),
                destination: m.destination.clone(),
                last: tracker.totals().bytes,
                tracker,
            })
        })
        .collect();
    let config = c.dir.join(CONTAINER_CONFIG);
    Ok(Tracked {
        name: c.name.trim_start_matches('/').to_owned(),
        config_mtime: mtime(&store.jail, &config),
        config,
        start_bytes: upper.totals().bytes,
        upper,
        lowers,
        volumes,
        history: VecDeque::new(),
        touched: BTreeMap::new(),
    })
}
