//! `strata verify [IMAGE|LAYER]`: each layer's diff id recomputed from its content, as
//! `docker save` would rebuild the layer's tar, and its recorded size compared with the bytes
//! on disk.
//!
//! # How the tar is rebuilt
//!
//! dockerd keeps, per layer, `tar-split.json.gz` (vbatts/tar-split, read with
//! [`crate::format::tarsplit`]): gzipped JSON lines, one
//! per piece of the original tar stream. A segment (`"type": 2`) carries raw bytes (headers,
//! padding, the end blocks) base64-encoded in `payload`; a file entry (`"type": 1`) carries
//! `name` (or `name_raw`, base64, when not UTF-8), `size` and `payload`, the CRC-64 (ISO) of the
//! file's bytes, which come from the layer directory (overlay2's `diff/`, vfs's copy), exactly
//! as moby's layer store reassembles the stream (`storage.NewPathFileGetter`). Whiteouts and
//! opaque markers are zero-size entries, whose bytes are all in the segments. The stream is
//! hashed as it is rebuilt, 1 MiB at a time: a layer is never held in memory.
//!
//! Layers are verified in parallel (rayon, one layer per task). When a digest differs, a
//! second pass computes each file's CRC-64 against the recorded one to name the files whose
//! bytes changed; files added to the layer directory (present there, absent from the tar) and
//! files removed (in the tar, absent there) are named from the listing. overlay2 names map
//! back to the tar's: a whiteout `x` is `.wh.x`, an opaque directory `d` also holds
//! `d/.wh..wh..opq` (moby's overlay2 `Diff`).
//!
//! The recorded `size` is what the driver measured when the layer was made: on overlay2 the
//! apparent size of `diff/` (every non-directory once per inode, moby `directory.Size`); on
//! vfs the sum of the tar entries' sizes (`ApplyUncompressedLayer`).

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsStr;
use std::io::BufReader;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::diff::read_full;
use super::union::{is_opaque, is_whiteout, Union};
use crate::backend::Backend;
use crate::changes::{self, is_dir, ChangeKind};
use crate::driver::Driver;
use crate::error::{Problem, ProblemKind};
use crate::format::tarsplit::{self, Crc64, Record};
use crate::format::whiteout::{whiteout_name, Whiteouts, WHITEOUT_OPAQUE};
use crate::fs::{self, Jail};
use crate::graph::{Layer, Store};
use crate::ids::{CacheId, ChainId, DiffId, Digest};
use crate::text;

use super::CHUNK;

/// What is wrong with one path of a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MismatchKind {
    /// In the layer directory, not in the layer's tar: added after the layer was made.
    Added,
    /// In the tar, not in the layer directory: removed after the layer was made.
    Removed,
    /// In both, with other bytes (CRC-64 or size differs).
    Changed,
}

/// One path that no longer matches the layer's record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mismatch {
    /// The path as the tar names it (`app/notes.txt`, `.wh.gone`), as bytes.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// What happened to it.
    pub kind: MismatchKind,
}

/// The verdict on one layer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerCheck {
    /// The layer's chain id.
    pub chain_id: ChainId,
    /// The driver's directory.
    pub cache_id: CacheId,
    /// The diff id layerdb records.
    pub recorded_diff_id: DiffId,
    /// The digest of the rebuilt tar, when it could be rebuilt.
    pub computed_diff_id: Option<DiffId>,
    /// The recorded `size`, bytes.
    pub recorded_size: i64,
    /// The same measure taken now (see the module docs), bytes.
    pub content_size: Option<u64>,
    /// Bytes of the rebuilt tar stream that were hashed.
    pub tar_bytes: u64,
    /// True when the digest and the size both match.
    pub ok: bool,
    /// The paths that explain a mismatch, sorted.
    pub mismatches: Vec<Mismatch>,
}

impl LayerCheck {
    /// The verdict on `layer` before anything is checked: not ok, nothing computed.
    pub fn unchecked(layer: &Layer) -> LayerCheck {
        LayerCheck {
            chain_id: layer.chain_id.clone(),
            cache_id: layer.cache_id.clone(),
            recorded_diff_id: layer.diff_id.clone(),
            computed_diff_id: None,
            recorded_size: layer.size,
            content_size: None,
            tar_bytes: 0,
            ok: false,
            mismatches: Vec::new(),
        }
    }
}

