//! Writes the seed corpus, `fuzz/corpus/<target>/<name>`: a handful of small, real-looking
//! inputs per target (sound records as dockerd writes them, tars made with the `tar` crate,
//! Dockerfiles, API bodies as the Docker CLI sends them). Run from `fuzz/` with
//! `cargo run --example seeds`; the output is committed, so this only needs running again
//! when the synthetic root or a seed changes.
//!
//! The `containerd_store` seeds are a real containerd root's `meta.db` and overlayfs
//! `metadata.db`, read (never written) from the root named by `STRATA_SEED_CONTAINERD_ROOT`
//! (they were made from a containerd 1.7 root with images and containers in namespace
//! `k8s.io`); without it those seeds are left as committed. Likewise the
//! `containers_storage_store` seeds are a podman 4.3 graphroot's records, read from the root
//! named by `STRATA_SEED_PODMAN_ROOT` (`/work/podman-sample/root`, made by
//! `scripts/podman-sample.sh`), with its BoltDB rewritten compactly, or its records written to
//! a SQLite state as podman 4.8+ writes one, or no libpod state.

use std::fs;
use std::io::Read;
use std::path::Path;

use analyzers::driver::{Driver, Overlayfs};
use analyzers::format::bolt::{self, Bucket, Db, NewBucket};
use analyzers::format::containerd::{META_DB, SNAPSHOTTER_DB};
use analyzers::format::containers_storage::big_data_file_name;
use analyzers::format::libpod::{sqlite, BOLT_STATE, SQLITE_STATE};
use analyzers::fs::Jail;
use serde_json::json;
use strata_fuzz::{
    base_chain, base_diff_id, container_config, empty_tar_split, host_config, image_config,
    join_pair, join_parts, repositories_json, BASE_CACHE_ID, BASE_LINK, CONFIG_SEPARATOR,
    CONTAINER_ID, MOUNT_CACHE_ID, UPPER_CACHE_ID, UPPER_DIFF_HEX,
};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("creating a corpus directory");
    fs::write(dir.join(name), bytes).expect("writing a seed");
}

fn json(value: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("JSON")
}

fn image_configs() {
    write("store_image_config", "busybox.json", &image_config());
    write(
        "store_image_config",
        "two-layers.json",
        &json(&json!({
            "architecture": "arm64", "os": "linux", "variant": "v8",
            "created": "2026-02-01T12:00:00.5+01:00",
            "config": {"Env": ["A=1"], "Entrypoint": ["/app"], "Labels": null,
                       "ExposedPorts": {"80/tcp": {}}, "WorkingDir": "/srv"},
            "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) COPY app /app"]},
            "history": [{"created_by": "ADD rootfs.tar /"}, {"created_by": "COPY app /app"}],
            "rootfs": {"type": "layers",
                       "diff_ids": [base_diff_id(), format!("sha256:{UPPER_DIFF_HEX}")]}
        })),
    );
    write(
        "store_image_config",
        "no-layers.json",
        &json(&json!({"created": "0001-01-01T00:00:00Z", "rootfs": {"type": "layers"}})),
    );
    write(
        "store_image_config",
        "bad-diff-id.json",
        &json(&json!({"rootfs": {"type": "layers", "diff_ids": ["sha256:zz"]}, "history": []})),
    );
}

fn container_configs() {
    write("store_container_config", "exited.json", &container_config());
    let mut running: serde_json::Value = serde_json::from_slice(&container_config()).expect("JSON");
    running["State"]["Running"] = json!(true);
    running["State"]["Pid"] = json!(4242);
    running["State"]["FinishedAt"] = json!("0001-01-01T00:00:00Z");
    running["MountPoints"]["/srv"] = json!({"Source": "/srv", "Destination": "/srv", "RW": false,
        "Type": "bind", "Propagation": "rprivate"});
    write("store_container_config", "running.json", &json(&running));
    write(
        "store_container_config",
        "minimal.json",
        &json(
            &json!({"ID": CONTAINER_ID, "Image": "sha256:", "Driver": "overlay2",
                      "State": null, "Config": null, "MountPoints": null}),
        ),
    );
}

