//! Feeds the input as a BoltDB file (`volumes/metadata.db`, BuildKit's `metadata_v2.db`) to
//! the analyzers' read-only reader, `analyzers::format::bolt::Db::open`, through a file as the
//! loaders use it, then walks every bucket and value it decoded.
//!
//! Promise checked: no file, however damaged (bad metas, pages out of range, cycles, deep
//! nesting, elements outside their page), makes the reader panic, hang or exhaust memory; it
//! is a `Problem` of kind `InvalidDatabase` or a tree whose walk terminates.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use analyzers::format::bolt::{Bucket, Db};
use analyzers::fs::Jail;
use libfuzzer_sys::fuzz_target;

static DIR: OnceLock<(tempfile::TempDir, Jail, PathBuf)> = OnceLock::new();

/// Touches every value of `bucket` and of its nested buckets; the count of entries.
fn walk(bucket: &Bucket) -> usize {
    let mut n = bucket.len() + usize::from(bucket.is_empty());
    let _ = bucket.sequence();
    for (key, entry) in bucket.iter() {
        if let Some(value) = entry.as_value() {
            n += value.len().min(1);
        }
        if let Some(nested) = entry.as_bucket() {
            n += walk(nested);
        }
        let _ = bucket.get(key);
        let _ = bucket.entry(key);
    }
    n
}

fuzz_target!(|data: &[u8]| {
    let (_, jail, path) = DIR.get_or_init(|| {
        let dir = strata_fuzz::scratch_dir("strata-fuzz-bolt-");
        let path = dir.path().join(analyzers::layout::VOLUMES_METADATA_DB);
        let jail = Jail::open(dir.path()).expect("a jail of the scratch dir");
        (dir, jail, path)
    });
    std::fs::write(path, data).expect("writing the database");
    if let Ok(db) = Db::open(jail, path) {
        let _ = (db.page_size(), db.txid(), db.path());
        let _ = walk(db.root());
        let _ = db.root().bucket("volumes");
    }
});
