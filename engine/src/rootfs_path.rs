//! Paths an image supplies (`VOLUME`s, `WORKDIR`, mount destinations, `COPY`/`ADD`
//! destinations and `--from` sources), resolved inside a root filesystem as a chroot would
//! resolve them (moby's `symlink.FollowSymlinkInScope`): every symlink met on the way is
//! followed *within* the root filesystem (an absolute target is taken relative to it, a
//! relative one to the link's directory), `..` never climbs above its root, and at most
//! [`MAX_SYMLINKS`] links are followed (`ELOOP` beyond).
//!
//! This is the one place where such a path meets a host directory: code that joins an
//! image's path onto a root filesystem must go through [`resolve`] or [`host_path`], never
//! `Path::join`, or an image with `VOLUME /../../etc` or `data -> /` reaches the host.
//!
//! Names that do not exist are kept as written (nothing to follow), so the result is where
//! the path would be created. Resolution is a check made before use, not a lock: a root
//! filesystem that changes concurrently (a running container writing into it) can still
//! move a link after it; the callers use it on root filesystems nothing else writes to.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, IoContext, Result};

/// How many symlinks resolving one path may follow (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINKS: usize = 40;

/// `path` (as seen inside the image: absolute, or taken from its root) resolved inside
/// `rootfs`, as a path relative to `rootfs` in which no existing component is a symlink.
pub fn resolve(rootfs: &Path, path: impl AsRef<Path>) -> Result<PathBuf> {
    let mut pending: VecDeque<OsString> = parts(path.as_ref()).into();
    let mut resolved = PathBuf::new();
    let mut hops = 0;
    while let Some(part) = pending.pop_front() {
        if part == ".." {
            resolved.pop();
            continue;
        }
        let candidate = rootfs.join(&resolved).join(&part);
        match fs::symlink_metadata(&candidate) {
            Ok(m) if m.file_type().is_symlink() => {
                hops += 1;
                if hops > MAX_SYMLINKS {
                    return Err(Error::io(
                        &candidate,
                        io::Error::from_raw_os_error(nix::libc::ELOOP),
                    ));
                }
                let target = fs::read_link(&candidate).at(&candidate)?;
                if target.is_absolute() {
                    resolved = PathBuf::new();
                }
                for p in parts(&target).into_iter().rev() {
                    pending.push_front(p);
                }
            }
            _ => resolved.push(part),
        }
    }
    Ok(resolved)
}

/// [`resolve`]d and joined onto `rootfs`: the host path of the image's `path`.
pub fn host_path(rootfs: &Path, path: impl AsRef<Path>) -> Result<PathBuf> {
    Ok(rootfs.join(resolve(rootfs, path)?))
}

/// The components of `path`, `.`, `/` and empty ones dropped, `..` kept.
fn parts(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_resolve_inside_the_rootfs() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path();
        fs::create_dir_all(rootfs.join("usr/lib")).unwrap();
        symlink("usr/lib", rootfs.join("lib")).unwrap();
        symlink("/", rootfs.join("up")).unwrap();
        symlink("../../..", rootfs.join("usr/climb")).unwrap();
        symlink("/outside", rootfs.join("data")).unwrap();
        symlink("../../../../etc", rootfs.join("usr/lib/etc")).unwrap();
        assert_eq!(resolve(rootfs, "/lib/x").unwrap(), Path::new("usr/lib/x"));
        assert_eq!(resolve(rootfs, "/up/up/etc").unwrap(), Path::new("etc"));
        assert_eq!(resolve(rootfs, "/usr/climb/etc").unwrap(), Path::new("etc"));
        assert_eq!(resolve(rootfs, "/data").unwrap(), Path::new("outside"));
        assert_eq!(
            resolve(rootfs, "/lib/etc/shadow").unwrap(),
            Path::new("etc/shadow")
        );
        assert_eq!(
            host_path(rootfs, "/usr/./lib//x").unwrap(),
            rootfs.join("usr/lib/x")
        );
    }

    #[test]
    fn dot_dot_is_clamped_at_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path();
        assert_eq!(resolve(rootfs, "/../..").unwrap(), Path::new(""));
        assert_eq!(
            resolve(rootfs, "/../../../../../../../../../../etc").unwrap(),
            Path::new("etc")
        );
        assert_eq!(resolve(rootfs, "a/../../b").unwrap(), Path::new("b"));
        assert_eq!(host_path(rootfs, "/..").unwrap(), rootfs.join(""));
    }

    #[test]
    fn link_loops_end_in_eloop() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path();
        symlink("b", rootfs.join("a")).unwrap();
        symlink("a", rootfs.join("b")).unwrap();
        let err = resolve(rootfs, "/a/x").unwrap_err();
        match &err {
            Error::Io { path, source } => {
                assert_eq!(source.raw_os_error(), Some(nix::libc::ELOOP), "{err}");
                assert!(path.starts_with(rootfs), "{err}");
            }
            other => panic!("not an ELOOP: {other}"),
        }
        // A chain of exactly MAX_SYMLINKS links still resolves.
        fs::create_dir(rootfs.join("end")).unwrap();
        symlink("end", rootfs.join("l0")).unwrap();
        for i in 1..MAX_SYMLINKS {
            symlink(format!("l{}", i - 1), rootfs.join(format!("l{i}"))).unwrap();
        }
        let last = format!("/l{}", MAX_SYMLINKS - 1);
        assert_eq!(resolve(rootfs, &last).unwrap(), Path::new("end"));
        symlink(&last[1..], rootfs.join("one-more")).unwrap();
        assert!(resolve(rootfs, "/one-more").is_err());
    }
}
