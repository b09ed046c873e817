//! The drivers this kernel cannot run — aufs, zfs and devicemapper — checked on synthetic
//! stores planted file by file from their documented layouts (STORES.md 4; moby's
//! `daemon/graphdriver/{aufs,zfs,devmapper}`, v23/v24), against figures derived by hand from
//! moby's rules and written next to the fixture: `fixture/<driver>-expected.json`, each
//! number explained in `fixture/legacy-drivers.md`.
//!
//! Every driver's store holds the same records: images `legacy/a` (layers L1, L2) and
//! `legacy/b` (L1, L3) sharing L1; L3 deletes a file of L1 and makes a directory of it
//! opaque; container `legacy-c1` of `b` copied a file up and changed it, deleted a file,
//! replaced a directory by a new one (opaque) and added two names of one file; container
//! `legacy-c2` of `b` added one file and copied one up unchanged; one volume. What the driver
//! directories hold differs:
//!
//! - aufs: every layer's `diff/` as aufs leaves it (AUFS whiteouts, `.wh..wh..opq`, the
//!   writable branch's `.wh..wh.aufs`/`plnk`/`orph`), `layers/` and `mnt/`. `legacy-c2`'s
//!   `layers/` file was rewritten to name the image's top layer first, so that moby's
//!   `isParent` fails and it is measured naively.
//! - zfs: `zfs/graph/` empty, as dockerd leaves it stopped: no layer is readable.
//! - devicemapper: `metadata/` (a device file per layer, `base`, the pool's records), the
//!   pool's two sparse loop files, `mnt/` empty.
//!
//! For zfs and devicemapper the live case is checked too (as root): `legacy-c1`'s writable
//! and init layers mounted (tmpfs standing in for their dataset or thin device), each a full
//! tree, so that they are read and compared naively.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use tempfile::TempDir;

use crate::corrupt::{judge_run, problem_paths, REPORTED};
use crate::harness::{root_usable, strata_on, Run};
use crate::synth::{bare, digest, hex, image_config, mkdir, write};
use crate::tree::{age_atimes, TreeState};

/// The mtime of every entry planted (whole seconds: moby's `sameFsTime` then compares
/// seconds only), and of the entries a container changed.
const T0: i64 = 1_700_000_000;
/// See [`T0`].
const T1: i64 = 1_700_000_100;

/// The driver of a synthetic store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    /// `aufs/{diff,layers,mnt}`.
    Aufs,
    /// `zfs/graph`.
    Zfs,
    /// `devicemapper/{metadata,devicemapper,mnt}`.
    Devicemapper,
}

impl Legacy {
    fn name(self) -> &'static str {
        match self {
            Legacy::Aufs => "aufs",
            Legacy::Zfs => "zfs",
            Legacy::Devicemapper => "devicemapper",
        }
    }

    /// The hand-derived figures (`fixture/<driver>-expected.json`).
    fn expected(self) -> Value {
        let text = match self {
            Legacy::Aufs => include_str!("fixture/aufs-expected.json"),
            Legacy::Zfs => include_str!("fixture/zfs-expected.json"),
            Legacy::Devicemapper => include_str!("fixture/devicemapper-expected.json"),
        };
        serde_json::from_str(text).expect("the expected figures are JSON")
    }
}

