//! Reading a graphroot into the common graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ContainersStorage;
use crate::backend::{AnyBackend, PodmanVersion, VersionProbe, VersionSource};
use crate::driver::{AnyDriver, Copies, Detected, Driver, Overlay2};
use crate::error::{Error, Problem, ProblemKind, Result};
use crate::format::containers_storage::{
    self as cs, big_data_dir, big_data_file_name, ContainerRecord, ImageRecord, LayerRecord,
};
use crate::format::libpod::{self, ContainerStatus, LibpodContainer, LibpodContainerId};
use crate::format::storage_conf::OVERLAY;
use crate::format::whiteout::Whiteouts;
use crate::fs::Jail;
use crate::graph::{
    self, Container, Image, Layer, LoadOptions, MountPoint, MountRecord, State, Store,
};
use crate::graphroot::Settings;
use crate::ids::{CacheId, ChainId, ContainerId, DiffId, Digest, ImageId};
use crate::root::DataRoot;

/// The drivers strata reads containers/storage layers of, in containers/storage's order of
/// preference (`drivers/driver_linux.go` `Priority`).
pub(super) const DRIVERS: &[&str] = &[OVERLAY, "vfs"];
/// Drivers containers/storage has that strata does not read yet.
pub(super) const OTHER_DRIVERS: &[&str] = &["btrfs", "zfs", "aufs", "devicemapper"];
/// The newest podman whose rules strata knows; the default when nothing says which podman
/// uses the store.
pub const NEWEST_KNOWN: PodmanVersion = PodmanVersion::new(5, 8, 0);
/// The most a big data item read for its length may hold.
const BIG_DATA_LIMIT: u64 = 64 << 20;

/// The driver of the containers/storage graphroot `root`, when it is one: the one asked
/// for (`--driver`), which must have layer records (`<driver>-layers/`); else the one its
/// storage.conf names, when it has them; else the first with them, preferring overlay.
pub fn detect(root: &DataRoot, opts: &LoadOptions) -> Option<String> {
    let with_records: Vec<&str> = DRIVERS
        .iter()
        .chain(OTHER_DRIVERS)
        .copied()
        .filter(|d| root.jail.is_dir(&root.join(cs::layers_dir(d))))
        .collect();
    let configured = opts
        .storage_conf
        .as_ref()
        .and_then(|s| s.driver.as_deref())
        .filter(|d| with_records.contains(d));
    match &opts.driver {
        Some(d) if with_records.contains(&d.as_str()) => Some(d.clone()),
        Some(_) => None,
        None => configured
            .or(with_records.first().copied())
            .map(str::to_owned),
    }
}

/// How the overlay layers of `root` record deletions: fuse-overlayfs's way when the driver
/// recorded that it mounts through a mount program (`overlay/.has-mount-program` is `true`),
/// or, in a store older than that record, when storage.conf names one.
fn overlay_whiteouts(
    root: &DataRoot,
    opts: &LoadOptions,
    problems: &mut Vec<Problem>,
) -> Whiteouts {
    let flag = root.join(OVERLAY).join(cs::MOUNT_PROGRAM_FLAG);
    let configured = opts
        .storage_conf
        .as_ref()
        .is_some_and(|s| s.mount_program.is_some());
    let mount_program = match root.jail.read(&flag, crate::fs::TEXT_LIMIT) {
        Ok(text) => text.trim_ascii() == b"true",
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => configured,
        Err(e) => {
            problems.push(crate::fs::io_problem(&flag, &e));
            configured
        }
    };
    if mount_program {
        Whiteouts::Fuse
    } else {
        Whiteouts::Kernel
    }
}

/// The parts of the store its storage.conf keeps outside the graphroot, each a problem: the
/// figures leave them out.
fn kept_elsewhere(settings: &Settings, problems: &mut Vec<Problem>) {
    let source = settings
        .source
        .as_deref()
        .map_or_else(|| "storage.conf".to_owned(), |p| p.display().to_string());
    if let Some(dir) = &settings.image_store {
        problems.push(Problem::new(
            dir,
            ProblemKind::NotRead,
            format!(
                "{source} sets imagestore: images and their layers are kept there, which \
                 strata does not read yet; they are left out"
            ),
        ));
    }
    for dir in &settings.additional_image_stores {
        problems.push(Problem::new(
            dir,
            ProblemKind::NotRead,
            format!(
                "{source} lists this additional image store: strata does not read it yet; \
                 containers using its images show them as missing"
            ),
        ));
    }
    if settings.transient_store {
        let runroot = settings
            .runroot
            .as_deref()
            .unwrap_or(Path::new("the runroot"));
        problems.push(Problem::new(
            runroot,
            ProblemKind::NotRead,
            format!(
                "{source} sets transient_store: container records are kept under the \
                 runroot, which strata does not read; containers are left out and their \
                 layers look unreferenced"
            ),
        ));
    }
}

