//! Applying one layer tar to a directory, as moby's `archive.UnpackLayer` does, but without a
//! chroot: every entry is checked so that nothing is written outside the directory.
//!
//! Refused (with the entry's name and the reason): absolute names, any `..` component, a path
//! through a symlink (an archive that plants `x -> /` and then writes `x/etc/passwd`), a
//! relative symlink whose target climbs above the layer, and hard links whose target is
//! absolute, climbs out, or goes through a symlink. Docker's AUFS-style whiteouts
//! (`.wh.<name>`, `.wh..wh..opq`) become overlay whiteouts (a 0/0 character device, the
//! `trusted.overlay.opaque` xattr) for overlay2, or deletions for vfs, whose layers are full
//! copies; a whiteout must name exactly one entry of its directory (`.wh.`, `.wh..` and
//! `.wh...` are refused). An archive that is not a layer (`ADD` of a local tar) is extracted
//! with [`Whiteouts::Literal`]: its `.wh.*` entries are plain files, as in Docker. Directory
//! times are set last, so writing into a directory does not change them.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use nix::sys::stat::{mknod, Mode, SFlag, UtimensatFlags};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid};

use super::tarsplit::EntryMeta;
use crate::error::{Error, IoContext, Result};
use analyzers::format::whiteout::{
    whiteout_target, OPAQUE_VALUE, OVERLAY_OPAQUE_XATTR, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE,
};

/// How a driver represents deletions, or that the archive has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Whiteouts {
    /// overlayfs: a character device 0/0 for a deleted name, an xattr for an opaque directory.
    Overlay,
    /// Full-copy drivers (vfs): the deleted names are removed.
    Delete,
    /// Not a layer: `.wh.*` entries are ordinary entries with those names, as Docker's `ADD`
    /// extracts a local archive (moby `archive.Untar`, which interprets no whiteouts).
    Literal,
}

/// Applies the entries of one archive to `dest`.
pub struct Extractor {
    dest: PathBuf,
    archive: String,
    whiteouts: Whiteouts,
    dir_times: Vec<(PathBuf, i64)>,
    unpacked: HashSet<PathBuf>,
}

impl Extractor {
    /// An extractor into the existing directory `dest`; `archive` names the input in errors.
    pub fn new(dest: &Path, archive: &str, whiteouts: Whiteouts) -> Extractor {
        Extractor {
            dest: dest.to_owned(),
            archive: archive.to_owned(),
            whiteouts,
            dir_times: Vec::new(),
            unpacked: HashSet::new(),
        }
    }

    fn refuse(&self, meta: &EntryMeta, reason: impl Into<String>) -> Error {
        Error::Refused {
            archive: self.archive.clone(),
            entry: String::from_utf8_lossy(&meta.name).into_owned(),
            reason: reason.into(),
        }
    }

    /// The entry's name as a path relative to the layer, or why it is refused.
    fn relative(&self, meta: &EntryMeta, name: &[u8]) -> Result<PathBuf> {
        let path = Path::new(OsStr::from_bytes(name));
        let mut out = PathBuf::new();
        for part in path.components() {
            match part {
                Component::Normal(p) => out.push(p),
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => {
                    return Err(self.refuse(meta, "absolute name"));
                }
                Component::ParentDir => {
                    return Err(self.refuse(meta, "`..` in the name would leave the layer"));
                }
            }
        }
        Ok(out)
    }

