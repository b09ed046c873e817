//! containers/storage's own comparison of a native overlay layer with the layers below it:
//! what `podman diff` prints for a container of an overlay store mounted by the kernel
//! (containers/storage 1.43 `pkg/archive/changes.go` `changes` with
//! `changes_linux.go` `overlayDeletedFile` and `overlayLowerContainsWhiteout`, run by the
//! overlay driver's `Changes` when its native diff is usable). It reads only the layer
//! directories, and differs from moby's comparison of two mounted views ([`super::diff`]):
//!
//! - the writable layer's directory is walked in name order, each entry compared with the
//!   same path in each lower layer directory in turn (top first), not with a union view;
//! - a 0/0 device deletes its path, whether a lower layer has it or not;
//! - a directory marked opaque (`trusted.overlay.opaque`, `user.overlay.opaque` for a
//!   rootless podman) that a lower layer has is *deleted* (`D`), and what it holds now is
//!   added: the names it hides are not listed;
//! - otherwise an entry is added, unless a lower layer has the path (and no whiteout at it
//!   or at one of its parents in that layer comes first): then a non-directory is always
//!   changed (`C`, even copied up with nothing changed), a directory only when its size,
//!   mode or modification time differ;
//! - only an addition or deletion makes its parent directories changed.
//!
//! containers/storage stats the lower paths following symlinks (on the host); the jail never
//! follows one, so a lower symlink counts as existing even when it dangles.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use nix::sys::stat::FileStat;

use crate::changes::{self, is_dir, new_change, same_time, Change, ChangeKind};
use crate::format::whiteout::{is_device_whiteout, OPAQUE_VALUE, OPAQUE_XATTRS};
use crate::fs::Jail;
use crate::walk::WalkError;

/// The walk's state: the layers, and the directories already reported as changed.
struct Walk<'a> {
    jail: &'a Jail,
    upper: &'a Path,
    lowers: &'a [PathBuf],
    changed_dirs: HashSet<PathBuf>,
    changes: Vec<Change>,
    errors: Vec<WalkError>,
}

/// The changes of the layer directory `upper` over the layer directories `lowers` (top
/// first), and what could not be read.
pub(super) fn changes(
    jail: &Jail,
    upper: &Path,
    lowers: &[PathBuf],
) -> (Vec<Change>, Vec<WalkError>) {
    let mut walk = Walk {
        jail,
        upper,
        lowers,
        changed_dirs: HashSet::new(),
        changes: Vec::new(),
        errors: Vec::new(),
    };
    walk.dir(Path::new("/"));
    (walk.changes, walk.errors)
}