/// `strata verify`'s report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyReport {
    /// The storage driver.
    pub driver: String,
    /// One verdict per layer, by chain id.
    pub layers: Vec<LayerCheck>,
    /// Layers that match their record.
    pub verified: usize,
    /// Layers that do not (or could not be checked).
    pub failed: usize,
    /// Bytes of tar streams hashed in all.
    pub bytes: u64,
    /// Wall time, milliseconds.
    pub millis: u64,
    /// Every failure, one line each, and damaged records (an unreadable `tar-split.json.gz`).
    pub problems: Vec<Problem>,
}

/// A file entry of the tar: its name as bytes, size and recorded CRC-64.
struct FileEntry {
    name: Vec<u8>,
    size: u64,
    crc: Option<[u8; 8]>,
}

/// What one pass over the tar-split gave.
struct Pass {
    digest: Digest,
    tar_bytes: u64,
    names: BTreeSet<Vec<u8>>,
    files: Vec<FileEntry>,
    mismatches: Vec<Mismatch>,
}

/// Verifies `layers` of `store`, in parallel (on the current rayon pool).
pub fn verify(store: &Store, layers: &[&Layer]) -> VerifyReport {
    let started = Instant::now();
    let results: Vec<(LayerCheck, Vec<Problem>, Option<Digest>)> =
        layers.par_iter().map(|l| check_layer(store, l)).collect();
    // The load's problems too: a verdict on a store with damaged records is not clean.
    let mut problems = store.problems.clone();
    let mut checks = Vec::new();
    // The blobs the layer checks read.
    let mut hashed: HashSet<Digest> = HashSet::new();
    for (check, p, blob) in results {
        problems.extend(p);
        checks.push(check);
        hashed.extend(blob);
    }
    // Then every other blob the store records (manifests, configs, other images' layers).
    problems.extend(super::blobs::check_blobs(
        &store.jail,
        &store.backend.blobs(store),
        &hashed,
    ));
    checks.sort_by(|a, b| a.chain_id.cmp(&b.chain_id));
    problems.sort();
    problems.dedup();
    let verified = checks.iter().filter(|c| c.ok).count();
    VerifyReport {
        driver: store.driver.name().to_owned(),
        failed: checks.len() - verified,
        verified,
        bytes: checks.iter().map(|c| c.tar_bytes).sum(),
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        layers: checks,
        problems,
    }
}

/// The verdict on `layer`, its problems, and the blob it was checked against, if the store
/// keeps one (else its tar-split is).
fn check_layer(store: &Store, layer: &Layer) -> (LayerCheck, Vec<Problem>, Option<Digest>) {
    // A layer whose files (or its parent's, which its own changes are drawn from) cannot be
    // read is not verified: a zfs dataset or thin device that is not mounted.
    if let Some(problem) = super::layer_view(store, layer).unknown() {
        return (LayerCheck::unchecked(layer), vec![problem.clone()], None);
    }
    let content = store.driver.content_dir(&layer.cache_id);
    if let Some(blob) = store.backend.layer_blob(store, layer) {
        let (check, problems) = super::blobs::check_layer(&store.jail, layer, &content, &blob);
        return (check, problems, Some(blob.digest));
    }
    let (check, problems) = check_tar_split(store, layer, &content);
    (check, problems, None)
}