/// Reads the graphroot `root` with driver `name`.
pub fn load(root: &DataRoot, opts: &LoadOptions, name: &str) -> Result<Store> {
    let annexed;
    let jail = match &opts.runroot {
        Some(run) => {
            annexed = root.jail.with_annex(run).map_err(|e| Error::io(run, e))?;
            &annexed
        }
        None => &root.jail,
    };
    let mut problems = Vec::new();
    let driver = match name {
        OVERLAY => AnyDriver::Overlay2(Overlay2::containers_storage(
            &root.path,
            overlay_whiteouts(root, opts, &mut problems),
        )),
        "vfs" => AnyDriver::Copies(Copies::vfs(&root.path)),
        other => {
            return Err(Error::NotADataRoot {
                path: root.join(cs::layers_dir(other)),
                reason: format!("containers/storage driver {other} is not supported by strata yet"),
            })
        }
    };
    if let Some(settings) = &opts.storage_conf {
        kept_elsewhere(settings, &mut problems);
    }
    let layers_json = root.join(cs::layers_dir(name)).join(cs::LAYERS_JSON);
    let images_dir = root.join(cs::images_dir(name));
    let containers_dir = root.join(cs::containers_dir(name));
    let mut layer_records: Vec<LayerRecord> = records(jail, &layers_json, &mut problems);
    layer_records.extend(records(
        jail,
        &layers_json.with_file_name(cs::VOLATILE_LAYERS_JSON),
        &mut problems,
    ));
    let images: Vec<ImageRecord> = records(jail, &images_dir.join(cs::IMAGES_JSON), &mut problems);
    let mut containers: Vec<ContainerRecord> = records(
        jail,
        &containers_dir.join(cs::CONTAINERS_JSON),
        &mut problems,
    );
    containers.extend(records(
        jail,
        &containers_dir.join(cs::VOLATILE_CONTAINERS_JSON),
        &mut problems,
    ));

    let (layers, incomplete) = split_incomplete(layer_records, &layers_json, &mut problems);
    let libpod = libpod::read(jail, &root.path, &mut problems).unwrap_or_else(|p| {
        problems.push(Problem::new(
            &p.path,
            p.kind,
            format!(
                "{}; libpod's state is not read: no podman container or volume is reported",
                p.detail
            ),
        ));
        None
    });
    if let Some(state) = &libpod {
        problems.extend(ignored_database(state));
    }
    let backend = ContainersStorage {
        graphroot: root.path.clone(),
        driver: name.to_owned(),
        layers_json,
        images_dir,
        containers_dir,
        layers,
        incomplete,
        images,
        containers,
        libpod,
        runroot: opts.runroot.clone(),
        version: version_probe(root, opts),
    };
    let container_layers: BTreeSet<&str> = backend
        .containers
        .iter()
        .map(|c| c.layer.as_str())
        .collect();
    let graph_layers = graph_layers(&backend, &container_layers, &driver, jail, &mut problems);
    let mut graph_images = graph_images(&backend, jail, &mut problems);
    set_parents(&backend, &mut graph_images);
    let (mounts, mut graph_containers) =
        graph_containers(&backend, &graph_images, &driver, &mut problems);
    if let Some(state) = &backend.libpod {
        for c in &mut graph_containers {
            if let Some(record) =
                LibpodContainerId::parse(c.id.as_str()).and_then(|id| state.containers.get(&id))
            {
                join_libpod(c, record, &root.path);
            }
        }
    }
    let volumes = graph::volume::load(jail, &root.join(crate::layout::VOLUMES_DIR), &mut problems);
    problems.sort();
    problems.dedup();
    let detected = detected(root);
    Ok(Store {
        root: root.path.clone(),
        jail: jail.clone(),
        backend: AnyBackend::ContainersStorage(Box::new(backend)),
        driver,
        detected,
        images: graph_images,
        layers: graph_layers,
        mounts,
        containers: graph_containers,
        volumes,
        problems,
    })
}