impl Walk<'_> {
    /// `rel` (`/`-rooted) under `dir`.
    fn at(dir: &Path, rel: &Path) -> PathBuf {
        dir.join(rel.strip_prefix("/").unwrap_or(rel))
    }

    fn lower_stat(&self, layer: &Path, rel: &Path) -> Option<FileStat> {
        self.jail.stat(&Self::at(layer, rel)).ok()
    }

    /// `overlayLowerContainsWhiteout`: a 0/0 device at `rel` in `layer`.
    fn whiteout_in(&self, layer: &Path, rel: &Path) -> bool {
        self.lower_stat(layer, rel)
            .is_some_and(|st| is_device_whiteout(st.st_mode, st.st_rdev))
    }

    /// The parent directories of `rel`, nearest first, `/` left out.
    fn parents(rel: &Path) -> impl Iterator<Item = &Path> {
        rel.ancestors()
            .skip(1)
            .take_while(|p| *p != Path::new("/") && !p.as_os_str().is_empty())
    }

    /// `overlayDeletedFile`: whether the upper entry `rel` deletes it.
    fn deletes(&self, rel: &Path, st: &FileStat) -> bool {
        if is_device_whiteout(st.st_mode, st.st_rdev) {
            return true;
        }
        if !is_dir(st) {
            return false;
        }
        let path = Self::at(self.upper, rel);
        let opaque = OPAQUE_XATTRS.iter().any(|name| {
            self.jail
                .xattr(&path, name)
                .is_some_and(|v| v == OPAQUE_VALUE)
        });
        if !opaque {
            return false;
        }
        for layer in self.lowers {
            if let Some(lower) = self.lower_stat(layer, rel) {
                return !is_device_whiteout(lower.st_mode, lower.st_rdev);
            }
            if Self::parents(rel).any(|dir| self.whiteout_in(layer, dir)) {
                return false;
            }
        }
        false
    }

    /// The kind of change of the upper entry `rel`, `None` for a directory the same as below.
    fn kind(&self, rel: &Path, st: &FileStat) -> Option<ChangeKind> {
        if self.deletes(rel, st) {
            return Some(ChangeKind::Deleted);
        }
        for layer in self.lowers {
            if self.whiteout_in(layer, rel)
                || Self::parents(rel).any(|d| self.whiteout_in(layer, d))
            {
                break;
            }
            if let Some(lower) = self.lower_stat(layer, rel) {
                let same_dir = is_dir(&lower)
                    && is_dir(st)
                    && lower.st_size == st.st_size
                    && lower.st_mode == st.st_mode
                    && same_time(&lower, st);
                return (!same_dir).then_some(ChangeKind::Modified);
            }
        }
        Some(ChangeKind::Added)
    }

    fn dir(&mut self, rel: &Path) {
        let mut entries = changes::list(self.jail, &Self::at(self.upper, rel), &mut self.errors);
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, st) in entries {
            let path = rel.join(&name);
            if let Some(kind) = self.kind(&path, &st) {
                if is_dir(&st) {
                    self.changed_dirs.insert(path.clone());
                }
                if kind != ChangeKind::Modified {
                    self.report_parents(&path);
                }
                self.changes.push(match kind {
                    ChangeKind::Deleted => Change {
                        path: path.clone(),
                        kind,
                        is_dir: false,
                        size: 0,
                        inode: (0, 0),
                        nlink: 0,
                    },
                    _ => new_change(path.clone(), kind, &st),
                });
            }
            if is_dir(&st) {
                self.dir(&path);
            }
        }
    }

    /// Reports each parent of `rel` not yet reported as changed.
    fn report_parents(&mut self, rel: &Path) {
        let missing: Vec<PathBuf> = Self::parents(rel)
            .filter(|dir| !self.changed_dirs.contains(*dir))
            .map(Path::to_path_buf)
            .collect();
        for dir in missing {
            self.changed_dirs.insert(dir.clone());
            self.changes.push(Change {
                path: dir,
                kind: ChangeKind::Modified,
                is_dir: true,
                size: 0,
                inode: (0, 0),
                nlink: 0,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    /// containers/storage's rules: an opaque directory is deleted and its entries added, a
    /// copied-up file is changed without its unchanged parent, a whiteout's parent is changed.
    #[test]
    fn containers_storage_lists_an_overlay_layer_its_own_way() {
        let all = tempfile::tempdir().unwrap();
        let (upper, lower) = (all.path().join("upper"), all.path().join("lower"));
        for (dir, files) in [
            (&lower, &["etc/passwd", "d/x", "keep/gone", "keep/stay"][..]),
            (&upper, &["etc/passwd", "d/z", "new.txt"][..]),
        ] {
            for f in files {
                let path = dir.join(f);
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(path, f.as_bytes()).unwrap();
            }
        }
        fs::create_dir(upper.join("keep")).unwrap();
        let whiteout = nix::sys::stat::mknod(
            &upper.join("keep/gone"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::from_bits_truncate(0o600),
            0,
        );
        if whiteout.is_err() {
            eprintln!("skipped: mknod needs root");
            return;
        }
        xattr::set(upper.join("d"), "user.overlay.opaque", b"y").unwrap();
        // Copied-up directories keep the lower one's mode and times.
        let when = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        for dir in ["etc", "keep"] {
            for root in [&upper, &lower] {
                let times = fs::FileTimes::new().set_modified(when);
                fs::File::open(root.join(dir))
                    .unwrap()
                    .set_times(times)
                    .unwrap();
            }
        }
        let jail = Jail::open(all.path()).unwrap();
        let (found, errors) = changes(&jail, &upper, &[lower]);
        assert!(errors.is_empty(), "{errors:?}");
        let mut lines: Vec<String> = found
            .iter()
            .map(|c| {
                let letter = match c.kind {
                    ChangeKind::Added => "A",
                    ChangeKind::Modified => "C",
                    ChangeKind::Deleted => "D",
                };
                format!("{letter} {}", c.path.display())
            })
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            [
                "A /d/z",
                "A /new.txt",
                "C /etc/passwd",
                "C /keep",
                "D /d",
                "D /keep/gone"
            ]
        );
    }
}