/// `layer` rebuilt from its tar-split record and its files in `content`.
fn check_tar_split(store: &Store, layer: &Layer, content: &Path) -> (LayerCheck, Vec<Problem>) {
    let split = store.backend.tar_split(layer);
    let mut problems = Vec::new();
    let mut check = LayerCheck::unchecked(layer);
    match store.jail.stat(content) {
        Ok(st) if fs::is_dir_stat(&st) => {}
        Ok(st) => {
            problems.push(Problem::new(
                content,
                ProblemKind::Unreadable,
                format!(
                    "content of layer {} is {}, not a directory: not followed",
                    layer.chain_id,
                    fs::kind_of(&st)
                ),
            ));
            return (check, problems);
        }
        Err(_) => {
            problems.push(Problem::new(
                content,
                ProblemKind::Missing,
                format!("content of layer {} is gone", layer.chain_id),
            ));
            return (check, problems);
        }
    }
    let jail = &store.jail;
    let pass = match rebuild(jail, &split.path, content) {
        Ok(p) => p,
        Err(p) => {
            problems.push(p);
            return (check, problems);
        }
    };
    check.tar_bytes = pass.tar_bytes;
    let digest_ok = pass.digest == layer.diff_id.0;
    check.computed_diff_id = Some(DiffId(pass.digest));
    let mut mismatches = pass.mismatches;
    let listing = list_layer(store, layer, content, &pass.names, &pass.files);
    mismatches.extend(listing.mismatches);
    check.content_size = Some(listing.size);
    if !digest_ok && !mismatches.iter().any(|m| m.kind == MismatchKind::Changed) {
        mismatches.extend(changed_by_crc(jail, content, &pass.files));
    }
    mismatches.sort();
    mismatches.dedup();
    let measured = if split.size_is_stream {
        pass.tar_bytes
    } else {
        listing.size
    };
    let size_ok = i64::try_from(measured).is_ok_and(|s| s == layer.size);
    check.ok = digest_ok && size_ok && mismatches.is_empty();
    if !digest_ok {
        problems.push(Problem::new(
            content,
            ProblemKind::ContentMismatch,
            format!(
                "layer {} rebuilds to {}, not its diff id{}",
                layer.chain_id,
                check
                    .computed_diff_id
                    .as_ref()
                    .map_or(String::new(), ToString::to_string),
                describe(&mismatches)
            ),
        ));
    } else if !mismatches.is_empty() {
        problems.push(Problem::new(
            content,
            ProblemKind::ContentMismatch,
            format!(
                "layer {} digest matches but{}",
                layer.chain_id,
                describe(&mismatches)
            ),
        ));
    }
    if !size_ok {
        problems.push(Problem::new(
            layer.record.join(crate::layout::LAYER_SIZE),
            ProblemKind::ContentMismatch,
            format!(
                "recorded size {} but the content measures {}",
                layer.size, listing.size
            ),
        ));
    }
    check.mismatches = mismatches;
    (check, problems)
}

/// `: added x, changed y` for a problem line (at most 5 paths).
fn describe(mismatches: &[Mismatch]) -> String {
    if mismatches.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = mismatches
        .iter()
        .take(5)
        .map(|m| {
            format!(
                "{} {}",
                format!("{:?}", m.kind).to_lowercase(),
                text::display(&m.path)
            )
        })
        .collect();
    let more = mismatches.len().saturating_sub(5);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(": {}{tail}", shown.join(", "))
}

/// Normalises a tar name for comparison with the layer directory: no `./` or `/` in front,
/// no `/` at the end.
pub(super) fn normalise(name: &[u8]) -> Vec<u8> {
    let mut name = name;
    loop {
        if let Some(rest) = name.strip_prefix(b"./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        } else {
            break;
        }
    }
    while let Some(rest) = name.strip_suffix(b"/") {
        name = rest;
    }
    name.to_vec()
}

