//! Filling a fresh volume with what the image has at its mount point (moby
//! `copyExistingContents`, which uses continuity's `fs.CopyDir`): directories, files,
//! symlinks, devices and fifos, with their owners, modes, times, extended attributes and hard
//! links; sockets are skipped.
//!
//! The source is an image's tree, so nothing in it is trusted: every entry is reached by
//! `openat` from its parent directory's descriptor with `O_NOFOLLOW`, a symlink is copied as
//! a symlink (its target is never read through), and the destination entries are created
//! the same way, exclusively, so a link planted in the volume is not followed either.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags, FileStat,
    Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{dup, fchown, fchownat, linkat, symlinkat, Gid, Uid};
use xattr::FileExt;

use crate::error::{Error, IoContext, Result};

/// How a directory is opened: never through a symlink.
const DIR_FLAGS: OFlag = OFlag::O_RDONLY
    .union(OFlag::O_DIRECTORY)
    .union(OFlag::O_NOFOLLOW)
    .union(OFlag::O_CLOEXEC);

/// Copies the content of directory `from` (and its owner, mode and times) into the
/// directory `to`. `from` must already be resolved inside its root filesystem
/// ([`crate::rootfs_path`]); when it is not a directory (absent, a file, a symlink) nothing
/// is copied, as Docker copies nothing then.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    let src = match openat(AT_FDCWD, from, DIR_FLAGS, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ENOTDIR | Errno::ELOOP) => return Ok(()),
        Err(e) => return Err(Error::sys(from, "open", e)),
    };
    let dst =
        openat(AT_FDCWD, to, DIR_FLAGS, Mode::empty()).map_err(|e| Error::sys(to, "open", e))?;
    let mut copier = Copier {
        from: from.to_owned(),
        to: to.to_owned(),
        to_root: dup(&dst).map_err(|e| Error::sys(to, "dup", e))?,
        links: HashMap::new(),
    };
    copier.dir(&src, &dst, Path::new(""))?;
    let stat = nix::sys::stat::fstat(&src).map_err(|e| Error::sys(from, "fstat", e))?;
    copier.fd_metadata(&src, dst, &stat, Path::new(""))
}

/// One copy under way.
struct Copier {
    /// The source directory (named in errors).
    from: PathBuf,
    /// The destination directory (named in errors).
    to: PathBuf,
    /// A descriptor of `to`, that hard links are made relative to.
    to_root: OwnedFd,
    /// The first copy of each multiply-linked source inode, `(dev, ino)` → path under `to`.
    links: HashMap<(u64, u64), PathBuf>,
}

impl Copier {
    /// Copies the entries of `src` into `dst`; `rel` is their directory under both roots.
    fn dir(&mut self, src: &OwnedFd, dst: &OwnedFd, rel: &Path) -> Result<()> {
        let names = self.names(src, rel)?;
        for name in names {
            self.entry(src, dst, &rel.join(&name), &name)?;
        }
        Ok(())
    }

