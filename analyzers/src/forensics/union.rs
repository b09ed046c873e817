//! The union view of a stack of overlay2 layer directories, as the kernel's overlayfs shows
//! it, computed from the directories alone (nothing is mounted).
//!
//! In a layer's `diff/` a deleted path is a character device 0/0 (a whiteout), and a
//! directory with the xattr `trusted.overlay.opaque=y` (`user.overlay.opaque=y` for rootless
//! overlay) hides everything below it in lower layers. A path resolves component by component,
//! top layer first: a whiteout hides the name in every lower layer, a non-directory hides it
//! too, and a directory merges with the same directory in lower layers down to the first
//! opaque one.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::FileStat;

use crate::changes::is_dir;
use crate::format::whiteout::{is_device_whiteout, OPAQUE_VALUE, OPAQUE_XATTRS};
use crate::fs::Jail;

/// True for an overlay whiteout: a character device with device number 0/0.
pub fn is_whiteout(st: &FileStat) -> bool {
    is_device_whiteout(st.st_mode, st.st_rdev)
}

/// True when the directory `path` is marked opaque (either xattr set to `y`).
pub fn is_opaque(jail: &Jail, path: &Path) -> bool {
    OPAQUE_XATTRS
        .iter()
        .any(|name| jail.xattr(path, name).is_some_and(|v| v == OPAQUE_VALUE))
}

/// A path found in the union view: which layer's file it is, and its stat.
#[derive(Debug, Clone)]
pub struct Found {
    /// The file in the layer directory that provides it.
    pub path: PathBuf,
    /// Its stat (not following symlinks).
    pub stat: FileStat,
}

/// A stack of layer content directories, top first.
#[derive(Debug, Clone)]
pub struct Union {
    jail: Jail,
    layers: Vec<PathBuf>,
}

impl Union {
    /// The union of `layers` (directories under `jail`'s root), top first (a container's
    /// `lower`: init layer, then the image's layers from the top).
    pub fn new(jail: &Jail, layers: Vec<PathBuf>) -> Union {
        Union {
            jail: jail.clone(),
            layers,
        }
    }

    /// A problem for each layer directory that is not a directory (a symlink is not
    /// followed: the view then lacks that layer) or is gone.
    pub fn problems(&self) -> Vec<crate::Problem> {
        use crate::error::ProblemKind;
        self.layers
            .iter()
            .filter_map(|l| match self.jail.stat(l) {
                Ok(st) if is_dir(&st) => None,
                Ok(st) => Some(crate::Problem::new(
                    l,
                    ProblemKind::Unreadable,
                    format!(
                        "a lower layer's content is {}, not a directory: not followed",
                        crate::fs::kind_of(&st)
                    ),
                )),
                Err(e) => Some(crate::fs::io_problem(l, &e)),
            })
            .collect()
    }

    /// The layer directories that contribute to directory `rel` (`/`-rooted), top first:
    /// those where it is a directory, down to the first opaque one. Empty when `rel` is not a
    /// directory of the view.
    fn dir_layers(&self, rel: &Path) -> Vec<PathBuf> {
        let mut active = self.layers.clone();
        for comp in rel.components() {
            let Component::Normal(name) = comp else {
                continue;
            };
            let mut next = Vec::new();
            for layer in &active {
                let p = layer.join(name);
                let Ok(st) = self.jail.stat(&p) else { continue };
                if !is_dir(&st) {
                    break;
                }
                let opaque = is_opaque(&self.jail, &p);
                next.push(p);
                if opaque {
                    break;
                }
            }
            active = next;
            if active.is_empty() {
                break;
            }
        }
        active
    }

    /// What the view holds at `rel` (`/`-rooted), if anything.
    pub fn lookup(&self, rel: &Path) -> Option<Found> {
        let name = rel.file_name()?;
        let parent = rel.parent().unwrap_or(Path::new("/"));
        for dir in self.dir_layers(parent) {
            let p = dir.join(name);
            let Ok(st) = self.jail.stat(&p) else { continue };
            if is_whiteout(&st) {
                return None;
            }
            return Some(Found { path: p, stat: st });
        }
        None
    }

    /// The names the view lists in directory `rel`, whiteouts applied.
    pub fn children(&self, rel: &Path) -> BTreeSet<OsString> {
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        for dir in self.dir_layers(rel) {
            for entry in self.jail.read_dir(&dir).unwrap_or_default() {
                if !seen.insert(entry.name.clone()) {
                    continue;
                }
                let hidden = self
                    .jail
                    .stat(&dir.join(&entry.name))
                    .is_ok_and(|st| is_whiteout(&st));
                if !hidden {
                    out.insert(entry.name);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn upper_files_hide_lower_ones_and_directories_merge() {
        let top = tempfile::tempdir().unwrap();
        let low = tempfile::tempdir().unwrap();
        fs::create_dir_all(top.path().join("etc")).unwrap();
        fs::create_dir_all(low.path().join("etc")).unwrap();
        fs::write(low.path().join("etc/a"), b"low").unwrap();
        fs::write(low.path().join("etc/b"), b"low").unwrap();
        fs::write(top.path().join("etc/b"), b"top!").unwrap();
        fs::write(low.path().join("f"), b"x").unwrap();
        fs::create_dir(top.path().join("f")).unwrap();
        let all = tempfile::tempdir().unwrap();
        let (top_path, low_path) = (all.path().join("top"), all.path().join("low"));
        fs::rename(top.path(), &top_path).unwrap();
        fs::rename(low.path(), &low_path).unwrap();
        let jail = Jail::open(all.path()).unwrap();
        let u = Union::new(&jail, vec![top_path, low_path]);
        assert_eq!(u.lookup(Path::new("/etc/b")).unwrap().stat.st_size, 4);
        assert_eq!(u.lookup(Path::new("/etc/a")).unwrap().stat.st_size, 3);
        assert!(u.lookup(Path::new("/etc/zz")).is_none());
        let names: Vec<_> = u.children(Path::new("/etc")).into_iter().collect();
        assert_eq!(names, vec![OsString::from("a"), OsString::from("b")]);
        assert!(is_dir(&u.lookup(Path::new("/f")).unwrap().stat));
    }
}
