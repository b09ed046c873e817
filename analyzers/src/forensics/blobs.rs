//! `strata verify` on a containerd store: every content blob hashed against its digest, and
//! every image layer's snapshot checked against the blob it was unpacked from: the blob
//! decompressed must hash to the layer's diff id, and the snapshot's files must be the tar's
//! (the same names, whiteouts and opaque markers; regular files of the same size), with the
//! snapshot's recorded usage equal to its usage now.
//!
//! Blobs are read through the store's jail, 1 MiB at a time; a layer is never held in memory.

use std::collections::{BTreeSet, HashSet};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use super::verify::{list_overlay, normalise, LayerCheck, Mismatch, MismatchKind, OwnEntries};
use super::CHUNK;
use crate::error::{Problem, ProblemKind};
use crate::fs::{self, Jail};
use crate::graph::Layer;
use crate::ids::{DiffId, Digest};
use crate::walk::{self, WalkOptions};

/// A blob of a content store, as its records describe it.
#[derive(Debug, Clone)]
pub struct Blob {
    /// Its digest.
    pub digest: Digest,
    /// Its recorded size.
    pub size: i64,
    /// Its media type, where a descriptor gives it.
    pub media_type: String,
    /// Its file.
    pub path: PathBuf,
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

fn compression(media_type: &str) -> Compression {
    if media_type.ends_with("+zstd") || media_type.ends_with(".zstd") {
        Compression::Zstd
    } else if media_type.ends_with("gzip") {
        Compression::Gzip
    } else {
        Compression::None
    }
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads what is left, so that the digest covers the whole stream.
    fn drain(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; CHUNK];
        while self.read(&mut buf)? > 0 {}
        Ok(())
    }

    fn digest(self) -> Digest {
        Digest::of_hash(&self.hasher.finalize())
    }
}

/// Hashes every blob of `blobs` (in parallel) whose digest is not in `done`; each mismatch,
/// size difference or unreadable file is a problem.
pub fn check_blobs(jail: &Jail, blobs: &[Blob], done: &HashSet<Digest>) -> Vec<Problem> {
    let todo: Vec<&Blob> = blobs.iter().filter(|b| !done.contains(&b.digest)).collect();
    todo.par_iter()
        .flat_map_iter(|b| check_blob(jail, b))
        .collect()
}

fn check_blob(jail: &Jail, blob: &Blob) -> Option<Problem> {
    let mut hasher = Sha256::new();
    let hashed = super::stream_file(jail, &blob.path, |b| hasher.update(b))
        .map(|bytes| (bytes, Digest::of_hash(&hasher.finalize())));
    match hashed {
        Err(e) => Some(fs::io_problem(&blob.path, &e)),
        Ok((_, digest)) if digest != blob.digest => Some(Problem::new(
            &blob.path,
            ProblemKind::ContentMismatch,
            format!("blob {} hashes to {digest}", blob.digest),
        )),
        Ok((bytes, _)) if i64::try_from(bytes).ok() != Some(blob.size) => Some(Problem::new(
            &blob.path,
            ProblemKind::ContentMismatch,
            format!(
                "blob {} is {bytes} bytes, its record says {}",
                blob.digest, blob.size
            ),
        )),
        Ok(_) => None,
    }
}

/// The tar's names and the sizes of its regular files, and the digests of the blob and of
/// the tar inside it.
struct Unpacked {
    blob_digest: Digest,
    tar_digest: Digest,
    tar_bytes: u64,
    names: BTreeSet<Vec<u8>>,
    files: Vec<(Vec<u8>, u64)>,
}

fn read_blob(jail: &Jail, blob: &Blob) -> io::Result<Unpacked> {
    let mut outer = Hashing::new(jail.file(&blob.path)?);
    let (tar_digest, tar_bytes, names, files) = {
        let decompressed: Box<dyn Read + '_> = match compression(&blob.media_type) {
            Compression::None => Box::new(&mut outer),
            Compression::Gzip => Box::new(flate2::read::GzDecoder::new(&mut outer)),
            Compression::Zstd => {
                return Err(io::Error::other(
                    "a zstd layer: strata has no zstd decoder, the diff id cannot be checked",
                ))
            }
        };
        let mut inner = Hashing::new(decompressed);
        let mut names = BTreeSet::new();
        let mut files = Vec::new();
        {
            let mut archive = tar::Archive::new(&mut inner);
            for entry in archive.entries()? {
                let entry = entry?;
                let name = normalise(&entry.path_bytes());
                if name.is_empty() {
                    continue;
                }
                if entry.header().entry_type().is_file() {
                    files.push((name.clone(), entry.size()));
                }
                names.insert(name);
            }
        }
        inner.drain()?;
        let bytes = inner.bytes;
        (inner.digest(), bytes, names, files)
    };
    outer.drain()?;
    Ok(Unpacked {
        blob_digest: outer.digest(),
        tar_digest,
        tar_bytes,
        names,
        files,
    })
}

