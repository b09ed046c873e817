//! `strata dupes`: identical files stored more than once across layers (layers are shared
//! whole or not at all, so the same file added by two builds is stored twice), the bytes
//! wasted, per image an efficiency score, and the files an image writes in one layer and
//! deletes or overwrites in a later one (bytes stored that never reach its filesystem).
//!
//! # Algorithm
//!
//! Each distinct layer is listed once, in parallel: its own regular files (overlay2: all of
//! `diff/`; vfs: what differs from the parent's copy, [`crate::changes::compare`]), its
//! deletions (whiteouts) and opaque directories. Files are grouped by size; only sizes held by
//! two or more distinct inodes are read, and those files are hashed with sha256 in parallel
//! (rayon, streamed 1 MiB at a time). A multiply-linked inode is one file.
//!
//! Efficiency follows dive: an image's stack is replayed bottom-up (a later file overwrites
//! the same path, a whiteout deletes a path and everything under it, an opaque directory
//! hides everything below it); `Efficiency = FinalBytes / StoredBytes`, where `StoredBytes`
//! sums every file of every layer and `FinalBytes` those that remain visible. An image with a
//! layer whose files cannot be read (zfs, devicemapper: not mounted) gets no score, and the
//! layer is a problem.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::union::{is_opaque, role};
use crate::changes::{self, is_dir, ChangeKind};
use crate::driver::Driver;
use crate::error::{Problem, ProblemKind};
use crate::format::whiteout::{Role, Whiteouts};
use crate::fs::Jail;
use crate::graph::{Layer, Store};
use crate::ids::{hex_lower, ChainId, ImageId};

/// One stored copy of a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Copy {
    /// The layer holding it.
    pub layer: ChainId,
    /// Its path inside the layer, `/`-rooted.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
}

/// Files with the same content stored more than once.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DupeGroup {
    /// The content's sha256 (hex).
    pub sha256: String,
    /// Size of one copy, bytes.
    pub size: u64,
    /// Every copy (distinct inodes), sorted.
    pub copies: Vec<Copy>,
    /// `Size * (copies - 1)`: bytes that one copy would save.
    pub wasted_bytes: u64,
}

/// How an image's layers spend their bytes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageEfficiency {
    /// The image.
    pub id: ImageId,
    /// Its tags.
    pub repo_tags: Vec<String>,
    /// Apparent bytes of every file of every layer.
    pub stored_bytes: u64,
    /// Apparent bytes of the files visible in the image's filesystem.
    pub final_bytes: u64,
    /// `FinalBytes / StoredBytes` (1 for an image without files).
    pub efficiency: f64,
    /// Files written by one layer and deleted or overwritten by a later one.
    pub shadowed: Vec<Shadowed>,
}

/// A file an image stores but never shows.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Shadowed {
    /// The path, `/`-rooted.
    #[serde(flatten, serialize_with = "crate::text::json::path")]
    pub path: PathBuf,
    /// The layer that wrote it.
    pub written_in: ChainId,
    /// The later layer that deleted or overwrote it.
    pub hidden_by: ChainId,
    /// `deleted` or `overwritten`.
    pub how: String,
    /// Its apparent bytes.
    pub bytes: u64,
}

/// `strata dupes`' report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DupesReport {
    /// The storage driver.
    pub driver: String,
    /// Groups of identical files, most wasted bytes first.
    pub groups: Vec<DupeGroup>,
    /// Sum of the groups' `WastedBytes`.
    pub wasted_bytes: u64,
    /// Per image, least efficient first.
    pub images: Vec<ImageEfficiency>,
    /// Files listed in all layers.
    pub files: u64,
    /// Bytes read and hashed (only files sharing a size with another).
    pub hashed_bytes: u64,
    /// Wall time, milliseconds.
    pub millis: u64,
    /// What could not be read.
    pub problems: Vec<Problem>,
}

/// A regular file of a layer.
#[derive(Debug, Clone)]
struct File {
    path: PathBuf,
    size: u64,
    inode: (u64, u64),
}

/// A layer's own content, as its image's stack replays it.
#[derive(Debug, Default)]
struct LayerFiles {
    files: Vec<File>,
    deleted: Vec<PathBuf>,
    opaque: Vec<PathBuf>,
    problems: Vec<Problem>,
    /// True when the layer's files cannot be read (a zfs dataset or thin device not
    /// mounted): its images get no efficiency, which would be a guess.
    unreadable: bool,
}