/// One entry of a layer's changes, as the layer's tar holds it.
#[derive(Debug, Clone, Copy)]
enum Node {
    /// A directory (mode 0755).
    Dir(&'static str),
    /// A regular file (mode 0644) of `.1` bytes of `.2`, with mtime `.3`.
    File(&'static str, usize, u8, i64),
    /// A symlink to `.1`.
    Symlink(&'static str, &'static str),
    /// A second name `.0` of the file `.1` (planted earlier in the same layer).
    HardLink(&'static str, &'static str),
    /// The deletion of a path of a lower layer: `.wh.<name>` in aufs, the path gone in a
    /// full copy.
    Whiteout(&'static str),
    /// A directory made opaque: `.wh..wh..opq` in aufs, its lower entries gone in a full copy.
    Opaque(&'static str),
    /// A directory whose mtime is [`T1`] (its entries changed), not [`T0`].
    Touched(&'static str),
    /// aufs' bookkeeping at the top of a writable branch (`.wh..wh.aufs`, whose inode every
    /// whiteout of the branch shares; `.wh..wh.plnk/`, `.wh..wh.orph/`); nothing in a full copy.
    AufsBranch,
}

use Node::{AufsBranch, Dir, File, HardLink, Opaque, Symlink, Touched, Whiteout};

/// L1, the base layer of both images.
const L1: &[Node] = &[
    Dir("etc"),
    File("etc/passwd", 30, b'p', T0),
    File("etc/group", 20, b'g', T0),
    Dir("bin"),
    File("bin/sh", 1000, b's', T0),
    HardLink("bin/ash", "bin/sh"),
    Symlink("bin/busybox", "sh"),
    Dir("usr/share/doc"),
    File("usr/share/doc/readme", 100, b'r', T0),
    Dir("var/cache"),
    File("var/cache/a.txt", 10, b'a', T0),
    File("var/cache/b.txt", 10, b'b', T0),
];
/// L2, `legacy/a`'s own layer.
const L2: &[Node] = &[Dir("app"), File("app/a.bin", 2000, b'A', T0)];
/// L3, `legacy/b`'s own layer: a file, a deletion, an opaque directory.
const L3: &[Node] = &[
    Dir("app"),
    File("app/b.bin", 3000, b'B', T0),
    Dir("usr/share/doc"),
    Whiteout("usr/share/doc/readme"),
    Dir("var/cache"),
    Opaque("var/cache"),
    File("var/cache/new.txt", 40, b'n', T0),
];
/// A container's init layer, as dockerd's `setupInitLayer` makes it.
const INIT: &[Node] = &[
    File(".dockerenv", 0, b'-', T0),
    Dir("dev/pts"),
    Dir("dev/shm"),
    File("dev/console", 0, b'-', T0),
    Dir("etc"),
    File("etc/hostname", 0, b'-', T0),
    File("etc/hosts", 0, b'-', T0),
    Symlink("etc/mtab", "/proc/mounts"),
    File("etc/resolv.conf", 0, b'-', T0),
    Dir("proc"),
    Dir("sys"),
];
/// `legacy-c1`'s writable layer: `/etc/passwd` copied up and rewritten, `/app/b.bin`
/// deleted, `/var/cache` removed and made again with one file, `/root/new.txt` written and
/// linked.
const C1: &[Node] = &[
    AufsBranch,
    Dir("app"),
    Touched("app"),
    Whiteout("app/b.bin"),
    Dir("etc"),
    File("etc/passwd", 45, b'P', T1),
    Dir("root"),
    File("root/new.txt", 64, b'N', T0),
    HardLink("root/new-link", "root/new.txt"),
    Dir("var/cache"),
    Touched("var/cache"),
    Opaque("var/cache"),
    File("var/cache/fresh", 7, b'f', T0),
];
/// `legacy-c2`'s writable layer: `/etc/group` copied up unchanged (same bytes, mode and
/// mtime), `/etc/motd` written.
const C2: &[Node] = &[
    AufsBranch,
    Dir("etc"),
    File("etc/group", 20, b'g', T0),
    File("etc/motd", 50, b'm', T0),
];

/// Sets the mtime (and atime) of `path`, not following a symlink.
fn set_mtime(path: &Path, secs: i64) {
    use nix::sys::stat::{utimensat, UtimensatFlags};
    use nix::sys::time::TimeSpec;
    let t = TimeSpec::new(secs, 0);
    utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &t,
        &t,
        UtimensatFlags::NoFollowSymlink,
    )
    .unwrap_or_else(|e| panic!("utimensat {}: {e}", path.display()));
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}

/// How a layer's changes are written into a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// As aufs keeps a layer's own directory: deletions and opaque markers as names.
    Aufs,
    /// Applied to a full copy (zfs, devicemapper, vfs): deletions done.
    FullCopy,
}

/// Writes `nodes` into `dir` in `form`; the directories to date [`T1`] go to `touched`.
fn apply(dir: &Path, nodes: &[Node], form: Form, touched: &mut BTreeSet<PathBuf>) {
    let aufs_meta = dir.join(".wh..wh.aufs");
    for node in nodes {
        match *node {
            Dir(p) => mkdir(&dir.join(p)),
            File(p, size, fill, mtime) => {
                let path = dir.join(p);
                write(&path, vec![fill; size]);
                set_mode(&path, 0o644);
                set_mtime(&path, mtime);
            }
            Symlink(p, target) => {
                let path = dir.join(p);
                mkdir(path.parent().expect("a parent"));
                symlink(target, &path).expect("symlink");
                set_mtime(&path, T0);
            }
            HardLink(p, existing) => fs::hard_link(dir.join(existing), dir.join(p)).expect("link"),
            Touched(p) => {
                touched.insert(dir.join(p));
            }
            AufsBranch if form == Form::Aufs => {
                write(&aufs_meta, "");
                set_mode(&aufs_meta, 0o444);
                set_mtime(&aufs_meta, T0);
                for meta in [".wh..wh.plnk", ".wh..wh.orph"] {
                    mkdir(&dir.join(meta));
                    set_mode(&dir.join(meta), 0o700);
                }
            }
            AufsBranch => {}
            Whiteout(p) if form == Form::Aufs => {
                let path = Path::new(p);
                let name = path.file_name().expect("a name").to_string_lossy();
                let wh = dir
                    .join(path.parent().expect("a parent"))
                    .join(format!(".wh.{name}"));
                mkdir(wh.parent().expect("a parent"));
                if aufs_meta.exists() {
                    // A writable branch's whiteouts are links to its `.wh..wh.aufs`.
                    fs::hard_link(&aufs_meta, &wh).expect("whiteout link");
                } else {
                    write(&wh, "");
                    set_mode(&wh, 0o644);
                    set_mtime(&wh, T0);
                }
            }
            Whiteout(p) => {
                let path = dir.join(p);
                if path.is_dir() {
                    fs::remove_dir_all(&path).expect("deleting");
                } else {
                    fs::remove_file(&path).expect("deleting");
                }
            }
            Opaque(p) if form == Form::Aufs => {
                let marker = dir.join(p).join(".wh..wh..opq");
                write(&marker, "");
                set_mode(&marker, 0o644);
                set_mtime(&marker, T0);
            }
            Opaque(p) => {
                for e in fs::read_dir(dir.join(p)).expect("an opaque directory") {
                    let e = e.expect("an entry");
                    if e.file_type().expect("a type").is_dir() {
                        fs::remove_dir_all(e.path()).expect("emptying");
                    } else {
                        fs::remove_file(e.path()).expect("emptying");
                    }
                }
            }
        }
    }
}

/// Dates every directory under `dir` (not `dir` itself) [`T0`], those in `touched` [`T1`],
/// all mode 0755 but aufs' own: so that the planted trees compare as written above.
fn settle_dirs(dir: &Path, touched: &BTreeSet<PathBuf>) {
    for e in fs::read_dir(dir).expect("a planted directory") {
        let path = e.expect("an entry").path();
        let st = fs::symlink_metadata(&path).expect("lstat");
        if !st.is_dir() {
            continue;
        }
        settle_dirs(&path, touched);
        let name = path.file_name().expect("a name").to_string_lossy();
        if !name.starts_with(".wh..wh.") {
            set_mode(&path, 0o755);
        }
        set_mtime(&path, if touched.contains(&path) { T1 } else { T0 });
    }
}

/// Plants `layers` (bottom first) into `dir` as one tree: one aufs layer, or a full copy.
fn plant_tree(dir: &Path, layers: &[&[Node]], form: Form) {
    mkdir(dir);
    let mut touched = BTreeSet::new();
    for nodes in layers {
        apply(dir, nodes, form, &mut touched);
    }
    settle_dirs(dir, &touched);
}

/// A layer of the store: its driver id, chain id, and where it stands.
struct LayerIds {
    cache: String,
    chain: String,
}

/// One container of the store.
pub struct ContainerIds {
    /// Its id (64 hex).
    pub id: String,
    /// Its name, without `/`.
    pub name: &'static str,
    /// Its writable layer's driver id.
    pub mount: String,
    /// Its init layer's driver id.
    pub init: String,
}

/// A planted store of one driver.
pub struct LegacyStore {
    _dir: TempDir,
    /// The data root.
    pub root: PathBuf,
    /// Its driver.
    pub driver: Legacy,
    layers: [LayerIds; 3],
    /// `legacy-c1` and `legacy-c2`.
    pub containers: [ContainerIds; 2],
}

impl LegacyStore {
    /// Plants the store of `driver` in a new temporary directory.
    pub fn plant(driver: Legacy) -> LegacyStore {
        let dir = tempfile::Builder::new()
            .prefix("strata-it-legacy-")
            .tempdir()
            .expect("a temporary directory");
        let root = dir.path().join("docker");
        let name = driver.name();
        let image_dir = root.join("image").join(name);

        let diffs = [b"legacy L1", b"legacy L2", b"legacy L3"].map(|d| digest(d));
        let chain1 = diffs[0].clone();
        let chain2 = digest(format!("{chain1} {}", diffs[1]).as_bytes());
        let chain3 = digest(format!("{chain1} {}", diffs[2]).as_bytes());
        let layers = [
            LayerIds {
                cache: hex(b"legacy cache 1"),
                chain: chain1.clone(),
            },
            LayerIds {
                cache: hex(b"legacy cache 2"),
                chain: chain2,
            },
            LayerIds {
                cache: hex(b"legacy cache 3"),
                chain: chain3,
            },
        ];
        // What each driver records as a layer's size (see fixture/legacy-drivers.md).
        let sizes: [u64; 3] = match driver {
            Legacy::Aufs => [1172, 2000, 3040],
            Legacy::Zfs | Legacy::Devicemapper => [1170, 2000, 3040],
        };
        for (i, l) in layers.iter().enumerate() {
            let record = image_dir.join("layerdb/sha256").join(bare(&l.chain));
            write(&record.join("diff"), &diffs[i]);
            write(&record.join("cache-id"), &l.cache);
            write(&record.join("size"), sizes[i].to_string());
            if i > 0 {
                write(&record.join("parent"), &chain1);
            }
        }
        mkdir(&image_dir.join("layerdb/tmp"));

        // Images: a = L1 + L2, b = L1 + L3.
        let config = |diffs: &[&String], created: &str, label: &str| {
            image_config(diffs, created, "legacy", label)
        };
        let config_a = config(&[&diffs[0], &diffs[1]], "2024-01-02T03:04:05Z", "a");
        let config_b = config(&[&diffs[0], &diffs[2]], "2024-02-03T04:05:06Z", "b");
        let (image_a, image_b) = (digest(config_a.as_bytes()), digest(config_b.as_bytes()));
        let content = image_dir.join("imagedb/content/sha256");
        write(&content.join(bare(&image_a)), &config_a);
        write(&content.join(bare(&image_b)), &config_b);
        write(
            &image_dir.join("repositories.json"),
            json!({"Repositories": {
                "legacy/a": {"legacy/a:latest": image_a},
                "legacy/b": {"legacy/b:latest": image_b},
            }})
            .to_string(),
        );

        let containers = ["legacy-c1", "legacy-c2"].map(|n| {
            let mount = hex(format!("{n} mount").as_bytes());
            ContainerIds {
                id: hex(format!("{n} container").as_bytes()),
                name: n,
                init: format!("{mount}-init"),
                mount,
            }
        });
        let volume = "legacyvol";
        let volume_data = root.join("volumes").join(volume).join("_data");
        write(&volume_data.join("payload.bin"), vec![0xa5; 2048]);
        for (i, c) in containers.iter().enumerate() {
            let mounts = image_dir.join("layerdb/mounts").join(&c.id);
            write(&mounts.join("mount-id"), &c.mount);
            write(&mounts.join("init-id"), &c.init);
            write(&mounts.join("parent"), &layers[2].chain);
            let cdir = root.join("containers").join(&c.id);
            let mount_points = if i == 0 {
                json!({"/vol": {
                    "Source": volume_data, "Destination": "/vol", "RW": true, "Name": volume,
                    "Driver": "local", "Type": "volume", "Relabel": "z",
                    "Spec": {"Type": "volume", "Source": volume, "Target": "/vol"},
                    "SkipMountpointCreation": false
                }})
            } else {
                json!({})
            };
            write(
                &cdir.join("config.v2.json"),
                json!({
                    "StreamConfig": {},
                    "State": {
                        "Running": false, "Paused": false, "Restarting": false,
                        "OOMKilled": false, "RemovalInProgress": false, "Dead": false,
                        "Pid": 0, "ExitCode": 0, "Error": "",
                        "StartedAt": "2024-03-01T00:00:01Z",
                        "FinishedAt": "2024-03-01T00:00:02Z", "Health": null
                    },
                    "ID": c.id,
                    "Created": format!("2024-03-0{}T00:00:00Z", i + 1),
                    "Managed": false,
                    "Path": "sh",
                    "Args": [],
                    "Config": {
                        "Hostname": &c.id[..12], "Domainname": "", "User": "",
                        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                        "Cmd": ["sh"], "Image": "legacy/b:latest", "Labels": {}
                    },
                    "Image": image_b,
                    "NetworkSettings": {"Networks": {}},
                    "LogPath": cdir.join(format!("{}-json.log", c.id)),
                    "Name": format!("/{}", c.name),
                    "Driver": name,
                    "OS": "linux",
                    "RestartCount": 0,
                    "HasBeenStartedBefore": true,
                    "MountPoints": mount_points,
                })
                .to_string(),
            );
            write(
                &cdir.join("hostconfig.json"),
                json!({"LogConfig": {"Type": "json-file", "Config": {}}, "NetworkMode": "none"})
                    .to_string(),
            );
            write(&cdir.join(format!("{}-json.log", c.id)), "");
        }
        for d in ["tmp", "network/files", "plugins", "swarm"] {
            mkdir(&root.join(d));
        }
        let store = LegacyStore {
            _dir: dir,
            root,
            driver,
            layers,
            containers,
        };
        match driver {
            Legacy::Aufs => store.plant_aufs(),
            Legacy::Zfs => mkdir(&store.home().join("graph")),
            Legacy::Devicemapper => store.plant_devicemapper(),
        }
        store
    }

    /// The driver's home.
    pub fn home(&self) -> PathBuf {
        self.root.join(self.driver.name())
    }

    /// `aufs/diff/<id>`, `aufs/layers/<id>` (ancestors nearest first), `aufs/mnt/<id>`.
    fn plant_aufs(&self) {
        let home = self.home();
        let [l1, l2, l3] = &self.layers;
        let [c1, c2] = &self.containers;
        let plan: [(&str, &[Node], Vec<&str>); 7] = [
            (&l1.cache, L1, vec![]),
            (&l2.cache, L2, vec![&l1.cache]),
            (&l3.cache, L3, vec![&l1.cache]),
            (&c1.init, INIT, vec![&l3.cache, &l1.cache]),
            (&c1.mount, C1, vec![&c1.init, &l3.cache, &l1.cache]),
            (&c2.init, INIT, vec![&l3.cache, &l1.cache]),
            // Rewritten by hand: dockerd writes the init layer first (see the module docs).
            (&c2.mount, C2, vec![&l3.cache, &l1.cache]),
        ];
        for (id, nodes, ancestors) in plan {
            plant_tree(&home.join("diff").join(id), &[nodes], Form::Aufs);
            mkdir(&home.join("mnt").join(id));
            let text: String = ancestors.iter().map(|a| format!("{a}\n")).collect();
            write(&home.join("layers").join(id), text);
        }
    }

    /// `metadata/` (a device per layer, `base`, the pool's records), the sparse loop files,
    /// `mnt/`.
    fn plant_devicemapper(&self) {
        let home = self.home();
        let meta = home.join("metadata");
        let device = |id: u32, initialized: bool| {
            json!({"device_id": id, "size": 10_737_418_240_u64, "transaction_id": id,
                   "initialized": initialized, "deleted": false})
            .to_string()
        };
        write(&meta.join("base"), device(1, true));
        let [c1, c2] = &self.containers;
        let ids: Vec<&str> = self
            .layers
            .iter()
            .map(|l| l.cache.as_str())
            .chain([&c1.init, &c1.mount, &c2.init, &c2.mount].map(String::as_str))
            .collect();
        for (n, id) in (2..).zip(&ids) {
            write(&meta.join(id), device(n, false));
        }
        write(
            &meta.join("deviceset-metadata"),
            json!({"next_device_id": 9, "BaseDeviceUUID": "4c2f1a9e-0b7d-4e1f-9a3c-5d6e7f809a1b",
                   "BaseDeviceFilesystem": "xfs"})
            .to_string(),
        );
        write(
            &meta.join("transaction-metadata"),
            json!({"open_transaction_id": 8, "device_hash": c2.mount, "device_id": 8}).to_string(),
        );
        let loops = home.join("devicemapper");
        mkdir(&loops);
        for (file, len, used) in [
            ("data", 100u64 << 30, 1 << 20),
            ("metadata", 2 << 30, 64 << 10),
        ] {
            use std::io::Write as _;
            let mut f = fs::File::create(loops.join(file)).expect("a loop file");
            f.write_all(&vec![0x42; used]).expect("its first blocks");
            f.set_len(len).expect("sparse");
        }
        mkdir(&home.join("mnt"));
    }

    /// The relative paths of the driver directories of `legacy-c1`'s writable and init
    /// layers' mount points (zfs: `zfs/graph/<id>`; devicemapper: `devicemapper/mnt/<id>`).
    fn mount_points(&self) -> [PathBuf; 2] {
        let c1 = &self.containers[0];
        let under = match self.driver {
            Legacy::Zfs => "graph",
            _ => "mnt",
        };
        [&c1.mount, &c1.init].map(|id| self.home().join(under).join(id))
    }

    /// Mounts a tmpfs at `legacy-c1`'s writable and init layers' mount points and plants
    /// their full trees there (devicemapper: in `rootfs/`, beside the `id` file dockerd
    /// writes), as a live host shows them while the container runs. Needs root.
    fn mount_c1(&self) -> Mounts {
        let c1 = &self.containers[0];
        let [rw, init] = self.mount_points();
        let mut mounts = Mounts(Vec::new());
        for (point, id, layers) in [
            (&rw, &c1.mount, &[L1, L3, INIT, C1][..]),
            (&init, &c1.init, &[L1, L3, INIT][..]),
        ] {
            mkdir(point);
            let status = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "mode=0755", "tmpfs"])
                .arg(point)
                .status()
                .expect("mount runs");
            assert!(status.success(), "mount -t tmpfs {}", point.display());
            mounts.0.push(point.clone());
            let tree = match self.driver {
                Legacy::Devicemapper => {
                    write(&point.join("id"), id);
                    point.join("rootfs")
                }
                _ => point.clone(),
            };
            plant_tree(&tree, layers, Form::FullCopy);
        }
        mounts
    }

    /// `path` relative to the data root (as the expected figures name paths).
    fn relative(&self, path: &str) -> String {
        Path::new(path)
            .strip_prefix(&self.root)
            .map_or_else(|_| path.to_owned(), |p| p.display().to_string())
    }
}

/// Mount points to unmount when dropped.
struct Mounts(Vec<PathBuf>);

impl Drop for Mounts {
    fn drop(&mut self) {
        for point in self.0.iter().rev() {
            let _ = Command::new("umount").arg(point).status();
        }
    }
}

/// `strata --format json <args>` on the store, which must print a report (exit 0, or 1 for
/// one listing problems).
fn json_run(store: &LegacyStore, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let run = strata_on(&store.root, &all);
    assert!(
        run.code.is_some_and(|c| REPORTED.contains(&c)),
        "a report must be printed:\n{run}"
    );
    let report = run.json();
    (run, report)
}

/// Everything in `report` (`strata df -v` JSON) that differs from the expected figures
/// `want` (a section of `fixture/<driver>-expected.json`).
fn df_mismatches(store: &LegacyStore, report: &Value, want: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: String, got: &Value, want: &Value| {
        if got != want {
            out.push(format!("{what}: got {got}, want {want}"));
        }
    };
    check(
        "Driver".into(),
        &report["Driver"],
        &json!(store.driver.name()),
    );
    check(
        "LayersSize".into(),
        &report["LayersSize"],
        &want["LayersSize"],
    );
    let empty = Vec::new();
    let rows = |key: &str| report[key].as_array().unwrap_or(&empty).clone();
    for (tag, exp) in want["Images"].as_object().expect("Images") {
        let row = rows("Images")
            .into_iter()
            .find(|i| {
                i["RepoTags"]
                    .as_array()
                    .is_some_and(|t| t.contains(&json!(tag)))
            })
            .unwrap_or_default();
        for field in ["Size", "SharedSize", "Containers"] {
            check(format!("{tag} {field}"), &row[field], &exp[field]);
        }
    }
    for (name, exp) in want["Containers"].as_object().expect("Containers") {
        let row = rows("Containers")
            .into_iter()
            .find(|c| c["Names"][0] == format!("/{name}"))
            .unwrap_or_default();
        for field in ["SizeRw", "SizeRootFs"] {
            check(format!("{name} {field}"), &row[field], &exp[field]);
        }
    }
    for (name, exp) in want["Volumes"].as_object().expect("Volumes") {
        let row = rows("Volumes")
            .into_iter()
            .find(|v| v["Name"] == *name)
            .unwrap_or_default();
        check(format!("volume {name}"), &row["UsageData"], exp);
    }
    let got: BTreeSet<(String, String)> = rows("Problems")
        .iter()
        .map(|p| {
            (
                store.relative(p["Path"].as_str().unwrap_or_default()),
                p["Kind"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expect: BTreeSet<(String, String)> = want["Problems"]
        .as_array()
        .expect("Problems")
        .iter()
        .map(|p| {
            (
                store.resolve(&p["Path"]),
                p["Kind"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    if got != expect {
        out.push(format!("Problems: got {got:?}, want {expect:?}"));
    }
    out
}

impl LegacyStore {
    /// An expected path with the store's ids put in: `{c1.mount}`, `{c2.mount}`,
    /// `{c1.init}`, `{L1}`, `{L2}`, `{L3}`.
    fn resolve(&self, path: &Value) -> String {
        let [c1, c2] = &self.containers;
        let [l1, l2, l3] = &self.layers;
        let mut text = path.as_str().expect("a path").to_owned();
        for (key, id) in [
            ("{c1.mount}", &c1.mount),
            ("{c1.init}", &c1.init),
            ("{c2.mount}", &c2.mount),
            ("{c2.init}", &c2.init),
            ("{L1}", &l1.cache),
            ("{L2}", &l2.cache),
            ("{L3}", &l3.cache),
        ] {
            text = text.replace(key, id);
        }
        text
    }
}

fn expected_lines(want: &Value) -> Vec<String> {
    let mut lines: Vec<String> = want
        .as_array()
        .expect("a list of changes")
        .iter()
        .map(|l| l.as_str().expect("a line").to_owned())
        .collect();
    lines.sort();
    lines
}

/// df, the diff of each container and the problems of `section` of the expected figures.
fn check_section(store: &LegacyStore, section: &str) -> Vec<String> {
    let expected = store.driver.expected();
    let want = &expected[section];
    let (run, df) = json_run(store, &["df", "-v"]);
    let mut failures: Vec<String> = df_mismatches(store, &df, want)
        .into_iter()
        .map(|m| format!("[{} {section} df] {m}", store.driver.name()))
        .collect();
    let code = if want["Problems"].as_array().is_some_and(Vec::is_empty) {
        0
    } else {
        1
    };
    if run.code != Some(code) {
        failures.push(format!("[{section}] df exits {code}:\n{run}"));
    }
    for c in &store.containers {
        let (_, diff) = json_run(store, &["diff", c.name]);
        let (got, want) = (
            crate::forensics::strata_lines(&diff),
            expected_lines(&want["Diff"][c.name]),
        );
        if got != want {
            failures.push(format!(
                "[{} {section} diff {}] got {got:?}, want {want:?}; problems {}",
                store.driver.name(),
                c.name,
                diff["Problems"]
            ));
        }
    }
    failures
}

/// Every verb that reads the store, none of which may panic or hang.
const VERBS: &[&[&str]] = &[
    &["df"],
    &["df", "-v"],
    &["--format", "json", "df", "-v"],
    &["--format", "prometheus", "df"],
    &["du"],
    &["--format", "json", "du", "--by", "image"],
    &["images"],
    &["--format", "json", "layers"],
    &["containers"],
    &["volumes"],
    &["volumes", "--orphaned"],
    &["diff", "legacy-c1"],
    &["--format", "json", "verify"],
    &["orphans"],
    &["dupes"],
    &["--format", "json", "advise"],
    &["watch", "--count", "1", "--interval", "10ms"],
];

/// Every verb of [`VERBS`] on `store`: none panics or hangs, each prints its report (exit 0,
/// or 1 with problems listed), never a fatal error, and the store is the same after, atimes
/// included (as `readonly` checks on real stores). Not on devicemapper's: recording the tree
/// hashes every file, and its data loop file is 100 GiB long (sparse, but read whole).
fn every_verb_runs(store: &LegacyStore) -> Vec<String> {
    let mut out = Vec::new();
    let before = (store.driver != Legacy::Devicemapper).then(|| {
        age_atimes(&store.root);
        // The first capture may move symlinks' atimes (readlink): the baseline is the second.
        TreeState::capture(&store.root);
        TreeState::capture(&store.root)
    });
    for args in VERBS {
        let run = strata_on(&store.root, args);
        judge_run(&run, &mut out);
        if !run.code.is_some_and(|c| REPORTED.contains(&c)) {
            out.push(format!("[{:?}] no report:\n{run}", store.driver));
        }
    }
    if let Some(before) = before {
        let changes = TreeState::capture(&store.root).changes_since(&before, 20);
        if !changes.is_empty() {
            out.push(format!(
                "[{:?}] the store changed under strata:\n{}",
                store.driver,
                changes.join("\n")
            ));
        }
    }
    out
}

/// The store's `du` adds up to GNU du's, and its driver bookkeeping is nobody's leftover.
fn du_and_orphans(store: &LegacyStore) -> Vec<String> {
    let mut out = Vec::new();
    let (_, du) = json_run(store, &["du"]);
    let (apparent, allocated) = crate::fixture::gnu_du(&store.root);
    let caught = std::panic::catch_unwind(|| {
        crate::du::assert_totals(&du, apparent, allocated, store.driver.name());
    });
    if let Err(e) = caught {
        out.push(crate::harness::panic_message(&*e));
    }
    let (_, orphans) = json_run(store, &["orphans"]);
    if orphans["Orphans"].as_array().is_some_and(|o| !o.is_empty()) {
        out.push(format!(
            "[{} orphans] a healthy store has no leftovers: {}",
            store.driver.name(),
            orphans["Orphans"]
        ));
    }
    out
}

fn assert_none(failures: Vec<String>) {
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// aufs: df -v equals the hand-derived figures (native sizes, the naive one for the layer
/// off its parent), diff lists what moby's aufs `Changes` lists, and every verb runs.
#[test]
fn aufs_store_reads_as_moby_counts_it() {
    let store = LegacyStore::plant(Legacy::Aufs);
    // moby compares a directory with its lower one by size too: the expected diff holds where
    // small directories all have one size (ext4, xfs), as this fixture's directory has.
    let sizes: BTreeSet<u64> = [&store.layers[0].cache, &store.containers[0].init]
        .into_iter()
        .chain([&store.containers[0].mount])
        .map(|id| {
            fs::metadata(store.home().join("diff").join(id).join("etc"))
                .expect("etc/")
                .len()
        })
        .collect();
    assert_eq!(
        sizes.len(),
        1,
        "the temporary directory's filesystem gives directories sizes by entry count; \
         plant the fixture on ext4 or xfs"
    );
    let mut failures = check_section(&store, "Planted");
    failures.extend(every_verb_runs(&store));
    failures.extend(du_and_orphans(&store));
    assert_none(failures);
}

/// zfs and devicemapper as dockerd leaves them stopped: every figure that needs a layer's
/// files is unknown and said so (SizeRw -1, a problem naming each writable layer's dataset or
/// device; no diff; no layer verified), the recorded sizes still give the images.
#[test]
fn pooled_stores_offline_say_what_is_unknown() {
    let mut failures = Vec::new();
    for driver in [Legacy::Zfs, Legacy::Devicemapper] {
        let store = LegacyStore::plant(driver);
        failures.extend(check_section(&store, "Planted"));
        failures.extend(every_verb_runs(&store));
        failures.extend(du_and_orphans(&store));
        let (_, verify) = json_run(&store, &["verify"]);
        let unverified: BTreeSet<String> = problem_paths(&verify)
            .iter()
            .map(|p| store.relative(p))
            .collect();
        let under = if driver == Legacy::Zfs {
            "graph"
        } else {
            "mnt"
        };
        for l in &store.layers {
            let point = format!("{}/{under}/{}", driver.name(), l.cache);
            if !unverified.contains(&point) {
                failures.push(format!("[{driver:?} verify] no problem names {point}"));
            }
        }
        if verify["Verified"] != 0 {
            failures.push(format!(
                "[{driver:?} verify] nothing can be verified: {verify}"
            ));
        }
        // No efficiency is made up for images whose layers cannot be read.
        let (_, dupes) = json_run(&store, &["dupes"]);
        if dupes["Images"] != json!([]) || problem_paths(&dupes).len() < store.layers.len() {
            failures.push(format!("[{driver:?} dupes] images scored unread: {dupes}"));
        }
        let (_, advise) = json_run(&store, &["advise"]);
        let named = advise["Problems"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["Kind"] == "not-read" && p["Path"] == store.home().display().to_string());
        if !named {
            failures.push(format!(
                "[{driver:?} advise] the pool's unmeasured bytes are not said: {}",
                advise["Problems"]
            ));
        }
        let table = strata_on(&store.root, &["df"]);
        if !table.stdout.contains("(+2 unknown)") {
            failures.push(format!(
                "[{driver:?} df] the unknown sizes are not said:\n{table}"
            ));
        }
    }
    assert_none(failures);
}

/// devicemapper's pool: its device count and virtual bytes from `metadata/`, its loop files'
/// apparent and allocated bytes (`du` has them as one storage-pool owner each), and a device
/// file no record names is a leftover while the pool's own records are not.
#[test]
fn devicemapper_pool_is_reported_from_its_files() {
    let store = LegacyStore::plant(Legacy::Devicemapper);
    let expected = Legacy::Devicemapper.expected();
    let want = &expected["Pool"];
    let (_, df) = json_run(&store, &["df", "-v"]);
    let drivers = df["Drivers"].as_array().expect("Drivers");
    let pool = &drivers
        .iter()
        .find(|d| d["Name"] == "devicemapper")
        .expect("devicemapper detected")["Pool"];
    assert_eq!(pool["Devices"], want["Devices"], "{pool}");
    assert_eq!(pool["VirtualBytes"], want["VirtualBytes"], "{pool}");
    let (_, du) = json_run(&store, &["du"]);
    let owners: BTreeMap<String, &Value> = du["Owners"]
        .as_array()
        .expect("Owners")
        .iter()
        .filter(|o| o["Kind"] == "storage-pool")
        .map(|o| (o["Id"].as_str().unwrap().to_owned(), o))
        .collect();
    for (rel, apparent) in want["Files"].as_object().expect("Files") {
        let path = store.root.join(rel);
        let st = fs::metadata(&path).expect("a loop file");
        let allocated = std::os::unix::fs::MetadataExt::blocks(&st) * 512;
        let file = pool["Files"]
            .as_array()
            .expect("Files")
            .iter()
            .find(|f| f["Path"] == path.display().to_string())
            .unwrap_or_else(|| panic!("{rel} is not in {pool}"));
        assert_eq!(&file["ApparentBytes"], apparent, "{rel}");
        assert_eq!(file["AllocatedBytes"], allocated, "{rel}");
        let owner = owners
            .get(rel)
            .unwrap_or_else(|| panic!("du has no owner {rel}"));
        assert_eq!(owner["Sizes"]["Allocated"], allocated, "{rel}");
    }
    // A device of a layer no record names: leaked in the pool.
    let leaked = store.home().join("metadata").join(hex(b"leaked device"));
    write(
        &leaked,
        r#"{"device_id":9,"size":10737418240,"transaction_id":9,"initialized":false,"deleted":false}"#,
    );
    let (_, orphans) = json_run(&store, &["orphans"]);
    let listed: Vec<String> = orphans["Orphans"]
        .as_array()
        .expect("Orphans")
        .iter()
        .map(|o| o["Path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, [leaked.display().to_string()], "{orphans}");
}

/// On a live host zfs and devicemapper layers in use are mounted: a container's writable and
/// init layers are then read and compared as dockerd's naive diff does, and the other
/// container's stay unknown.
#[test]
fn mounted_pooled_layers_are_read() {
    if !root_usable() {
        return;
    }
    let mut failures = Vec::new();
    for driver in [Legacy::Zfs, Legacy::Devicemapper] {
        let store = LegacyStore::plant(driver);
        let mounts = store.mount_c1();
        failures.extend(check_section(&store, "Mounted"));
        failures.extend(every_verb_runs(&store));
        // `du -x` does not enter the mounted layers, and neither does strata's.
        failures.extend(du_and_orphans(&store));
        drop(mounts);
    }
    assert_none(failures);
}

/// A damaged driver record is a problem naming it, exit 1 as for the corrupt corpus, and the
/// rest of the store is still reported: an aufs `layers/` file naming a path, a devicemapper
/// device file that is not JSON.
#[test]
fn damaged_driver_records_are_named() {
    let mut failures = Vec::new();
    for (driver, rel, content) in [
        (Legacy::Aufs, "layers/{L3}", "{L1}\n../../../etc\n"),
        (Legacy::Devicemapper, "metadata/{L1}", "{\"device_id\": 2,"),
        (
            Legacy::Devicemapper,
            "metadata/deviceset-metadata",
            "[1, 2]",
        ),
    ] {
        let store = LegacyStore::plant(driver);
        let path = store.home().join(store.resolve(&json!(rel)));
        fs::write(&path, store.resolve(&json!(content))).expect("damaging");
        let (run, df) = json_run(&store, &["df", "-v"]);
        if run.code != Some(1) {
            failures.push(format!("[{driver:?} {rel}] exit 1 with a report:\n{run}"));
        }
        if !problem_paths(&df).contains(&path.display().to_string()) {
            failures.push(format!(
                "[{driver:?} {rel}] no problem names it: {}",
                df["Problems"]
            ));
        }
        if df["Images"].as_array().map_or(0, Vec::len) != 2 {
            failures.push(format!("[{driver:?} {rel}] both images still listed: {df}"));
        }
        let table = strata_on(&store.root, &["df"]);
        let shown = path.display().to_string();
        if !(table.stdout.contains(&shown) || table.stderr.contains(&shown)) {
            failures.push(format!(
                "[{driver:?} {rel}] the table run names it:\n{table}"
            ));
        }
        failures.extend(every_verb_runs(&store));
    }
    assert_none(failures);
}
