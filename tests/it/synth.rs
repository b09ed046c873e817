//! A small synthetic overlay2 store, planted file by file without any daemon: the healthy
//! starting point of the corrupt-input corpus.
//!
//! It holds what dockerd 20.10 writes for: two images, `synth/a:latest` (one layer) and
//! `synth/b:latest` (that layer plus one; its parent image is `a`); one exited container of
//! `b` with a file in its writable layer, an init layer and a json log; one named volume
//! mounted by that container, with labels in `volumes/metadata.db` (a BoltDB file written
//! here, see [`bolt_single_bucket`]). Layer `size` records equal the bytes in the layer
//! directories. dockerd itself loads the store and reports it (`corrupt::synthetic_store_*`).
//!
//! Not planted: `tar-split.json.gz` (so the diff ids are plain digests of a name, not of a
//! real tar), BuildKit's databases, `image/overlay2/distribution/`, `network/`.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::json;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The bytes of the two layers and of the container's writable layer.
pub const LAYER1_SIZE: u64 = 30;
/// See [`LAYER1_SIZE`].
pub const LAYER2_SIZE: u64 = 1004;
/// See [`LAYER1_SIZE`].
pub const RW_SIZE: u64 = 25;
/// The bytes in the volume.
pub const VOLUME_SIZE: u64 = 2048;

/// A planted store and the names in it. Ids are `sha256:<hex>` where Docker writes them so,
/// plain hex otherwise.
pub struct SynthStore {
    _dir: TempDir,
    /// The data root.
    pub root: PathBuf,
    /// `synth/a:latest`: layer 1.
    pub image_a: String,
    /// `synth/b:latest`: layers 1 and 2.
    pub image_b: String,
    /// Chain id of layer 1 (equal to its diff id).
    pub chain1: String,
    /// Chain id of layers 1+2.
    pub chain2: String,
    /// overlay2 directory of layer 2.
    pub cache2: String,
    /// The container (64 hex).
    pub container: String,
    /// overlay2 directory of its writable layer.
    pub mount_id: String,
    /// The volume's name.
    pub volume: String,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(bytes))
}