/// The podman version whose rules apply: the one given, else the one `detect` finds, else
/// the newest known.
fn version_probe(root: &DataRoot, opts: &LoadOptions) -> Arc<VersionProbe> {
    let fallback = (
        NEWEST_KNOWN,
        VersionSource::Default("no --podman-version and no podman binary to ask".into()),
    );
    match (&opts.podman_version, opts.detect_podman_version) {
        (Some(given), _) => VersionProbe::known(given.clone()),
        (None, Some(detect)) => {
            let path = root.path.clone();
            VersionProbe::start(move || detect(&path), fallback)
        }
        (None, None) => VersionProbe::known(fallback),
    }
}

/// The records of `path`; a file that cannot be read at all is a problem saying that none of
/// its records is reported (containers/storage refuses to open such a store).
fn records<R: cs::Record>(jail: &Jail, path: &Path, problems: &mut Vec<Problem>) -> Vec<R> {
    cs::read_records(jail, path, problems).unwrap_or_else(|p| {
        problems.push(Problem::new(
            &p.path,
            p.kind,
            format!(
                "{}; none of its {} records is read, and what they hold is missing from \
                 every figure",
                p.detail,
                R::KIND
            ),
        ));
        Vec::new()
    })
}

/// The problem of a second libpod database beside the one `state` was read from
/// ([`LibpodState::ignored`](libpod::LibpodState::ignored)). Which one podman uses depends on
/// `database_backend` in `containers.conf`, which strata does not read: the user must know
/// which one the figures come from, and that the other may hold other containers. (Its kind
/// is the database kind: nothing in the file is damaged, the store's libpod database is what
/// is in doubt.)
fn ignored_database(state: &libpod::LibpodState) -> Option<Problem> {
    let ignored = state.ignored.as_ref()?;
    Some(Problem::new(
        ignored,
        ProblemKind::InvalidDatabase,
        format!(
            "not read: {} is beside it, and podman 4.8 to 5.x read that BoltDB while it exists \
             (unless containers.conf sets database_backend = \"sqlite\"): the containers and \
             volumes shown are the BoltDB's",
            state.database.display()
        ),
    ))
}

/// Every driver with layer records in the graphroot.
fn detected(root: &DataRoot) -> Vec<Detected> {
    DRIVERS
        .iter()
        .chain(OTHER_DRIVERS)
        .filter_map(|d| {
            let has_metadata = root.jail.is_dir(&root.join(cs::layers_dir(d)));
            let has_home = root.jail.is_dir(&root.join(d));
            (has_metadata || has_home).then(|| Detected {
                name: (*d).to_owned(),
                has_metadata,
                has_home,
                supported: DRIVERS.contains(d),
                pool: None,
            })
        })
        .collect()
}

/// Complete layers by id, and the incomplete ones (each a problem).
fn split_incomplete(
    records: Vec<LayerRecord>,
    layers_json: &Path,
    problems: &mut Vec<Problem>,
) -> (BTreeMap<String, LayerRecord>, BTreeMap<String, LayerRecord>) {
    let mut complete = BTreeMap::new();
    let mut incomplete = BTreeMap::new();
    for r in records {
        if r.incomplete() {
            problems.push(Problem::new(
                layers_json,
                ProblemKind::InvalidValue,
                format!(
                    "layer {} is flagged incomplete (an interrupted pull, build or commit): \
                     containers/storage deletes it the next time it writes the store; left \
                     out of the figures",
                    r.id
                ),
            ));
            incomplete.insert(r.id.clone(), r);
        } else {
            complete.insert(r.id.clone(), r);
        }
    }
    (complete, incomplete)
}

