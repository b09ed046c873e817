//! Feeds the records of the drivers whose bookkeeping strata parses itself: the input is split
//! at NUL bytes (`strata_fuzz::split_parts`) into an aufs `layers/<id>` file, a devicemapper
//! device file (`metadata/<id>`), its `deviceset-metadata` and its `transaction-metadata`;
//! the whole input is also read as the host's `/proc/self/mountinfo` (which names the zfs
//! datasets mounted under `zfs/graph/`).
//!
//! Promise checked: no such file, however damaged, makes a parser panic, hang or exhaust
//! memory; it is a value or an error saying what is wrong, and an aufs ancestor is never
//! more than one directory name.

#![no_main]

use analyzers::format::{aufs, devicemapper, mountinfo};
use analyzers::ids::is_component;
use libfuzzer_sys::fuzz_target;
use strata_fuzz::split_parts;

fuzz_target!(|data: &[u8]| {
    let [layers, device, set, transaction] = split_parts(data, 4)[..] else {
        unreachable!("split_parts gives as many parts as asked for");
    };
    if let Ok(ancestors) = aufs::parse_layers(layers.unwrap_or_default()) {
        assert!(ancestors.iter().all(|a| is_component(a.as_str())));
    }
    if let Ok(d) = devicemapper::parse_device(device.unwrap_or_default()) {
        assert!((0..=devicemapper::MAX_DEVICE_ID).contains(&d.device_id));
    }
    let _ = devicemapper::parse_device_set(set.unwrap_or_default());
    let _ = devicemapper::parse_transaction(transaction.unwrap_or_default());
    for m in mountinfo::parse(&String::from_utf8_lossy(data)) {
        let _ = (
            (m.major, m.minor),
            m.mount_point.as_os_str().len(),
            m.fs_type.len(),
            m.source.len(),
        );
    }
});
