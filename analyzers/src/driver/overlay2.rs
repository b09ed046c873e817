//! The overlay2 driver: `overlay2/<cache id>/{diff,link,lower,work,merged}` and `overlay2/l/`.
//!
//! A layer's own files are in `diff/`; lower layers are referenced by short names in `lower`
//! (top first), each a symlink `l/<short> -> ../<cache id>/diff`. A deleted file is a character
//! device 0/0 in the upper layer. With native diff (the kernel's overlay without
//! `redirect_dir`, what dockerd reports as "Native Overlay Diff: true") Docker measures a
//! writable layer by its `diff/` directory alone.
//!
//! containers/storage's overlay driver has the same layout under `overlay/`. When it mounts
//! through a `mount_program` (fuse-overlayfs: rootless podman where the kernel's overlay is
//! not allowed, recorded in `overlay/.has-mount-program`), its layers also hold AUFS-style
//! `.wh.` whiteouts ([`Whiteouts::Fuse`]), and its `DiffSize` is always `directory.Size` of
//! `diff/`, as here.
//!
//! Docker's fuse-overlayfs driver has the same layout under `fuse-overlayfs/`. It applies
//! image layers with AUFS `.wh.` names (as containers/storage with a mount program), while
//! fuse-overlayfs itself, running as root, deletes with 0/0 devices; and its `DiffSize` is
//! always the naive one (moby `fuse-overlayfs` `DiffSize` → `naiveDiff.DiffSize`): a
//! container's `SizeRw` compares its mounted view with its init layer's.

use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use super::{DiffMeasure, Driver, Stack};
use crate::error::{Problem, ProblemKind};
use crate::format::whiteout::Whiteouts;
use crate::fs::Jail;
use crate::ids::{is_component, CacheId};
use crate::layout::{
    FUSE_OVERLAYFS_DIR, OVERLAY2_DIFF, OVERLAY2_DIR, OVERLAY2_LINK, OVERLAY2_LINK_DIR,
    OVERLAY2_WORK,
};

/// The driver's name.
pub const NAME: &str = "overlay2";

/// containers/storage's overlay driver: the same layout under `<graphroot>/overlay`
/// (containers/storage `drivers/overlay` began as a copy of moby's overlay2).
pub const CONTAINERS_STORAGE_NAME: &str = "overlay";

/// Docker's fuse-overlayfs driver's name.
pub const FUSE_OVERLAYFS_NAME: &str = "fuse-overlayfs";

/// How the driver's `DiffSize` measures a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizeBy {
    /// Its `diff/` holds exactly its changes (native diff: `directory.Size` of it).
    OwnDir,
    /// The naive diff of the mounted layer against its parent's mount. Under fuse-overlayfs a
    /// layer written through a mount (a container, a BuildKit step) also holds what
    /// fuse-overlayfs keeps for itself: unchanged directories it copied up, and opaque
    /// markers (`.wh..wh..opq`, a `.wh..opq` device) on every directory it created.
    Views,
}

/// The overlay2 driver of one data root.
#[derive(Debug, Clone)]
pub struct Overlay2 {
    home: PathBuf,
    name: &'static str,
    whiteouts: Whiteouts,
    size_by: SizeBy,
}

impl Overlay2 {
    /// The driver rooted at `<root>/overlay2`.
    pub fn new(root: &Path) -> Self {
        Overlay2 {
            home: root.join(OVERLAY2_DIR),
            name: NAME,
            whiteouts: Whiteouts::Kernel,
            size_by: SizeBy::OwnDir,
        }
    }

    /// containers/storage's overlay driver of the graphroot `root`: `<root>/overlay`, whose
    /// layers record deletions as `whiteouts` says ([`Whiteouts::Fuse`] with a mount
    /// program).
    pub fn containers_storage(root: &Path, whiteouts: Whiteouts) -> Self {
        Overlay2 {
            home: root.join(CONTAINERS_STORAGE_NAME),
            name: CONTAINERS_STORAGE_NAME,
            whiteouts,
            size_by: SizeBy::OwnDir,
        }
    }

    /// Docker's fuse-overlayfs driver of the data root `root`: `<root>/fuse-overlayfs`, AUFS
    /// and device whiteouts both, `SizeRw` by the naive diff.
    pub fn fuse_overlayfs(root: &Path) -> Self {
        Overlay2 {
            home: root.join(FUSE_OVERLAYFS_DIR),
            name: FUSE_OVERLAYFS_NAME,
            whiteouts: Whiteouts::Fuse,
            size_by: SizeBy::Views,
        }
    }
}

impl Driver for Overlay2 {
    fn name(&self) -> &'static str {
        self.name
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.home.join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id).join(OVERLAY2_DIFF)
    }
    fn diff_measure(&self, jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        match (self.size_by, below.split_first()) {
            (SizeBy::Views, Some((parent, under))) => {
                let dirs = |ids: &[CacheId]| -> Vec<PathBuf> {
                    ids.iter().map(|l| self.content_dir(l)).collect()
                };
                DiffMeasure::Views {
                    layer: Stack {
                        top: self.content_dir(id),
                        below: dirs(below),
                    },
                    parent: Stack {
                        top: self.content_dir(parent),
                        below: dirs(under),
                    },
                    whiteouts: self.whiteouts,
                }
            }
            _ => self.layer_view(jail, id, below),
        }
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        Some(self.whiteouts)
    }
    fn link_dir(&self) -> Option<PathBuf> {
        Some(self.home.join(OVERLAY2_LINK_DIR))
    }
    fn layer_link(&self, jail: &Jail, id: &CacheId) -> Option<PathBuf> {
        let short = jail
            .read_text(&self.layer_dir(id).join(OVERLAY2_LINK))
            .ok()?;
        let link = self.home.join(OVERLAY2_LINK_DIR).join(&short);
        (is_component(&short) && jail.exists(&link)).then_some(link)
    }
    fn bad_links(&self, jail: &Jail, problems: &mut Vec<Problem>) -> Vec<(PathBuf, String)> {
        let home = &self.home;
        let link_dir = home.join(OVERLAY2_LINK_DIR);
        let mut claimed: BTreeMap<String, String> = BTreeMap::new();
        for e in jail.read_dir(home).unwrap_or_default() {
            if !e.is_dir {
                continue;
            }
            let id = e.name.to_string_lossy().into_owned();
            match jail.read_text(&home.join(&e.name).join(OVERLAY2_LINK)) {
                Ok(short) => {
                    claimed.insert(short, id);
                }
                Err(p) if p.kind == ProblemKind::Missing => {}
                Err(p) => problems.push(p),
            }
        }
        let mut bad = Vec::new();
        for e in jail.read_dir(&link_dir).unwrap_or_default() {
            let short = e.name.to_string_lossy().into_owned();
            let path = link_dir.join(&e.name);
            let Some(id) = claimed.get(&short) else {
                bad.push((
                    path,
                    "no layer directory's `link` file names it: it dangles".into(),
                ));
                continue;
            };
            let expected = format!("../{id}/{OVERLAY2_DIFF}");
            let len = jail
                .stat(&path)
                .ok()
                .filter(|st| st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFLNK)
                .map(|st| st.st_size);
            if len != i64::try_from(expected.len()).ok() {
                bad.push((
                    path,
                    format!("claimed by {id} but it is not a link to {expected}"),
                ));
            }
        }
        bad
    }
    fn work_dir(&self, id: &CacheId) -> Option<PathBuf> {
        Some(self.layer_dir(id).join(OVERLAY2_WORK))
    }
}
