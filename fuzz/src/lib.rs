//! What the fuzz targets share: a minimal synthetic Docker data root that the store targets
//! plant their inputs into, the ids it is made of, and the loader they all call.
//!
//! The root is the smallest one `Store::load` reads end to end on the overlay2 driver: one
//! image (`busybox:latest`) of one layer, one container on it with its writable and init
//! layers, and the overlay2 directories of all three. Every target gets the same root and
//! replaces the one file (or the few files) it fuzzes, so a mutation is judged against an
//! otherwise sound store, the way damage looks on a real host.
//!
//! A root is made once per fuzzing process, under `/dev/shm` (memory, not the disk), and its
//! fuzzed files are rewritten on every input: loading is read-only, so nothing else changes
//! between inputs. The seeds (`examples/seeds.rs`) are made from the same records.

#![deny(missing_docs)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use analyzers::graph::{LoadOptions, Store};
use analyzers::ids::{ChainId, DiffId};
use analyzers::layout::{
    CONTAINERS_DIR, CONTAINER_CONFIG, CONTAINER_HOSTCONFIG, IMAGEDB_CONTENT, IMAGEDB_METADATA,
    IMAGE_DIR, LAYERDB_MOUNTS, LAYERDB_SHA256, LAYER_CACHE_ID, LAYER_DIFF, LAYER_SIZE,
    LAYER_TAR_SPLIT, MOUNT_ID, MOUNT_INIT_ID, OVERLAY2_DIFF, OVERLAY2_DIR, OVERLAY2_LINK,
    OVERLAY2_LINK_DIR, OVERLAY2_LOWER, REPOSITORIES_JSON, VOLUMES_DIR,
};
use analyzers::root::DataRoot;
use sha2::{Digest as _, Sha256};

/// The storage driver of the synthetic root.
pub const DRIVER: &str = "overlay2";

/// The base layer's diff id: the sha256 of an empty tar (two zero blocks), the diff id of
/// every image's empty layer.
pub const BASE_DIFF_HEX: &str = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";
/// The diff id of the second layer record the layerdb target plants.
pub const UPPER_DIFF_HEX: &str = "a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
/// The base layer's cache id (its `overlay2/` directory).
pub const BASE_CACHE_ID: &str = "0d6e2f1b8a9c4e3f7a5b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f";
/// The second layer's cache id.
pub const UPPER_CACHE_ID: &str = "1e7f3a2c9bad5f408b6c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";
/// The container's id.
pub const CONTAINER_ID: &str = "c3b1f0a2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7081";
/// The container's writable layer (its mount id); the init layer is `<this>-init`.
pub const MOUNT_CACHE_ID: &str = "8f2d6c4b0a1e3f5d7c9b8a6f4e2d0c1b3a5f7e9d8c6b4a2f0e1d3c5b7a9f8e6d";
/// The base layer's short name under `overlay2/l/`.
pub const BASE_LINK: &str = "BASELINKAAAAAAAAAAAAAAAAAA";

/// The base layer's diff id, `sha256:…`.
pub fn base_diff_id() -> String {
    format!("sha256:{BASE_DIFF_HEX}")
}

/// The base layer's chain id (a bottom layer's chain id is its diff id).
pub fn base_chain() -> ChainId {
    ChainId::of(None, &diff(BASE_DIFF_HEX))
}

/// The second layer's chain id, on top of the base layer.
pub fn upper_chain() -> ChainId {
    ChainId::of(Some(&base_chain()), &diff(UPPER_DIFF_HEX))
}

fn diff(hex: &str) -> DiffId {
    DiffId::parse(&format!("sha256:{hex}")).expect("a constant digest")
}

/// The image config of `busybox:latest`, as dockerd writes it (trimmed).
pub fn image_config() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "Labels": {"org.opencontainers.image.title": "busybox"}
        },
        "created": "2024-09-26T21:31:42Z",
        "history": [
            {"created": "2024-09-26T21:31:42Z", "created_by": "ADD file:… in / "},
            {"created": "2024-09-26T21:31:42Z", "created_by": "CMD [\"sh\"]", "empty_layer": true}
        ],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [base_diff_id()]}
    }))
    .expect("JSON")
}

/// The image id of [`image_config`]: the sha256 of its bytes, hex.
pub fn image_id_hex() -> String {
    sha256_hex(&image_config())
}

