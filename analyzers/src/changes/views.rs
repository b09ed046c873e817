//! Docker's naive diff between two union views: what `ChangesDirs` finds between two
//! mounted layers of a driver that stacks directories (legacy overlay's `upper` over its base
//! layer's `root`; fuse-overlayfs' `diff/` over its lower layers), computed from the layer
//! directories alone, nothing mounted.
//!
//! The rules are those of [`super::compare`] (moby `pkg/archive/changes.go`): a path only in
//! the new view is added (a new directory with everything below it), one only in the old view
//! deleted (once, at its top), one in both modified when [`super::stat_differs`] or its
//! `security.capability` differs. A directory both views draw from the same layer
//! directories holds the same entries in both, so it is not descended: only the directories
//! the two stacks do not share are read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{is_dir, new_change, stat_differs, Change, ChangeKind};
use crate::forensics::union::Union;
use crate::fs::Jail;
use crate::walk::WalkError;

/// Every change between the union views `new` and `old` (both under `jail`'s root), sorted
/// by path. A layer directory of either stack that is not a readable directory is an error
/// beside the changes (the view then lacks it).
pub fn compare_views(jail: &Jail, new: &Union, old: &Union) -> (Vec<Change>, Vec<WalkError>) {
    let mut changes = Vec::new();
    compare_dir(jail, new, old, Path::new("/"), true, &mut changes);
    changes.sort();
    let errors = new
        .problems()
        .into_iter()
        .chain(old.problems())
        .map(|p| WalkError {
            path: p.path,
            detail: p.detail,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    (changes, errors)
}

/// Compares directory `rel` of both views; `old_is_dir` says whether `old` has `rel` as a
/// directory (else everything below it is added).
fn compare_dir(
    jail: &Jail,
    new: &Union,
    old: &Union,
    rel: &Path,
    old_is_dir: bool,
    out: &mut Vec<Change>,
) {
    let new_layers = new.dir_layers(rel);
    if old_is_dir && new_layers == old.dir_layers(rel) {
        return;
    }
    let new_names = new.children(rel);
    let old_names = if old_is_dir {
        old.children(rel)
    } else {
        BTreeSet::new()
    };
    for name in &new_names {
        let path = rel.join(name);
        let Some(found) = new.lookup(&path) else {
            continue;
        };
        let before = if old_is_dir { old.lookup(&path) } else { None };
        let kind = match &before {
            None => Some(ChangeKind::Added),
            Some(o) => {
                let caps = jail.capability(&o.path) != jail.capability(&found.path);
                (stat_differs(&o.stat, &found.stat) || caps).then_some(ChangeKind::Modified)
            }
        };
        if let Some(kind) = kind {
            out.push(new_change(path.clone(), kind, &found.stat));
        }
        if is_dir(&found.stat) {
            let below_is_dir = before.as_ref().is_some_and(|o| is_dir(&o.stat));
            compare_dir(jail, new, old, &path, below_is_dir, out);
        }
    }
    for name in old_names.difference(&new_names) {
        let path: PathBuf = rel.join(name);
        let was_dir = old.lookup(&path).is_some_and(|o| is_dir(&o.stat));
        out.push(Change::deleted(path, was_dir));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::whiteout::Whiteouts;
    use std::fs;

    /// Legacy overlay's container layer: its `upper` repeats its parent's (the init layer's)
    /// and both stand on the same base `root`; only what differs between the two uppers is a
    /// change, and a whiteout over a base file is a deletion.
    #[test]
    fn two_uppers_over_one_base() {
        let all = tempfile::tempdir().unwrap();
        let (base, init, rw) = (
            all.path().join("base"),
            all.path().join("init"),
            all.path().join("rw"),
        );
        for dir in [&base, &init, &rw] {
            fs::create_dir_all(dir.join("etc")).unwrap();
        }
        fs::write(base.join("etc/passwd"), b"root").unwrap();
        fs::write(base.join("etc/group"), b"g").unwrap();
        fs::write(init.join("etc/hosts"), b"127.0.0.1").unwrap();
        // The copy of the parent's upper, times kept (moby `copy.DirCopy`).
        fs::copy(init.join("etc/hosts"), rw.join("etc/hosts")).unwrap();
        let mtime = fs::metadata(init.join("etc/hosts"))
            .unwrap()
            .modified()
            .unwrap();
        fs::File::options()
            .write(true)
            .open(rw.join("etc/hosts"))
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        for dir in [&init, &rw] {
            let st = fs::metadata(base.join("etc")).unwrap();
            fs::File::open(dir.join("etc"))
                .unwrap()
                .set_modified(st.modified().unwrap())
                .unwrap();
        }
        fs::write(rw.join("etc/passwd"), b"root:x").unwrap();
        fs::write(rw.join("new"), b"12345").unwrap();
        nix::sys::stat::mknod(
            &rw.join("etc/group"),
            nix::sys::stat::SFlag::S_IFCHR,
            nix::sys::stat::Mode::empty(),
            0,
        )
        .unwrap();
        let jail = Jail::open(all.path()).unwrap();
        let new = Union::new(&jail, Whiteouts::Kernel, vec![rw, base.clone()]);
        let old = Union::new(&jail, Whiteouts::Kernel, vec![init, base]);
        let (changes, errors) = compare_views(&jail, &new, &old);
        assert!(errors.is_empty(), "{errors:?}");
        let got: Vec<(String, ChangeKind)> = changes
            .iter()
            .map(|c| (c.path.display().to_string(), c.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("/etc/group".to_owned(), ChangeKind::Deleted),
                ("/etc/passwd".to_owned(), ChangeKind::Modified),
                ("/new".to_owned(), ChangeKind::Added),
            ]
        );
        assert_eq!(super::super::changes_size(&changes), 6 + 5);
    }
}