/// The read-only layers (every complete layer no container writes to), keyed by their
/// containers/storage id as a [`ChainId`]; a layer whose directory is missing, whose parent
/// is unknown or whose diff digest is unrecorded is a problem.
fn graph_layers(
    backend: &ContainersStorage,
    container_layers: &BTreeSet<&str>,
    driver: &AnyDriver,
    jail: &Jail,
    problems: &mut Vec<Problem>,
) -> BTreeMap<ChainId, Layer> {
    let path = &backend.layers_json;
    let mut out = BTreeMap::new();
    for r in backend.layers.values() {
        if container_layers.contains(r.id.as_str()) {
            continue;
        }
        let cache_id = CacheId(r.id.clone());
        if !jail.is_dir(&driver.layer_dir(&cache_id)) {
            problems.push(Problem::new(
                driver.layer_dir(&cache_id),
                ProblemKind::Missing,
                format!(
                    "the directory of layer {} (recorded in {}) is missing",
                    r.id,
                    path.display()
                ),
            ));
        }
        if let Some(p) = r.parent() {
            if !backend.layers.contains_key(p) {
                problems.push(Problem::new(
                    path,
                    ProblemKind::DanglingReference,
                    format!("layer {}: parent layer {p} is not in the store", r.id),
                ));
            }
        }
        let Some(diff) = r.diff_id() else {
            problems.push(Problem::new(
                path,
                ProblemKind::InvalidValue,
                format!(
                    "layer {}: no diff-digest recorded ({:?}); its size is measured instead",
                    r.id, r.diff_digest
                ),
            ));
            continue;
        };
        let (Some(chain_id), parent) = (
            ChainId::from_hex(&r.id),
            r.parent().and_then(ChainId::from_hex),
        ) else {
            continue;
        };
        out.insert(
            chain_id.clone(),
            Layer {
                chain_id,
                diff_id: DiffId(diff),
                parent,
                cache_id,
                size: r.diff_size,
                record: path.clone(),
            },
        );
    }
    out
}

/// The images whose config loads, each with its containers/storage layer chain (bottom
/// first) in place of chain ids computed from its diff ids, and its names.
fn graph_images(
    backend: &ContainersStorage,
    jail: &Jail,
    problems: &mut Vec<Problem>,
) -> BTreeMap<ImageId, Image> {
    let mut out = BTreeMap::new();
    for r in &backend.images {
        let Some(id) = Digest::from_hex(&r.id).map(ImageId) else {
            continue;
        };
        let config_key = id.0.as_str();
        let config_path =
            big_data_dir(&backend.images_dir, &r.id).join(big_data_file_name(config_key));
        let parsed = jail
            .read(&config_path, BIG_DATA_LIMIT)
            .map_err(|e| crate::fs::io_problem(&config_path, &e))
            .and_then(|bytes| graph::image::parse_config(id.clone(), config_path.clone(), &bytes));
        let mut image = match parsed {
            Ok(i) => i,
            Err(p) => {
                problems.push(Problem::new(
                    &p.path,
                    p.kind,
                    format!("config of image {}: {}; left out", r.id, p.detail),
                ));
                continue;
            }
        };
        let mut chain: Vec<ChainId> = backend
            .chain(&r.layer)
            .iter()
            .filter_map(|l| ChainId::from_hex(l))
            .collect();
        chain.reverse();
        if !r.layer.is_empty() && !backend.layers.contains_key(&r.layer) {
            problems.push(Problem::new(
                backend.images_dir.join(cs::IMAGES_JSON),
                ProblemKind::DanglingReference,
                format!("image {}: top layer {} is not in the store", r.id, r.layer),
            ));
        }
        image.chain_ids = chain;
        image.repo_tags = r.names.clone();
        image.repo_digests = Digest::parse(&r.digest)
            .map(|d| {
                r.names
                    .iter()
                    .map(|n| format!("{}@{d}", super::tree::repository(n)))
                    .collect()
            })
            .unwrap_or_default();
        image.created_text = Some(r.created.clone());
        image.created = chrono::DateTime::parse_from_rfc3339(&r.created)
            .ok()
            .map(|t| t.timestamp());
        out.insert(id, image);
    }
    out
}

/// Gives each image its parent as libimage finds it (`layerTree.parent`: the image whose
/// layers and history its own begin with, one step less), which is what `podman image prune`
/// and `podman rmi` judge dangling images and dangling parents by.
fn set_parents(backend: &ContainersStorage, images: &mut BTreeMap<ImageId, Image>) {
    let tree = super::tree::LayerTree::new(backend, images);
    let id = |r: &ImageRecord| Digest::from_hex(&r.id).map(ImageId);
    let parents: Vec<(ImageId, ImageId)> = backend
        .images
        .iter()
        .filter_map(|r| Some((id(r)?, id(tree.parent(r)?)?)))
        .collect();
    for (child, parent) in parents {
        if let Some(image) = images.get_mut(&child) {
            image.parent = Some(parent);
        }
    }
}

