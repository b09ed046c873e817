//! Putting `COPY`/`ADD` sources into a step's root filesystem (a build container's mounted
//! writable layer, or a staging directory on `scratch`) with Docker's rules: a directory's
//! contents (not the directory) go into the destination; a destination ending in `/`, or
//! naming a directory, receives files under their own names; new files are owned by root, or
//! by `--chown`; modes and modification times are kept; `ADD` unpacks a local tar (plain or
//! gzip) into the destination.
//!
//! Every entry goes through the layer extractor ([`crate::layer::extract`]), which refuses
//! anything that would land outside the root filesystem, and interprets no whiteouts (a
//! context file or an `ADD`ed archive entry named `.wh.x` is a file named `.wh.x`, as in
//! Docker); the destination itself is resolved inside the root filesystem first
//! ([`crate::rootfs_path`]), following the image's own symlinks as Docker does.

use std::fs;
use std::io::{Read, Seek};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::context::{Context, Entry, Source};
use super::error::{BuildError, Result};
use crate::error::{Error, IoContext};
use crate::layer::extract::{Extractor, Whiteouts};
use crate::layer::tarsplit::{self, EntryMeta};
use crate::rootfs_path;

/// What one `COPY`/`ADD` does.
#[derive(Debug, Clone)]
pub struct CopyRequest<'a> {
    /// `COPY` or `ADD`.
    pub instruction: &'a str,
    /// The resolved sources.
    pub sources: &'a [Source],
    /// The destination: absolute, a trailing `/` kept.
    pub dest: &'a str,
    /// The owner of what is copied (`--chown`), root otherwise.
    pub owner: (u32, u32),
}

/// Copies the request's sources into `rootfs`.
pub fn copy(ctx: &Context, req: &CopyRequest<'_>, rootfs: &Path) -> Result<()> {
    let dest_resolved = rootfs_path::resolve(rootfs, req.dest)?;
    let into_dir =
        req.dest.ends_with('/') || req.sources.len() > 1 || rootfs.join(&dest_resolved).is_dir();
    if req.sources.len() > 1 && !req.dest.ends_with('/') {
        return Err(BuildError::source(
            req.instruction,
            req.dest,
            format!(
                "When using {} with more than one source file, the destination must be a \
                 directory and end with a /",
                req.instruction
            ),
        ));
    }
    let mut files = Extractor::new(rootfs, "build context", Whiteouts::Literal);
    for source in req.sources {
        if req.instruction == "ADD" && !source.is_dir && is_tar(&source.path)? {
            fs::create_dir_all(rootfs.join(&dest_resolved)).at(rootfs.join(&dest_resolved))?;
            unpack(&source.path, &rootfs.join(&dest_resolved))?;
            continue;
        }
        let (dir, name) = if source.is_dir {
            (dest_resolved.clone(), None)
        } else if into_dir {
            let base = Path::new(&source.name)
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            (dest_resolved.clone(), Some(base))
        } else {
            let parent = Path::new(req.dest).parent().unwrap_or(Path::new("/"));
            let base = Path::new(req.dest)
                .file_name()
                .map(|b| b.to_string_lossy().into_owned())
                .unwrap_or_default();
            (rootfs_path::resolve(rootfs, parent)?, Some(base))
        };
        for entry in ctx.entries(source)? {
            let rel = match &name {
                Some(base) => dir.join(base),
                None => in_image(rootfs, &dir, &entry)?,
            };
            put(&mut files, &entry, &rel, req.owner)?;
        }
    }
    files.finish()?;
    Ok(())
}

/// Where a directory source's `entry` lands under `dir`: its parent resolved in the image
/// (so that `lib/x` goes to `usr/lib/x` where the image has `lib -> usr/lib`, as Docker
/// follows the image's symlinks), and a directory resolved itself too.
fn in_image(rootfs: &Path, dir: &Path, entry: &Entry) -> Result<PathBuf> {
    let target = dir.join(&entry.rel);
    if entry.meta.is_dir() {
        return Ok(rootfs_path::resolve(rootfs, &target)?);
    }
    let parent = target.parent().unwrap_or(Path::new(""));
    let resolved = rootfs_path::resolve(rootfs, parent)?;
    Ok(match target.file_name() {
        Some(base) => resolved.join(base),
        None => resolved,
    })
}

