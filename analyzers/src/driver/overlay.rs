//! The legacy overlay driver (removed in Docker 24): `overlay/<id>/root` for an image layer,
//! `upper`, `lower-id`, `work` and `merged` for a layer mounted over one.
//!
//! moby `daemon/graphdriver/overlay/overlay.go`: a layer made over nothing gets a `root`
//! directory; an image layer applied over a layer with a `root` gets a `root` of its own, the
//! parent's hard-linked and the layer tar applied on top (`ApplyDiff`); any other layer (a
//! container's init and writable layers) gets an `upper` directory over the `root` of the
//! layer its `lower-id` file names, and a child of such a layer starts with a **copy** of its
//! parent's `upper` and the same `lower-id`. A layer's view is so its `root`, or its `upper`
//! over its base's `root`, deletions in `upper` as the kernel's 0/0 devices. Docker measures
//! and diffs every layer naively (`NaiveDiffDriverWithApply`): the layer's view against its
//! parent's.

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver, Stack};
use crate::format::whiteout::Whiteouts;
use crate::fs::Jail;
use crate::ids::{is_component, CacheId};
use crate::layout::{OVERLAY_DIR, OVERLAY_LOWER_ID, OVERLAY_ROOT, OVERLAY_UPPER, OVERLAY_WORK};

/// The driver's name.
pub const NAME: &str = "overlay";

/// The legacy overlay driver of one data root. It reads a layer's bookkeeping (which of
/// `root` and `upper` it has, its `lower-id`) through the root's jail.
#[derive(Debug, Clone)]
pub struct Overlay {
    home: PathBuf,
    jail: Jail,
}

impl Overlay {
    /// The driver rooted at `<root of jail>/overlay`.
    pub fn new(jail: &Jail) -> Self {
        Overlay {
            home: jail.path().join(OVERLAY_DIR),
            jail: jail.clone(),
        }
    }

    /// True when layer `id` is a full tree of its own (`root/`).
    fn has_root(&self, id: &CacheId) -> bool {
        self.jail.is_dir(&self.layer_dir(id).join(OVERLAY_ROOT))
    }

    /// The layer whose `root` is under layer `id`'s `upper`, as its `lower-id` names it; `None`
    /// when the file is missing or names no single directory entry.
    fn base_of(&self, id: &CacheId) -> Option<CacheId> {
        let base = self
            .jail
            .read_text(&self.layer_dir(id).join(OVERLAY_LOWER_ID))
            .ok()?;
        is_component(&base).then_some(CacheId(base))
    }

    /// What the mount of layer `id` shows: its `root`, or its `upper` over its base's `root`.
    fn view(&self, id: &CacheId) -> Stack {
        if self.has_root(id) {
            return Stack {
                top: self.layer_dir(id).join(OVERLAY_ROOT),
                below: Vec::new(),
            };
        }
        Stack {
            top: self.layer_dir(id).join(OVERLAY_UPPER),
            below: self
                .base_of(id)
                .map(|base| self.layer_dir(&base).join(OVERLAY_ROOT))
                .into_iter()
                .collect(),
        }
    }
}

impl Driver for Overlay {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.home.join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.view(id).top
    }
    fn layer_view(&self, _jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        let Some(parent) = below.first() else {
            return DiffMeasure::Tree(self.content_dir(id));
        };
        let (layer, parent) = (self.view(id), self.view(parent));
        if layer.below.is_empty() && parent.below.is_empty() {
            DiffMeasure::Compare {
                layer: layer.top,
                parent: parent.top,
            }
        } else {
            DiffMeasure::Views {
                layer,
                parent,
                whiteouts: Whiteouts::Kernel,
            }
        }
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        Some(Whiteouts::Kernel)
    }
    fn keeps_whiteouts(&self) -> bool {
        false
    }
    fn records_tar_size(&self) -> bool {
        true
    }
    fn work_dir(&self, id: &CacheId) -> Option<PathBuf> {
        Some(self.layer_dir(id).join(OVERLAY_WORK))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn views_follow_root_and_lower_id() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join(OVERLAY_DIR);
        fs::create_dir_all(home.join("base/root")).unwrap();
        fs::create_dir_all(home.join("top/root")).unwrap();
        for id in ["init", "rw"] {
            fs::create_dir_all(home.join(id).join(OVERLAY_UPPER)).unwrap();
            fs::write(home.join(id).join(OVERLAY_LOWER_ID), "top").unwrap();
        }
        let jail = Jail::open(tmp.path()).unwrap();
        let d = Overlay::new(&jail);
        let id = |s: &str| CacheId(s.into());
        assert_eq!(d.content_dir(&id("top")), home.join("top/root"));
        assert_eq!(d.content_dir(&id("rw")), home.join("rw/upper"));
        // Image layers: two full trees.
        assert_eq!(
            d.layer_view(&jail, &id("top"), &[id("base")]),
            DiffMeasure::Compare {
                layer: home.join("top/root"),
                parent: home.join("base/root"),
            }
        );
        // A container's layer: its upper over the base, against its init layer's.
        let DiffMeasure::Views { layer, parent, .. } =
            d.diff_measure(&jail, &id("rw"), &[id("init"), id("top")])
        else {
            panic!("a container layer is compared as views");
        };
        assert_eq!(layer.dirs(), [home.join("rw/upper"), home.join("top/root")]);
        assert_eq!(
            parent.dirs(),
            [home.join("init/upper"), home.join("top/root")]
        );
        assert_eq!(
            d.layer_view(&jail, &id("base"), &[]),
            DiffMeasure::Tree(home.join("base/root"))
        );
    }
}