    /// Checks that no existing ancestor of `rel` is a symlink or a non-directory, creating
    /// the missing ones (0755, as moby's `MkdirAll`).
    fn prepare_parents(&self, meta: &EntryMeta, rel: &Path) -> Result<()> {
        let mut at = self.dest.clone();
        let parents: Vec<_> = rel.components().collect();
        for part in parents.iter().take(parents.len().saturating_sub(1)) {
            at.push(part);
            match fs::symlink_metadata(&at) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(self.refuse(
                        meta,
                        format!(
                            "goes through the symlink {}",
                            at.strip_prefix(&self.dest).unwrap_or(&at).display()
                        ),
                    ));
                }
                Ok(m) if m.is_dir() => {}
                Ok(_) => return Err(self.refuse(meta, "a parent is not a directory")),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&at).at(&at)?;
                    set_mode(&at, 0o755)?;
                }
                Err(e) => return Err(Error::io(&at, e)),
            }
        }
        Ok(())
    }

    /// Applies one entry; `content` yields its data.
    pub fn entry(&mut self, meta: &EntryMeta, content: &mut dyn Read) -> Result<()> {
        let rel = self.relative(meta, &meta.name)?;
        if meta.kind == b'g' {
            return Ok(()); // PAX global header: moby ignores it too
        }
        if rel.as_os_str().is_empty() && meta.kind != b'5' {
            // Only a directory may name the layer's root (`./`), to set its metadata: any
            // other entry would replace the root, and a symlink there would take every later
            // entry out of the layer.
            return Err(self.refuse(meta, "names the layer's root and is not a directory"));
        }
        let layer = self.whiteouts != Whiteouts::Literal;
        let top = rel.components().next();
        let top_name = top.map(|c| c.as_os_str().to_string_lossy().into_owned());
        if let Some(top) = top_name.as_ref().filter(|_| layer) {
            if top.starts_with(WHITEOUT_META_PREFIX) && rel != Path::new(WHITEOUT_OPAQUE) {
                return Ok(()); // AUFS metadata (`.wh..wh.plnk`, `.wh..wh.aufs`)
            }
        }
        let base = rel
            .file_name()
            .map(|b| b.to_string_lossy().into_owned())
            .unwrap_or_default();
        let deleted = if layer {
            whiteout_target(&base).map_err(|reason| self.refuse(meta, reason))?
        } else {
            None
        };
        self.prepare_parents(meta, &rel)?;
        let path = self.dest.join(&rel);
        if layer && base == WHITEOUT_OPAQUE {
            let dir = path.parent().unwrap_or(&self.dest).to_owned();
            return self.opaque(&dir);
        }
        if let Some(deleted) = deleted {
            let target = path.with_file_name(deleted);
            return self.whiteout(meta, &target);
        }
        if let Ok(old) = fs::symlink_metadata(&path) {
            if !(old.is_dir() && meta.kind == b'5') {
                remove_all(&path)?;
            }
        }
        match meta.kind {
            b'5' => {
                if !path.is_dir() {
                    fs::create_dir(&path).at(&path)?;
                }
            }
            b'0' => {
                let mut file = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .mode(0o600)
                    .open(&path)
                    .at(&path)?;
                io::copy(content, &mut file).at(&path)?;
            }
            b'1' => {
                let target_rel = self.relative(meta, &meta.link)?;
                self.prepare_parents(meta, &target_rel)?;
                let target = self.dest.join(&target_rel);
                if target_rel.as_os_str().is_empty() || target.symlink_metadata().is_err() {
                    return Err(self.refuse(meta, "hard link to a file not in the layer"));
                }
                fs::hard_link(&target, &path).at(&path)?;
                self.unpacked.insert(path);
                return Ok(());
            }
            b'2' => {
                let link = Path::new(OsStr::from_bytes(&meta.link));
                if !link.is_absolute() && climbs_out(&rel, link) {
                    return Err(self.refuse(meta, "symlink target climbs out of the layer"));
                }
                symlink(link, &path).at(&path)?;
            }
            b'3' | b'4' | b'6' => {
                let kind = match meta.kind {
                    b'3' => SFlag::S_IFCHR,
                    b'4' => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let dev = nix::sys::stat::makedev(meta.device.0.into(), meta.device.1.into());
                mknod(&path, kind, Mode::from_bits_truncate(0o600), dev)
                    .map_err(|e| Error::sys(&path, "mknod", e))?;
            }
            other => {
                return Err(self.refuse(meta, format!("unsupported entry type {:?}", other as char)))
            }
        }
        self.metadata(meta, &path)?;
        self.unpacked.insert(path);
        Ok(())
    }

    fn opaque(&mut self, dir: &Path) -> Result<()> {
        match self.whiteouts {
            Whiteouts::Overlay => xattr::set(dir, OVERLAY_OPAQUE_XATTR, OPAQUE_VALUE).at(dir),
            Whiteouts::Literal => Ok(()), // not called: nothing is a whiteout then
            Whiteouts::Delete => {
                for entry in fs::read_dir(dir).at(dir)? {
                    let path = entry.at(dir)?.path();
                    if !self.unpacked.contains(&path) {
                        remove_all(&path)?;
                    }
                }
                Ok(())
            }
        }
    }

    fn whiteout(&mut self, meta: &EntryMeta, target: &Path) -> Result<()> {
        match self.whiteouts {
            Whiteouts::Overlay => {
                mknod(target, SFlag::S_IFCHR, Mode::empty(), 0)
                    .map_err(|e| Error::sys(target, "mknod", e))?;
                lchown(target, meta)
            }
            Whiteouts::Delete => remove_all(target),
            Whiteouts::Literal => Ok(()), // not called: nothing is a whiteout then
        }
    }

    fn metadata(&mut self, meta: &EntryMeta, path: &Path) -> Result<()> {
        lchown(path, meta)?;
        for (name, value) in &meta.xattrs {
            if let Err(e) = xattr::set(path, name, value) {
                // moby ignores what the filesystem cannot hold (ENOTSUP) for non-trusted names.
                if e.raw_os_error() != Some(nix::libc::ENOTSUP) {
                    return Err(Error::io(path, e));
                }
            }
        }
        if meta.kind != b'2' {
            set_mode(path, meta.mode & 0o7777)?;
        }
        if meta.kind == b'5' {
            self.dir_times.push((path.to_owned(), meta.mtime));
            Ok(())
        } else {
            set_time(path, meta.mtime)
        }
    }

    /// Sets the directories' times, last (writing into a directory changes its mtime).
    pub fn finish(self) -> Result<()> {
        for (dir, mtime) in self.dir_times.iter().rev() {
            set_time(dir, *mtime)?;
        }
        Ok(())
    }
}

