//! [`Sysroot`]: where the host's files are. strata's own machine (`/`), or a disk image
//! mounted somewhere else (`--sysroot DIR`): an incident responder reads a seized host's
//! stores from its image, and every host path (`/etc/passwd`, `/etc/docker/daemon.json`,
//! `/etc/containerd/config.toml`, `/etc/containers/storage.conf`, `/var/lib/...`, the homes
//! the account database names, the paths the configuration files name) is then taken under
//! that directory, as a `chroot` would take it.
//!
//! Reading stays contained: a host path is mapped lexically (`..` stops at the sysroot, as it
//! stops at `/`), and a path whose symlinks lead out of the sysroot (an absolute link in the
//! image points into the machine strata runs on, not into the image) is refused before it
//! is read or opened ([`Sysroot::contained`]). Files are read with the host-file reader
//! ([`crate::fs::read_host_file`]: non-blocking, regular files only, bounded); stores are
//! then read through their own [`crate::fs::Jail`].

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The directory the host's files are under (`/` for the machine strata runs on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sysroot {
    dir: PathBuf,
}

impl Default for Sysroot {
    /// The machine strata runs on.
    fn default() -> Self {
        Sysroot {
            dir: PathBuf::from("/"),
        }
    }
}

impl Sysroot {
    /// The host whose root directory is `dir` (a mounted disk image); `dir` is resolved once,
    /// here, and must be a directory.
    pub fn new(dir: &Path) -> Result<Sysroot> {
        let dir = std::fs::canonicalize(dir).map_err(|e| Error::io(dir, e))?;
        if !dir.is_dir() {
            return Err(Error::io(
                &dir,
                std::io::Error::other("not a directory: no sysroot"),
            ));
        }
        Ok(Sysroot { dir })
    }

    /// The sysroot's directory (`/` for the machine strata runs on).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True for the machine strata runs on (no `--sysroot`).
    pub fn is_host(&self) -> bool {
        self.dir == Path::new("/")
    }

    /// The host path `path` (as the host's files name it: `/var/lib/docker`, a home from
    /// `/etc/passwd`) as seen from here: unchanged on the machine strata runs on; under the
    /// sysroot otherwise, with `.` dropped and `..` stopping at the sysroot (a relative path
    /// is taken from the host's `/`).
    pub fn path(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        if self.is_host() {
            return path.to_path_buf();
        }
        let mut out = self.dir.clone();
        let mut depth = 0usize;
        for c in path.components() {
            match c {
                Component::Normal(name) => {
                    out.push(name);
                    depth += 1;
                }
                Component::ParentDir if depth > 0 => {
                    out.pop();
                    depth -= 1;
                }
                _ => {}
            }
        }
        out
    }

    /// Refuses `path` (already mapped by [`Sysroot::path`]) when its symlinks resolve outside
    /// the sysroot; a path that does not exist passes (there is nothing to read). Always
    /// passes on the machine strata runs on.
    pub fn contained(&self, path: &Path) -> std::io::Result<()> {
        if self.is_host() {
            return Ok(());
        }
        match std::fs::canonicalize(path) {
            Ok(real) if real.starts_with(&self.dir) => Ok(()),
            Ok(real) => Err(std::io::Error::other(format!(
                "{}: resolves to {}, outside the sysroot {}: not read",
                path.display(),
                real.display(),
                self.dir.display()
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Reads the host configuration file at `path` (already mapped by [`Sysroot::path`]),
    /// once [`Sysroot::contained`] passed, with the host-file reader.
    pub fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.contained(path)?;
        crate::fs::read_host_file(path)
    }

    /// True when `path` (already mapped) is a directory that stays inside the sysroot.
    pub fn is_dir(&self, path: &Path) -> bool {
        self.contained(path).is_ok() && path.is_dir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_map_under_the_sysroot_and_stay_there() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sysroot::new(dir.path()).unwrap();
        let base = s.dir().to_path_buf();
        assert_eq!(s.path("/etc/passwd"), base.join("etc/passwd"));
        assert_eq!(s.path("/../../etc/./x"), base.join("etc/x"));
        assert_eq!(s.path("home/a/../b"), base.join("home/b"));
        let host = Sysroot::default();
        assert!(host.is_host());
        assert_eq!(host.path("/a/../b"), Path::new("/a/../b"));

        std::fs::create_dir_all(base.join("etc")).unwrap();
        std::fs::write(base.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", base.join("etc/out")).unwrap();
        std::os::unix::fs::symlink("passwd", base.join("etc/in")).unwrap();
        assert!(
            s.read(&base.join("etc/in")).is_ok(),
            "a link inside is followed"
        );
        let err = s.read(&base.join("etc/out")).unwrap_err().to_string();
        assert!(err.contains("outside the sysroot"), "{err}");
        assert!(s.contained(&base.join("nothing/here")).is_ok());
        assert!(!s.is_dir(&base.join("etc/out")));
        assert!(Sysroot::new(&base.join("etc/passwd")).is_err());
    }
}