/// `repositories.json` naming the image by tag and digest.
pub fn repositories_json() -> Vec<u8> {
    let id = format!("sha256:{}", image_id_hex());
    serde_json::to_vec(&serde_json::json!({"Repositories": {"busybox": {
        "busybox:latest": id,
        "busybox@sha256:9ae97d36d26566ff84e8893c64a6dc4fe8ca6d1144bf5b87b2b85a32def253c7": id
    }}}))
    .expect("JSON")
}

/// The container's `config.v2.json`, as dockerd 27 writes it (trimmed).
pub fn container_config() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "StreamConfig": {},
        "State": {
            "Running": false, "Paused": false, "Restarting": false, "OOMKilled": false,
            "RemovalInProgress": false, "Dead": false, "Pid": 0, "ExitCode": 0, "Error": "",
            "StartedAt": "2026-01-05T10:00:00.123456789Z",
            "FinishedAt": "2026-01-05T10:00:01.5Z", "Health": null
        },
        "ID": CONTAINER_ID,
        "Created": "2026-01-05T09:59:59.9Z",
        "Managed": false,
        "Path": "sh",
        "Args": ["-c", "echo hi"],
        "Config": {
            "Hostname": "c3b1f0a2d4e6", "Image": "busybox", "Cmd": ["sh", "-c", "echo hi"],
            "Labels": {"com.example.role": "fuzz"}
        },
        "Image": format!("sha256:{}", image_id_hex()),
        "Driver": DRIVER,
        "Name": "/fuzzy",
        "LogPath": format!("/var/lib/docker/containers/{CONTAINER_ID}/{CONTAINER_ID}-json.log"),
        "MountPoints": {
            "/data": {
                "Source": "", "Destination": "/data", "RW": true, "Name": "data",
                "Driver": "local", "Type": "volume", "Relabel": "z", "Propagation": "",
                "Spec": {"Type": "volume", "Source": "data", "Target": "/data"}
            }
        }
    }))
    .expect("JSON")
}

/// The container's `hostconfig.json`, as dockerd writes it (trimmed).
pub fn host_config() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "Binds": null, "NetworkMode": "bridge", "PortBindings": {},
        "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "AutoRemove": false,
        "LogConfig": {"Type": "json-file", "Config": {}},
        "Mounts": [{"Type": "volume", "Source": "data", "Target": "/data"}],
        "Memory": 0, "NanoCpus": 0, "ReadonlyRootfs": false
    }))
    .expect("JSON")
}

/// The sha256 of `bytes`, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Paths of the synthetic root's records, relative to the data root.
pub mod paths {
    use super::*;

    /// `image/overlay2/`.
    pub fn image_dir() -> PathBuf {
        Path::new(IMAGE_DIR).join(DRIVER)
    }
    /// `image/overlay2/repositories.json`.
    pub fn repositories() -> PathBuf {
        image_dir().join(REPOSITORIES_JSON)
    }
    /// `image/overlay2/imagedb/content/sha256/`.
    pub fn image_content() -> PathBuf {
        image_dir().join(IMAGEDB_CONTENT)
    }
    /// `image/overlay2/layerdb/sha256/<chain>/`.
    pub fn layer_record(chain: &ChainId) -> PathBuf {
        image_dir().join(LAYERDB_SHA256).join(chain.0.hex())
    }
    /// `image/overlay2/layerdb/mounts/<container>/`.
    pub fn mount_record() -> PathBuf {
        image_dir().join(LAYERDB_MOUNTS).join(CONTAINER_ID)
    }
    /// `containers/<container>/`.
    pub fn container_dir() -> PathBuf {
        Path::new(CONTAINERS_DIR).join(CONTAINER_ID)
    }
    /// `containers/<container>/config.v2.json`.
    pub fn container_config() -> PathBuf {
        container_dir().join(CONTAINER_CONFIG)
    }
    /// `containers/<container>/hostconfig.json`.
    pub fn host_config() -> PathBuf {
        container_dir().join(CONTAINER_HOSTCONFIG)
    }
    /// `overlay2/<cache id>/`.
    pub fn layer_home(cache_id: &str) -> PathBuf {
        Path::new(OVERLAY2_DIR).join(cache_id)
    }
}

/// A synthetic data root in a private temporary directory, removed on drop.
pub struct SyntheticRoot {
    dir: tempfile::TempDir,
}