/// Hex sha256 of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hex after `sha256:`.
pub fn bare(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

/// An overlay2 `link` name: 26 characters of base32, derived from the directory name.
fn link_name(cache_id: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    Sha256::digest(cache_id.as_bytes())
        .iter()
        .take(26)
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect()
}

/// A planted image's config: `diffs` its layers' diff ids, `created` its time, and a label
/// `org.strata.<kind>=<label>` with a history entry per layer naming `kind`, so that each
/// planted store's image ids are its own.
pub fn image_config<D: AsRef<str>>(diffs: &[D], created: &str, kind: &str, label: &str) -> String {
    let diff_ids: Vec<&str> = diffs.iter().map(AsRef::as_ref).collect();
    let history: Vec<_> = diff_ids
        .iter()
        .map(|d| json!({"created": created, "created_by": format!("{kind} {d}")}))
        .collect();
    json!({
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"],
            "Labels": {format!("org.strata.{kind}"): label},
        },
        "history": history,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    .to_string()
}

/// Writes `path` (making its directories), panicking with the path on failure.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("creating a directory of the synthetic store");
    }
    fs::write(path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// `mkdir -p path`, panicking with the path on failure.
pub fn mkdir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {}: {e}", path.display()));
}

impl SynthStore {
    /// Plants a fresh store in a new temporary directory.
    pub fn plant() -> SynthStore {
        SynthStore::plant_in(&std::env::temp_dir())
    }

    /// Plants a fresh store in a new temporary directory under `parent` (a filesystem mounted
    /// with particular options, say).
    pub fn plant_in(parent: &Path) -> SynthStore {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-synth-")
            .tempdir_in(parent)
            .expect("creating the synthetic store's directory");
        let root = dir.path().join("docker");
        let image_dir = root.join("image/overlay2");

        // Layers: diff ids, chain ids, overlay2 directories.
        let diff1 = digest(b"synthetic layer one");
        let diff2 = digest(b"synthetic layer two");
        let chain1 = diff1.clone();
        let chain2 = digest(format!("{chain1} {diff2}").as_bytes());
        let cache1 = hex(b"cache one");
        let cache2 = hex(b"cache two");
        let layerdb = |chain: &str| image_dir.join("layerdb/sha256").join(bare(chain));
        for (chain, diff, parent, cache, size) in [
            (&chain1, &diff1, None, &cache1, LAYER1_SIZE),
            (&chain2, &diff2, Some(&chain1), &cache2, LAYER2_SIZE),
        ] {
            let dir = layerdb(chain);
            write(&dir.join("diff"), diff);
            write(&dir.join("cache-id"), cache);
            write(&dir.join("size"), size.to_string());
            if let Some(parent) = parent {
                write(&dir.join("parent"), parent);
            }
        }
        mkdir(&image_dir.join("layerdb/tmp"));

        let overlay = root.join("overlay2");
        let l1 = plant_layer(&overlay, &cache1, &[]);
        write(
            &overlay.join(&cache1).join("diff/hello.txt"),
            "hello, layer one\n",
        );
        write(
            &overlay.join(&cache1).join("diff/etc/os-release"),
            "ID=synthetic\n",
        );
        let l2 = plant_layer(&overlay, &cache2, std::slice::from_ref(&l1));
        write(
            &overlay.join(&cache2).join("diff/app/data.bin"),
            vec![0x5a; 1000],
        );
        write(&overlay.join(&cache2).join("diff/app/readme"), "two\n");
        for cache in [&cache1, &cache2] {
            write(&overlay.join(cache).join("committed"), "");
        }

        // Images: configs (the id is the config's sha256), tags, parent.
        let config = |diffs: &[&str], created: &str, label: &str| {
            image_config(diffs, created, "synthetic", label)
        };
        let config_a = config(&[&diff1], "2024-01-02T03:04:05.000000006Z", "a");
        let config_b = config(&[&diff1, &diff2], "2024-02-03T04:05:06.7Z", "b");
        let image_a = digest(config_a.as_bytes());
        let image_b = digest(config_b.as_bytes());
        let content = image_dir.join("imagedb/content/sha256");
        write(&content.join(bare(&image_a)), &config_a);
        write(&content.join(bare(&image_b)), &config_b);
        let metadata = image_dir.join("imagedb/metadata/sha256");
        write(&metadata.join(bare(&image_b)).join("parent"), &image_a);
        write(
            &image_dir.join("repositories.json"),
            json!({"Repositories": {
                "synth/a": {"synth/a:latest": image_a},
                "synth/b": {"synth/b:latest": image_b},
            }})
            .to_string(),
        );

        // The container: writable layer (init + rw) on top of image b, its records, a log.
        let container = hex(b"synthetic container");
        let mount_id = hex(b"synthetic mount");
        let init_id = format!("{mount_id}-init");
        let linit = plant_layer(&overlay, &init_id, &[l2.clone(), l1.clone()]);
        for file in [
            "etc/hosts",
            "etc/hostname",
            "etc/resolv.conf",
            ".dockerenv",
            "dev/console",
        ] {
            write(&overlay.join(&init_id).join("diff").join(file), "");
        }
        mkdir(&overlay.join(&init_id).join("diff/dev/shm"));
        symlink("/proc/mounts", overlay.join(&init_id).join("diff/etc/mtab")).expect("etc/mtab");
        plant_layer(&overlay, &mount_id, &[linit, l2, l1]);
        write(
            &overlay.join(&mount_id).join("diff/app/written.txt"),
            "written by the container\n",
        );
        let mounts = image_dir.join("layerdb/mounts").join(&container);
        write(&mounts.join("mount-id"), &mount_id);
        write(&mounts.join("init-id"), &init_id);
        write(&mounts.join("parent"), &chain2);

        let volume = "synthvol".to_owned();
        let volume_data = root.join("volumes").join(&volume).join("_data");
        let cdir = root.join("containers").join(&container);
        write(
            &cdir.join("config.v2.json"),
            json!({
                "StreamConfig": {},
                "State": {
                    "Running": false, "Paused": false, "Restarting": false, "OOMKilled": false,
                    "RemovalInProgress": false, "Dead": false, "Pid": 0, "ExitCode": 0,
                    "Error": "", "StartedAt": "2024-03-01T00:00:01.5Z",
                    "FinishedAt": "2024-03-01T00:00:02.5Z", "Health": null
                },
                "ID": container,
                "Created": "2024-03-01T00:00:00.123456789Z",
                "Managed": false,
                "Path": "sh",
                "Args": ["-c", "echo hello"],
                "Config": {
                    "Hostname": &container[..12], "Domainname": "", "User": "",
                    "AttachStdin": false, "AttachStdout": true, "AttachStderr": true,
                    "Tty": false, "OpenStdin": false, "StdinOnce": false,
                    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                    "Cmd": ["sh", "-c", "echo hello"], "Image": "synth/b:latest",
                    "Volumes": null, "WorkingDir": "", "Entrypoint": null, "OnBuild": null,
                    "Labels": {}
                },
                "Image": image_b,
                "NetworkSettings": {"Networks": {}},
                "LogPath": cdir.join(format!("{container}-json.log")),
                "Name": "/synth-ctr",
                "Driver": "overlay2",
                "OS": "linux",
                "RestartCount": 0,
                "HasBeenStartedBefore": true,
                "HasBeenManuallyStopped": false,
                "MountPoints": {
                    "/vol": {
                        "Source": volume_data, "Destination": "/vol", "RW": true,
                        "Name": volume, "Driver": "local", "Type": "volume", "Relabel": "z",
                        "Spec": {"Type": "volume", "Source": volume, "Target": "/vol"},
                        "SkipMountpointCreation": false
                    }
                },
                "SecretReferences": null,
                "ConfigReferences": null
            })
            .to_string(),
        );
        write(
            &cdir.join("hostconfig.json"),
            json!({
                "Binds": [format!("{volume}:/vol")],
                "LogConfig": {"Type": "json-file", "Config": {}},
                "NetworkMode": "none",
                "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
                "AutoRemove": false,
                "ShmSize": 67_108_864,
                "Runtime": "runc"
            })
            .to_string(),
        );
        write(
            &cdir.join(format!("{container}-json.log")),
            "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2024-03-01T00:00:01.6Z\"}\n",
        );
        mkdir(&cdir.join("checkpoints"));

        // The volume, and its metadata in BoltDB.
        write(&volume_data.join("payload.bin"), vec![0xa5; 2048]);
        let record = json!({
            "Name": volume, "Driver": "local",
            "Labels": {"org.strata.synthetic": "volume"}, "Options": null
        })
        .to_string();
        write(
            &root.join("volumes/metadata.db"),
            bolt_single_bucket(b"volumes", &[(volume.as_bytes(), record.as_bytes())]),
        );

        for dir in [
            "tmp",
            "runtimes",
            "plugins",
            "swarm",
            "trust",
            "network/files",
        ] {
            mkdir(&root.join(dir));
        }

        SynthStore {
            _dir: dir,
            root,
            image_a,
            image_b,
            chain1,
            chain2,
            cache2,
            container,
            mount_id,
            volume,
        }
    }

    /// `root/<rel>`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The relative path of an image's config (`image/overlay2/imagedb/content/sha256/<id>`).
    pub fn image_config(&self, image: &str) -> String {
        format!("image/overlay2/imagedb/content/sha256/{}", bare(image))
    }

    /// The relative path of a layer's record directory (`image/overlay2/layerdb/sha256/<chain>`).
    pub fn layer_record(&self, chain: &str) -> String {
        format!("image/overlay2/layerdb/sha256/{}", bare(chain))
    }

    /// The relative path of one of the container's files (`containers/<id>/<file>`).
    pub fn container_file(&self, file: &str) -> String {
        format!("containers/{}/{file}", self.container)
    }

    /// The relative path of the container's record in the layer store
    /// (`image/overlay2/layerdb/mounts/<id>/<file>`: `mount-id`, `init-id`, `parent`).
    pub fn mount_record(&self, file: &str) -> String {
        format!("image/overlay2/layerdb/mounts/{}/{file}", self.container)
    }

    /// The relative path of an overlay2 layer directory's `diff/`.
    pub fn diff_dir(&self, cache_id: &str) -> String {
        format!("overlay2/{cache_id}/diff")
    }

    /// The volume's `_data` directory.
    pub fn volume_data(&self) -> PathBuf {
        self.root.join("volumes").join(&self.volume).join("_data")
    }

    /// Records the container as running (`State.Running`, with this test process as its pid),
    /// as `watch` needs: nothing else of the store changes.
    pub fn mark_running(&self) {
        let path = self.path(&self.container_file("config.v2.json"));
        let mut config: serde_json::Value =
            serde_json::from_slice(&fs::read(&path).expect("reading config.v2.json"))
                .expect("config.v2.json is JSON");
        config["State"]["Running"] = true.into();
        config["State"]["Pid"] = std::process::id().into();
        config["State"]["FinishedAt"] = "0001-01-01T00:00:00Z".into();
        write(&path, config.to_string());
    }

    /// Makes the whole store readable by every user (`chmod -R a+rX`), and every directory
    /// above it traversable, so that a test may run strata as another user.
    pub fn open_to_all(&self) {
        let status = std::process::Command::new("chmod")
            .args(["-R", "a+rX"])
            .arg(&self.root)
            .status()
            .expect("chmod runs");
        assert!(status.success(), "chmod -R a+rX {}", self.root.display());
        for dir in self.root.ancestors() {
            if let Ok(meta) = fs::metadata(dir) {
                let mode = meta.permissions().mode() | 0o755;
                let _ = fs::set_permissions(dir, fs::Permissions::from_mode(mode));
            }
        }
    }

    /// Writes `layer_record(chain)/tar-split.json.gz`: the gzipped JSON lines `entries`, as
    /// tar-split writes them (see [`tar_split_file`], [`tar_split_segment`]).
    pub fn write_tar_split(&self, chain: &str, entries: &[serde_json::Value]) -> PathBuf {
        use std::io::Write as _;
        let path = self
            .path(&self.layer_record(chain))
            .join("tar-split.json.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for entry in entries {
            writeln!(gz, "{entry}").expect("gzip into memory");
        }
        write(&path, gz.finish().expect("gzip into memory"));
        path
    }
}

/// A tar-split file entry (`"type": 1`): the file `name` of `size` bytes, whose content comes
/// from the layer directory, with a CRC-64 `payload` (any 8 bytes here: what is checked is
/// which file is opened, not its checksum).
pub fn tar_split_file(name: &str, size: u64) -> serde_json::Value {
    use base64::Engine as _;
    let crc = base64::engine::general_purpose::STANDARD.encode([0u8; 8]);
    json!({"type": 1, "name": name, "size": size, "payload": crc, "position": 0})
}

/// A tar-split raw segment (`"type": 2`): `bytes` of the tar stream itself (a header, padding,
/// the end blocks).
pub fn tar_split_segment(bytes: &[u8]) -> serde_json::Value {
    use base64::Engine as _;
    let payload = base64::engine::general_purpose::STANDARD.encode(bytes);
    json!({"type": 2, "payload": payload, "position": 0})
}

/// Creates `overlay2/<id>/` as the driver does: `diff/`, `link` and `l/<link>`, and for a layer
/// with lowers (given top first) `lower` and `work/`. Returns the link name.
fn plant_layer(overlay: &Path, id: &str, lowers: &[String]) -> String {
    let dir = overlay.join(id);
    mkdir(&dir.join("diff"));
    let link = link_name(id);
    write(&dir.join("link"), &link);
    mkdir(&overlay.join("l"));
    symlink(format!("../{id}/diff"), overlay.join("l").join(&link)).expect("overlay2/l link");
    if !lowers.is_empty() {
        let lower: Vec<String> = lowers.iter().map(|l| format!("l/{l}")).collect();
        write(&dir.join("lower"), lower.join(":"));
        mkdir(&dir.join("work"));
    }
    link
}

/// A BoltDB file (format version 2, 4096-byte pages) whose root holds one bucket `bucket` with
/// the sorted `items`, stored inline as Bolt does for small buckets. Pages: 0 and 1 meta (txids
/// 0 and 1), 2 an empty freelist, 3 the root leaf.
pub fn bolt_single_bucket(bucket: &[u8], items: &[(&[u8], &[u8])]) -> Vec<u8> {
    const PAGE: usize = 4096;
    const META: u16 = 0x04;
    const LEAF: u16 = 0x02;
    const FREELIST: u16 = 0x10;
    const BUCKET_LEAF_FLAG: u32 = 0x01;

    fn page_header(out: &mut Vec<u8>, id: u64, flags: u16, count: u16) {
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // overflow
    }
    /// A leaf page body: the element headers, then keys and values; `pos` counts from each
    /// element's own header.
    fn leaf(id: u64, items: &[(u32, &[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let count = u16::try_from(items.len()).expect("few items");
        page_header(&mut out, id, LEAF, count);
        let mut data = Vec::new();
        for (i, (flags, key, value)) in items.iter().enumerate() {
            let element_at = 16 + 16 * i;
            let pos = 16 + 16 * items.len() + data.len() - element_at;
            for n in [*flags as usize, pos, key.len(), value.len()] {
                out.extend_from_slice(&u32::try_from(n).expect("small").to_le_bytes());
            }
            data.extend_from_slice(key);
            data.extend_from_slice(value);
        }
        out.extend_from_slice(&data);
        out
    }
    fn fnv1a64(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    let mut sorted: Vec<(u32, &[u8], &[u8])> = items.iter().map(|(k, v)| (0, *k, *v)).collect();
    sorted.sort_by(|a, b| a.1.cmp(b.1));
    let mut bucket_value = Vec::new();
    bucket_value.extend_from_slice(&0u64.to_le_bytes()); // root page 0: inline
    bucket_value.extend_from_slice(&0u64.to_le_bytes()); // sequence
    bucket_value.extend_from_slice(&leaf(0, &sorted));

    let mut file = vec![0u8; 4 * PAGE];
    for txid in 0..2u64 {
        let mut meta = Vec::new();
        page_header(&mut meta, txid, META, 0);
        let start = meta.len();
        meta.extend_from_slice(&0xED0C_DAEDu32.to_le_bytes()); // magic
        meta.extend_from_slice(&2u32.to_le_bytes()); // version
        meta.extend_from_slice(&(PAGE as u32).to_le_bytes());
        meta.extend_from_slice(&0u32.to_le_bytes()); // flags
        meta.extend_from_slice(&3u64.to_le_bytes()); // root bucket's page
        meta.extend_from_slice(&0u64.to_le_bytes()); // root bucket's sequence
        meta.extend_from_slice(&2u64.to_le_bytes()); // freelist page
        meta.extend_from_slice(&4u64.to_le_bytes()); // high water mark
        meta.extend_from_slice(&txid.to_le_bytes());
        let checksum = fnv1a64(&meta[start..]);
        meta.extend_from_slice(&checksum.to_le_bytes());
        let at = usize::try_from(txid).expect("0 or 1") * PAGE;
        file[at..at + meta.len()].copy_from_slice(&meta);
    }
    let mut freelist = Vec::new();
    page_header(&mut freelist, 2, FREELIST, 0);
    file[2 * PAGE..2 * PAGE + freelist.len()].copy_from_slice(&freelist);
    let root = leaf(3, &[(BUCKET_LEAF_FLAG, bucket, &bucket_value)]);
    assert!(root.len() <= PAGE, "the bucket must fit in one page");
    file[3 * PAGE..3 * PAGE + root.len()].copy_from_slice(&root);
    file
}
