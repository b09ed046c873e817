//! Feeds the input as the container's `containers/<id>/hostconfig.json` in the synthetic
//! store (whose `config.v2.json` is sound and names the container), then loads the store
//! through `DataRoot::open` and `Store::load`.
//!
//! Promise checked: no `hostconfig.json`, however damaged, makes loading panic, hang or
//! exhaust memory.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata_fuzz::{paths, SyntheticRoot};

static ROOT: OnceLock<SyntheticRoot> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(SyntheticRoot::new);
    root.set(&paths::host_config(), Some(data));
    root.load();
});
