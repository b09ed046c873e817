//! [`Dir`]: an open directory inside a [`Jail`], and reads relative to its fd.

use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode};

use super::jail::{xattr_of, CAPABILITY_XATTR};
use super::Jail;

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// The entry's name.
    pub name: OsString,
    /// True when the entry is a directory (not followed through symlinks).
    pub is_dir: bool,
}

/// An open directory of the store. Its children are opened relative to its fd, never by
/// path, so what it names cannot be swapped for a way out between two calls.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: PathBuf,
    jail: Jail,
}

impl std::os::fd::AsFd for Dir {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Dir {
    pub(super) fn new(fd: OwnedFd, path: PathBuf, jail: Jail) -> Dir {
        Dir { fd, path, jail }
    }

    /// The directory's path (for messages; never used to open anything).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `name` with `flags` relative to this directory, never following a symlink,
    /// never blocking, with `O_NOATIME` where the kernel allows it.
    fn open_at(&self, name: &OsStr, flags: OFlag) -> nix::Result<OwnedFd> {
        let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        match nix::fcntl::openat(&self.fd, name, flags | OFlag::O_NOATIME, Mode::empty()) {
            Err(Errno::EPERM) => {
                let fd = nix::fcntl::openat(&self.fd, name, flags, Mode::empty())?;
                self.jail.count_atime_change();
                Ok(fd)
            }
            other => other,
        }
    }

    /// Opens the subdirectory `name` (`openat(fd, name, O_DIRECTORY|O_NOFOLLOW)`): a symlink
    /// there is refused (`ELOOP`/`ENOTDIR`), whatever it points at.
    pub fn open_dir(&self, name: &OsStr) -> nix::Result<Dir> {
        let fd = self.open_at(name, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        Ok(Dir::new(fd, self.path.join(name), self.jail.clone()))
    }

    /// The `security.capability` extended attribute of `name`, whose stat is `st` (file
    /// capabilities, which moby compares in its naive diff), read through an fd so no path
    /// is resolved.
    pub fn capability(&self, name: &OsStr, st: &FileStat) -> Option<Vec<u8>> {
        xattr_of(
            st,
            || self.open_at(name, OFlag::O_RDONLY).ok(),
            CAPABILITY_XATTR,
        )
    }

    /// Calls `visit(name, lstat)` for each entry (not `.`/`..`), the stat made relative to
    /// this directory's fd; an entry that vanished or cannot be stat'ed is passed with its
    /// error. Fails only when the directory cannot be read.
    pub fn for_each(
        &self,
        mut visit: impl FnMut(&OsStr, nix::Result<FileStat>),
    ) -> nix::Result<()> {
        let listing_fd = nix::fcntl::openat(
            &self.fd,
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | OFlag::O_NOATIME,
            Mode::empty(),
        )
        .or_else(|_| {
            self.fd
                .try_clone()
                .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))
        })?;
        let mut handle = nix::dir::Dir::from_fd(listing_fd)?;
        for entry in handle.iter() {
            let entry = entry?;
            let cname = entry.file_name();
            let bytes = cname.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let name = OsStr::from_bytes(bytes);
            visit(name, fstatat(&self.fd, cname, AtFlags::AT_SYMLINK_NOFOLLOW));
        }
        Ok(())
    }

    /// Lists the directory (without `.` and `..`), sorted by name; entries that cannot be
    /// stat'ed are listed as non-directories.
    pub fn list(&self) -> std::io::Result<Vec<Entry>> {
        let mut out = Vec::new();
        self.for_each(|name, st| {
            out.push(Entry {
                name: name.to_os_string(),
                is_dir: st.is_ok_and(|st| super::is_dir_stat(&st)),
            });
        })?;
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn children_open_by_fd_and_symlinks_are_refused() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("a/b")).unwrap();
        std::fs::write(root.path().join("a/b/f"), b"x").unwrap();
        symlink("/", root.path().join("a/link")).unwrap();
        let jail = Jail::open(root.path()).unwrap();
        let a = jail.dir(&root.path().join("a")).unwrap();
        let b = a.open_dir(OsStr::new("b")).unwrap();
        assert_eq!(b.path(), root.path().join("a/b"));
        assert_eq!(b.list().unwrap()[0].name, "f");
        assert!(a.open_dir(OsStr::new("link")).is_err());
        let link = a
            .list()
            .unwrap()
            .into_iter()
            .find(|e| e.name == "link")
            .unwrap();
        assert!(
            !link.is_dir,
            "a symlink to / is listed as what it is, not followed"
        );
        let names: Vec<_> = a.list().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(names, ["b", "link"]);
    }
}
