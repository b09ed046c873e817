//! [`Jail`]: the data root's directory fd, and path-based reads that cannot leave it.

use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, FileStat, Mode};
use serde::de::DeserializeOwned;

use super::{io_problem, kind_of, read_bounded, Dir, Entry, JSON_LIMIT, TEXT_LIMIT};
use crate::error::{Problem, ProblemKind};

/// The root handle: every read of the store goes through one (see the module docs). Cheap to
/// clone (the fd is shared).
#[derive(Debug, Clone)]
pub struct Jail {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The root as the caller named it: paths given to the jail's methods start with it.
    path: PathBuf,
    fd: OwnedFd,
    /// Opens that could not use `O_NOATIME` (so the access time of what they read moved);
    /// shared with the jails annexing more roots to this one.
    atime_changes: Arc<AtomicU64>,
    /// Every root is on a mount that never records access times (read-only or `noatime`: a
    /// forensic copy mounted `ro`, a Kubernetes `readOnly` hostPath): no open moves one,
    /// `O_NOATIME` or not.
    atimes_frozen: bool,
    /// Set when the kernel has no `openat2` (before Linux 5.6, or a seccomp filter).
    no_openat2: AtomicBool,
    /// Other roots of the same store, each with its own fd (a containerd root outside the
    /// Docker data root): a path under one is resolved beneath it.
    annexes: Vec<(PathBuf, OwnedFd)>,
}

/// Opens the directory `path` (named by the user; symlinks in it are followed) as a root fd,
/// with `O_NOATIME` when the kernel allows it (else counted in `atime_changes`).
fn open_root(path: &Path, atime_changes: &AtomicU64) -> std::io::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    Ok(
        match nix::fcntl::open(path, flags | OFlag::O_NOATIME, Mode::empty()) {
            Err(Errno::EPERM) => {
                atime_changes.fetch_add(1, Ordering::Relaxed);
                nix::fcntl::open(path, flags, Mode::empty())?
            }
            other => other?,
        },
    )
}

/// Whether the mount `fd` is on records no access times (mounted read-only or `noatime`).
fn atimes_frozen(fd: &OwnedFd) -> bool {
    use nix::sys::statvfs::{fstatvfs, FsFlags};
    fstatvfs(fd).is_ok_and(|fs| {
        fs.flags()
            .intersects(FsFlags::ST_RDONLY | FsFlags::ST_NOATIME)
    })
}

/// The flags of every open: never follow a final symlink, never block (a FIFO), never leak
/// the fd into a child.
fn base_flags() -> OFlag {
    OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC
}