impl SyntheticRoot {
    /// Plants the sound store described in the module docs.
    pub fn new() -> SyntheticRoot {
        let dir = scratch_dir("strata-fuzz-root-");
        let root = SyntheticRoot { dir };
        let base = base_chain();
        let base_record = paths::layer_record(&base);
        let config = image_config();
        root.set(&paths::repositories(), Some(&repositories_json()));
        root.set(
            &paths::image_content().join(sha256_hex(&config)),
            Some(&config),
        );
        root.mkdir(&paths::image_dir().join(IMAGEDB_METADATA));
        root.set(
            &base_record.join(LAYER_DIFF),
            Some(base_diff_id().as_bytes()),
        );
        root.set(
            &base_record.join(LAYER_CACHE_ID),
            Some(BASE_CACHE_ID.as_bytes()),
        );
        root.set(&base_record.join(LAYER_SIZE), Some(b"0"));
        root.set(
            &base_record.join(LAYER_TAR_SPLIT),
            Some(&gzip(&empty_tar_split())),
        );
        let mount = paths::mount_record();
        root.set(&mount.join(MOUNT_ID), Some(MOUNT_CACHE_ID.as_bytes()));
        root.set(
            &mount.join(MOUNT_INIT_ID),
            Some(format!("{MOUNT_CACHE_ID}-init").as_bytes()),
        );
        root.set(
            &mount.join(analyzers::layout::LAYER_PARENT),
            Some(base.0.as_str().as_bytes()),
        );
        root.set(&paths::container_config(), Some(&container_config()));
        root.set(&paths::host_config(), Some(&host_config()));
        let home = |id: &str| paths::layer_home(id);
        root.mkdir(&home(BASE_CACHE_ID).join(OVERLAY2_DIFF));
        root.set(
            &home(BASE_CACHE_ID).join(OVERLAY2_LINK),
            Some(BASE_LINK.as_bytes()),
        );
        for id in [MOUNT_CACHE_ID.to_owned(), format!("{MOUNT_CACHE_ID}-init")] {
            root.mkdir(&home(&id).join(OVERLAY2_DIFF));
            root.set(
                &home(&id).join(OVERLAY2_LOWER),
                Some(format!("{OVERLAY2_LINK_DIR}/{BASE_LINK}").as_bytes()),
            );
        }
        root.mkdir(&Path::new(OVERLAY2_DIR).join(OVERLAY2_LINK_DIR));
        root.mkdir(Path::new(VOLUMES_DIR));
        root
    }

    /// The data root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `bytes` to the file `rel` (making its parents), or removes it when `None`.
    pub fn set(&self, rel: &Path, bytes: Option<&[u8]>) {
        plant(self.path(), rel, bytes);
    }

    /// Makes the directory `rel` and its parents.
    pub fn mkdir(&self, rel: &Path) {
        fs::create_dir_all(self.dir.path().join(rel)).expect("creating a directory");
    }

    /// Removes every entry of the directory `rel` (which stays).
    pub fn clear_dir(&self, rel: &Path) {
        let dir = self.dir.path().join(rel);
        for entry in fs::read_dir(&dir).expect("listing a directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                fs::remove_dir_all(&path).expect("removing a directory");
            } else {
                fs::remove_file(&path).expect("removing a file");
            }
        }
    }

    /// Opens and loads the store the way the CLI does, with default options, and uses the
    /// graph's own walks over what loaded. Loading must not fail: the synthetic root is a data
    /// root whatever the fuzzed records say, and damage is a [`analyzers::Problem`], not an
    /// error.
    pub fn load(&self) -> Store {
        let root = DataRoot::open(self.path()).expect("the synthetic root is a data root");
        let store = Store::load(&root, &LoadOptions::default()).expect("the store loads");
        exercise(&store);
        store
    }
}

impl Default for SyntheticRoot {
    fn default() -> Self {
        SyntheticRoot::new()
    }
}

/// Uses what a report would use of a loaded store, so that a record that loads but breaks a
/// later assumption (a cycle, a dangling id) is caught too.
fn exercise(store: &Store) {
    let _ = store.parents();
    for image in store.images.values() {
        let _ = store.chain_below(image.top_layer());
        let _ = store.resolve_image(image.id.0.as_str());
        for tag in &image.repo_tags {
            let _ = store.resolve_image(tag);
        }
    }
    for container in &store.containers {
        let _ = store.chain_below(container.rw_layer.parent.as_ref());
        let _ = container.state.word();
        for m in &container.mounts {
            let _ = store.volume_refs(&m.name);
        }
    }
    for mount in store.mounts.values() {
        let _ = mount.init();
    }
    let _ = store.resolve_image("busybox");
}

