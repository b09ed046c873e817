//! Feeds the input as an image config (`image/overlay2/imagedb/content/sha256/<id>`, named by
//! the input's own sha256 so that it passes the content check and reaches the JSON parser) of
//! the synthetic store, then loads the store through `DataRoot::open` and `Store::load`.
//!
//! Promise checked: no image config, however damaged, makes loading panic, hang or exhaust
//! memory; it becomes a `Problem` or an image, and the graph's walks over it terminate.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use strata_fuzz::{paths, sha256_hex, SyntheticRoot};

static ROOT: OnceLock<SyntheticRoot> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(SyntheticRoot::new);
    root.clear_dir(&paths::image_content());
    root.set(&paths::image_content().join(sha256_hex(data)), Some(data));
    root.load();
});
