//! Feeds the input as `image/overlay2/repositories.json` (the reference store) of the
//! synthetic store, then loads the store through `DataRoot::open` and `Store::load` and
//! resolves the names it loaded.
//!
//! Promise checked: no reference store, however damaged, makes loading or name resolution
//! panic, hang or exhaust memory.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata_fuzz::{paths, SyntheticRoot};

static ROOT: OnceLock<SyntheticRoot> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(SyntheticRoot::new);
    root.set(&paths::repositories(), Some(data));
    root.load();
});
