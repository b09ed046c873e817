//! The union view of a stack of overlay2 layer directories, as the kernel's overlayfs shows
//! it, computed from the directories alone (nothing is mounted).
//!
//! In a layer's `diff/` a deleted path is a character device 0/0 (a whiteout), and a
//! directory with the xattr `trusted.overlay.opaque=y` (`user.overlay.opaque=y` for rootless
//! overlay) hides everything below it in lower layers. A path resolves component by component,
//! top layer first: a whiteout hides the name in every lower layer, a non-directory hides it
//! too, and a directory merges with the same directory in lower layers down to the first
//! opaque one. Under fuse-overlayfs ([`Whiteouts::Fuse`]) a `.wh.<name>` entry deletes
//! `<name>` too, a `.wh..wh..opq` entry makes its directory opaque, and no `.wh.` name is
//! part of the view; under aufs ([`Whiteouts::Aufs`]) only those names do.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::FileStat;

use crate::changes::is_dir;
use crate::format::whiteout::{is_device_whiteout, Role, Whiteouts, OPAQUE_VALUE};
use crate::fs::Jail;

/// True for an overlay whiteout: a character device with device number 0/0.
pub fn is_whiteout(st: &FileStat) -> bool {
    is_device_whiteout(st.st_mode, st.st_rdev)
}

/// The role in the view of the entry `name` with stat `st`, under `whiteouts`.
pub fn role<'a>(whiteouts: Whiteouts, name: &'a OsStr, st: &FileStat) -> Role<'a> {
    whiteouts.role(name, st.st_mode, st.st_rdev)
}

/// True when the directory `path` is marked opaque: an opaque xattr of `whiteouts` set to
/// `y`, or its opaque marker entry.
pub fn is_opaque(jail: &Jail, whiteouts: Whiteouts, path: &Path) -> bool {
    whiteouts
        .opaque_xattrs()
        .iter()
        .any(|name| jail.xattr(path, name).is_some_and(|v| v == OPAQUE_VALUE))
        || whiteouts
            .opaque_marker()
            .is_some_and(|marker| jail.stat(&path.join(marker)).is_ok())
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
    whiteouts: Whiteouts,
    layers: Vec<PathBuf>,
}

impl Union {
    /// The union of `layers` (directories under `jail`'s root, recording deletions as
    /// `whiteouts` says), top first (a container's `lower`: init layer, then the image's
    /// layers from the top).
    pub fn new(jail: &Jail, whiteouts: Whiteouts, layers: Vec<PathBuf>) -> Union {
        Union {
            jail: jail.clone(),
            whiteouts,
            layers,
        }
    }

    /// The layer directories, top first.
    pub fn layers(&self) -> &[PathBuf] {
        &self.layers
    }

    /// How the layers record deletions.
    pub fn whiteouts(&self) -> Whiteouts {
        self.whiteouts
    }

    /// True when `dir` of a layer has an AUFS whiteout `.wh.<name>` (fuse-overlayfs, aufs).
    fn named_whiteout(&self, dir: &Path, name: &OsStr) -> bool {
        self.whiteouts.reads_aufs_names()
            && self
                .jail
                .stat(&dir.join(crate::format::whiteout::whiteout_name(name)))
                .is_ok()
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
    pub(crate) fn dir_layers(&self, rel: &Path) -> Vec<PathBuf> {
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
                let opaque = is_opaque(&self.jail, self.whiteouts, &p);
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
            if self.named_whiteout(&dir, name) {
                return None;
            }
            let p = dir.join(name);
            let Ok(st) = self.jail.stat(&p) else { continue };
            return match role(self.whiteouts, name, &st) {
                Role::Entry => Some(Found { path: p, stat: st }),
                Role::Deletes(_) | Role::Hidden => None,
            };
        }
        None
    }

    /// The names the view lists in directory `rel`, whiteouts applied.
    pub fn children(&self, rel: &Path) -> BTreeSet<OsString> {
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        for dir in self.dir_layers(rel) {
            let entries = self.jail.read_dir(&dir).unwrap_or_default();
            let mut shown = Vec::new();
            for entry in &entries {
                let Ok(st) = self.jail.stat(&dir.join(&entry.name)) else {
                    continue;
                };
                // A whiteout hides its name in this layer's lower ones, whatever order the
                // directory lists them in.
                match role(self.whiteouts, &entry.name, &st) {
                    Role::Entry => shown.push(&entry.name),
                    Role::Deletes(name) => {
                        seen.insert(name.to_owned());
                    }
                    Role::Hidden => {}
                }
            }
            for name in shown {
                if seen.insert(name.clone()) {
                    out.insert(name.clone());
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
        let u = Union::new(&jail, Whiteouts::Kernel, vec![top_path, low_path]);
        assert_eq!(u.lookup(Path::new("/etc/b")).unwrap().stat.st_size, 4);
        assert_eq!(u.lookup(Path::new("/etc/a")).unwrap().stat.st_size, 3);
        assert!(u.lookup(Path::new("/etc/zz")).is_none());
        let names: Vec<_> = u.children(Path::new("/etc")).into_iter().collect();
        assert_eq!(names, vec![OsString::from("a"), OsString::from("b")]);
        assert!(is_dir(&u.lookup(Path::new("/f")).unwrap().stat));
    }

    /// fuse-overlayfs' AUFS names: `.wh.a` deletes `a`, `.wh..wh..opq` makes `opq` opaque,
    /// neither is shown; the kernel's overlay shows them as the plain files they are.
    #[test]
    fn fuse_overlayfs_reads_aufs_whiteouts() {
        let all = tempfile::tempdir().unwrap();
        let (top, low) = (all.path().join("top"), all.path().join("low"));
        for dir in [&top, &low] {
            fs::create_dir_all(dir.join("etc")).unwrap();
            fs::create_dir_all(dir.join("opq")).unwrap();
        }
        for (dir, name) in [
            (&low, "etc/a"),
            (&low, "etc/c"),
            (&low, "opq/old"),
            (&top, "etc/.wh.a"),
            (&top, "etc/b"),
            (&top, "opq/.wh..wh..opq"),
            (&top, "opq/new"),
        ] {
            fs::write(dir.join(name), b"").unwrap();
        }
        let jail = Jail::open(all.path()).unwrap();
        let names = |u: &Union, dir: &str| -> Vec<String> {
            u.children(Path::new(dir))
                .into_iter()
                .map(|n| n.to_string_lossy().into_owned())
                .collect()
        };
        let fuse = Union::new(&jail, Whiteouts::Fuse, vec![top.clone(), low.clone()]);
        assert_eq!(names(&fuse, "/etc"), ["b", "c"]);
        assert_eq!(names(&fuse, "/opq"), ["new"]);
        for gone in ["/etc/a", "/etc/.wh.a", "/opq/old", "/opq/.wh..wh..opq"] {
            assert!(fuse.lookup(Path::new(gone)).is_none(), "{gone}");
        }
        assert!(fuse.lookup(Path::new("/etc/c")).is_some());
        let kernel = Union::new(&jail, Whiteouts::Kernel, vec![top, low]);
        assert_eq!(names(&kernel, "/etc"), [".wh.a", "a", "b", "c"]);
        assert_eq!(names(&kernel, "/opq"), [".wh..wh..opq", "new", "old"]);
    }
}
