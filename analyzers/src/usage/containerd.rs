//! `docker system df` of Docker's containerd image store, by the rules of the dockerd that
//! wrote the store (moby `daemon/containerd/image_list.go`, `service.go`, `disk_usage.go`;
//! shared/STORES.md 1.6 lists each change).
//!
//! - image `Size`: over the manifests reachable from the image's target, their content
//!   (declared sizes before 28.0, the present blobs' sizes from 28.0.2 on, a mix in 28.0.0-1)
//!   plus the unpacked size of each image manifest (the recorded usage of its whole snapshot
//!   chain; 0 when a link is missing); until 29.2 only manifests whose blobs are all present
//!   count;
//! - `SharedSize`: the usage of each of the image's chain ids that another image uses too
//!   (from 29.5 also the size of each blob another image uses too);
//! - `Containers`: containers whose `ImageManifest` is one of the image's manifests;
//! - `LayersSize`: the usage of every snapshot of the namespace (until 29.6: containers' and
//!   BuildKit's included; from 29.6 only the image chains), plus from 28.2 the present content
//!   of every image, each blob once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::backend::containerd::content::ManifestUse;
use crate::backend::containerd::names::{repo_digest, CLASSIC_PARENT_LABEL};
use crate::backend::containerd::{Containerd, ListedImage};
use crate::backend::{DockerVersion, Trees};
use crate::graph::Store;
use crate::ids::{ChainId, Digest, ImageId};
use crate::usage::df::ImageDf;

/// How an image's content counts in its `Size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContentRule {
    /// 26.0-27.x: the declared size (manifest, config, layers) of each counted manifest.
    Declared,
    /// 28.0.0-28.0.1: the present blobs of every manifest, the declared size for counted ones.
    DeclaredWhereCounted,
    /// 28.0.2 on: the present blobs of every manifest.
    Present,
}

/// One dockerd release range's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    name: &'static str,
    content: ContentRule,
    /// Only manifests whose blobs are all present count (unpacked size, chain ids, containers).
    available_only: bool,
    /// `SharedSize` adds blobs used by several images (29.5, moby#52476).
    shared_content: bool,
    /// `LayersSize` adds the images' present content (28.2).
    layers_content: bool,
    /// `LayersSize` counts only the snapshot chains of image manifests (29.6, moby#52901).
    layers_images_only: bool,
}

impl Rule {
    /// The rule of dockerd `v` (versions before 26 use 26's: 25 listed one row per platform,
    /// which strata does not reproduce).
    pub fn of(v: DockerVersion) -> Rule {
        let at = |major, minor, patch| v >= DockerVersion::new(major, minor, patch);
        let (name, content) = if at(28, 0, 2) {
            ("", ContentRule::Present)
        } else if at(28, 0, 0) {
            ("docker 28.0.0-28.0.1", ContentRule::DeclaredWhereCounted)
        } else {
            ("docker 26.0-27.x", ContentRule::Declared)
        };
        let name = match name {
            "" if at(29, 6, 0) => "docker 29.6+",
            "" if at(29, 5, 0) => "docker 29.5",
            "" if at(29, 2, 0) => "docker 29.2-29.4",
            "" if at(28, 2, 0) => "docker 28.2-29.1",
            "" => "docker 28.0.2-28.1",
            n => n,
        };
        Rule {
            name,
            content,
            available_only: !at(29, 2, 0),
            shared_content: at(29, 5, 0),
            layers_content: at(28, 2, 0),
            layers_images_only: at(29, 6, 0),
        }
    }

    /// The rule's name: the dockerd versions that use it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// True when `m` counts: an image manifest (not an attestation) with a readable config,
    /// all of its blobs present where the rule asks for it.
    fn counts(&self, m: &ManifestUse) -> bool {
        !m.pseudo && m.config.is_some() && (m.available || !self.available_only)
    }
}

/// The manifest a listing takes its config from: the first counted one (any platform
/// matches; strata does not prefer the host's).
pub fn preferred_manifest(img: &ListedImage) -> Option<&ManifestUse> {
    img.reach
        .manifests
        .iter()
        .find(|m| !m.pseudo && m.config.is_some() && m.available)
        .or_else(|| {
            img.reach
                .manifests
                .iter()
                .find(|m| !m.pseudo && m.config.is_some())
        })
}

/// What one image contributes before `SharedSize`.
struct Summary<'a> {
    listed: &'a ListedImage,
    best: &'a ManifestUse,
    size: i64,
    chains: Vec<&'a ChainId>,
    blobs: BTreeSet<&'a Digest>,
    containers: i64,
}

/// The unpacked size of manifest `m`: the recorded usage of its whole chain, 0 when a link is
/// missing (moby `singlePlatformSize`).
fn unpacked(b: &Containerd, m: &ManifestUse) -> i64 {
    match m.chain_ids.last() {
        Some(top) => match b.chain_usage(top.0.as_str()) {
            (size, true) => size,
            (_, false) => 0,
        },
        None => 0,
    }
}