fn host_configs() {
    write("store_hostconfig", "default.json", &host_config());
    write(
        "store_hostconfig",
        "binds.json",
        &json(
            &json!({"Binds": ["/srv:/srv:ro", "data:/data"], "NetworkMode": "host",
                      "Memory": 268_435_456, "NanoCpus": 500_000_000, "AutoRemove": true}),
        ),
    );
    write("store_hostconfig", "empty.json", b"{}");
}

fn repositories() {
    write("store_repositories", "busybox.json", &repositories_json());
    write(
        "store_repositories",
        "several.json",
        &json(&json!({"Repositories": {
            "docker.io/library/alpine": {"docker.io/library/alpine:3.20": format!("sha256:{UPPER_DIFF_HEX}")},
            "registry.example:5000/team/app": {"registry.example:5000/team/app:v1": "sha256:1234",
                                               "registry.example:5000/team/app@sha256:00": "nope"}
        }})),
    );
    write(
        "store_repositories",
        "empty.json",
        br#"{"Repositories":{}}"#,
    );
}

fn layerdb() {
    let base = base_chain();
    let base_ref = base.0.as_str();
    let upper_diff = format!("sha256:{UPPER_DIFF_HEX}");
    let init = format!("{MOUNT_CACHE_ID}-init");
    let lower = format!("l/{BASE_LINK}");
    let base_diff = base_diff_id();
    let parts = |upper_parent: &str, mount_parent: &str| {
        join_parts(&[
            Some(base_diff.as_bytes()),
            None,
            Some(BASE_CACHE_ID.as_bytes()),
            Some(b"0"),
            Some(upper_diff.as_bytes()),
            Some(upper_parent.as_bytes()),
            Some(UPPER_CACHE_ID.as_bytes()),
            Some(b"1048576"),
            Some(MOUNT_CACHE_ID.as_bytes()),
            Some(init.as_bytes()),
            Some(mount_parent.as_bytes()),
            Some(lower.as_bytes()),
            Some(BASE_LINK.as_bytes()),
        ])
    };
    write("store_layerdb", "two-layers", &parts(base_ref, base_ref));
    let upper_chain = strata_fuzz::upper_chain();
    write(
        "store_layerdb",
        "container-on-upper",
        &parts(base_ref, upper_chain.0.as_str()),
    );
    write(
        "store_layerdb",
        "cycle",
        &join_parts(&[
            Some(base_diff.as_bytes()),
            Some(upper_chain.0.as_str().as_bytes()),
            Some(BASE_CACHE_ID.as_bytes()),
            Some(b"-1"),
            Some(upper_diff.as_bytes()),
            Some(base_ref.as_bytes()),
            Some(b".."),
            Some(b"99999999999999999999"),
        ]),
    );
}

fn bolt() {
    let record = |labels: serde_json::Value| {
        json(&json!({"Name": "data", "Driver": "local", "Labels": labels, "Options": null}))
    };
    write(
        "bolt_db",
        "volumes-metadata.db",
        &analyzers::format::bolt::single_bucket(
            b"volumes",
            &[
                (b"data".to_vec(), record(json!({"com.example": "x"}))),
                (
                    b"3f0c8a1e9b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e".to_vec(),
                    record(json!({"com.docker.volume.anonymous": ""})),
                ),
            ],
        ),
    );
    write(
        "bolt_db",
        "empty-bucket.db",
        &analyzers::format::bolt::single_bucket(b"volumes", &[]),
    );
    let buildkit = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../analyzers/src/format/bolt/testdata/metadata_v2.db");
    write(
        "bolt_db",
        "buildkit-metadata_v2.db",
        &fs::read(buildkit).expect("the analyzers' BuildKit test database"),
    );
}