/// Whether the relative symlink `target`, placed at `at` (relative to the layer), resolves
/// lexically above the layer's root (moby's `invalid symlink` breakout check).
fn climbs_out(at: &Path, target: &Path) -> bool {
    let mut depth: i64 = at.components().count() as i64 - 1;
    for part in target.components() {
        match part {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

fn lchown(path: &Path, meta: &EntryMeta) -> Result<()> {
    let uid = u32::try_from(meta.uid).map_err(|_| Error::malformed(path, "uid out of range"))?;
    let gid = u32::try_from(meta.gid).map_err(|_| Error::malformed(path, "gid out of range"))?;
    nix::unistd::fchownat(
        nix::fcntl::AT_FDCWD,
        path,
        Some(Uid::from_raw(uid)),
        Some(Gid::from_raw(gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| Error::sys(path, "lchown", e))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).at(path)
}

fn set_time(path: &Path, mtime: i64) -> Result<()> {
    let t = TimeSpec::new(mtime, 0);
    nix::sys::stat::utimensat(
        nix::fcntl::AT_FDCWD,
        path,
        &t,
        &t,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| Error::sys(path, "utimensat", e))
}

/// Removes `path` whatever it is; absent is fine.
pub fn remove_all(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path).at(path),
        Ok(_) => fs::remove_file(path).at(path),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, kind: u8, link: &str) -> EntryMeta {
        EntryMeta {
            name: name.as_bytes().to_vec(),
            link: link.as_bytes().to_vec(),
            kind,
            size: 0,
            mode: 0o644,
            uid: nix::unistd::getuid().as_raw().into(),
            gid: nix::unistd::getgid().as_raw().into(),
            mtime: 1_600_000_000,
            device: (0, 0),
            xattrs: Vec::new(),
        }
    }

    fn apply(ex: &mut Extractor, name: &str, kind: u8, link: &str) -> Result<()> {
        ex.entry(&meta(name, kind, link), &mut io::empty())
    }

    #[test]
    fn escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = Extractor::new(dir.path(), "t.tar", Whiteouts::Delete);
        assert!(apply(&mut ex, "../x", b'0', "").is_err());
        assert!(apply(&mut ex, "/etc/x", b'0', "").is_err());
        apply(&mut ex, "root", b'2', "/").unwrap();
        let through = apply(&mut ex, "root/tmp/x", b'0', "").unwrap_err();
        assert!(through.to_string().contains("symlink"), "{through}");
        assert!(apply(&mut ex, "shadow", b'1', "/etc/shadow").is_err());
        assert!(apply(&mut ex, "up", b'2', "../../etc").is_err());
        apply(&mut ex, "a/ok", b'2', "../b").unwrap();
        apply(&mut ex, "./etc/", b'5', "").unwrap();
        apply(&mut ex, "etc/f", b'0', "").unwrap();
        apply(&mut ex, "etc/g", b'1', "etc/f").unwrap();
        assert!(apply(&mut ex, "etc/h", b'1', "root/etc/passwd").is_err());
        ex.finish().unwrap();
        assert!(dir.path().join("etc/g").exists());
        assert!(!dir.path().join("x").exists());
    }

    /// Found by `fuzz/fuzz_targets/layer_extract.rs`: a regular file with an empty name (the
    /// layer's root) removed the root and put a file in its place.
    #[test]
    fn an_entry_naming_the_root_leaves_it_a_directory() {
        let input = include_bytes!("../../testdata/fuzz/extract-root-replaced.bin");
        let (_, tar) = input.split_first().unwrap();
        let parent = tempfile::tempdir().unwrap();
        let dest = parent.path().join("layer");
        fs::create_dir(&dest).unwrap();
        let mut ex = Extractor::new(&dest, "t.tar", Whiteouts::Delete);
        let read = super::super::tarsplit::disassemble(tar, io::sink(), |m, c| ex.entry(m, c));
        assert!(read.is_err(), "the empty-named file is refused");
        assert!(dest.is_dir());
        assert!(apply(&mut ex, "", b'2', "/").is_err());
        assert!(apply(&mut ex, ".", b'0', "").is_err());
        apply(&mut ex, "./", b'5', "").unwrap();
        assert!(fs::symlink_metadata(&dest).unwrap().is_dir());
    }

    #[test]
    fn climbing_is_measured_from_the_entry() {
        assert!(!climbs_out(Path::new("a/b/l"), Path::new("../../x")));
        assert!(climbs_out(Path::new("a/l"), Path::new("../../x")));
        assert!(!climbs_out(Path::new("l"), Path::new("x/../y")));
    }

    #[test]
    fn whiteouts_delete_for_full_copy_drivers() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = Extractor::new(dir.path(), "t.tar", Whiteouts::Delete);
        apply(&mut ex, "d/old", b'0', "").unwrap();
        apply(&mut ex, "d/.wh.old", b'0', "").unwrap();
        assert!(!dir.path().join("d/old").exists());
        assert!(!dir.path().join("d/.wh.old").exists());
    }

    #[test]
    fn whiteouts_of_dot_and_dot_dot_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("layer");
        fs::create_dir(&dest).unwrap();
        fs::write(dir.path().join("canary"), "kept").unwrap();
        for whiteouts in [Whiteouts::Delete, Whiteouts::Overlay] {
            let mut ex = Extractor::new(&dest, "t.tar", whiteouts);
            apply(&mut ex, "d/f", b'0', "").unwrap();
            for name in [".wh...", ".wh..", ".wh.", "d/.wh...", "d/.wh..", "d/.wh."] {
                let err = apply(&mut ex, name, b'0', "").unwrap_err().to_string();
                assert!(err.contains(name) && err.contains("refused"), "{err}");
            }
            assert!(dest.join("d/f").exists());
            assert!(dir.path().join("canary").exists());
            remove_all(&dest.join("d")).unwrap();
        }
    }

    #[test]
    fn literal_archives_keep_whiteout_names_as_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut ex = Extractor::new(dir.path(), "add.tar", Whiteouts::Literal);
        apply(&mut ex, "etc/passwd", b'0', "").unwrap();
        for name in [
            ".wh.etc",
            ".wh...",
            "etc/.wh.passwd",
            ".wh..wh..opq",
            ".wh..wh.plnk",
        ] {
            apply(&mut ex, name, b'0', "").unwrap();
            let meta = fs::symlink_metadata(dir.path().join(name)).unwrap();
            assert!(meta.is_file(), "{name} is not a plain file");
        }
        assert!(dir.path().join("etc/passwd").exists());
        assert!(
            apply(&mut ex, "../x", b'0', "").is_err(),
            "other checks stay"
        );
        ex.finish().unwrap();
    }
}
