//! Feeds the input as the container's `containers/<id>/config.v2.json` in the synthetic
//! store (whose `hostconfig.json`, writable layer and image are sound), then loads the store
//! through `DataRoot::open` and `Store::load`.
//!
//! Promise checked: no `config.v2.json`, however damaged, makes loading panic, hang or exhaust
//! memory; the container loads or is a `Problem`, and what loads can be used.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata_fuzz::{paths, SyntheticRoot};

static ROOT: OnceLock<SyntheticRoot> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(SyntheticRoot::new);
    root.set(&paths::container_config(), Some(data));
    root.load();
});
