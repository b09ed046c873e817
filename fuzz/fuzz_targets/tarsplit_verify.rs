//! Feeds the input as a layer's `tar-split.json.gz` (gzipped here, unless the input already
//! starts with the gzip magic, so that damaged gzip streams are fuzzed too) in the synthetic
//! store, whose base layer's `diff/` holds a few files, then loads the store and runs
//! `analyzers::forensics::verify::verify` on every layer: the tar-split reader rebuilds the
//! layer's tar from the record and the files.
//!
//! Promise checked: no tar-split record, however damaged (bad gzip, bad JSON lines, bad
//! base64, names and sizes that disagree with the files), makes verification panic, hang or
//! exhaust memory; it is a `Problem` or a failed check.

#![no_main]

use std::sync::OnceLock;

use analyzers::forensics::verify::verify;
use analyzers::layout::{LAYER_TAR_SPLIT, OVERLAY2_DIFF};
use libfuzzer_sys::fuzz_target;
use strata_fuzz::{base_chain, gzip, paths, SyntheticRoot, BASE_CACHE_ID};

static ROOT: OnceLock<SyntheticRoot> = OnceLock::new();

/// The files of the base layer's `diff/` (what the seeds' records describe).
pub const FILES: &[(&str, &[u8])] = &[
    ("etc/hostname", b"fuzzy\n"),
    ("bin/busybox", b"\x7fELF not really busybox\n"),
    ("bin/.wh.gone", b""),
];

fn planted() -> SyntheticRoot {
    let root = SyntheticRoot::new();
    let diff = paths::layer_home(BASE_CACHE_ID).join(OVERLAY2_DIFF);
    for (name, bytes) in FILES {
        root.set(&diff.join(name), Some(bytes));
    }
    root
}

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(planted);
    let record = if data.starts_with(&[0x1f, 0x8b]) {
        data.to_vec()
    } else {
        gzip(data)
    };
    root.set(
        &paths::layer_record(&base_chain()).join(LAYER_TAR_SPLIT),
        Some(&record),
    );
    let store = root.load();
    let layers: Vec<_> = store.layers.values().collect();
    let report = verify(&store, &layers);
    assert_eq!(report.layers.len(), layers.len(), "one check per layer");
});