fn summarise<'a>(
    b: &'a Containerd,
    store: &Store,
    listed: &'a ListedImage,
    rule: Rule,
) -> Option<Summary<'a>> {
    let mut size: i64 = 0;
    let mut chains = Vec::new();
    let mut containers = 0;
    let mut best = None;
    for m in &listed.reach.manifests {
        let counts = rule.counts(m);
        let present: i64 = m.present.iter().map(|(_, s)| *s).sum();
        size = size.saturating_add(match rule.content {
            ContentRule::Declared if counts => m.declared,
            ContentRule::Declared => 0,
            ContentRule::DeclaredWhereCounted if counts => m.declared,
            ContentRule::DeclaredWhereCounted | ContentRule::Present => present,
        });
        if !counts {
            continue;
        }
        size = size.saturating_add(unpacked(b, m));
        chains.extend(m.chain_ids.iter());
        let used = store
            .containers
            .iter()
            .filter(|c| c.image_manifest.as_ref() == Some(&m.digest))
            .count();
        containers += i64::try_from(used).unwrap_or(i64::MAX);
        best.get_or_insert(m);
    }
    let blobs = listed
        .reach
        .manifests
        .iter()
        .flat_map(|m| m.present.iter().map(|(d, _)| d))
        .collect();
    Some(Summary {
        listed,
        best: best?,
        size,
        chains,
        blobs,
        containers,
    })
}

/// The image rows of `GET /system/df`, newest first.
pub fn image_rows(b: &Containerd, store: &Store) -> Vec<ImageDf> {
    let rule = Rule::of(b.version);
    let summaries: Vec<Summary> = b
        .images
        .iter()
        .filter(|i| !i.intermediate)
        .filter_map(|i| summarise(b, store, i, rule))
        .collect();
    let mut chain_uses: HashMap<&ChainId, usize> = HashMap::new();
    let mut blob_uses: HashMap<&Digest, usize> = HashMap::new();
    for s in &summaries {
        for c in &s.chains {
            *chain_uses.entry(c).or_default() += 1;
        }
        for d in &s.blobs {
            *blob_uses.entry(d).or_default() += 1;
        }
    }
    let blob_sizes: BTreeMap<&Digest, i64> = summaries
        .iter()
        .flat_map(|s| s.listed.reach.manifests.iter())
        .flat_map(|m| m.present.iter().map(|(d, size)| (d, *size)))
        .collect();
    let mut rows: Vec<ImageDf> = summaries
        .iter()
        .map(|s| {
            let mut shared: i64 = s
                .chains
                .iter()
                .filter(|c| chain_uses.get(*c).copied().unwrap_or(0) > 1)
                .filter_map(|c| b.snapshots.get(c.0.as_str()))
                .map(|snap| snap.record.size)
                .fold(0, i64::saturating_add);
            if rule.shared_content {
                shared = s
                    .blobs
                    .iter()
                    .filter(|d| blob_uses.get(*d).copied().unwrap_or(0) > 1)
                    .filter_map(|d| blob_sizes.get(d))
                    .fold(shared, |sum, size| sum.saturating_add(*size));
            }
            row(s, shared)
        })
        .collect();
    rows.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| a.id.cmp(&b.id)));
    rows
}

fn row(s: &Summary, shared: i64) -> ImageDf {
    let listed = s.listed;
    let cfg = s.best.config.as_ref();
    let digests: Vec<String> = repo_digest(&listed.record.name, &listed.reach.target)
        .into_iter()
        .collect();
    ImageDf {
        id: ImageId(listed.reach.target.clone()),
        parent_id: listed
            .record
            .labels
            .get(CLASSIC_PARENT_LABEL)
            .cloned()
            .unwrap_or_default(),
        repo_tags: (!listed.tags.is_empty()).then(|| listed.tags.clone()),
        repo_digests: (!digests.is_empty()).then_some(digests),
        created: cfg.and_then(|c| c.created).unwrap_or(0),
        size: s.size,
        shared_size: shared,
        virtual_size: None,
        labels: cfg.and_then(|c| (!c.labels.is_empty()).then(|| c.labels.clone())),
        containers: s.containers,
        unique_size: s.size - shared,
    }
}

/// `LayersSize`.
pub fn layers_size(b: &Containerd, trees: &Trees) -> i64 {
    let rule = Rule::of(b.version);
    let snapshots: i64 = if rule.layers_images_only {
        let mut keys: BTreeSet<&str> = BTreeSet::new();
        for m in b.images.iter().flat_map(|i| &i.reach.manifests) {
            if !rule.counts(m) {
                continue;
            }
            let mut next = m.chain_ids.last().map(|c| c.0.as_str());
            while let Some(k) = next {
                let Some(s) = b.snapshots.get(k) else { break };
                if !keys.insert(k) {
                    break;
                }
                next = s.parent.as_deref();
            }
        }
        keys.iter()
            .filter_map(|k| b.usage(k, trees))
            .fold(0, i64::saturating_add)
    } else {
        b.snapshots
            .keys()
            .filter_map(|k| b.usage(k, trees))
            .fold(0, i64::saturating_add)
    };
    if !rule.layers_content {
        return snapshots;
    }
    let content: BTreeMap<&Digest, i64> = b
        .images
        .iter()
        .flat_map(|i| {
            i.reach
                .indexes
                .iter()
                .chain(i.reach.manifests.iter().flat_map(|m| m.present.iter()))
        })
        .map(|(d, s)| (d, *s))
        .collect();
    content
        .values()
        .fold(snapshots, |sum, s| sum.saturating_add(*s))
}
