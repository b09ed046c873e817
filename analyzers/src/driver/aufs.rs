//! The aufs driver (moby `daemon/graphdriver/aufs/aufs.go`, removed in Docker 24):
//! `aufs/diff/<id>` holds a layer's own files, with deletions and opaque directories as AUFS
//! names ([`Whiteouts::Aufs`]); `aufs/layers/<id>` lists its ancestors, nearest first
//! ([`crate::format::aufs`]); `aufs/mnt/<id>` is where the union is mounted while in use.
//!
//! Docker's figures follow `isParent(id, parent)`: true when the first line of
//! `layers/<id>` is `parent`, or when the file lists no ancestor and `parent` is empty, or
//! when it lists none at all (a missing file reads as none). Then `DiffSize` (a container's
//! `SizeRw`, and the size `ApplyDiff` records for an image layer) is `directory.Size` of
//! `diff/<id>` and `Changes` (`docker diff`) walks `diff/<id>` against its ancestors'
//! directories (`archive.Changes`); otherwise both go through the naive driver, which mounts
//! the layer and its parent (each `diff/` over its ancestors' as its `layers/` file lists
//! them) and compares the two views. dockerd always creates a layer over the parent it later
//! measures it against, so the naive path only meets a `layers/` file changed by hand.

use std::path::{Path, PathBuf};

use super::{DiffMeasure, Driver, Stack};
use crate::error::{Problem, ProblemKind};
use crate::format::aufs::{parse_layers, AUFS_DIFF, AUFS_LAYERS, AUFS_MNT};
use crate::format::whiteout::Whiteouts;
use crate::fs::{Jail, TEXT_LIMIT};
use crate::ids::CacheId;
use crate::layout::AUFS_DIR;

/// The driver's name.
pub const NAME: &str = "aufs";

/// The aufs driver of one data root. It reads a layer's `layers/` file through the root's
/// jail.
#[derive(Debug, Clone)]
pub struct Aufs {
    home: PathBuf,
    jail: Jail,
}

impl Aufs {
    /// The driver rooted at `<root of jail>/aufs`.
    pub fn new(jail: &Jail) -> Self {
        Aufs {
            home: jail.path().join(AUFS_DIR),
            jail: jail.clone(),
        }
    }

    fn layers_file(&self, id: &CacheId) -> PathBuf {
        self.home.join(AUFS_LAYERS).join(id.as_str())
    }

    /// Layer `id`'s ancestors, nearest first, as `layers/<id>` lists them; `None` when the
    /// file is missing (moby's `getParentIDs` fails, and every caller reads that as no
    /// ancestors); a damaged file is a problem naming it.
    fn ancestors(&self, id: &CacheId) -> Result<Option<Vec<CacheId>>, Problem> {
        let path = self.layers_file(id);
        match self.jail.read(&path, TEXT_LIMIT) {
            Ok(bytes) => parse_layers(&bytes)
                .map(Some)
                .map_err(|e| Problem::new(&path, ProblemKind::InvalidValue, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(crate::fs::io_problem(&path, &e)),
        }
    }

    /// moby's `isParent(id, parent)`: whether `parent` is the layer's direct parent, so that
    /// its own directory holds its changes.
    fn is_parent(&self, id: &CacheId, parent: Option<&CacheId>) -> Result<bool, Problem> {
        let ancestors = self.ancestors(id)?.unwrap_or_default();
        Ok(match (ancestors.first(), parent) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(first), Some(parent)) => first == parent,
        })
    }

    /// The union the driver mounts for layer `id`: its `diff/` over its ancestors'.
    fn stack(&self, id: &CacheId) -> Result<Stack, Problem> {
        Ok(Stack {
            top: self.content_dir(id),
            below: self
                .ancestors(id)?
                .unwrap_or_default()
                .iter()
                .map(|a| self.content_dir(a))
                .collect(),
        })
    }
}