/// The writable layer records (by container id) and the containers, from containers.json.
fn graph_containers(
    backend: &ContainersStorage,
    images: &BTreeMap<ImageId, Image>,
    driver: &AnyDriver,
    problems: &mut Vec<Problem>,
) -> (BTreeMap<ContainerId, MountRecord>, Vec<Container>) {
    let records_path = backend.containers_dir.join(cs::CONTAINERS_JSON);
    let mut mounts = BTreeMap::new();
    let mut containers = Vec::new();
    for r in &backend.containers {
        let id = ContainerId(r.id.clone());
        let Some(layer) = backend.layers.get(&r.layer) else {
            problems.push(Problem::new(
                &records_path,
                ProblemKind::DanglingReference,
                format!(
                    "container {}: writable layer {} is not in the store",
                    r.id, r.layer
                ),
            ));
            continue;
        };
        let mount = MountRecord {
            container: id.clone(),
            mount_id: CacheId(layer.id.clone()),
            init_id: None,
            parent: layer.parent().and_then(ChainId::from_hex),
            record: records_path.clone(),
        };
        mounts.insert(id.clone(), mount.clone());
        // A container made from no image (Buildah's `from scratch`) gets the digest of
        // nothing, which no image config has.
        let image_id = Digest::from_hex(&r.image).map(ImageId);
        if let Some(image) = &image_id {
            if !images.contains_key(image) {
                problems.push(Problem::new(
                    &records_path,
                    ProblemKind::DanglingReference,
                    format!("container {}: image {} is not in the store", r.id, r.image),
                ));
            }
        }
        let name = r.names.first().cloned().unwrap_or_else(|| r.id.clone());
        containers.push(Container {
            dir: backend.containers_dir.join(&r.id),
            name: format!("/{name}"),
            image_ref: image_id
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            image_id: image_id.unwrap_or_else(|| ImageId(Digest::of_bytes(b""))),
            created: r.created.clone(),
            path: String::new(),
            args: Vec::new(),
            labels: BTreeMap::new(),
            state: State {
                unrecorded: true,
                ..State::default()
            },
            driver: driver.name().to_owned(),
            mounts: Vec::new(),
            network_mode: String::new(),
            log_path: None,
            rw_layer: mount,
            image_manifest: None,
            id,
        });
    }
    containers.sort_by(|a, b| a.id.cmp(&b.id));
    (mounts, containers)
}

/// What libpod records of a container: its name, command, state, labels and volumes.
fn join_libpod(c: &mut Container, record: &LibpodContainer, root: &Path) {
    c.name = format!("/{}", record.name);
    if let Some(name) = &record.image_name {
        c.image_ref.clone_from(name);
    }
    if let Some(t) = &record.created {
        c.created.clone_from(&t.text);
    }
    let mut command = record.entrypoint.iter().chain(&record.command).cloned();
    c.path = command.next().unwrap_or_default();
    c.args = command.collect();
    c.labels.clone_from(&record.labels);
    c.log_path = record
        .log_path
        .as_deref()
        .and_then(|p| userdata_log(p, &c.dir));
    c.mounts = record
        .named_volumes
        .iter()
        // A name podman would refuse (`..`, a `/`) names no volume of this store.
        .filter(|v| libpod::is_valid_name(&v.name))
        .map(|v| MountPoint {
            source: root
                .join(crate::layout::VOLUMES_DIR)
                .join(&v.name)
                .join(crate::layout::VOLUME_DATA)
                .display()
                .to_string(),
            destination: v.dest.clone(),
            rw: !v.options.iter().any(|o| o == "ro"),
            name: v.name.clone(),
            driver: "local".into(),
            kind: "volume".into(),
            ..MountPoint::default()
        })
        .collect();
    if let Some(run) = &record.state {
        let time = |t: &Option<crate::format::libpod::Timestamp>| {
            t.as_ref().map_or_else(
                || crate::format::config_v2::ZERO_TIME.to_owned(),
                |t| t.text.clone(),
            )
        };
        c.state = State {
            running: matches!(
                run.status,
                ContainerStatus::Running | ContainerStatus::Paused | ContainerStatus::Stopping
            ),
            paused: run.status == ContainerStatus::Paused,
            removal_in_progress: run.status == ContainerStatus::Removing,
            oom_killed: run.oom_killed,
            pid: run.pid,
            exit_code: i64::from(run.exit_code),
            started_at: time(&run.started),
            finished_at: time(&run.finished),
            ..State::default()
        };
    }
}