/// Finds duplicates and per-image efficiency over every layer of `store`.
pub fn find(store: &Store) -> DupesReport {
    let started = Instant::now();
    let layers: Vec<&Layer> = store.layers.values().collect();
    let listed: Vec<LayerFiles> = layers.par_iter().map(|l| list_layer(store, l)).collect();
    let by_layer: BTreeMap<&ChainId, &LayerFiles> = layers
        .iter()
        .map(|l| &l.chain_id)
        .zip(listed.iter())
        .collect();
    // The load's problems too: images that did not load are missing from the figures.
    let mut problems: Vec<Problem> = store.problems.clone();
    problems.extend(listed.iter().flat_map(|l| l.problems.iter().cloned()));

    // Candidates: sizes held by two or more distinct inodes.
    let mut by_size: HashMap<u64, Vec<(&ChainId, &File)>> = HashMap::new();
    let mut seen = HashSet::new();
    for (chain, lf) in &by_layer {
        for f in &lf.files {
            if f.size > 0 && seen.insert(f.inode) {
                by_size.entry(f.size).or_default().push((chain, f));
            }
        }
    }
    let candidates: Vec<(&ChainId, &File)> = by_size
        .into_values()
        .filter(|v| v.len() > 1)
        .flatten()
        .collect();
    let hashed: Vec<(Option<String>, &ChainId, &File)> = candidates
        .par_iter()
        .map(|(chain, f)| {
            let path = content_path(store, chain, &f.path);
            (hash_file(&store.jail, &path).ok(), *chain, *f)
        })
        .collect();
    let hashed_bytes = candidates.iter().map(|(_, f)| f.size).sum();
    let mut groups: BTreeMap<(u64, String), Vec<Copy>> = BTreeMap::new();
    for (hash, chain, f) in hashed {
        match hash {
            Some(h) => groups.entry((f.size, h)).or_default().push(Copy {
                layer: chain.clone(),
                path: f.path.clone(),
            }),
            None => problems.push(Problem::new(
                content_path(store, chain, &f.path),
                ProblemKind::Unreadable,
                "could not be read to hash it",
            )),
        }
    }
    let mut groups: Vec<DupeGroup> = groups
        .into_iter()
        .filter(|(_, copies)| copies.len() > 1)
        .map(|((size, sha256), mut copies)| {
            copies.sort();
            DupeGroup {
                wasted_bytes: size * (copies.len() as u64 - 1),
                sha256,
                size,
                copies,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then(a.sha256.cmp(&b.sha256))
    });
    let mut images: Vec<ImageEfficiency> = store
        .images
        .values()
        .filter(|img| {
            img.chain_ids
                .iter()
                .all(|c| by_layer.get(c).is_none_or(|l| !l.unreadable))
        })
        .map(|img| efficiency(img, &by_layer))
        .collect();
    images.sort_by(|a, b| {
        a.efficiency
            .total_cmp(&b.efficiency)
            .then_with(|| a.id.cmp(&b.id))
    });
    problems.sort();
    problems.dedup();
    DupesReport {
        driver: store.driver.name().to_owned(),
        wasted_bytes: groups.iter().map(|g| g.wasted_bytes).sum(),
        groups,
        images,
        files: listed.iter().map(|l| l.files.len() as u64).sum(),
        hashed_bytes,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        problems,
    }
}

fn content_path(store: &Store, chain: &ChainId, rel: &Path) -> PathBuf {
    let dir = store
        .layers
        .get(chain)
        .map(|l| store.driver.content_dir(&l.cache_id))
        .unwrap_or_default();
    dir.join(rel.strip_prefix("/").unwrap_or(rel))
}

fn hash_file(jail: &Jail, path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    super::stream_file(jail, path, |bytes| hasher.update(bytes))?;
    Ok(hex_lower(&hasher.finalize()))
}

fn list_layer(store: &Store, layer: &Layer) -> LayerFiles {
    let dir = store.driver.content_dir(&layer.cache_id);
    let mut out = LayerFiles::default();
    let view = super::layer_view(store, layer);
    if let Some(problem) = view.unknown() {
        out.problems.push(problem.clone());
        out.unreadable = true;
        return out;
    }
    match view.naive_changes(&store.jail) {
        Some((found, errors)) => {
            for c in found {
                match c.kind {
                    ChangeKind::Deleted => out.deleted.push(c.path),
                    _ if !c.is_dir && c.size > 0 => out.files.push(File {
                        path: c.path,
                        size: c.size,
                        inode: c.inode,
                    }),
                    _ => {}
                }
            }
            out.problems.extend(errors.into_iter().map(|e| e.problem()));
        }
        None => {
            let whiteouts = store.driver.whiteouts().unwrap_or(Whiteouts::Kernel);
            walk_layer(&store.jail, whiteouts, &dir, Path::new("/"), &mut out);
        }
    }
    out
}

/// Lists a layer directory whose deletions are recorded as `whiteouts` says: regular files,
/// whiteouts, opaque directories.
fn walk_layer(jail: &Jail, whiteouts: Whiteouts, root: &Path, rel: &Path, out: &mut LayerFiles) {
    let mut errors = Vec::new();
    let dir = root.join(rel.strip_prefix("/").unwrap_or(rel));
    for (name, st) in changes::list(jail, &dir, &mut errors) {
        let path = rel.join(&name);
        match role(whiteouts, &name, &st) {
            Role::Deletes(target) => {
                out.deleted.push(rel.join(target));
                continue;
            }
            Role::Hidden => continue,
            Role::Entry => {}
        }
        if is_dir(&st) {
            if is_opaque(jail, whiteouts, &dir.join(&name)) {
                out.opaque.push(path.clone());
            }
            walk_layer(jail, whiteouts, root, &path, out);
        } else if st.st_mode & nix::libc::S_IFMT == nix::libc::S_IFREG {
            out.files.push(File {
                path,
                size: u64::try_from(st.st_size).unwrap_or(0),
                inode: (st.st_dev, st.st_ino),
            });
        }
    }
    out.problems.extend(errors.into_iter().map(|e| e.problem()));
}

/// Removes from `visible` the path `prefix` (unless `keep_self`) and everything under it,
/// recording each as hidden by layer `by`.
fn hide(
    visible: &mut BTreeMap<PathBuf, (ChainId, u64, (u64, u64))>,
    prefix: &Path,
    keep_self: bool,
    by: &ChainId,
    how: &str,
    shadowed: &mut Vec<Shadowed>,
) {
    let gone: Vec<PathBuf> = visible
        .range(prefix.to_path_buf()..)
        .take_while(|(p, _)| p.starts_with(prefix))
        .filter(|(p, _)| !(keep_self && p.as_path() == prefix))
        .map(|(p, _)| p.clone())
        .collect();
    for p in gone {
        if let Some((written_in, bytes, _)) = visible.remove(&p) {
            shadowed.push(Shadowed {
                path: p,
                written_in,
                hidden_by: by.clone(),
                how: how.to_owned(),
                bytes,
            });
        }
    }
}

/// Replays `img`'s stack bottom-up.
fn efficiency(
    img: &crate::graph::Image,
    layers: &BTreeMap<&ChainId, &LayerFiles>,
) -> ImageEfficiency {
    let mut visible: BTreeMap<PathBuf, (ChainId, u64, (u64, u64))> = BTreeMap::new();
    let mut shadowed = Vec::new();
    let mut stored = 0;
    for chain in &img.chain_ids {
        let Some(lf) = layers.get(chain) else {
            continue;
        };
        let mut hide = |prefix: &Path, keep_self: bool, how: &str| {
            hide(&mut visible, prefix, keep_self, chain, how, &mut shadowed);
        };
        for d in &lf.deleted {
            hide(d, false, "deleted");
        }
        for d in &lf.opaque {
            hide(d, true, "deleted");
        }
        let mut inodes = HashSet::new();
        for f in &lf.files {
            if inodes.insert(f.inode) {
                stored += f.size;
            }
            hide(&f.path, false, "overwritten");
        }
        for f in &lf.files {
            visible.insert(f.path.clone(), (chain.clone(), f.size, f.inode));
        }
    }
    // A hard-linked inode is stored once and shown once, whatever its number of names.
    let mut shown = HashSet::new();
    let final_bytes: u64 = visible
        .values()
        .filter(|(_, _, inode)| shown.insert(*inode))
        .map(|(_, size, _)| size)
        .sum();
    ImageEfficiency {
        id: img.id.clone(),
        repo_tags: img.repo_tags.clone(),
        stored_bytes: stored,
        final_bytes,
        efficiency: if stored == 0 {
            1.0
        } else {
            final_bytes as f64 / stored as f64
        },
        shadowed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lf(files: &[(&str, u64)], deleted: &[&str]) -> LayerFiles {
        LayerFiles {
            files: files
                .iter()
                .enumerate()
                .map(|(i, (p, s))| File {
                    path: PathBuf::from(p),
                    size: *s,
                    inode: (1, i as u64 + 100 * files.len() as u64),
                })
                .collect(),
            deleted: deleted.iter().map(PathBuf::from).collect(),
            ..LayerFiles::default()
        }
    }

    #[test]
    fn replay_counts_deleted_and_overwritten_bytes() {
        let a = ChainId::from_hex(&"a".repeat(64)).unwrap();
        let b = ChainId::from_hex(&"b".repeat(64)).unwrap();
        let la = lf(&[("/x/big", 100), ("/y", 10)], &[]);
        let lb = lf(&[("/y", 20)], &["/x"]);
        let layers: BTreeMap<&ChainId, &LayerFiles> = [(&a, &la), (&b, &lb)].into_iter().collect();
        let img = crate::graph::Image {
            id: ImageId(crate::ids::Digest::of_bytes(b"img")),
            config_path: PathBuf::new(),
            created: None,
            created_text: None,
            parent: None,
            diff_ids: Vec::new(),
            chain_ids: vec![a.clone(), b.clone()],
            labels: BTreeMap::new(),
            os: "linux".into(),
            history: Vec::new(),
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
        };
        let e = efficiency(&img, &layers);
        assert_eq!(e.stored_bytes, 130);
        assert_eq!(e.final_bytes, 20);
        let hows: Vec<(&str, &str)> = e
            .shadowed
            .iter()
            .map(|s| (s.path.to_str().unwrap(), s.how.as_str()))
            .collect();
        assert_eq!(hows, vec![("/x/big", "deleted"), ("/y", "overwritten")]);
    }
}
