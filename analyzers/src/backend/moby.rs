//! Docker's graphdriver metadata: `image/<driver>/{imagedb,layerdb,repositories.json}`,
//! `containers/*/config.v2.json` and `volumes/` (moby `layer/`, `image/`, `daemon/`).
//!
//! A record loads the way dockerd loads it; what dockerd would refuse is left out and
//! reported. Image sizes are the sums of their layers' recorded sizes
//! ([`crate::usage::df`] has the rules).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{AnyBackend, Backend, Trees};
use crate::buildcache::{Loaded, Worker};
use crate::driver::{self, AnyDriver, Detected, Driver};
use crate::error::{Error, Problem, ProblemKind, Result};
use crate::forensics::orphans::{self, Finding};
use crate::fs::Jail;
use crate::graph::{self, Container, LoadOptions, Store};
use crate::ids::ImageId;
use crate::layout::{
    BUILDKIT_DIR, CONTAINERS_DIR, IMAGEDB_CONTENT, IMAGEDB_METADATA, IMAGE_DIR, LAYERDB_MOUNTS,
    LAYERDB_SHA256, REPOSITORIES_JSON, VOLUMES_DIR,
};
use crate::root::DataRoot;
use crate::usage::df::{self, ImageDf};

/// Docker's graphdriver metadata (moby's layer store).
#[derive(Debug, Clone, Copy, Default)]
pub struct Moby;

impl Backend for Moby {
    fn name(&self) -> &'static str {
        "moby"
    }
    fn image_rows(&self, store: &Store, _trees: &Trees) -> Vec<ImageDf> {
        df::list_images(store)
    }
    fn layers_size(&self, store: &Store, _trees: &Trees) -> i64 {
        df::layers_size(store)
    }
    fn root_fs_base(&self, store: &Store, _trees: &Trees, container: &Container) -> Option<i64> {
        container
            .rw_layer
            .parent
            .as_ref()
            .map(|top| df::chain_size(store, top))
    }
    fn image_files(&self, store: &Store, deleted: &BTreeSet<&ImageId>) -> BTreeSet<PathBuf> {
        let image_dir = store.root.join(IMAGE_DIR).join(store.driver.name());
        let mut paths = BTreeSet::new();
        for id in deleted {
            paths.insert(image_dir.join(IMAGEDB_CONTENT).join(id.0.hex()));
            let meta = image_dir.join(IMAGEDB_METADATA).join(id.0.hex());
            if store.jail.is_dir(&meta) {
                paths.insert(meta);
            }
        }
        paths
    }
    fn leftovers(&self, store: &Store, found: &mut Vec<Finding>, problems: &mut Vec<Problem>) {
        orphans::graphdriver_leftovers(store, found, problems);
    }
    /// moby's own worker over the storage driver (`builder-next`): `buildkit/` itself.
    fn buildkit_worker<'a>(
        &'a self,
        store: &'a Store,
        _trees: &'a Trees,
    ) -> Option<(PathBuf, Worker<'a>)> {
        let loaded = Loaded::of(store);
        Some((
            store.root.join(BUILDKIT_DIR),
            Worker::Graphdriver { loaded },
        ))
    }
}