impl Jail {
    /// Opens the directory `path` as a jail. Symlinks in `path` itself are followed (the user
    /// named it); nothing below it follows one.
    pub fn open(path: &Path) -> std::io::Result<Jail> {
        let atime_changes = Arc::new(AtomicU64::new(0));
        let fd = open_root(path, &atime_changes)?;
        Ok(Jail {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                atimes_frozen: atimes_frozen(&fd),
                fd,
                atime_changes,
                no_openat2: AtomicBool::new(false),
                annexes: Vec::new(),
            }),
        })
    }

    /// This jail with one more root of the same store (a containerd root kept outside the
    /// Docker data root): paths under `path` are resolved beneath its own fd, with the same
    /// rules. A path inside the jail already needs no annex and gets none.
    pub fn with_annex(&self, path: &Path) -> std::io::Result<Jail> {
        if self.relative(path).is_ok() {
            return Ok(self.clone());
        }
        let atime_changes = Arc::clone(&self.inner.atime_changes);
        let mut annexes = Vec::with_capacity(self.inner.annexes.len() + 1);
        for (p, fd) in &self.inner.annexes {
            annexes.push((p.clone(), fd.try_clone()?));
        }
        let annex = open_root(path, &atime_changes)?;
        let annex_frozen = atimes_frozen(&annex);
        annexes.push((path.to_path_buf(), annex));
        Ok(Jail {
            inner: Arc::new(Inner {
                path: self.inner.path.clone(),
                atimes_frozen: self.inner.atimes_frozen && annex_frozen,
                fd: self.inner.fd.try_clone()?,
                atime_changes,
                no_openat2: AtomicBool::new(self.inner.no_openat2.load(Ordering::Relaxed)),
                annexes,
            }),
        })
    }

    /// The root's path, as given to [`Jail::open`].
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Files and directories opened without `O_NOATIME` so far, because the kernel refused it
    /// (not their owner, no `CAP_FOWNER`): reading them moved their access times. Zero when
    /// every root is mounted read-only or `noatime`, where no read moves one.
    pub fn atime_changes(&self) -> u64 {
        if self.inner.atimes_frozen {
            return 0;
        }
        self.inner.atime_changes.load(Ordering::Relaxed)
    }

    pub(super) fn count_atime_change(&self) {
        self.inner.atime_changes.fetch_add(1, Ordering::Relaxed);
    }

    /// `path` relative to the root. A path not under the root, or with a `..` or `.`
    /// component below it, is refused: the jail never resolves one.
    fn relative<'a>(&self, path: &'a Path) -> std::io::Result<&'a Path> {
        self.beneath(path).map(|(_, rel)| rel)
    }

    /// The root fd `path` is under (the annex with the longest matching path, else the main
    /// root) and `path` relative to it; refused as [`Jail::relative`] says.
    fn beneath<'a>(&self, path: &'a Path) -> std::io::Result<(&OwnedFd, &'a Path)> {
        let annex = self
            .inner
            .annexes
            .iter()
            .filter_map(|(p, fd)| path.strip_prefix(p).ok().map(|rel| (p, fd, rel)))
            .max_by_key(|(p, _, _)| p.as_os_str().len())
            .map(|(_, fd, rel)| (fd, rel));
        let (fd, rel) = match annex {
            Some(found) => found,
            None => (
                &self.inner.fd,
                path.strip_prefix(self.path()).map_err(|_| {
                    std::io::Error::other(format!(
                        "{} is outside the root {}",
                        path.display(),
                        self.path().display()
                    ))
                })?,
            ),
        };
        if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(std::io::Error::other(format!(
                "{}: a `..` or `.` component: not resolved",
                path.display()
            )));
        }
        Ok((fd, rel))
    }

    /// Opens `path` (under the root) with `flags` plus [`base_flags`], trying `O_NOATIME`
    /// first unless `flags` has `O_PATH`.
    pub(super) fn open_fd(&self, path: &Path, flags: OFlag) -> std::io::Result<OwnedFd> {
        let (root, rel) = self.beneath(path)?;
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        if flags.contains(OFlag::O_PATH) {
            // openat2 refuses O_PATH with any flag but these (EINVAL).
            let flags = flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            return Ok(self.resolve(root, rel, flags)?);
        }
        let flags = flags | base_flags();
        match self.resolve(root, rel, flags | OFlag::O_NOATIME) {
            Err(Errno::EPERM) => {
                let fd = self.resolve(root, rel, flags)?;
                self.count_atime_change();
                Ok(fd)
            }
            other => Ok(other?),
        }
    }

    /// Resolves `rel` beneath the root fd `root`, following no symlink at all.
    fn resolve(&self, root: &OwnedFd, rel: &Path, flags: OFlag) -> nix::Result<OwnedFd> {
        if !self.inner.no_openat2.load(Ordering::Relaxed) {
            let how = OpenHow::new().flags(flags).resolve(
                ResolveFlag::RESOLVE_BENEATH
                    | ResolveFlag::RESOLVE_NO_SYMLINKS
                    | ResolveFlag::RESOLVE_NO_MAGICLINKS,
            );
            match nix::fcntl::openat2(root, rel, how) {
                Err(Errno::ENOSYS) => self.inner.no_openat2.store(true, Ordering::Relaxed),
                other => return other,
            }
        }
        // No openat2: one component at a time, none of them followed if it is a symlink.
        let mut parts = rel.components().peekable();
        let mut cur: Option<OwnedFd> = None;
        while let Some(part) = parts.next() {
            let at = cur.as_ref().unwrap_or(root);
            let last = parts.peek().is_none();
            let step = if last {
                flags
            } else {
                OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
            };
            cur = Some(nix::fcntl::openat(
                at,
                part.as_os_str(),
                step,
                Mode::empty(),
            )?);
        }
        match cur {
            Some(fd) => Ok(fd),
            None => nix::fcntl::openat(root, ".", flags, Mode::empty()),
        }
    }

    /// Opens the regular file `path` for reading; anything else (a FIFO, a device, a
    /// directory, a symlink) is refused with an error saying what it is.
    pub fn file(&self, path: &Path) -> std::io::Result<File> {
        let fd = self.open_fd(path, OFlag::O_RDONLY)?;
        let st = fstat(&fd)?;
        check_regular(path, &st)?;
        Ok(File::from(fd))
    }

    /// Reads the regular file `path`, refusing it when it holds more than `limit` bytes.
    pub fn read(&self, path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
        let file = self.file(path)?;
        let size = file.metadata()?.len();
        if size > limit {
            return Err(std::io::Error::other(format!(
                "{size} bytes, more than the {limit} a record of this kind may hold: not read"
            )));
        }
        read_bounded(file, limit, path)
    }

    /// Reads a small text record (a layerdb `diff`, `cache-id`, `size`...) with surrounding
    /// whitespace removed; a failure becomes a [`Problem`] naming `path`.
    pub fn read_text(&self, path: &Path) -> Result<String, Problem> {
        let bytes = self
            .read(path, TEXT_LIMIT)
            .map_err(|e| io_problem(path, &e))?;
        String::from_utf8(bytes)
            .map(|s| s.trim().to_owned())
            .map_err(|_| Problem::new(path, ProblemKind::InvalidValue, "not UTF-8 text"))
    }

    /// Reads and parses a JSON record of at most [`JSON_LIMIT`] bytes; a failure becomes a
    /// [`Problem`] naming `path`.
    pub fn read_json<T: DeserializeOwned>(&self, path: &Path) -> Result<T, Problem> {
        let bytes = self
            .read(path, JSON_LIMIT)
            .map_err(|e| io_problem(path, &e))?;
        serde_json::from_slice(&bytes)
            .map_err(|e| Problem::new(path, ProblemKind::InvalidJson, e.to_string()))
    }

    /// Opens the directory `path`.
    pub fn dir(&self, path: &Path) -> std::io::Result<Dir> {
        let fd = self.open_fd(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY)?;
        Ok(Dir::new(fd, path.to_path_buf(), self.clone()))
    }

    /// Lists the directory `path` (without `.` and `..`), sorted by name.
    pub fn read_dir(&self, path: &Path) -> std::io::Result<Vec<Entry>> {
        self.dir(path)?.list()
    }

    /// `lstat` of `path`: a symlink is described, not followed.
    pub fn stat(&self, path: &Path) -> std::io::Result<FileStat> {
        let fd = self.open_fd(path, OFlag::O_PATH)?;
        Ok(fstat(&fd)?)
    }

    /// True when `path` is a directory (not a symlink to one).
    pub fn is_dir(&self, path: &Path) -> bool {
        self.stat(path).is_ok_and(|st| super::is_dir_stat(&st))
    }

    /// True when `path` exists (a symlink counts, whatever it points at).
    pub fn exists(&self, path: &Path) -> bool {
        self.stat(path).is_ok()
    }

    /// The extended attribute `name` of `path`, read through an fd (see [`xattr_of`]).
    pub fn xattr(&self, path: &Path, name: &str) -> Option<Vec<u8>> {
        let st = self.stat(path).ok()?;
        xattr_of(&st, || self.open_fd(path, OFlag::O_RDONLY).ok(), name)
    }

    /// The `security.capability` attribute of `path` (file capabilities, which moby
    /// compares in its naive diff).
    pub fn capability(&self, path: &Path) -> Option<Vec<u8>> {
        self.xattr(path, CAPABILITY_XATTR)
    }
}