    /// The names in directory `src` (`.` and `..` left out).
    fn names(&self, src: &OwnedFd, rel: &Path) -> Result<Vec<OsString>> {
        let at = self.from.join(rel);
        let fd = dup(src).map_err(|e| Error::sys(&at, "dup", e))?;
        let mut dir = Dir::from_fd(fd).map_err(|e| Error::sys(&at, "fdopendir", e))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| Error::sys(&at, "readdir", e))?;
            let name =
                <OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(entry.file_name().to_bytes());
            if name != "." && name != ".." {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    /// Copies the entry `name` of `src` (at `rel` under the roots) into `dst`.
    fn entry(&mut self, src: &OwnedFd, dst: &OwnedFd, rel: &Path, name: &OsStr) -> Result<()> {
        let from = self.from.join(rel);
        let to = self.to.join(rel);
        let stat = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| Error::sys(&from, "lstat", e))?;
        let kind = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT;
        if kind != SFlag::S_IFDIR && stat.st_nlink > 1 {
            let key = (stat.st_dev, stat.st_ino);
            if let Some(first) = self.links.get(&key) {
                return linkat(&self.to_root, first, dst, name, AtFlags::empty())
                    .map_err(|e| Error::sys(&to, "link", e));
            }
            self.links.insert(key, rel.to_owned());
        }
        match kind {
            SFlag::S_IFDIR => {
                mkdirat(dst, name, Mode::from_bits_truncate(0o700))
                    .map_err(|e| Error::sys(&to, "mkdir", e))?;
                let child_src = openat(src, name, DIR_FLAGS, Mode::empty())
                    .map_err(|e| Error::sys(&from, "open", e))?;
                let child_dst = openat(dst, name, DIR_FLAGS, Mode::empty())
                    .map_err(|e| Error::sys(&to, "open", e))?;
                self.dir(&child_src, &child_dst, rel)?;
                self.fd_metadata(&child_src, child_dst, &stat, rel)
            }
            SFlag::S_IFREG => {
                let read = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                let input = openat(src, name, read, Mode::empty())
                    .map_err(|e| Error::sys(&from, "open", e))?;
                let write = OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC;
                let output = openat(dst, name, write, Mode::from_bits_truncate(0o600))
                    .map_err(|e| Error::sys(&to, "create", e))?;
                let (mut input, mut output) = (File::from(input), File::from(output));
                io::copy(&mut input, &mut output).at(&to)?;
                self.fd_metadata(&input, OwnedFd::from(output), &stat, rel)
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(src, name).map_err(|e| Error::sys(&from, "readlink", e))?;
                symlinkat(target.as_os_str(), dst, name)
                    .map_err(|e| Error::sys(&to, "symlink", e))?;
                self.path_metadata(dst, name, &stat, &to, false)
            }
            SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
                mknodat(
                    dst,
                    name,
                    kind,
                    Mode::from_bits_truncate(0o600),
                    stat.st_rdev,
                )
                .map_err(|e| Error::sys(&to, "mknod", e))?;
                self.path_metadata(dst, name, &stat, &to, true)
            }
            _ => Ok(()), // sockets: a listening program's, not content
        }
    }

    /// Gives the opened copy `dst` of `src` the owner, mode, extended attributes and times
    /// of `stat` (the owner first: `chown` clears set-id bits).
    fn fd_metadata(
        &self,
        src: &impl AsFd,
        dst: OwnedFd,
        stat: &FileStat,
        rel: &Path,
    ) -> Result<()> {
        let to = self.to.join(rel);
        fchown(
            &dst,
            Some(Uid::from_raw(stat.st_uid)),
            Some(Gid::from_raw(stat.st_gid)),
        )
        .map_err(|e| Error::sys(&to, "chown", e))?;
        fchmod(&dst, Mode::from_bits_truncate(stat.st_mode & 0o7777))
            .map_err(|e| Error::sys(&to, "chmod", e))?;
        let src = File::from(src.as_fd().try_clone_to_owned().at(self.from.join(rel))?);
        let dst = File::from(dst);
        copy_xattrs(&src, &dst).at(&to)?;
        let (atime, mtime) = times(stat);
        futimens(&dst, &atime, &mtime).map_err(|e| Error::sys(&to, "utimensat", e))
    }

    /// Gives the entry `name` of `dir` (a symlink, device or fifo, which are not opened) the
    /// owner, times and (`mode`: not for a symlink) mode of `stat`.
    fn path_metadata(
        &self,
        dir: &OwnedFd,
        name: &OsStr,
        stat: &FileStat,
        to: &Path,
        mode: bool,
    ) -> Result<()> {
        fchownat(
            dir,
            name,
            Some(Uid::from_raw(stat.st_uid)),
            Some(Gid::from_raw(stat.st_gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::sys(to, "lchown", e))?;
        if mode {
            fchmodat(
                dir,
                name,
                Mode::from_bits_truncate(stat.st_mode & 0o7777),
                FchmodatFlags::NoFollowSymlink,
            )
            .map_err(|e| Error::sys(to, "chmod", e))?;
        }
        let (atime, mtime) = times(stat);
        utimensat(dir, name, &atime, &mtime, UtimensatFlags::NoFollowSymlink)
            .map_err(|e| Error::sys(to, "utimensat", e))
    }
}

/// The access and modification times of `stat`.
fn times(stat: &FileStat) -> (TimeSpec, TimeSpec) {
    (
        TimeSpec::new(stat.st_atime, stat.st_atime_nsec),
        TimeSpec::new(stat.st_mtime, stat.st_mtime_nsec),
    )
}

/// Copies every extended attribute of `src` to `dst`; a filesystem that holds none
/// (`ENOTSUP`) is not an error, as `cp -a` and continuity treat it.
fn copy_xattrs(src: &File, dst: &File) -> io::Result<()> {
    let unsupported = |e: &io::Error| e.raw_os_error() == Some(nix::libc::ENOTSUP);
    let names = match src.list_xattr() {
        Ok(names) => names,
        Err(e) if unsupported(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    for name in names {
        if let Some(value) = src.get_xattr(&name)? {
            match dst.set_xattr(&name, &value) {
                Err(e) if unsupported(&e) => {}
                other => other?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    #[test]
    fn symlinks_are_copied_as_links_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("canary"), "host secret").unwrap();
        let from = dir.path().join("image/data");
        fs::create_dir_all(from.join("sub")).unwrap();
        fs::write(from.join("sub/f"), "image").unwrap();
        fs::set_permissions(from.join("sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::hard_link(from.join("sub/f"), from.join("g")).unwrap();
        symlink(&outside, from.join("out")).unwrap();
        symlink(outside.join("canary"), from.join("canary")).unwrap();
        let to = dir.path().join("volume");
        fs::create_dir(&to).unwrap();
        copy_tree(&from, &to).unwrap();
        assert_eq!(fs::read_to_string(to.join("sub/f")).unwrap(), "image");
        let f = fs::metadata(to.join("sub/f")).unwrap();
        assert_eq!(f.permissions().mode() & 0o7777, 0o640);
        assert_eq!(f.ino(), fs::metadata(to.join("g")).unwrap().ino());
        for link in ["out", "canary"] {
            let meta = fs::symlink_metadata(to.join(link)).unwrap();
            assert!(meta.file_type().is_symlink(), "{link} was not kept a link");
        }
        assert_eq!(fs::read_link(to.join("out")).unwrap(), outside);
        assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    }

    #[test]
    fn a_source_that_is_a_symlink_copies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("canary"), "host secret").unwrap();
        let from = dir.path().join("data");
        symlink(&outside, &from).unwrap();
        let to = dir.path().join("volume");
        fs::create_dir(&to).unwrap();
        copy_tree(&from, &to).unwrap();
        copy_tree(&dir.path().join("absent"), &to).unwrap();
        assert_eq!(fs::read_dir(&to).unwrap().count(), 0);
    }
}