/// Reads the graphdriver store at `root`: the driver asked for, else the one dockerd would use.
pub fn load(root: &DataRoot, opts: &LoadOptions) -> Result<Store> {
    let jail = &root.jail;
    let detected = driver::detect(jail);
    let name = choose_driver(root, &detected, opts)?;
    let driver = AnyDriver::for_name(&root.jail, &name).ok_or_else(|| Error::NotADataRoot {
        path: root.join(&name),
        reason: format!("storage driver {name} is not supported by strata yet"),
    })?;
    let image_dir = root.join(IMAGE_DIR).join(&name);
    let mut problems = layout_problems(jail, &driver, &image_dir);
    problems.extend(driver.bookkeeping_problems(jail));
    if opts.driver.is_none() && !detected.iter().any(|d| d.has_metadata || d.has_home) {
        // Not an empty store: dockerd makes `image/<driver>/` and the driver's home when it
        // first starts on a graphdriver root; a containerd image store keeps its images in a
        // containerd root, which was not found.
        problems.push(Problem::new(
            &root.path,
            ProblemKind::Missing,
            format!(
                "no storage driver's data (image/<driver>/, a driver directory) and no containerd \
                 root ({} or {}): no image or layer could be read; give --containerd-root if \
                 this root uses the containerd image store",
                root.join(crate::backend::containerd::locate::DOCKER_MANAGED_ROOT)
                    .display(),
                crate::backend::containerd::locate::SYSTEM_ROOT
            ),
        ));
    }
    let layers = graph::layer::load_layers(jail, &image_dir, Some(&driver), &mut problems);
    let mounts = graph::layer::load_mounts(jail, &image_dir, &layers, &mut problems);
    let mut images = graph::image::load(jail, &image_dir, &layers, &mut problems);
    let names = graph::references::load(jail, &image_dir.join(REPOSITORIES_JSON), &mut problems);
    for (id, n) in names {
        if let Some(img) = images.get_mut(&id) {
            img.repo_tags = n.tags;
            img.repo_digests = n.digests;
        }
    }
    let mut containers = graph::container::load(
        jail,
        &root.join(CONTAINERS_DIR),
        &name,
        &mounts,
        &mut problems,
    );
    containers.sort_by(|a, b| a.id.cmp(&b.id));
    let volumes = graph::volume::load(jail, &root.join(VOLUMES_DIR), &mut problems);
    problems.sort();
    problems.dedup();
    Ok(Store {
        backend: AnyBackend::Moby(Moby),
        root: root.path.clone(),
        jail: jail.clone(),
        driver,
        detected,
        images,
        layers,
        mounts,
        containers,
        volumes,
        problems,
    })
}

/// The layout directories that exist as something other than a directory (a symlink planted
/// in place of `overlay2/` or `volumes/` would lead out of the root): each is a problem, and
/// the jail reads nothing through it.
fn layout_problems(jail: &Jail, driver: &AnyDriver, image_dir: &Path) -> Vec<Problem> {
    let root = jail.path();
    let dirs = [
        root.join(IMAGE_DIR),
        image_dir.to_path_buf(),
        image_dir.join(LAYERDB_SHA256),
        image_dir.join(LAYERDB_MOUNTS),
        image_dir.join(IMAGEDB_CONTENT),
        root.join(CONTAINERS_DIR),
        root.join(VOLUMES_DIR),
        root.join(BUILDKIT_DIR),
        driver.home().to_path_buf(),
    ];
    dirs.iter()
        .filter_map(|d| {
            let st = jail.stat(d).ok()?;
            (!crate::fs::is_dir_stat(&st)).then(|| {
                Problem::new(
                    d,
                    ProblemKind::Unreadable,
                    format!(
                        "{}, not a directory: not followed (it could lead out of the root); \
                         nothing under it is read",
                        crate::fs::kind_of(&st)
                    ),
                )
            })
        })
        .collect()
}

/// The driver dockerd would use: the one asked for, else the only one with image metadata,
/// else (after a driver switch) the one whose reference store changed last.
fn choose_driver(root: &DataRoot, detected: &[Detected], opts: &LoadOptions) -> Result<String> {
    if let Some(name) = &opts.driver {
        return Ok(name.clone());
    }
    let with_meta: Vec<&Detected> = detected.iter().filter(|d| d.has_metadata).collect();
    let candidates: Vec<&Detected> = if with_meta.is_empty() {
        detected.iter().filter(|d| d.has_home).collect()
    } else {
        with_meta
    };
    let newest = candidates.iter().max_by_key(|d| {
        let repo = root.join(IMAGE_DIR).join(&d.name).join(REPOSITORIES_JSON);
        (
            d.supported,
            root.jail
                .stat(&repo)
                .ok()
                .map(|st| (st.st_mtime, st.st_mtime_nsec)),
        )
    });
    Ok(newest.map_or_else(|| "overlay2".to_owned(), |d| d.name.clone()))
}