/// A small layer tar: directories, files, a symlink, a hard link, whiteouts, long names.
fn layer_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |kind: tar::EntryType, name: &str, link: Option<&str>, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h.set_size(data.len() as u64);
        if let Some(l) = link {
            h.set_link_name(l).expect("a short link name");
        }
        b.append_data(&mut h, name, data)
            .expect("appending to a tar in memory");
    };
    add(tar::EntryType::Directory, "etc/", None, b"");
    add(tar::EntryType::Regular, "etc/hostname", None, b"fuzzy\n");
    add(tar::EntryType::Directory, "bin/", None, b"");
    add(
        tar::EntryType::Regular,
        "bin/busybox",
        None,
        b"\x7fELF not really busybox\n",
    );
    add(tar::EntryType::Symlink, "bin/sh", Some("busybox"), b"");
    add(tar::EntryType::Link, "bin/ls", Some("bin/busybox"), b"");
    add(tar::EntryType::Regular, "bin/.wh.gone", None, b"");
    add(tar::EntryType::Directory, "var/cache/", None, b"");
    add(tar::EntryType::Regular, "var/cache/.wh..wh..opq", None, b"");
    add(
        tar::EntryType::Regular,
        "usr/share/doc/a-name-longer-than-the-hundred-bytes-of-a-ustar-header-so-that-gnu-long-names-are-used/README",
        None,
        b"long\n",
    );
    b.into_inner().expect("finishing a tar in memory")
}

/// A tar that tries to leave the layer: an absolute symlink, then a write through it.
fn escaping_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_link_name("/dev/shm").expect("a short link name");
    b.append_data(&mut h, "up", &[][..]).expect("appending");
    let mut f = tar::Header::new_ustar();
    f.set_entry_type(tar::EntryType::Regular);
    f.set_size(4);
    f.set_mode(0o644);
    b.append_data(&mut f, "up/escaped", &b"boo\n"[..])
        .expect("appending");
    let mut l = tar::Header::new_ustar();
    l.set_entry_type(tar::EntryType::Link);
    l.set_size(0);
    l.set_link_name("../canary/passwd")
        .expect("a short link name");
    b.append_data(&mut l, "pw", &[][..]).expect("appending");
    b.into_inner().expect("finishing a tar in memory")
}

fn tars() {
    let tar = layer_tar();
    write(
        "layer_extract",
        "overlay2-layer.tar",
        &[&[1u8][..], &tar].concat(),
    );
    write(
        "layer_extract",
        "vfs-layer.tar",
        &[&[0u8][..], &tar].concat(),
    );
    write(
        "layer_extract",
        "escaping.tar",
        &[&[1u8][..], &escaping_tar()].concat(),
    );
    write(
        "layer_extract",
        "empty.tar",
        &[1u8; 1]
            .iter()
            .copied()
            .chain([0u8; 1024])
            .collect::<Vec<_>>(),
    );

    // The tar-split record of a tar of exactly the files the tarsplit target plants.
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("etc/hostname", &b"fuzzy\n"[..]),
        ("bin/busybox", &b"\x7fELF not really busybox\n"[..]),
        ("bin/.wh.gone", &b""[..]),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        b.append_data(&mut h, name, data).expect("appending");
    }
    let tar = b.into_inner().expect("finishing a tar in memory");
    let mut split = Vec::new();
    engine::layer::tarsplit::disassemble(&tar[..], &mut split, |_, _| Ok(()))
        .expect("the seed tar reads");
    write("tarsplit_verify", "three-files.json", &split);
    let mut long = Vec::new();
    engine::layer::tarsplit::disassemble(&layer_tar()[..], &mut long, |_, _| Ok(()))
        .expect("the seed tar reads");
    write("tarsplit_verify", "layer.json", &long);
    write("tarsplit_verify", "empty-tar.json", &empty_tar_split());
    write(
        "tarsplit_verify",
        "raw-name.json",
        b"{\"type\":1,\"name_raw\":\"ZXRjL2hvc3RuYW1l\",\"size\":6,\"payload\":\"AAAAAAAAAAA=\",\"position\":1}\n",
    );
}

