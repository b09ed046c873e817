//! Writing vfs layers as moby's `daemon/graphdriver/vfs` does: `vfs/dir/<id>/` is the layer's
//! whole filesystem, a copy of its parent's (made here with `cp -a`, which keeps owners,
//! modes, times, hard links, devices and xattrs, as moby's `copy.DirCopy` does) with the
//! layer's changes applied.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use analyzers::ids::CacheId;
use analyzers::layout::{VFS_DIR, VFS_LAYER_DIR};

use crate::error::{Error, IoContext, Result};

/// The vfs home of one data root.
#[derive(Debug, Clone)]
pub struct Vfs {
    home: PathBuf,
}

impl Vfs {
    /// The driver at `<root>/vfs/dir`.
    pub fn new(root: &Path) -> Vfs {
        Vfs {
            home: root.join(VFS_DIR).join(VFS_LAYER_DIR),
        }
    }

    /// Creates the driver's home.
    pub fn init(&self) -> Result<()> {
        fs::create_dir_all(&self.home).at(&self.home)
    }

    /// `<home>/<id>`.
    pub fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.home.join(id.as_str())
    }

    /// Builds layer content in `dir`: a copy of `parent`'s, or an empty directory (0755).
    pub fn build(&self, dir: &Path, parent: Option<&CacheId>) -> Result<PathBuf> {
        match parent {
            None => super::overlay2::mkdir(dir, 0o755)?,
            Some(parent) => {
                let from = self.layer_dir(parent);
                let status = Command::new("cp")
                    .arg("-a")
                    .arg(&from)
                    .arg(dir)
                    .status()
                    .at(&from)?;
                if !status.success() {
                    return Err(Error::malformed(&from, format!("cp -a failed: {status}")));
                }
            }
        }
        Ok(dir.to_owned())
    }

    /// Moves a layer built in `staged` to its place.
    pub fn publish(&self, staged: &Path, id: &CacheId) -> Result<()> {
        let dir = self.layer_dir(id);
        if staged != dir {
            fs::rename(staged, &dir).at(&dir)?;
        }
        Ok(())
    }

    /// Removes layer `id`.
    pub fn remove(&self, id: &CacheId) -> Result<()> {
        super::extract::remove_all(&self.layer_dir(id))
    }
}