/// The path of a tar entry inside the layer directory: its name with leading `/` and `./`
/// taken off; `None` for a name that climbs (`..`) or is empty, which no layer tar holds.
fn entry_path(name: &[u8]) -> Option<PathBuf> {
    use std::path::Component;
    let path = Path::new(std::ffi::OsStr::from_bytes(name));
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Rebuilds the tar stream from `split` and the files under `content`, hashing it.
fn rebuild(jail: &Jail, split: &Path, content: &Path) -> Result<Pass, Problem> {
    let file = jail.file(split).map_err(|e| fs::io_problem(split, &e))?;
    let mut reader = tarsplit::Reader::new(BufReader::new(flate2::read::GzDecoder::new(file)));
    let mut hasher = Sha256::new();
    let mut pass = Pass {
        digest: Digest::of_bytes(b""),
        tar_bytes: 0,
        names: BTreeSet::new(),
        files: Vec::new(),
        mismatches: Vec::new(),
    };
    let mut buf = vec![0u8; CHUNK];
    let damaged = |line: usize, what: String| {
        Problem::new(
            split,
            ProblemKind::InvalidValue,
            format!("line {line}: {what}; the layer cannot be verified"),
        )
    };
    loop {
        let record = reader
            .next_record()
            .map_err(|d| damaged(d.line, d.detail))?;
        match record {
            None => break,
            Some(Record::Segment(bytes)) => {
                hasher.update(&bytes);
                pass.tar_bytes += bytes.len() as u64;
            }
            Some(Record::File { name, size, crc }) => {
                let text = normalise(&name);
                if !text.is_empty() {
                    pass.names.insert(text.clone());
                }
                if size > 0 {
                    let rel = entry_path(&name).ok_or_else(|| {
                        damaged(
                            reader.line_number(),
                            format!(
                                "entry {:?} climbs out of the layer",
                                String::from_utf8_lossy(&name)
                            ),
                        )
                    })?;
                    let path = content.join(rel);
                    let fed = feed(jail, &path, size, &mut hasher, &mut buf);
                    pass.tar_bytes += fed;
                    match fed_state(jail, &path, size) {
                        FileState::Same => {}
                        FileState::Gone => pass.mismatches.push(Mismatch {
                            path: as_path(&text),
                            kind: MismatchKind::Removed,
                        }),
                        FileState::Resized => pass.mismatches.push(Mismatch {
                            path: as_path(&text),
                            kind: MismatchKind::Changed,
                        }),
                    }
                }
                pass.files.push(FileEntry { name, size, crc });
            }
        }
    }
    pass.digest = Digest::from_hex(&crate::ids::hex_lower(&hasher.finalize()))
        .unwrap_or_else(|| Digest::of_bytes(b""));
    Ok(pass)
}

enum FileState {
    Same,
    Gone,
    Resized,
}

fn fed_state(jail: &Jail, path: &Path, size: u64) -> FileState {
    match jail.stat(path) {
        Err(_) => FileState::Gone,
        Ok(st) if u64::try_from(st.st_size).ok() != Some(size) => FileState::Resized,
        Ok(_) => FileState::Same,
    }
}

/// Feeds up to `size` bytes of `path` to the hasher; the count fed (short for a missing or
/// shrunk file, which then cannot match).
fn feed(jail: &Jail, path: &Path, size: u64, hasher: &mut Sha256, buf: &mut [u8]) -> u64 {
    let Ok(mut f) = jail.file(path) else {
        return 0;
    };
    let mut left = size;
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        match read_full(&mut f, &mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                left -= n as u64;
            }
        }
    }
    size - left
}

/// The second pass: the files whose CRC-64 no longer matches the recorded one.
fn changed_by_crc(jail: &Jail, content: &Path, files: &[FileEntry]) -> Vec<Mismatch> {
    files
        .par_iter()
        .filter(|f| f.size > 0)
        .filter_map(|f| {
            let want = f.crc?;
            let path = content.join(entry_path(&f.name)?);
            let got = crc64_file(jail, &path).ok()?;
            (got.to_be_bytes() != want).then(|| Mismatch {
                path: as_path(&normalise(&f.name)),
                kind: MismatchKind::Changed,
            })
        })
        .collect()
}

/// What the listing of the layer directory says.
struct Listing {
    size: u64,
    mismatches: Vec<Mismatch>,
}