fn dockerfiles() {
    write(
        "dockerfile",
        "classic",
        b"# syntax=docker/dockerfile:1\nARG VERSION=1.36\nFROM busybox:${VERSION} AS base\n\
          LABEL org.opencontainers.image.title=\"fuzz me\" version=$VERSION\n\
          ENV PATH=/usr/local/bin:$PATH HOME=/root\nWORKDIR /srv\n\
          COPY --chown=1000:1000 app/ /srv/app/\nADD [\"a b.txt\", \"/srv/\"]\n\
          RUN set -eux; \\\n    echo hi > /etc/motd \\\n    # a comment inside\n    && true\n\
          EXPOSE 8080/tcp 53/udp\nVOLUME [\"/data\"]\nUSER 1000:1000\nSTOPSIGNAL SIGTERM\n\
          HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD wget -q -O- http://localhost:8080/ || exit 1\n\
          ENTRYPOINT [\"/srv/app/run\"]\nCMD [\"--port\", \"8080\"]\n",
    );
    write(
        "dockerfile",
        "escape-backtick",
        b"# escape=`\nFROM mcr.microsoft.com/windows/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\ `\n    && echo done\n",
    );
    write(
        "dockerfile",
        "variables",
        b"FROM scratch\nARG A\nENV B=${A:-default} C=${A:+set} D='single $A' E=\"double ${B}\" F=\\$G\nENV OLD form with spaces\nSHELL [\"/bin/sh\", \"-c\"]\nMAINTAINER someone\nONBUILD RUN true\nHEALTHCHECK NONE\n",
    );
}

fn api_bodies() {
    // What `docker create --name web -v data:/data -v /srv:/srv:ro --memory 256m busybox sh`
    // sends (docker CLI 27, trimmed of the many empty fields).
    write(
        "api_bodies",
        "containers-create.json",
        &json(&json!({
            "Hostname": "", "Domainname": "", "User": "", "AttachStdin": false,
            "AttachStdout": true, "AttachStderr": true, "Tty": false, "OpenStdin": false,
            "StdinOnce": false, "Env": ["A=1"], "Cmd": ["sh"], "Image": "busybox",
            "Volumes": {}, "WorkingDir": "", "Entrypoint": null, "OnBuild": null,
            "Labels": {"com.example": "web"},
            "HostConfig": {
                "Binds": ["data:/data", "/srv:/srv:ro"], "ContainerIDFile": "",
                "LogConfig": {"Type": "", "Config": {}}, "NetworkMode": "default",
                "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                "AutoRemove": false, "Memory": 268_435_456, "NanoCpus": 0,
                "ReadonlyRootfs": false,
                "Mounts": [{"Type": "tmpfs", "Target": "/run"},
                           {"Type": "volume", "Source": "cache", "Target": "/cache", "ReadOnly": true}]
            },
            "NetworkingConfig": {"EndpointsConfig": {}}
        })),
    );
    write(
        "api_bodies",
        "volumes-create.json",
        &json(&json!({"Name": "data", "Driver": "local", "DriverOpts": {}, "Labels": {"a": "b"}})),
    );
    write(
        "api_bodies",
        "buildargs.json",
        br#"{"VERSION":"1.36","UNSET":null}"#,
    );
    write(
        "api_bodies",
        "filters.json",
        br#"{"dangling":{"true":true},"label":{"com.example=web":true}}"#,
    );
}

/// The environment variable naming the containerd root the `containerd_store` seeds are read
/// from.
const CONTAINERD_ROOT_ENV: &str = "STRATA_SEED_CONTAINERD_ROOT";
/// Most bytes of a bucket without sub-buckets that is written inline in its parent (bbolt
/// inlines one up to a quarter page).
const INLINE_MAX: usize = 1024;
/// Page size of the compact rewrites: every bucket holding buckets (in `meta.db`, one per
/// blob, image, container, snapshot) takes a page of its own, so small pages keep the seeds
/// small (bbolt reads the page size from the file; `Options.PageSize` writes one).
const COMPACT_PAGE_SIZE: usize = 512;
/// Byte offset of the high-water mark (`pgid`) in a meta page: the page header (16 bytes),
/// then magic, version, page size, flags (4 each), root bucket (16), freelist (8).
const META_HIGH_WATER_AT: usize = 56;

