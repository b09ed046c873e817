//! Feeds containerd's two databases: the input is split (`strata_fuzz::split_pair`: a 4-byte
//! little-endian length, then that many bytes, then the rest) into
//! `io.containerd.metadata.v1.bolt/meta.db` (namespaces, images, containers, content and
//! snapshot references, leases) and the overlayfs snapshotter's
//! `io.containerd.snapshotter.v1.overlayfs/metadata.db` (its snapshots, ids, kinds, parents
//! and sizes) of a scratch plain-containerd root; an empty part leaves that file absent. The
//! root is then read as the CLI reads it: `DataRoot::open`, `Store::load`,
//! `usage::df::compute` and `inventory::snapshots`.
//!
//! Promise checked: no pair of databases (damaged pages, snapshots whose parents loop or
//! dangle, records naming content or snapshots that are not there, sizes out of range, keys
//! that are not paths) makes loading, `df` or the snapshot inventory panic, hang or exhaust
//! memory; an error or a problem is the expected answer to damage.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use analyzers::driver::{Driver, Overlayfs};
use analyzers::format::containerd::{META_DB, SNAPSHOTTER_DB};
use analyzers::graph::{LoadOptions, Store};
use analyzers::root::DataRoot;
use analyzers::usage::df::{self, DfOptions};
use libfuzzer_sys::fuzz_target;
use strata_fuzz::{plant, scratch_dir, split_pair};

/// The scratch containerd root and the snapshotter database's path relative to it.
static ROOT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (dir, snapshotter_db) = ROOT.get_or_init(|| {
        let dir = scratch_dir("strata-fuzz-containerd-");
        let db = Overlayfs::new(Path::new("")).home().join(SNAPSHOTTER_DB);
        (dir, db)
    });
    let (meta, snapshots) = split_pair(data);
    plant(dir.path(), META_DB.as_ref(), meta);
    plant(dir.path(), snapshotter_db, snapshots);
    let Ok(root) = DataRoot::open(dir.path()) else {
        return;
    };
    let Ok(store) = Store::load(&root, &LoadOptions::default()) else {
        return;
    };
    let report = df::compute(&store, &DfOptions::default());
    let _ = analyzers::inventory::snapshots(&store, &report);
});
