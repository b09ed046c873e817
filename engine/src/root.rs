//! The data root the engine writes: its directories and its storage driver. (The guard that
//! refuses a root a running dockerd uses is [`crate::daemon::guard`].)

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use analyzers::fs::Jail;
use analyzers::graph::{LoadOptions, Store};
use analyzers::layout::{
    CONTAINERS_DIR, IMAGEDB_CONTENT, IMAGEDB_METADATA, IMAGE_DIR, LAYERDB_MOUNTS, LAYERDB_SHA256,
    LAYERDB_TMP, VOLUMES_DIR,
};
use analyzers::root::DataRoot;

use crate::error::{Error, IoContext, Result};
use crate::layer::overlay2::Overlay2;
use crate::layer::vfs::Vfs;
use crate::layer::LayerDriver;

/// The data root's scratch directory (dockerd's `tmp/`, emptied when a daemon starts).
pub const TMP_DIR: &str = "tmp";

/// A data root opened for writing.
#[derive(Debug, Clone)]
pub struct Root {
    /// The data root.
    pub path: PathBuf,
    /// The storage driver layers are written with.
    pub driver: LayerDriver,
    /// The root handle the analyzers read this root through.
    pub jail: Jail,
}

impl Root {
    /// Opens (creating it and Docker's directories when missing) the data root `path`.
    /// The driver is `driver` when given, else the one whose image metadata the root already
    /// holds, else overlay2, as dockerd chooses.
    pub fn open(path: &Path, driver: Option<&str>) -> Result<Root> {
        fs::create_dir_all(path).at(path)?;
        let path = fs::canonicalize(path).at(path)?;
        let jail = Jail::open(&path).at(&path)?;
        let name = match driver {
            Some(name) => name.to_owned(),
            None => analyzers::driver::detect(&jail)
                .into_iter()
                .find(|d| d.has_metadata && d.supported)
                .map_or_else(|| "overlay2".to_owned(), |d| d.name),
        };
        let driver = match name.as_str() {
            "overlay2" => LayerDriver::Overlay2(Overlay2::new(&path)),
            "vfs" => LayerDriver::Vfs(Vfs::new(&path)),
            other => {
                return Err(Error::Invalid(format!(
                    "storage driver {other} is not supported by strata's engine (overlay2, vfs)"
                )))
            }
        };
        let root = Root { path, driver, jail };
        root.init()?;
        Ok(root)
    }

    fn init(&self) -> Result<()> {
        fs::set_permissions(&self.path, fs::Permissions::from_mode(0o711)).at(&self.path)?;
        let image = self.image_dir();
        for dir in [
            image.join(IMAGEDB_CONTENT),
            image.join(IMAGEDB_METADATA),
            image.join(LAYERDB_SHA256),
            image.join(LAYERDB_TMP),
            image.join(LAYERDB_MOUNTS),
            self.path.join(CONTAINERS_DIR),
            self.path.join(VOLUMES_DIR),
            self.tmp_dir(),
        ] {
            fs::create_dir_all(&dir).at(&dir)?;
        }
        self.driver.init()
    }

    /// `image/<driver>/`.
    pub fn image_dir(&self) -> PathBuf {
        self.path.join(IMAGE_DIR).join(self.driver.name())
    }

    /// `tmp/`: where layers are staged.
    pub fn tmp_dir(&self) -> PathBuf {
        self.path.join(TMP_DIR)
    }

    /// Reads the whole store with the analyzers (images, layers, containers, volumes).
    pub fn load(&self) -> Result<Store> {
        let data_root = DataRoot::open(&self.path)?;
        Ok(Store::load(
            &data_root,
            &LoadOptions {
                driver: Some(self.driver.name().to_owned()),
                ..LoadOptions::default()
            },
        )?)
    }
}
