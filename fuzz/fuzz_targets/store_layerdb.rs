//! Feeds the layer store's small records: the input is split at NUL bytes
//! (`strata_fuzz::split_parts`) into, in order, the `diff`, `parent`, `cache-id` and `size` of
//! the base layer record, the same four of a second layer record on top of it, the
//! container's `mount-id`, `init-id` and `parent` (`layerdb/mounts/<id>/`), and the writable
//! layer's overlay2 `lower` and the base layer's `link`; an empty part leaves that file
//! absent. The synthetic store is then loaded through `DataRoot::open` and `Store::load`.
//!
//! Promise checked: no combination of layer records (bad digests, parents that loop or
//! dangle, odd cache ids, sizes out of range) makes loading or the walks down a layer chain
//! panic, hang or exhaust memory.

#![no_main]

use std::sync::OnceLock;

use analyzers::layout::{
    LAYER_CACHE_ID, LAYER_DIFF, LAYER_PARENT, LAYER_SIZE, MOUNT_ID, MOUNT_INIT_ID, OVERLAY2_LINK,
    OVERLAY2_LOWER,
};
use libfuzzer_sys::fuzz_target;
use strata_fuzz::{
    base_chain, paths, split_parts, upper_chain, SyntheticRoot, BASE_CACHE_ID, MOUNT_CACHE_ID,
};

static ROOT: OnceLock<SyntheticRoot> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(SyntheticRoot::new);
    let base = paths::layer_record(&base_chain());
    let upper = paths::layer_record(&upper_chain());
    let mount = paths::mount_record();
    let files = [
        base.join(LAYER_DIFF),
        base.join(LAYER_PARENT),
        base.join(LAYER_CACHE_ID),
        base.join(LAYER_SIZE),
        upper.join(LAYER_DIFF),
        upper.join(LAYER_PARENT),
        upper.join(LAYER_CACHE_ID),
        upper.join(LAYER_SIZE),
        mount.join(MOUNT_ID),
        mount.join(MOUNT_INIT_ID),
        mount.join(LAYER_PARENT),
        paths::layer_home(MOUNT_CACHE_ID).join(OVERLAY2_LOWER),
        paths::layer_home(BASE_CACHE_ID).join(OVERLAY2_LINK),
    ];
    for (file, part) in files.iter().zip(split_parts(data, files.len())) {
        root.set(file, part);
    }
    root.mkdir(&upper);
    root.load();
});
