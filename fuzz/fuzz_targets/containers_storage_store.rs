//! Builds a whole containers/storage graphroot (podman's) from the input and reads it as the
//! CLI does. The input is split (`strata_fuzz::split_pair`) into text and a database; the text
//! is split at NUL bytes (`strata_fuzz::split_parts`) into, in order ([`Part`]):
//!
//! 0. `<driver>-layers/layers.json` (`overlay-layers/`, or `vfs-layers/`: see 7);
//! 1. `<driver>-images/images.json`;
//! 2. `<driver>-containers/containers.json`;
//! 3. image configs, separated by [`CONFIG_SEPARATOR`] bytes: the `k`th (the last, past the
//!    last) is planted as the big data item `sha256:<id>` of the `k`th image record, and as
//!    every other big data item it names;
//! 4. layer directories, one `<id>` or `<id> <bytes>` per line: the layer's content directory
//!    (`overlay/<id>/diff/`, `vfs/dir/<id>/`) with a file of that many bytes (1 by default,
//!    at most [`FILE_LIMIT`]) in a subdirectory, a symlink and a hard link to it, overlay's
//!    `overlay/<id>/link` and `overlay/l/<link>`, and `<driver>-layers/<id>.tar-split.gz`;
//! 5. volumes, one name per line: `volumes/<name>/_data/` with a file;
//! 6. the tar-split of every layer directory: its JSON lines, gzipped here unless it starts
//!    with gzip's magic (an empty tar's when absent);
//! 7. the driver: `vfs` for containers/storage's vfs driver, anything else for overlay.
//!
//! The database is libpod's state: `db.sql` when it starts with SQLite's header, else
//! `libpod/bolt_state.db`; absent when empty. Every container record also gets its
//! `<driver>-containers/<id>/userdata/` with the `config.json` podman keeps there. Names that
//! are not one plain path component are skipped (the target writes only inside its scratch
//! root). An empty part leaves that file absent.
//!
//! The root is then opened (`DataRoot::open`), loaded (`Store::load`) and run through what the
//! verbs run: `usage::df::compute` (with podman's own figures, serialized as the CLI writes
//! them), the inventories, `forensics::orphans::find`, `forensics::verify::verify` on every
//! layer and `forensics::diff::diff` on every container.
//!
//! Promise checked: no graphroot (damaged or contradictory records, layers whose parents loop
//! or dangle, sizes out of range, images without configs, libpod records naming what is not
//! there, a damaged BoltDB or SQLite file) makes any of them panic, hang or exhaust memory; an
//! error or a problem is the expected answer to damage.

#![no_main]

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use analyzers::driver::{AnyDriver, Copies, Driver, Overlay2};
use analyzers::forensics::{diff, orphans, verify};
use analyzers::format::containers_storage::{
    big_data_dir, big_data_file_name, containers_dir, images_dir, layers_dir, CONTAINERS_JSON,
    IMAGES_JSON, LAYERS_JSON, TAR_SPLIT_SUFFIX, USERDATA_DIR,
};
use analyzers::format::libpod::{BOLT_STATE, SQLITE_STATE};
use analyzers::format::whiteout::Whiteouts;
use analyzers::graph::{LoadOptions, Store};
use analyzers::ids::CacheId;
use analyzers::layout::{OVERLAY2_DIFF, OVERLAY2_LINK, VOLUMES_DIR, VOLUME_DATA};
use analyzers::root::DataRoot;
use analyzers::usage::df::{self, DfOptions};
use analyzers::walk::WalkOptions;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use strata_fuzz::{
    empty_tar_split, gzip, plant, scratch_dir, split_pair, split_parts, CONFIG_SEPARATOR,
};

/// The driver part that asks for containers/storage's vfs driver.
const VFS: &[u8] = b"vfs";
/// gzip's magic, which opens a tar-split part planted as it is.
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];
/// The 16 bytes that open every SQLite database file.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";
/// Largest file planted in a layer directory, in bytes.
const FILE_LIMIT: usize = 1 << 14;
/// Most layer directories or volumes planted from one input.
const DIR_LIMIT: usize = 64;

/// The text parts of an input, in order.
#[derive(Clone, Copy)]
enum Part {
    Layers,
    Images,
    Containers,
    ImageConfigs,
    LayerDirs,
    Volumes,
    TarSplit,
    Driver,
}

/// How many text parts there are.
const PARTS: usize = Part::Driver as usize + 1;

/// Writes `bytes` to the file `rel` under `root`, making its parents, when it can: a name
/// from the input may clash with a file already planted (a container called
/// `containers.json`), which is no finding.
fn put(root: &Path, rel: &Path, bytes: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        let _ = fs::create_dir_all(parent);
    }
    let _ = fs::write(path, bytes);
}

/// Whether `name` is one plain path component (what the target may create under the root).
fn component(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.=+".contains(&b))
}

/// The `id` of every record of the JSON list `records` that is a plain component, with the
/// record.
fn record_ids(records: Option<&[u8]>) -> Vec<(String, Value)> {
    let Some(Ok(Value::Array(list))) = records.map(serde_json::from_slice::<Value>) else {
        return Vec::new();
    };
    list.into_iter()
        .filter_map(|r| {
            let id = r.get("id")?.as_str()?.to_owned();
            component(&id).then_some((id, r))
        })
        .take(DIR_LIMIT)
        .collect()
}