/// Lists the layer's own entries (its own directory whole, e.g. overlay2 `diff/`; for a full
/// copy, what it adds to the parent's copy), names them as the tar would, and compares them
/// with the tar's names; also takes the driver's size measure.
fn list_layer(
    store: &Store,
    layer: &Layer,
    content: &Path,
    tar_names: &BTreeSet<Vec<u8>>,
    files: &[FileEntry],
) -> Listing {
    let jail = &store.jail;
    let mut own: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut own_size = 0;
    match super::layer_view(store, layer).naive_changes(jail) {
        Some((found, _)) => {
            own.extend(
                found
                    .iter()
                    .filter(|c| c.kind == ChangeKind::Added)
                    .map(|c| normalise(c.path.as_os_str().as_bytes())),
            );
        }
        None => {
            let mut seen = HashSet::new();
            // Under fuse-overlayfs, its own bookkeeping is told apart against the layers below.
            let fuse_lower = (store.driver.whiteouts() == Some(Whiteouts::Fuse)).then(|| {
                let below = store.chain_below(layer.parent.as_ref());
                let dirs = below.iter().map(|l| store.driver.content_dir(&l.cache_id));
                Union::new(jail, Whiteouts::Fuse, dirs.collect())
            });
            let mut listing = OwnEntries {
                names: &mut own,
                size: &mut own_size,
                seen: &mut seen,
                fuse_lower: fuse_lower.as_ref(),
            };
            list_overlay(jail, content, Path::new(""), &mut listing);
        }
    }
    let size = if store.driver.records_tar_size() {
        // The sizes the tar-split records, which a damaged one may put anywhere in u64.
        files.iter().map(|f| f.size).fold(0, u64::saturating_add)
    } else {
        own_size
    };
    let mut mismatches: Vec<Mismatch> = own
        .iter()
        .filter(|n| !tar_names.contains(*n))
        .map(|n| Mismatch {
            path: as_path(n),
            kind: MismatchKind::Added,
        })
        .collect();
    // Only a layer directory that keeps the tar's whiteouts holds every name of the tar.
    if store.driver.keeps_whiteouts() {
        mismatches.extend(
            tar_names
                .iter()
                .filter(|n| !own.contains(*n))
                .map(|n| Mismatch {
                    path: as_path(n),
                    kind: MismatchKind::Removed,
                }),
        );
    }
    Listing { size, mismatches }
}

/// A normalised tar name as a path.
fn as_path(name: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(name))
}

/// What [`list_overlay`] gathers from a layer directory.
pub(super) struct OwnEntries<'a> {
    /// Every entry's tar name.
    pub names: &'a mut BTreeSet<Vec<u8>>,
    /// The apparent size of the non-directories, once per inode.
    pub size: &'a mut u64,
    /// The multiply-linked inodes counted so far.
    pub seen: &'a mut HashSet<(u64, u64)>,
    /// The layers below, when fuse-overlayfs may have written the directory through its
    /// mount (a container, a BuildKit step): what it keeps there for itself is then no tar
    /// entry. It copies up directories it only looked into, and marks every directory it
    /// creates opaque (a `.wh..wh..opq` file and a `.wh..opq` device) though no lower layer
    /// has it.
    pub fuse_lower: Option<&'a Union>,
}

impl OwnEntries<'_> {
    /// True when `rel` (relative to the layer) is fuse-overlayfs bookkeeping: an opaque
    /// marker in a directory no lower layer has.
    fn is_fuse_marker(&self, rel: &Path, tar_name: &OsStr) -> bool {
        tar_name == WHITEOUT_OPAQUE
            && self.fuse_lower.is_some_and(|lower| {
                let dir = rel.parent().unwrap_or(Path::new(""));
                !dir.as_os_str().is_empty()
                    && !lower
                        .lookup(&Path::new("/").join(dir))
                        .is_some_and(|f| is_dir(&f.stat))
            })
    }

    /// True when the directory `rel` with stat `st`, holding no entry of its own, is a
    /// fuse-overlayfs copy-up: the lower layers have it unchanged.
    fn is_fuse_copy_up(&self, rel: &Path, st: &nix::sys::stat::FileStat) -> bool {
        self.fuse_lower.is_some_and(|lower| {
            lower
                .lookup(&Path::new("/").join(rel))
                .is_some_and(|f| is_dir(&f.stat) && !changes::stat_differs(&f.stat, st))
        })
    }
}

