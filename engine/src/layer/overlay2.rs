//! Writing overlay2 layers as moby's `daemon/graphdriver/overlay2` does: `<id>/` (0701) with
//! `diff/` (0755), `link` (a 26-character random short name), and, for a layer with a parent,
//! `work/` (0700), `lower` (`l/<short>:l/<short>...`, the parent first) and a `committed`
//! marker in the parent; `l/<short>` is a symlink `../<id>/diff`.

use std::fs;
use std::os::unix::fs::{symlink, DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use analyzers::ids::CacheId;
use analyzers::layout::{
    OVERLAY2_DIFF, OVERLAY2_DIR, OVERLAY2_LINK, OVERLAY2_LINK_DIR, OVERLAY2_LOWER, OVERLAY2_MERGED,
    OVERLAY2_WORK,
};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use rand::Rng as _;

use crate::error::{Error, IoContext, Result};

/// Length of the short link names under `l/` (moby's `idLength`).
const LINK_ID_LEN: usize = 26;
/// Marker moby writes in a layer once another layer is created on top of it.
const COMMITTED: &str = "committed";

/// The overlay2 home of one data root.
#[derive(Debug, Clone)]
pub struct Overlay2 {
    home: PathBuf,
}

impl Overlay2 {
    /// The driver at `<root>/overlay2`.
    pub fn new(root: &Path) -> Overlay2 {
        Overlay2 {
            home: root.join(OVERLAY2_DIR),
        }
    }

    /// Creates the driver's home and `l/`.
    pub fn init(&self) -> Result<()> {
        let links = self.home.join(OVERLAY2_LINK_DIR);
        fs::create_dir_all(&links).at(&links)?;
        fs::set_permissions(&self.home, fs::Permissions::from_mode(0o710)).at(&self.home)
    }

    /// `<home>/<id>`.
    pub fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.home.join(id.as_str())
    }

    /// `<home>/<id>/diff`: the layer's own files (the upper directory when mounted).
    pub fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id).join(OVERLAY2_DIFF)
    }

    /// `<home>/<id>/merged`: where the layer is mounted.
    pub fn mount_point(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id).join(OVERLAY2_MERGED)
    }

    /// Builds the bookkeeping of layer `id` in `dir` (the layer's final place, or a staging
    /// directory that [`Overlay2::publish`] moves there); returns the content directory.
    pub fn build(&self, dir: &Path, parent: Option<&CacheId>) -> Result<PathBuf> {
        mkdir(dir, 0o701)?;
        let diff = dir.join(OVERLAY2_DIFF);
        mkdir(&diff, 0o755)?;
        let link = random_link_id();
        write(&dir.join(OVERLAY2_LINK), link.as_bytes(), 0o644)?;
        if let Some(parent) = parent {
            mkdir(&dir.join(OVERLAY2_WORK), 0o700)?;
            let parent_dir = self.layer_dir(parent);
            write(&parent_dir.join(COMMITTED), b"", 0o600)?;
            let parent_link = read_trimmed(&parent_dir.join(OVERLAY2_LINK))?;
            let mut lower = format!("{OVERLAY2_LINK_DIR}/{parent_link}");
            let parent_lower = parent_dir.join(OVERLAY2_LOWER);
            if parent_lower.exists() {
                lower.push(':');
                lower.push_str(&read_trimmed(&parent_lower)?);
            }
            write(&dir.join(OVERLAY2_LOWER), lower.as_bytes(), 0o666)?;
        }
        Ok(diff)
    }

    /// Moves a layer built in `staged` to its place and creates its `l/` link.
    pub fn publish(&self, staged: &Path, id: &CacheId) -> Result<()> {
        let dir = self.layer_dir(id);
        if staged != dir {
            fs::rename(staged, &dir).at(&dir)?;
        }
        let link = read_trimmed(&dir.join(OVERLAY2_LINK))?;
        let at = self.home.join(OVERLAY2_LINK_DIR).join(&link);
        symlink(Path::new("..").join(id.as_str()).join(OVERLAY2_DIFF), &at).at(&at)
    }

    /// Removes layer `id` and its `l/` link.
    pub fn remove(&self, id: &CacheId) -> Result<()> {
        let dir = self.layer_dir(id);
        if let Ok(link) = read_trimmed(&dir.join(OVERLAY2_LINK)) {
            let at = self.home.join(OVERLAY2_LINK_DIR).join(link);
            let _ = fs::remove_file(at);
        }
        super::extract::remove_all(&dir)
    }

    /// Mounts layer `id` (which has a parent) on its `merged/`; returns that path.
    pub fn mount(&self, id: &CacheId) -> Result<PathBuf> {
        let dir = self.layer_dir(id);
        let lower = read_trimmed(&dir.join(OVERLAY2_LOWER))?;
        let lowers: Vec<String> = lower
            .split(':')
            .map(|l| self.home.join(l).display().to_string())
            .collect();
        let data = format!(
            "lowerdir={},upperdir={},workdir={}",
            lowers.join(":"),
            dir.join(OVERLAY2_DIFF).display(),
            dir.join(OVERLAY2_WORK).display()
        );
        let merged = self.mount_point(id);
        mkdir(&merged, 0o700)?;
        mount(
            Some("overlay"),
            &merged,
            Some("overlay"),
            MsFlags::empty(),
            Some(data.as_str()),
        )
        .map_err(|e| Error::sys(&merged, "mount overlay", e))?;
        Ok(merged)
    }

    /// Unmounts layer `id`'s `merged/` (lazily, as moby does) and removes the directory; a
    /// layer that is not mounted is fine.
    pub fn unmount(&self, id: &CacheId) -> Result<()> {
        let merged = self.mount_point(id);
        match umount2(&merged, MntFlags::MNT_DETACH) {
            Ok(()) | Err(nix::Error::EINVAL | nix::Error::ENOENT) => {}
            Err(e) => return Err(Error::sys(&merged, "umount", e)),
        }
        match fs::remove_dir(&merged) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&merged, e)),
            _ => Ok(()),
        }
    }
}

/// moby's `overlayutils.GenerateID`: random base32 (RFC 4648 alphabet), 26 characters.
fn random_link_id() -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut rng = rand::rng();
    (0..LINK_ID_LEN)
        .map(|_| ALPHABET[rng.random_range(0..32)] as char)
        .collect()
}

/// Creates `dir` with exactly `mode`.
pub(crate) fn mkdir(dir: &Path, mode: u32) -> Result<()> {
    match fs::DirBuilder::new().mode(mode).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(Error::io(dir, e)),
        _ => fs::set_permissions(dir, fs::Permissions::from_mode(mode)).at(dir),
    }
}

/// Writes `bytes` to `path` with exactly `mode`.
pub(crate) fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    fs::write(path, bytes).at(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).at(path)
}

/// A small metadata file, without surrounding whitespace.
pub(crate) fn read_trimmed(path: &Path) -> Result<String> {
    Ok(fs::read_to_string(path).at(path)?.trim().to_owned())
}