/// Plants the graphroot `input` describes under `root` (see the module docs).
fn plant_graphroot(root: &Path, input: &[u8]) {
    let (text, database) = split_pair(input);
    let parts = split_parts(text.unwrap_or_default(), PARTS);
    let part = |p: Part| parts[p as usize];
    let driver = if part(Part::Driver).is_some_and(|d| d.trim_ascii() == VFS) {
        AnyDriver::Copies(Copies::vfs(Path::new("")))
    } else {
        AnyDriver::Overlay2(Overlay2::containers_storage(
            Path::new(""),
            Whiteouts::Kernel,
        ))
    };
    let name = driver.name();
    let layers = Path::new(&layers_dir(name)).to_path_buf();
    let images = Path::new(&images_dir(name)).to_path_buf();
    let containers = Path::new(&containers_dir(name)).to_path_buf();
    let link_dir = driver.link_dir();
    for dir in [&layers, &images, &containers, &driver.layers_dir()]
        .into_iter()
        .chain(&link_dir)
    {
        fs::create_dir_all(root.join(dir)).expect("creating a store directory");
    }
    plant(root, &layers.join(LAYERS_JSON), part(Part::Layers));
    plant(root, &images.join(IMAGES_JSON), part(Part::Images));
    plant(
        root,
        &containers.join(CONTAINERS_JSON),
        part(Part::Containers),
    );

    let configs: Vec<&[u8]> = part(Part::ImageConfigs)
        .map(|c| c.split(|&b| b == CONFIG_SEPARATOR).collect())
        .unwrap_or_default();
    for (k, (id, record)) in record_ids(part(Part::Images)).into_iter().enumerate() {
        let config = configs.get(k).or(configs.last());
        let dir = big_data_dir(&images, &id);
        let keys = record["big-data-names"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let keys = keys.iter().filter_map(Value::as_str).map(str::to_owned);
        for key in std::iter::once(format!("sha256:{id}")).chain(keys).take(8) {
            let name = big_data_file_name(&key);
            if let (true, Some(config)) = (component(&name), config) {
                put(root, &dir.join(name), config);
            }
        }
    }
    for (id, _) in record_ids(part(Part::Containers)) {
        put(
            root,
            &containers.join(&id).join(USERDATA_DIR).join("config.json"),
            br#"{"ociVersion":"1.0.2-dev"}"#,
        );
    }
    let lines = |p: Part| {
        part(p)
            .map(String::from_utf8_lossy)
            .map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let tar_split = match part(Part::TarSplit) {
        Some(t) if t.starts_with(GZIP_MAGIC) => t.to_vec(),
        Some(t) => gzip(t),
        None => gzip(&empty_tar_split()),
    };
    for (n, line) in lines(Part::LayerDirs).iter().take(DIR_LIMIT).enumerate() {
        let mut words = line.split_whitespace();
        let Some(id) = words.next().and_then(CacheId::parse) else {
            continue;
        };
        let bytes = words
            .next()
            .and_then(|w| w.parse::<usize>().ok())
            .unwrap_or(1)
            .min(FILE_LIMIT);
        let content = driver.content_dir(&id);
        put(root, &content.join("dir/data"), &vec![b'x'; bytes]);
        let content = root.join(content);
        let _ = fs::hard_link(content.join("dir/data"), content.join("hard-link"));
        let _ = symlink("dir/data", content.join("symlink"));
        if let Some(links) = &link_dir {
            let link = format!("L{n:025}");
            put(
                root,
                &driver.layer_dir(&id).join(OVERLAY2_LINK),
                link.as_bytes(),
            );
            let _ = symlink(
                Path::new("..").join(id.as_str()).join(OVERLAY2_DIFF),
                root.join(links).join(link),
            );
        }
        let split = format!("{}{TAR_SPLIT_SUFFIX}", id.as_str());
        put(root, &layers.join(split), &tar_split);
    }
    for name in lines(Part::Volumes).iter().take(DIR_LIMIT) {
        if component(name) {
            let data = Path::new(VOLUMES_DIR).join(name).join(VOLUME_DATA);
            put(root, &data.join("file"), name.as_bytes());
        }
    }
    fs::create_dir_all(root.join(VOLUMES_DIR)).expect("creating volumes/");
    if let Some(db) = database {
        let path = if db.starts_with(SQLITE_HEADER) {
            SQLITE_STATE
        } else {
            BOLT_STATE
        };
        plant(root, Path::new(path), Some(db));
    }
}

/// Runs every verb's entry point on the loaded `store`.
fn exercise(store: &Store) {
    let report = df::compute(store, &DfOptions::default());
    if let Some(libpod) = report.libpod_report() {
        serde_json::to_vec(&libpod).expect("the libpod report serializes");
    }
    serde_json::to_vec(&report).expect("the df report serializes");
    let _ = analyzers::inventory::images(store, &report);
    let _ = analyzers::inventory::layers(store, &report);
    let _ = analyzers::inventory::containers(store, &report);
    let _ = analyzers::inventory::volumes(store, &report, false);
    let _ = orphans::find(store, &WalkOptions::default());
    let layers: Vec<_> = store.layers.values().collect();
    let checked = verify::verify(store, &layers);
    assert_eq!(checked.layers.len(), layers.len(), "one check per layer");
    for container in &store.containers {
        let _ = diff::diff(store, container);
    }
}

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir("strata-fuzz-cs-");
    plant_graphroot(dir.path(), data);
    let Ok(root) = DataRoot::open(dir.path()) else {
        return;
    };
    let Ok(store) = Store::load(&root, &LoadOptions::default()) else {
        return;
    };
    exercise(&store);
});
