//! When each part is computed: the metadata scan on each scrape, shared by concurrent
//! scrapes ([`SingleFlight`]: a scrape arriving while one is loading waits for that load and
//! serves its result), and the walk in a background thread every `--walk-interval`, whose last
//! completed result every scrape serves without waiting. A scrape therefore costs one
//! metadata load at most, whatever the walk is doing.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use analyzers::backend::Trees;
use analyzers::walk::WalkOptions;

use super::families::{self, MetricFamily};
use super::scan::{self, Completed, PhaseStatus, ScanStatus};
use super::Source;

/// One computation shared by the callers that ask for it while it runs.
pub struct SingleFlight<T> {
    state: Mutex<Flight<T>>,
    done: Condvar,
}

struct Flight<T> {
    /// A computation is running.
    running: bool,
    /// Computations completed (a waiter wakes when it changes).
    generation: u64,
    /// The last result.
    last: Option<T>,
    /// Callers waiting for the running computation now.
    waiting: usize,
}

impl<T: Clone> SingleFlight<T> {
    /// Nothing computed yet.
    pub fn new() -> SingleFlight<T> {
        SingleFlight {
            state: Mutex::new(Flight {
                running: false,
                generation: 0,
                last: None,
                waiting: 0,
            }),
            done: Condvar::new(),
        }
    }

    /// Runs `compute`, or, when another caller's computation is running, waits for it and
    /// returns its result; the flag says which (true: joined another's).
    pub fn run(&self, compute: impl FnOnce() -> T) -> (T, bool) {
        let mut s = lock(&self.state);
        if s.running {
            let joined = s.generation;
            s.waiting += 1;
            while s.generation == joined {
                s = self.done.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
            s.waiting -= 1;
            if let Some(value) = s.last.clone() {
                return (value, true);
            }
        }
        s.running = true;
        drop(s);
        // Even if `compute` panics, the waiters are released (with the previous result, or
        // to compute their own).
        let guard = Release(self);
        let value = compute();
        let mut s = lock(&self.state);
        s.last = Some(value.clone());
        drop(s);
        drop(guard);
        (value, false)
    }

    /// Callers waiting for the running computation now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        lock(&self.state).waiting
    }
}

/// Ends a computation: bumps the generation and wakes the waiters.
struct Release<'a, T>(&'a SingleFlight<T>);