/// Applies one context entry at `rel` (relative to the root filesystem).
fn put(files: &mut Extractor, entry: &Entry, rel: &Path, owner: (u32, u32)) -> Result<()> {
    let kind = entry.meta.file_type();
    let (kind_flag, link) = if kind.is_dir() {
        (b'5', Vec::new())
    } else if kind.is_symlink() {
        let target = fs::read_link(&entry.path).at(&entry.path)?;
        (b'2', target.into_os_string().into_encoded_bytes())
    } else if kind.is_file() {
        (b'0', Vec::new())
    } else {
        return Ok(()); // sockets, devices, fifos in a context are not sent by Docker either
    };
    let meta = EntryMeta {
        name: rel.as_os_str().as_encoded_bytes().to_vec(),
        link,
        kind: kind_flag,
        size: if kind_flag == b'0' {
            entry.meta.size()
        } else {
            0
        },
        mode: entry.meta.permissions().mode() & 0o7777,
        uid: owner.0.into(),
        gid: owner.1.into(),
        mtime: entry.meta.mtime(),
        device: (0, 0),
        xattrs: Vec::new(),
    };
    if kind_flag == b'0' {
        let mut file = fs::File::open(&entry.path).at(&entry.path)?;
        files.entry(&meta, &mut file)?;
    } else {
        files.entry(&meta, &mut std::io::empty())?;
    }
    Ok(())
}

/// Whether `path` is a tar archive (plain, or gzip-compressed), by its first bytes.
fn is_tar(path: &Path) -> Result<bool> {
    let mut file = fs::File::open(path).at(path)?;
    let mut head = vec![0u8; 512];
    let n = read_full(&mut file, &mut head).at(path)?;
    if n >= 2 && head[..2] == [0x1f, 0x8b] {
        return Ok(true);
    }
    Ok(n == 512 && &head[257..262] == b"ustar")
}

fn read_full(file: &mut fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    file.rewind()?;
    Ok(n)
}

/// Unpacks the archive `path` into `dest` with the layer extractor (owners as archived), its
/// `.wh.*` entries as plain files: an `ADD`ed archive is not a layer, and Docker interprets
/// no whiteouts in it.
fn unpack(path: &Path, dest: &Path) -> Result<()> {
    let file = fs::File::open(path).at(path)?;
    let mut input = crate::layer::decompressed(file)?;
    let name = path.display().to_string();
    let mut extractor = Extractor::new(dest, &name, Whiteouts::Literal);
    tarsplit::disassemble(&mut input, std::io::sink(), |meta, data| {
        extractor.entry(meta, data)
    })
    .map_err(|e| match e {
        tarsplit::TarError::Entry(inner) => inner,
        other => Error::malformed(path, other.to_string()),
    })?;
    extractor.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_copies_follow_the_images_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let rootfs = dir.path().join("rootfs");
        fs::create_dir_all(rootfs.join("usr/lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", rootfs.join("lib")).unwrap();
        let ctx_dir = dir.path().join("ctx");
        fs::create_dir_all(ctx_dir.join("tree/lib/sub")).unwrap();
        fs::write(ctx_dir.join("tree/lib/sub/x"), "x").unwrap();
        let ctx = Context::open(&ctx_dir).unwrap();
        let sources = ctx.sources("COPY", &["tree".to_owned()]).unwrap();
        let req = CopyRequest {
            instruction: "COPY",
            sources: &sources,
            dest: "/",
            owner: (
                nix::unistd::getuid().as_raw(),
                nix::unistd::getgid().as_raw(),
            ),
        };
        copy(&ctx, &req, &rootfs).unwrap();
        assert_eq!(
            fs::read_to_string(rootfs.join("usr/lib/sub/x")).unwrap(),
            "x"
        );
        assert!(fs::symlink_metadata(rootfs.join("lib"))
            .unwrap()
            .file_type()
            .is_symlink());
    }
}