impl Driver for Aufs {
    fn name(&self) -> &'static str {
        NAME
    }
    fn home(&self) -> &Path {
        &self.home
    }
    fn layers_dir(&self) -> PathBuf {
        self.home.join(AUFS_DIFF)
    }
    fn layer_dir(&self, id: &CacheId) -> PathBuf {
        self.layers_dir().join(id.as_str())
    }
    fn content_dir(&self, id: &CacheId) -> PathBuf {
        self.layer_dir(id)
    }
    fn layer_view(&self, _jail: &Jail, id: &CacheId, below: &[CacheId]) -> DiffMeasure {
        let parent = below.first();
        let naive = match self.is_parent(id, parent) {
            Ok(true) => return DiffMeasure::Tree(self.content_dir(id)),
            Ok(false) => parent.ok_or_else(|| {
                Problem::new(
                    self.layers_file(id),
                    ProblemKind::InvalidValue,
                    format!(
                        "lists ancestors, but the layer store gives layer {id} none: dockerd's \
                         naive diff would compare its view with nothing; not measured"
                    ),
                )
            }),
            Err(p) => Err(p),
        };
        let views = naive.and_then(|parent| Ok((self.stack(id)?, self.stack(parent)?)));
        match views {
            Ok((layer, parent)) => DiffMeasure::Views {
                layer,
                parent,
                whiteouts: Whiteouts::Aufs,
            },
            Err(p) => DiffMeasure::Unknown(p),
        }
    }
    fn whiteouts(&self) -> Option<Whiteouts> {
        Some(Whiteouts::Aufs)
    }
    fn bookkeeping_problems(&self, jail: &Jail) -> Vec<Problem> {
        let mut problems = Vec::new();
        for e in jail.read_dir(&self.layers_dir()).unwrap_or_default() {
            if !e.is_dir {
                continue;
            }
            let Some(id) = CacheId::parse(&e.name.to_string_lossy()) else {
                continue;
            };
            match self.ancestors(&id) {
                Ok(Some(_)) => {}
                Ok(None) => problems.push(Problem::new(
                    self.layers_file(&id),
                    ProblemKind::Missing,
                    format!(
                        "layer {id} has a diff/ directory but no layers/ file: dockerd's aufs \
                         driver takes it as absent (`Exists`) and as having no ancestors"
                    ),
                )),
                Err(p) => problems.push(p),
            }
        }
        problems
    }
    fn own_files(&self) -> Vec<PathBuf> {
        vec![self.home.join(AUFS_LAYERS), self.home.join(AUFS_MNT)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// A layer over its recorded parent is measured by its own directory; one whose
    /// `layers/` file names another parent first is compared as two mounted views, each
    /// stacked as its own `layers/` file says; a damaged file is a problem, not a guess.
    #[test]
    fn is_parent_picks_native_or_naive() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join(AUFS_DIR);
        for id in ["base", "mid", "top", "odd", "bad"] {
            fs::create_dir_all(home.join("diff").join(id)).unwrap();
        }
        fs::create_dir_all(home.join("layers")).unwrap();
        for (id, text) in [
            ("base", ""),
            ("mid", "base\n"),
            ("top", "mid\nbase\n"),
            ("odd", "base\n"),
            ("bad", "mid\n../../etc\n"),
        ] {
            fs::write(home.join("layers").join(id), text).unwrap();
        }
        let jail = Jail::open(tmp.path()).unwrap();
        let d = Aufs::new(&jail);
        let id = |s: &str| CacheId(s.into());
        let diff = |s: &str| home.join("diff").join(s);
        assert_eq!(
            d.diff_measure(&jail, &id("top"), &[id("mid"), id("base")]),
            DiffMeasure::Tree(diff("top"))
        );
        assert_eq!(
            d.layer_view(&jail, &id("base"), &[]),
            DiffMeasure::Tree(diff("base"))
        );
        // `odd` was made over `base` but is measured against `mid`.
        let DiffMeasure::Views { layer, parent, .. } =
            d.layer_view(&jail, &id("odd"), &[id("mid")])
        else {
            panic!("a layer off its parent is compared naively");
        };
        assert_eq!(layer.dirs(), [diff("odd"), diff("base")]);
        assert_eq!(parent.dirs(), [diff("mid"), diff("base")]);
        // Ancestors but no parent given, and a damaged file: unknown, with the file named.
        for (layer, below) in [("top", vec![]), ("bad", vec![id("top")])] {
            let m = d.layer_view(&jail, &id(layer), &below);
            let p = m.unknown().expect("not measured");
            assert_eq!(p.path, home.join("layers").join(layer));
        }
        // No `layers/` file: moby's `getParentIDs` fails, read as no ancestors.
        fs::create_dir_all(home.join("diff/lone")).unwrap();
        assert_eq!(
            d.layer_view(&jail, &id("lone"), &[id("base")]),
            DiffMeasure::Tree(diff("lone"))
        );
        let mut named: Vec<PathBuf> = d
            .bookkeeping_problems(&jail)
            .into_iter()
            .map(|p| p.path)
            .collect();
        named.sort();
        assert_eq!(named, [home.join("layers/bad"), home.join("layers/lone")]);
        assert!(d.keeps_whiteouts() && !d.records_tar_size());
        assert_eq!(d.whiteouts(), Some(Whiteouts::Aufs));
    }
}