/// Checks `layer`, whose files are in `content`, against `blob`.
pub fn check_layer(
    jail: &Jail,
    layer: &Layer,
    content: &Path,
    blob: &Blob,
) -> (LayerCheck, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut check = LayerCheck::unchecked(layer);
    let unpacked = match read_blob(jail, blob) {
        Ok(u) => u,
        Err(e) => {
            problems.push(Problem::new(
                &blob.path,
                ProblemKind::Unreadable,
                format!(
                    "layer blob {} of layer {}: {e}",
                    blob.digest, layer.chain_id
                ),
            ));
            return (check, problems);
        }
    };
    if unpacked.blob_digest != blob.digest {
        problems.push(Problem::new(
            &blob.path,
            ProblemKind::ContentMismatch,
            format!("blob {} hashes to {}", blob.digest, unpacked.blob_digest),
        ));
    }
    check.tar_bytes = unpacked.tar_bytes;
    let digest_ok = unpacked.tar_digest == layer.diff_id.0;
    check.computed_diff_id = Some(DiffId(unpacked.tar_digest.clone()));
    if !digest_ok {
        problems.push(Problem::new(
            &blob.path,
            ProblemKind::ContentMismatch,
            format!(
                "layer {} unpacks from a tar that hashes to {}, not its diff id",
                layer.chain_id, unpacked.tar_digest
            ),
        ));
    }
    let mismatches = compare_listing(jail, content, &unpacked);
    if !mismatches.is_empty() {
        problems.push(Problem::new(
            content,
            ProblemKind::ContentMismatch,
            format!(
                "snapshot of layer {} differs from its blob: {} path(s), first {} {}",
                layer.chain_id,
                mismatches.len(),
                format!("{:?}", mismatches[0].kind).to_lowercase(),
                crate::text::display(&mismatches[0].path)
            ),
        ));
    }
    let measured = walk::measure(jail, &[content.to_path_buf()], &WalkOptions::default());
    let usage = measured
        .first()
        .filter(|u| !u.root_failed())
        .map(|u| u.allocated);
    check.content_size = usage;
    let size_ok = usage.is_some_and(|u| i64::try_from(u).ok() == Some(layer.size));
    if !size_ok {
        problems.push(Problem::new(
            content,
            ProblemKind::ContentMismatch,
            format!(
                "snapshot of layer {} was recorded as {} bytes, it uses {} now",
                layer.chain_id,
                layer.size,
                usage.map_or_else(|| "?".to_owned(), |u| u.to_string())
            ),
        ));
    }
    check.ok = digest_ok && size_ok && mismatches.is_empty() && unpacked.blob_digest == blob.digest;
    check.mismatches = mismatches;
    (check, problems)
}

/// The paths where the snapshot's files and the tar disagree.
fn compare_listing(jail: &Jail, content: &Path, unpacked: &Unpacked) -> Vec<Mismatch> {
    let mut own = BTreeSet::new();
    let (mut size, mut seen) = (0, HashSet::new());
    let mut listing = OwnEntries {
        names: &mut own,
        size: &mut size,
        seen: &mut seen,
        fuse_lower: None,
    };
    list_overlay(jail, content, Path::new(""), &mut listing);
    let as_path = |n: &Vec<u8>| PathBuf::from(std::ffi::OsStr::from_bytes(n));
    let mut out: Vec<Mismatch> = own
        .difference(&unpacked.names)
        .map(|n| Mismatch {
            path: as_path(n),
            kind: MismatchKind::Added,
        })
        .chain(unpacked.names.difference(&own).map(|n| Mismatch {
            path: as_path(n),
            kind: MismatchKind::Removed,
        }))
        .collect();
    for (name, tar_size) in &unpacked.files {
        let path = content.join(std::ffi::OsStr::from_bytes(name));
        let changed = match jail.stat(&path) {
            Ok(st) => u64::try_from(st.st_size).ok() != Some(*tar_size) || !fs::is_regular(&st),
            Err(_) => false,
        };
        if changed {
            out.push(Mismatch {
                path: as_path(name),
                kind: MismatchKind::Changed,
            });
        }
    }
    out.sort();
    out
}