impl<T> Drop for Release<'_, T> {
    fn drop(&mut self) {
        let mut s = lock(&self.0.state);
        s.running = false;
        s.generation += 1;
        drop(s);
        self.0.done.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A metadata scan's families and that phase's status after it.
#[derive(Debug)]
struct MetadataDone {
    families: Vec<MetricFamily>,
    phase: PhaseStatus,
}

/// The last completed walk.
#[derive(Debug)]
struct WalkDone {
    families: Vec<MetricFamily>,
    /// Its measured directories, for the metadata scans' backends that need them.
    trees: Arc<Trees>,
}

/// What the scrapes read and the walks write.
#[derive(Default)]
struct Shared {
    walk: Option<Arc<WalkDone>>,
    status: ScanStatus,
}

/// The exporter: one store, its scans and their last results.
pub struct Exporter {
    source: Source,
    top: usize,
    walk_options: WalkOptions,
    /// The walks' own workers: the metadata scans use rayon's global pool (graph loading is
    /// parallel), and a job injected there would queue behind a running walk's tasks.
    walk_pool: rayon::ThreadPool,
    metadata: SingleFlight<Arc<Result<MetadataDone, String>>>,
    shared: Mutex<Shared>,
}

impl Exporter {
    /// The exporter of `source`, bounding series to the `top` largest of each kind.
    pub fn new(source: Source, top: usize, walk_options: WalkOptions) -> anyhow::Result<Exporter> {
        let status = ScanStatus {
            store: source.label().to_owned(),
            ..ScanStatus::default()
        };
        let walk_pool = rayon::ThreadPoolBuilder::new()
            .num_threads(walk_options.threads.unwrap_or(0))
            .thread_name(|i| format!("strata-walk-{i}"))
            .build()?;
        Ok(Exporter {
            source,
            top,
            walk_options,
            walk_pool,
            metadata: SingleFlight::new(),
            shared: Mutex::new(Shared { walk: None, status }),
        })
    }

    /// The store read.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// One scrape's body: a fresh metadata scan (or the one a concurrent scrape is running),
    /// the last walk's families, and the exporter's status; an error when the store cannot
    /// be loaded now.
    pub fn scrape(&self) -> Result<Vec<u8>, String> {
        let (done, joined) = self.metadata.run(|| Arc::new(self.scan_metadata()));
        let done = done.as_ref().as_ref().map_err(Clone::clone)?;
        let (walk, mut status) = {
            let mut shared = lock(&self.shared);
            if joined {
                shared.status.coalesced += 1;
            }
            (shared.walk.clone(), shared.status.clone())
        };
        status.metadata = done.phase;
        let mut body = Vec::new();
        let walk_families = walk.as_ref().map_or(&[][..], |w| &w.families[..]);
        families::write(&mut body, &done.families)
            .and_then(|()| families::write(&mut body, walk_families))
            .and_then(|()| families::write(&mut body, &families::status_families(&status)))
            .map_err(|e| e.to_string())?;
        Ok(body)
    }

    fn scan_metadata(&self) -> Result<MetadataDone, String> {
        let started = Instant::now();
        let trees = lock(&self.shared)
            .walk
            .as_ref()
            .map(|w| Arc::clone(&w.trees))
            .unwrap_or_default();
        let store = self.source.load().map_err(|e| format!("{e:#}"))?;
        let scan = scan::metadata(&store, &trees);
        let families = families::metadata_families(&scan, self.top);
        let mut shared = lock(&self.shared);
        let phase = &mut shared.status.metadata;
        phase.scans += 1;
        phase.last = Some(Completed::now(started, scan.problems));
        Ok(MetadataDone {
            families,
            phase: *phase,
        })
    }

    /// Walks the store once and keeps the result for the scrapes.
    pub fn walk_once(&self) -> anyhow::Result<()> {
        lock(&self.shared).status.walk_in_progress = true;
        let result = self.walk_pool.install(|| self.walk_scan());
        let mut shared = lock(&self.shared);
        shared.status.walk_in_progress = false;
        let (done, completed) = result?;
        shared.walk = Some(Arc::new(done));
        shared.status.walk.scans += 1;
        shared.status.walk.last = Some(completed);
        Ok(())
    }

    fn walk_scan(&self) -> anyhow::Result<(WalkDone, Completed)> {
        let started = Instant::now();
        let store = self.source.load()?;
        let scan = scan::walk(&store, &self.walk_options);
        let families = families::walk_families(&scan, self.top);
        let completed = Completed::now(started, scan.problems());
        let trees = Arc::new(scan.du.df.trees);
        Ok((WalkDone { families, trees }, completed))
    }

    /// Walks now and then every `interval`, forever (the thread ends with the process); a
    /// walk that fails (or panics) is said on stderr and the last good one kept.
    pub fn walk_every(&self, interval: Duration) {
        loop {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.walk_once())) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!(
                    "strata: exporter: walk failed: {}",
                    analyzers::text::escape_controls(&format!("{e:#}"))
                ),
                Err(_) => {
                    lock(&self.shared).status.walk_in_progress = false;
                    eprintln!("strata: exporter: the walk panicked; the last good walk is kept");
                }
            }
            std::thread::sleep(interval);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_during_a_computation_share_its_result() {
        let flight = Arc::new(SingleFlight::new());
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let first = {
            let flight = Arc::clone(&flight);
            std::thread::spawn(move || {
                flight.run(|| {
                    gate.recv().unwrap();
                    1
                })
            })
        };
        // Wait until the first computation runs (a second caller would then join it).
        while !lock(&flight.state).running {
            std::thread::yield_now();
        }
        let joiners: Vec<_> = (0..3)
            .map(|_| {
                let flight = Arc::clone(&flight);
                std::thread::spawn(move || flight.run(|| 2))
            })
            .collect();
        while flight.waiting() < 3 {
            std::thread::yield_now();
        }
        release.send(()).unwrap();
        assert_eq!(first.join().unwrap(), (1, false));
        for j in joiners {
            assert_eq!(j.join().unwrap(), (1, true));
        }
        // Once done, the next caller computes again.
        assert_eq!(flight.run(|| 3), (3, false));
    }
}
