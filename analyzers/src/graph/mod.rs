//! The store's object graph, rebuilt from metadata files alone (no walking of content).
//!
//! [`Store::load`] reads, for one storage driver, the layer records, image configs, references,
//! containers and volumes, and joins them: images to their layers by chain id, containers to
//! their images and writable layers, volumes to the containers that mount them. What dockerd
//! would refuse to load is left out the same way and reported as a [`Problem`].

pub mod container;
pub mod image;
pub mod layer;
pub mod lookup;
pub mod references;
pub mod volume;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub use container::{Container, MountPoint, State};
pub use image::{HistoryEntry, Image};
pub use layer::{Layer, MountRecord};
pub use volume::Volume;

use crate::driver::{self, AnyDriver, Detected, Driver};
use crate::error::{Error, Problem, ProblemKind, Result};
use crate::fs::Jail;
use crate::ids::{ChainId, ContainerId, ImageId};
use crate::layout::{
    BUILDKIT_DIR, CONTAINERS_DIR, IMAGEDB_CONTENT, IMAGE_DIR, LAYERDB_MOUNTS, LAYERDB_SHA256,
    REPOSITORIES_JSON, VOLUMES_DIR,
};
use crate::root::DataRoot;

/// How to load a store.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Read this driver's data; by default the one dockerd would use.
    pub driver: Option<String>,
}

/// Everything the metadata of one driver in a data root says.
#[derive(Debug, Clone)]
pub struct Store {
    /// The data root.
    pub root: PathBuf,
    /// The root handle every read of the store goes through.
    pub jail: Jail,
    /// The driver whose data was read.
    pub driver: AnyDriver,
    /// Every driver that left data in the root.
    pub detected: Vec<Detected>,
    /// Images that load, by id.
    pub images: BTreeMap<ImageId, Image>,
    /// Read-only layers that load, by chain id.
    pub layers: BTreeMap<ChainId, Layer>,
    /// Writable layer records, by container id (including ones no container claims).
    pub mounts: BTreeMap<ContainerId, MountRecord>,
    /// Containers of this driver that load, sorted by id.
    pub containers: Vec<Container>,
    /// Local volumes, sorted by name.
    pub volumes: Vec<Volume>,
    /// What was damaged or inconsistent.
    pub problems: Vec<Problem>,
}

impl Store {
    /// Reads the store at `root`.
    pub fn load(root: &DataRoot, opts: &LoadOptions) -> Result<Store> {
        let jail = &root.jail;
        let detected = driver::detect(jail);
        let name = choose_driver(root, &detected, opts)?;
        let driver = AnyDriver::for_name(&root.path, &name).ok_or_else(|| Error::NotADataRoot {
            path: root.join(&name),
            reason: format!("storage driver {name} is not supported by strata yet"),
        })?;
        let image_dir = root.join(IMAGE_DIR).join(&name);
        let mut problems = layout_problems(jail, &driver, &image_dir);
        let layers = layer::load_layers(jail, &image_dir, Some(&driver), &mut problems);
        let mounts = layer::load_mounts(jail, &image_dir, &layers, &mut problems);
        let mut images = image::load(jail, &image_dir, &layers, &mut problems);
        let names = references::load(jail, &image_dir.join(REPOSITORIES_JSON), &mut problems);
        for (id, n) in names {
            if let Some(img) = images.get_mut(&id) {
                img.repo_tags = n.tags;
                img.repo_digests = n.digests;
            }
        }
        let mut containers = container::load(
            jail,
            &root.join(CONTAINERS_DIR),
            &name,
            &mounts,
            &mut problems,
        );
        containers.sort_by(|a, b| a.id.cmp(&b.id));
        let volumes = volume::load(jail, &root.join(VOLUMES_DIR), &mut problems);
        problems.sort();
        problems.dedup();
        Ok(Store {
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

    /// Image ids that are the local parent of at least one other image.
    pub fn parents(&self) -> BTreeSet<&ImageId> {
        self.images
            .values()
            .filter_map(|i| i.parent.as_ref())
            .collect()
    }

    /// The image a user's reference names (see [`Store::find_image`]), if exactly one.
    pub fn resolve_image(&self, reference: &str) -> Option<&Image> {
        self.find_image(reference).ok()
    }

    /// The layers of the stack whose top is `top`, top first (a container's lower layers, an
    /// image's layers reversed). Stops at a missing layer; loading already refused cycles.
    pub fn chain_below(&self, top: Option<&ChainId>) -> Vec<&Layer> {
        let mut out = Vec::new();
        let mut cur = top.and_then(|t| self.layers.get(t));
        while let Some(l) = cur {
            if out.len() > self.layers.len() {
                break;
            }
            out.push(l);
            cur = l.parent.as_ref().and_then(|p| self.layers.get(p));
        }
        out
    }

    /// The number of containers (of this driver) that mount the volume `name`.
    pub fn volume_refs(&self, name: &str) -> usize {
        self.containers
            .iter()
            .filter(|c| {
                c.mounts
                    .iter()
                    .any(|m| m.name == name && !m.driver.is_empty())
            })
            .count()
    }
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