/// `bucket` again, for the writer: its values, sequence and nested buckets, inline where bbolt
/// would put it inline.
fn rebuild(bucket: &Bucket) -> NewBucket {
    let nested = bucket.iter().any(|(_, e)| e.as_bucket().is_some());
    let bytes: usize = bucket
        .iter()
        .map(|(k, e)| 16 + k.len() + e.as_value().map_or(0, <[u8]>::len))
        .sum();
    let empty = if nested || bytes > INLINE_MAX {
        NewBucket::new()
    } else {
        NewBucket::inline()
    };
    bucket
        .iter()
        .fold(empty.sequence(bucket.sequence()), |b, (key, entry)| match (
            entry.as_value(),
            entry.as_bucket(),
        ) {
            (Some(value), _) => b.value(key, value),
            (_, Some(nested)) => b.bucket(key, rebuild(nested)),
            (None, None) => b,
        })
}

/// The database at `path`, as it is (cut at its high-water mark: the pages past it are
/// unused) and rewritten compactly (small pages, no free pages) with the same buckets, keys
/// and values.
fn real_and_compact(jail: &Jail, path: &Path) -> (Vec<u8>, Vec<u8>) {
    let db = Db::open(jail, path).unwrap_or_else(|p| panic!("{}: {}", path.display(), p.detail));
    let mut real = fs::read(path).expect("reading the database");
    let page = db.page_size() as usize;
    let high_water = (0..2)
        .filter_map(|n| real.get(n * page + META_HIGH_WATER_AT..n * page + META_HIGH_WATER_AT + 8))
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")))
        .max()
        .and_then(|pages| usize::try_from(pages).ok())
        .map_or(real.len(), |pages| pages.saturating_mul(page));
    real.truncate(high_water.min(real.len()));
    let layout = bolt::Layout {
        page_size: COMPACT_PAGE_SIZE,
        txid: db.txid(),
        ..bolt::Layout::default()
    };
    let top = db
        .root()
        .iter()
        .filter_map(|(key, entry)| entry.as_bucket().map(|b| (key, b)))
        .fold(NewBucket::new(), |root, (key, b)| {
            root.bucket(key, rebuild(b))
        });
    (real, bolt::write(&top, &layout))
}

fn containerd_store() {
    let Some(root) = std::env::var_os(CONTAINERD_ROOT_ENV) else {
        eprintln!("seeds: {CONTAINERD_ROOT_ENV} unset; the containerd_store seeds are kept");
        return;
    };
    let root = Path::new(&root);
    let jail = Jail::open(root).expect("opening the containerd root");
    let (_, meta) = real_and_compact(&jail, &root.join(META_DB));
    let snapshots_path = Overlayfs::new(root).home().join(SNAPSHOTTER_DB);
    let (snapshots_real, snapshots) = real_and_compact(&jail, &snapshots_path);
    write(
        "containerd_store",
        "k8s-compact",
        &join_pair(Some(&meta), Some(&snapshots)),
    );
    // The snapshotter's file byte for byte: its freelist and the pages bbolt left behind.
    write(
        "containerd_store",
        "k8s-real-snapshots",
        &join_pair(Some(&meta), Some(&snapshots_real)),
    );
    write(
        "containerd_store",
        "k8s-meta-only",
        &join_pair(Some(&meta), None),
    );
}

/// The environment variable naming the podman graphroot the `containers_storage_store` seeds
/// are read from (`scripts/podman-sample.sh` makes one: `/work/podman-sample/root`).
const PODMAN_ROOT_ENV: &str = "STRATA_SEED_PODMAN_ROOT";