/// The extended attribute holding file capabilities.
pub(super) const CAPABILITY_XATTR: &str = "security.capability";

/// The extended attribute `name` of the entry `st` describes, read with `fgetxattr` on the
/// fd `open` gives. Only regular files and directories are opened for it (opening a device
/// could act on it; a symlink's attributes are not what overlayfs or moby look at).
pub(super) fn xattr_of(
    st: &FileStat,
    open: impl FnOnce() -> Option<OwnedFd>,
    name: &str,
) -> Option<Vec<u8>> {
    use xattr::FileExt;
    let kind = st.st_mode & nix::libc::S_IFMT;
    if kind != nix::libc::S_IFREG && kind != nix::libc::S_IFDIR {
        return None;
    }
    File::from(open()?).get_xattr(name).ok().flatten()
}

/// Refuses anything but a regular file, saying what `path` is instead.
pub(super) fn check_regular(path: &Path, st: &FileStat) -> std::io::Result<()> {
    if st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFREG {
        return Ok(());
    }
    Err(std::io::Error::other(format!(
        "{}: {}, not a regular file: not read",
        path.display(),
        kind_of(st)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, tempfile::TempDir) {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"outside").unwrap();
        std::fs::create_dir(root.path().join("d")).unwrap();
        std::fs::write(root.path().join("d/f"), b"inside").unwrap();
        symlink(outside.path(), root.path().join("out")).unwrap();
        symlink("../..", root.path().join("d/up")).unwrap();
        symlink("f", root.path().join("d/rel")).unwrap();
        nix::unistd::mkfifo(&root.path().join("fifo"), Mode::S_IRWXU).unwrap();
        (root, outside)
    }

    #[test]
    fn reads_inside_and_refuses_every_way_out() {
        let (root, _outside) = tree();
        let jail = Jail::open(root.path()).unwrap();
        let p = |rel: &str| root.path().join(rel);
        assert_eq!(jail.read(&p("d/f"), 100).unwrap(), b"inside");
        for refused in ["out/secret", "d/up/etc/passwd", "d/rel", "d/../d/f", "fifo"] {
            assert!(jail.read(&p(refused), 100).is_err(), "{refused} was read");
        }
        assert!(jail.read(Path::new("/etc/passwd"), 1 << 20).is_err());
        assert!(jail.read(&p("d/f"), 3).is_err(), "over the limit");
        assert!(jail.dir(&p("out")).is_err());
        assert!(jail.stat(&p("out")).is_ok(), "a symlink is described");
        assert!(!jail.is_dir(&p("out")));
        let link = jail.stat(&p("d/rel")).unwrap();
        assert_eq!(
            link.st_mode & nix::libc::S_IFMT,
            nix::libc::S_IFLNK,
            "described, not followed"
        );
        let names: Vec<_> = jail
            .read_dir(root.path())
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["d", "fifo", "out"]);
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let (root, _outside) = tree();
        let jail = Jail::open(root.path()).unwrap();
        let err = jail.read_text(&root.path().join("fifo")).unwrap_err();
        assert!(err.detail.contains("FIFO"), "{err}");
    }
}