/// Writes `bytes` to the file `rel` under `root` (making its parents), or removes it when
/// `None`.
pub fn plant(root: &Path, rel: &Path, bytes: Option<&[u8]>) {
    let path = root.join(rel);
    match bytes {
        Some(b) => {
            fs::create_dir_all(path.parent().expect("a file under the root"))
                .expect("creating a record directory");
            fs::write(&path, b).expect("writing a record");
        }
        None => match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("removing {}: {e}", path.display()),
        },
    }
}

/// A fresh private directory in memory (`/dev/shm`), else in the temporary directory.
pub fn scratch_dir(prefix: &str) -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = {
        let mut b = tempfile::Builder::new();
        b.prefix(prefix);
        b
    };
    if shm.is_dir() {
        if let Ok(dir) = builder.tempdir_in(shm) {
            return dir;
        }
    }
    builder.tempdir().expect("creating a temporary directory")
}

/// The tar-split record of an empty tar: one segment holding the two zero blocks.
pub fn empty_tar_split() -> Vec<u8> {
    let zeros = vec![0u8; 1024];
    let mut line = serde_json::to_vec(&serde_json::json!({
        "type": 2, "payload": base64_std(&zeros), "position": 0
    }))
    .expect("JSON");
    line.push(b'\n');
    line
}

/// gzip of `bytes`, as dockerd stores `tar-split.json.gz`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip into memory");
    gz.finish().expect("gzip into memory")
}

/// Standard base64 with padding (what Go's `encoding/json` writes for `[]byte`).
pub fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Splits `data` into at most `n` parts at `0x00` bytes: the fuzzed records are text, so a NUL
/// never occurs in a sound one and the fuzzer can move a boundary with one byte. An empty or
/// missing part is `None`: the file is absent (an empty record reads like a blank one, which
/// `"\n"` reaches).
pub fn split_parts(data: &[u8], n: usize) -> Vec<Option<&[u8]>> {
    let mut parts: Vec<Option<&[u8]>> = data
        .splitn(n, |&b| b == 0)
        .map(|p| (!p.is_empty()).then_some(p))
        .collect();
    parts.resize(n, None);
    parts
}

/// Joins records into one input that [`split_parts`] splits back (for the seeds).
pub fn join_parts(parts: &[Option<&[u8]>]) -> Vec<u8> {
    let last = parts.iter().rposition(Option::is_some).map_or(0, |i| i + 1);
    let mut out = Vec::new();
    for (i, p) in parts[..last].iter().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(p.unwrap_or_default());
    }
    out
}

/// The byte between two JSON documents of one part (ASCII's record separator: JSON text
/// holds it nowhere, not even escaped in a string), where a part holds several, as the
/// `containers_storage_store` target's image configs do.
pub const CONFIG_SEPARATOR: u8 = 0x1e;

/// Bytes of the length that opens an input [`split_pair`] splits.
const PAIR_LENGTH_BYTES: usize = 4;

/// Splits `data` into two binary files, where a NUL cannot mark the boundary (Bolt databases
/// are mostly zeros): the first four bytes are the first part's length, little-endian (cut to
/// what follows), then come the first part and the second part. An empty part is `None`, the
/// file absent, as for [`split_parts`]; an input shorter than the length leaves both absent.
pub fn split_pair(data: &[u8]) -> (Option<&[u8]>, Option<&[u8]>) {
    let Some((length, rest)) = data.split_first_chunk::<PAIR_LENGTH_BYTES>() else {
        return (None, None);
    };
    let first =
        usize::try_from(u32::from_le_bytes(*length)).map_or(rest.len(), |n| n.min(rest.len()));
    let (a, b) = rest.split_at(first);
    ((!a.is_empty()).then_some(a), (!b.is_empty()).then_some(b))
}

/// Joins two files into one input that [`split_pair`] splits back (for the seeds).
pub fn join_pair(first: Option<&[u8]>, second: Option<&[u8]>) -> Vec<u8> {
    let (a, b) = (first.unwrap_or_default(), second.unwrap_or_default());
    let length = u32::try_from(a.len()).expect("a seed part under 4 GiB");
    let mut out = length.to_le_bytes().to_vec();
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    out
}
