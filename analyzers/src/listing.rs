//! One directory's children with the sizes of their subtrees: what a browser (`strata du -i`)
//! reads when the user opens a directory, one level at a time.
//!
//! The directory is listed through the store's [`Jail`] (relative to its fd, no symlink
//! followed) and its children are measured as the roots of one parallel walk
//! ([`crate::walk::walk`]), so the sizes follow the walker's rules: allocated bytes are
//! `st_blocks * 512`, apparent bytes `st_size`, and an inode with names under several children
//! counts once, for the first child (by name) that holds one. With `one_file_system` a child
//! on another device (a running container's `merged/` overlay) is listed but not entered, as
//! `du -x` leaves it out.
//!
//! Nothing here writes, and nothing knows about Docker.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::fs::Jail;
use crate::walk::{self, TreeUsage, WalkOptions};

/// One entry of a listed directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Child {
    /// Its name in the directory.
    pub name: OsString,
    /// Its path (the directory's path joined with the name).
    pub path: PathBuf,
    /// True for a directory (a symlink to one is not).
    pub is_dir: bool,
    /// True when it is a directory on another filesystem left out by `one_file_system`: its
    /// usage is then empty.
    pub other_filesystem: bool,
    /// Its subtree's usage (itself included), hard links counted once across the listing.
    pub usage: TreeUsage,
}

/// The children of the directory `dir` (a path under `jail`'s root), sorted by name, each
/// with its subtree's usage from one walk of them all. Fails when `dir` cannot be opened or
/// read; a child that vanishes or cannot be read carries its error in its usage.
pub fn children(jail: &Jail, dir: &Path, opts: &WalkOptions) -> std::io::Result<Vec<Child>> {
    let own_dev = jail.stat(dir)?.st_dev;
    let handle = jail.dir(dir)?;
    let mut listed: Vec<(OsString, bool, bool)> = Vec::new();
    handle.for_each(|name, st| {
        let (is_dir, dev) = st.map_or((false, own_dev), |st| {
            (crate::fs::is_dir_stat(&st), st.st_dev)
        });
        let elsewhere = is_dir && opts.one_file_system && dev != own_dev;
        listed.push((name.to_os_string(), is_dir, elsewhere));
    })?;
    listed.sort();
    let walked: Vec<PathBuf> = listed
        .iter()
        .filter(|(_, _, elsewhere)| !elsewhere)
        .map(|(name, _, _)| dir.join(name))
        .collect();
    let mut usages = walk::walk(jail, &walked, opts).owned.into_iter();
    Ok(listed
        .into_iter()
        .map(|(name, is_dir, other_filesystem)| Child {
            path: dir.join(&name),
            name,
            is_dir,
            other_filesystem,
            usage: if other_filesystem {
                TreeUsage::default()
            } else {
                usages.next().unwrap_or_default()
            },
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn children_are_sized_like_the_walker_with_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        fs::create_dir_all(p.join("a/deep")).unwrap();
        fs::write(p.join("a/deep/f"), vec![1u8; 5000]).unwrap();
        fs::create_dir(p.join("b")).unwrap();
        fs::hard_link(p.join("a/deep/f"), p.join("b/g")).unwrap();
        fs::write(p.join("c"), vec![2u8; 300]).unwrap();
        std::os::unix::fs::symlink("a", p.join("link")).unwrap();
        let jail = Jail::open(p).unwrap();
        for threads in [1, 4] {
            let opts = WalkOptions {
                threads: Some(threads),
                one_file_system: true,
                progress: None,
            };
            let kids = children(&jail, p, &opts).unwrap();
            let names: Vec<&str> = kids.iter().map(|c| c.name.to_str().unwrap()).collect();
            assert_eq!(names, ["a", "b", "c", "link"]);
            let whole = &walk::measure(&jail, &[p.to_path_buf()], &opts)[0];
            // The children add up to the directory, minus the directory itself.
            let files: u64 = kids.iter().map(|c| c.usage.files_apparent).sum();
            assert_eq!(files, whole.files_apparent);
            let a = &kids[0].usage;
            assert_eq!((a.files_apparent, a.dirs), (5000, 2));
            assert_eq!(kids[1].usage.files_apparent, 0, "b's g is a's f again");
            assert_eq!(kids[1].usage.hardlink_saved, 5000);
            assert!(kids[0].is_dir && !kids[2].is_dir && !kids[3].is_dir);
            assert_eq!(kids[2].usage.files_apparent, 300);
            assert_eq!(
                kids[3].usage.files_apparent, 1,
                "the link itself, not followed"
            );
            assert_eq!(kids[2].path, p.join("c"));
        }
    }

    #[test]
    fn an_unreadable_directory_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("file"), b"x").unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        let opts = WalkOptions::default();
        assert!(children(&jail, &dir.path().join("file"), &opts).is_err());
        assert!(children(&jail, &dir.path().join("missing"), &opts).is_err());
    }
}