/// Walks a layer directory recursively: every entry's tar name, and the apparent size of
/// non-directories (once per inode), into `out`.
pub(super) fn list_overlay(jail: &Jail, dir: &Path, rel: &Path, out: &mut OwnEntries<'_>) {
    let mut errors = Vec::new();
    for (name, st) in changes::list(jail, &dir.join(rel), &mut errors) {
        let path = rel.join(&name);
        if is_whiteout(&st) {
            let tar_name = whiteout_name(&name);
            if !out.is_fuse_marker(&rel.join(&tar_name), &tar_name) {
                out.names
                    .insert(rel.join(tar_name).into_os_string().into_vec());
            }
            continue;
        }
        if out.is_fuse_marker(&path, &name) {
            continue;
        }
        if is_dir(&st) {
            let mut inner = BTreeSet::new();
            // Tar names: where fuse-overlayfs applied a layer, its AUFS names are the files
            // they are, listed as such below.
            let marker = path.join(WHITEOUT_OPAQUE);
            if is_opaque(jail, Whiteouts::Kernel, &dir.join(&path))
                && !out.is_fuse_marker(&marker, OsStr::new(WHITEOUT_OPAQUE))
            {
                inner.insert(marker.into_os_string().into_vec());
            }
            let mut below = OwnEntries {
                names: &mut inner,
                size: &mut *out.size,
                seen: &mut *out.seen,
                fuse_lower: out.fuse_lower,
            };
            list_overlay(jail, dir, &path, &mut below);
            if !(inner.is_empty() && out.is_fuse_copy_up(&path, &st)) {
                out.names.insert(path.as_os_str().as_bytes().to_vec());
            }
            out.names.extend(inner);
        } else {
            out.names.insert(path.as_os_str().as_bytes().to_vec());
            if st.st_nlink <= 1 || out.seen.insert((st.st_dev, st.st_ino)) {
                *out.size += u64::try_from(st.st_size).unwrap_or(0);
            }
        }
    }
}

/// The CRC-64 of the file at `path`, as tar-split records it.
fn crc64_file(jail: &Jail, path: &Path) -> std::io::Result<u64> {
    let mut crc = Crc64::default();
    super::stream_file(jail, path, |bytes| crc.update(bytes))?;
    Ok(crc.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip_to(path: &Path, bytes: &[u8]) {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(bytes).unwrap();
        std::fs::write(path, gz.finish().unwrap()).unwrap();
    }

    /// A record naming `/dev/zero` with a huge size made verify read the host's `/dev/zero`
    /// for ever (reproduced with `fuzz/fuzz_targets/tarsplit_verify.rs`); names are the
    /// layer's, and `..` makes the record damaged.
    #[test]
    fn names_never_leave_the_layer() {
        let dir = tempfile::tempdir().unwrap();
        let content = dir.path().join("diff");
        std::fs::create_dir(&content).unwrap();
        let split = dir.path().join("tar-split.json.gz");
        gzip_to(
            &split,
            include_bytes!("../../testdata/fuzz/tarsplit-devzero.json"),
        );
        let jail = Jail::open(dir.path()).unwrap();
        let pass = rebuild(&jail, &split, &content).unwrap();
        assert_eq!(pass.tar_bytes, 0, "nothing of the host's /dev/zero is read");
        assert_eq!(pass.mismatches[0].kind, MismatchKind::Removed);
        assert!(changed_by_crc(&jail, &content, &pass.files).is_empty());
        gzip_to(
            &split,
            br#"{"type":1,"name":"../../etc/passwd","size":3,"payload":null,"position":0}"#,
        );
        let err = rebuild(&jail, &split, &content).err().unwrap();
        assert!(err.detail.contains("climbs out"), "{err:?}");
    }

    #[test]
    fn crc64_of_a_file_matches_go() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        // The catalogue's check value of CRC-64/GO-ISO.
        std::fs::write(&p, b"123456789").unwrap();
        let jail = Jail::open(dir.path()).unwrap();
        assert_eq!(crc64_file(&jail, &p).unwrap(), 0xB909_56C7_75A4_1001);
    }

    #[test]
    fn names_normalise_like_the_layer_directory() {
        assert_eq!(normalise(b"./app/"), b"app");
        assert_eq!(normalise(b"/etc/motd"), b"etc/motd");
        assert_eq!(normalise(b"./"), b"");
        // Names are bytes: one that is not UTF-8 stays itself.
        assert_eq!(normalise(b"./a\xff/"), b"a\xff");
    }
}