/// libpod's `LogPath` taken as a file of the container's `userdata/` (`ctr.log`) in `dir`,
/// wherever the graphroot was when podman wrote it (a copied store keeps its old absolute
/// paths); `None` for a log anywhere else (`--log-opt path=`), which is never read.
fn userdata_log(recorded: &Path, dir: &Path) -> Option<PathBuf> {
    let name = recorded.file_name()?.to_str()?;
    let userdata = recorded.parent()?;
    let id = userdata.parent()?.file_name()?;
    (userdata.file_name() == Some(cs::USERDATA_DIR.as_ref())
        && Some(id) == dir.file_name()
        && crate::ids::is_component(name))
    .then(|| dir.join(cs::USERDATA_DIR).join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With records of two drivers, `--driver` wins, then storage.conf's driver when it has
    /// records, then overlay.
    #[test]
    fn the_configured_driver_picks_among_several() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["overlay-layers", "vfs-layers"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        let root = DataRoot::open(dir.path()).unwrap();
        let configured = |driver: &str| LoadOptions {
            storage_conf: Some(Settings {
                driver: Some(driver.into()),
                ..Settings::default()
            }),
            ..LoadOptions::default()
        };
        assert_eq!(
            detect(&root, &LoadOptions::default()).as_deref(),
            Some("overlay")
        );
        assert_eq!(detect(&root, &configured("vfs")).as_deref(), Some("vfs"));
        assert_eq!(
            detect(&root, &configured("btrfs")).as_deref(),
            Some("overlay")
        );
        let flag = LoadOptions {
            driver: Some("overlay".into()),
            ..configured("vfs")
        };
        assert_eq!(detect(&root, &flag).as_deref(), Some("overlay"));
    }

    /// `overlay/.has-mount-program` decides the whiteout form; storage.conf's mount program
    /// only when the store has no such record.
    #[test]
    fn the_mount_program_record_decides_the_whiteouts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("overlay-layers")).unwrap();
        std::fs::create_dir_all(dir.path().join(OVERLAY)).unwrap();
        let root = DataRoot::open(dir.path()).unwrap();
        let with_program = LoadOptions {
            storage_conf: Some(Settings {
                mount_program: Some("/usr/bin/fuse-overlayfs".into()),
                ..Settings::default()
            }),
            ..LoadOptions::default()
        };
        let mut problems = Vec::new();
        let whiteouts = |opts: &LoadOptions, problems: &mut Vec<Problem>| {
            overlay_whiteouts(&root, opts, problems)
        };
        assert_eq!(
            whiteouts(&LoadOptions::default(), &mut problems),
            Whiteouts::Kernel
        );
        assert_eq!(whiteouts(&with_program, &mut problems), Whiteouts::Fuse);
        let flag = dir.path().join(OVERLAY).join(cs::MOUNT_PROGRAM_FLAG);
        std::fs::write(&flag, "false").unwrap();
        assert_eq!(whiteouts(&with_program, &mut problems), Whiteouts::Kernel);
        std::fs::write(&flag, "true").unwrap();
        assert_eq!(
            whiteouts(&LoadOptions::default(), &mut problems),
            Whiteouts::Fuse
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    /// What storage.conf keeps outside the graphroot is a problem each, naming the file.
    #[test]
    fn parts_kept_elsewhere_are_problems() {
        let settings = Settings {
            source: Some("/etc/containers/storage.conf".into()),
            image_store: Some("/srv/images".into()),
            additional_image_stores: vec!["/ro".into()],
            transient_store: true,
            ..Settings::default()
        };
        let mut problems = Vec::new();
        kept_elsewhere(&settings, &mut problems);
        assert_eq!(problems.len(), 3, "{problems:?}");
        for p in &problems {
            assert_eq!(p.kind, ProblemKind::NotRead);
            assert!(p.detail.contains("/etc/containers/storage.conf"), "{p}");
        }
        problems.clear();
        kept_elsewhere(&Settings::default(), &mut problems);
        assert!(problems.is_empty());
    }
}