/// The `containers_storage_store` text part (its order in that target's docs) of the podman
/// graphroot `root`: its three records files, its images' configs, its layer directories
/// (with the bytes of each `diff/`, capped), its volumes, its smallest layer's tar-split and
/// `driver` (overlay when `None`).
fn podman_text(root: &Path, driver: Option<&[u8]>) -> Vec<u8> {
    let read = |rel: &str| fs::read(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let layers = read("overlay-layers/layers.json");
    let images = read("overlay-images/images.json");
    let containers = read("overlay-containers/containers.json");
    let records: serde_json::Value = serde_json::from_slice(&images).expect("images.json");
    let configs: Vec<Vec<u8>> = records
        .as_array()
        .expect("a list of images")
        .iter()
        .map(|r| {
            let id = r["id"].as_str().expect("an image id");
            let key = big_data_file_name(&format!("sha256:{id}"));
            read(&format!("overlay-images/{id}/{key}"))
        })
        .collect();
    let configs = configs.join(&CONFIG_SEPARATOR);
    let mut dirs = String::new();
    for entry in fs::read_dir(root.join("overlay")).expect("overlay/") {
        let path = entry.expect("an entry").path();
        let diff = path.join("diff");
        if diff.is_dir() {
            let bytes: u64 = walk_bytes(&diff).min(1 << 14);
            let id = path.file_name().expect("a name").to_string_lossy();
            dirs.push_str(&format!("{id} {bytes}\n"));
        }
    }
    let mut volumes = String::new();
    for entry in fs::read_dir(root.join("volumes")).expect("volumes/") {
        let entry = entry.expect("an entry");
        if entry.path().join("_data").is_dir() {
            volumes.push_str(&format!("{}\n", entry.file_name().to_string_lossy()));
        }
    }
    let smallest = fs::read_dir(root.join("overlay-layers"))
        .expect("overlay-layers/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".tar-split.gz"))
        .min_by_key(|p| fs::metadata(p).map_or(u64::MAX, |m| m.len()))
        .expect("a tar-split");
    let mut tar_split = Vec::new();
    flate2::read::GzDecoder::new(fs::File::open(&smallest).expect("the tar-split"))
        .read_to_end(&mut tar_split)
        .expect("gunzipping the tar-split");
    join_parts(&[
        Some(&layers),
        Some(&images),
        Some(&containers),
        Some(&configs),
        Some(dirs.as_bytes()),
        Some(volumes.as_bytes()),
        Some(&tar_split),
        driver,
    ])
}

/// The bytes of the files under `dir`.
fn walk_bytes(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => walk_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// libpod's SQLite state holding the containers and volumes of the BoltDB state `bolt`: the
/// schema podman creates (`analyzers::format::libpod::sqlite::SCHEMA`) and the rows its
/// `addVolume` and `addContainer` write, the JSON documents bound as BLOBs.
fn podman_sqlite(bolt: &Db) -> Vec<u8> {
    use analyzers::format::libpod::bolt::{
        ALL_CTRS_BUCKET, ALL_VOLS_BUCKET, CONFIG_KEY, CTR_BUCKET, STATE_KEY, VOL_BUCKET,
    };
    use rusqlite::{params, Connection};
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(SQLITE_STATE);
    let mut db = Connection::open(&path).expect("creating db.sql");
    // Small pages keep the seed small (podman keeps SQLite's default, 4096 bytes).
    db.pragma_update(None, "page_size", 512)
        .expect("the page size");
    for statement in sqlite::SCHEMA {
        db.execute(statement, []).expect("podman's schema");
    }
    // One transaction, as podman's: the foreign keys between config and state rows are
    // checked at its end.
    let conn = db.transaction().expect("a transaction");
    let root = bolt.root();
    let get = |records: &str, key: &[u8], part: &str| {
        root.bucket(records)
            .and_then(|r| r.bucket(key))
            .and_then(|r| r.get(part))
            .map(<[u8]>::to_vec)
    };
    let text = |key: &[u8]| String::from_utf8_lossy(key).into_owned();
    for (key, _) in root
        .bucket(ALL_VOLS_BUCKET)
        .into_iter()
        .flat_map(Bucket::iter)
    {
        let config = get(VOL_BUCKET, key, CONFIG_KEY).expect("a volume config");
        let state = get(VOL_BUCKET, key, STATE_KEY).unwrap_or_else(|| b"{}".to_vec());
        conn.execute(
            "INSERT INTO VolumeConfig VALUES (?, NULL, ?);",
            params![text(key), config],
        )
        .expect("VolumeConfig");
        conn.execute(
            "INSERT INTO VolumeState VALUES (?, ?);",
            params![text(key), state],
        )
        .expect("VolumeState");
    }
    for (key, _) in root
        .bucket(ALL_CTRS_BUCKET)
        .into_iter()
        .flat_map(Bucket::iter)
    {
        let config = get(CTR_BUCKET, key, CONFIG_KEY).expect("a container config");
        let state = get(CTR_BUCKET, key, STATE_KEY).expect("a container state");
        let parsed: serde_json::Value = serde_json::from_slice(&config).expect("config JSON");
        let run: serde_json::Value = serde_json::from_slice(&state).expect("state JSON");
        conn.execute("INSERT INTO IDNamespace VALUES (?);", [text(key)])
            .expect("IDNamespace");
        conn.execute(
            "INSERT INTO ContainerConfig VALUES (?, ?, NULL, ?);",
            params![text(key), parsed["name"].as_str(), config],
        )
        .expect("ContainerConfig");
        conn.execute(
            "INSERT INTO ContainerState VALUES (?, ?, ?, ?);",
            params![
                text(key),
                run["state"].as_i64(),
                run["exitCode"].as_i64().unwrap_or(0),
                state
            ],
        )
        .expect("ContainerState");
        for volume in parsed["namedVolumes"].as_array().into_iter().flatten() {
            conn.execute(
                "INSERT INTO ContainerVolume VALUES (?, ?);",
                params![text(key), volume["volumeName"].as_str()],
            )
            .expect("ContainerVolume");
        }
    }
    conn.commit().expect("committing");
    drop(db);
    fs::read(&path).expect("reading db.sql")
}

fn containers_storage_store() {
    let Some(root) = std::env::var_os(PODMAN_ROOT_ENV) else {
        eprintln!("seeds: {PODMAN_ROOT_ENV} unset; the containers_storage_store seeds are kept");
        return;
    };
    let root = Path::new(&root);
    let text = podman_text(root, None);
    let jail = Jail::open(root).expect("opening the podman graphroot");
    let bolt_path = root.join(BOLT_STATE);
    let (_, bolt) = real_and_compact(&jail, &bolt_path);
    let db = Db::open(&jail, &bolt_path).expect("the BoltDB");
    let target = "containers_storage_store";
    write(target, "podman-bolt", &join_pair(Some(&text), Some(&bolt)));
    write(
        target,
        "podman-sqlite",
        &join_pair(Some(&text), Some(&podman_sqlite(&db))),
    );
    write(target, "podman-no-state", &join_pair(Some(&text), None));
    let vfs = podman_text(root, Some(b"vfs"));
    write(
        target,
        "podman-vfs-bolt",
        &join_pair(Some(&vfs), Some(&bolt)),
    );
}

fn main() {
    image_configs();
    container_configs();
    host_configs();
    repositories();
    layerdb();
    bolt();
    tars();
    dockerfiles();
    api_bodies();
    containerd_store();
    containers_storage_store();
    driver_records();
}

/// The aufs and devicemapper records as dockerd writes them, and a mount table naming a zfs
/// layer's dataset.
fn driver_records() {
    let device = |id: u32| {
        json(
            &json!({"device_id": id, "size": 10_737_418_240_u64, "transaction_id": id,
                     "initialized": false, "deleted": false}),
        )
    };
    let layers = format!("{UPPER_CACHE_ID}\n{BASE_CACHE_ID}\n");
    let set = json(&json!({"next_device_id": 4,
                           "BaseDeviceUUID": "4c2f1a9e-0b7d-4e1f-9a3c-5d6e7f809a1b",
                           "BaseDeviceFilesystem": "xfs"}));
    let transaction = json(
        &json!({"open_transaction_id": 3, "device_hash": MOUNT_CACHE_ID,
                                   "device_id": 3}),
    );
    let dev = device(3);
    write(
        "driver_records",
        "dockerd-records",
        &join_parts(&[
            Some(layers.as_bytes()),
            Some(&dev),
            Some(&set),
            Some(&transaction),
        ]),
    );
    write(
        "driver_records",
        "base-layer",
        &join_parts(&[None, Some(&device(1))]),
    );
    write(
        "driver_records",
        "mountinfo",
        format!(
            "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
             90 29 0:52 / /var/lib/docker/zfs/graph/{MOUNT_CACHE_ID} rw shared:40 - zfs \
             tank/docker/{MOUNT_CACHE_ID} rw,xattr\n"
        )
        .as_bytes(),
    );
}
