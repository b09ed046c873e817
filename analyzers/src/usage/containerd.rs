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
use crate::graph::Container;
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
    users: &[Container],
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
        let used = users
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

/// The image rows of `GET /system/df`, newest first; `containers` are the store's.
pub fn image_rows(b: &Containerd, containers: &[Container]) -> Vec<ImageDf> {
    let rule = Rule::of(b.docker_version());
    let summaries: Vec<Summary> = b
        .images
        .iter()
        .filter(|i| !i.intermediate)
        .filter_map(|i| summarise(b, containers, i, rule))
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
            let mut r = row(s, shared);
            // A plain containerd root (a Kubernetes node): what kubelet believes too.
            r.cri_size = (!b.docker).then(|| cri_size(s.listed, s.best));
            r
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
        cri_size: None,
    }
}

/// The CRI's image size (containerd `CalculateImageUsage` with a limit of one manifest and
/// manifest usage): the declared sizes of the target index, the manifest used, its config
/// and its layers.
fn cri_size(listed: &ListedImage, best: &ManifestUse) -> i64 {
    let index: i64 = listed.reach.indexes.first().map_or(0, |(_, size)| *size);
    index.saturating_add(best.declared)
}

/// `LayersSize`.
pub fn layers_size(b: &Containerd, trees: &Trees) -> i64 {
    let rule = Rule::of(b.docker_version());
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

#[cfg(test)]
mod tests {
    //! One store, spelled out, under every rule. Snapshots (recorded usage): c1 = 1000,
    //! c2 = 200 over c1, c3 = 300 over c1; a container's `ctr` (active, measured 4096) over
    //! `ctr-init` (20) over c2. Blobs (declared = present sizes):
    //! - image A, manifest mA (500) with config cA (100), layers b1 (10000), b2 (2000): all
    //!   present; chain c1, c2; the container was made from mA;
    //! - image B, index iB (300) of mB (600, config cB 150, layers b1, b3 3000: all present;
    //!   chain c1, c3) and an attestation mX (400, config cX 30, layer lX 50);
    //! - image C, manifest mC (700, config cC 120, layers b1 and b4 (4000, missing)): not
    //!   available; chain c1, c4 (no snapshot c4).
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    use super::*;
    use crate::backend::containerd::content::Reach;
    use crate::backend::containerd::{Located, Snapshot};
    use crate::backend::{VersionProbe, VersionSource};
    use crate::format::containerd::meta::{ContainerRecord, ImageRecord, MetaDb, Target};
    use crate::format::containerd::snapshots::{Kind, SnapshotDb};
    use crate::graph::{Image, MountRecord};
    use crate::ids::{CacheId, ContainerId, DiffId};
    use crate::walk::TreeUsage;

    fn digest(name: &str) -> Digest {
        Digest::of_bytes(name.as_bytes())
    }

    fn chain(name: &str) -> ChainId {
        ChainId(digest(name))
    }

    fn config(chains: &[&str]) -> Image {
        Image {
            id: ImageId(digest("config")),
            config_path: PathBuf::new(),
            created: Some(1),
            created_text: None,
            parent: None,
            diff_ids: chains.iter().map(|c| DiffId(digest(c))).collect(),
            chain_ids: chains.iter().map(|c| chain(c)).collect(),
            labels: BTreeMap::new(),
            os: "linux".into(),
            history: Vec::new(),
            repo_tags: Vec::new(),
            repo_digests: Vec::new(),
        }
    }

    fn manifest(
        name: &str,
        pseudo: bool,
        present: &[(&str, i64)],
        missing: i64,
        chains: &[&str],
    ) -> ManifestUse {
        let present: Vec<(Digest, i64)> = present.iter().map(|(n, s)| (digest(n), *s)).collect();
        ManifestUse {
            digest: digest(name),
            pseudo,
            available: missing == 0,
            declared: present.iter().map(|(_, s)| s).sum::<i64>() + missing,
            present,
            chain_ids: chains.iter().map(|c| chain(c)).collect(),
            config: Some(config(chains)),
            layer_blobs: Vec::new(),
            layers: Vec::new(),
        }
    }

    fn image(name: &str, indexes: &[(&str, i64)], manifests: Vec<ManifestUse>) -> ListedImage {
        let target = indexes
            .first()
            .map_or_else(|| manifests[0].digest.clone(), |(n, _)| digest(n));
        ListedImage {
            record: ImageRecord {
                name: format!("docker.io/library/{name}:1"),
                target: Target {
                    digest: target.clone(),
                    media_type: String::new(),
                    size: 0,
                },
                created: None,
                labels: BTreeMap::new(),
            },
            names: vec![name.to_owned()],
            tags: vec![format!("{name}:1")],
            reach: Reach {
                target,
                indexes: indexes.iter().map(|(n, s)| (digest(n), *s)).collect(),
                manifests,
            },
            intermediate: false,
        }
    }

    fn snapshot(
        key: &str,
        parent: Option<&str>,
        kind: Kind,
        size: i64,
        id: u64,
    ) -> (String, Snapshot) {
        let s = Snapshot::for_test(std::path::Path::new("/s"), key, parent, kind, size, id);
        (key.to_owned(), s)
    }

    fn store(v: DockerVersion) -> (Containerd, Trees, Vec<Container>) {
        let c1 = chain("c1").0.to_string();
        let c2 = chain("c2").0.to_string();
        let c3 = chain("c3").0.to_string();
        let snapshots: BTreeMap<String, Snapshot> = [
            snapshot(&c1, None, Kind::Committed, 1000, 1),
            snapshot(&c2, Some(&c1), Kind::Committed, 200, 2),
            snapshot(&c3, Some(&c1), Kind::Committed, 300, 3),
            snapshot("ctr-init", Some(&c2), Kind::Committed, 20, 4),
            snapshot("ctr", Some("ctr-init"), Kind::Active, 0, 5),
        ]
        .into_iter()
        .collect();
        let mut trees = Trees::new();
        let measured = TreeUsage {
            entries: 1,
            dirs: 1,
            allocated: 4096,
            ..TreeUsage::default()
        };
        trees.insert(PathBuf::from("/s/snapshots/5/fs"), measured);
        let a = image(
            "a",
            &[],
            vec![manifest(
                "mA",
                false,
                &[("mA", 500), ("cA", 100), ("b1", 10000), ("b2", 2000)],
                0,
                &["c1", "c2"],
            )],
        );
        let b = image(
            "b",
            &[("iB", 300)],
            vec![
                manifest(
                    "mB",
                    false,
                    &[("mB", 600), ("cB", 150), ("b1", 10000), ("b3", 3000)],
                    0,
                    &["c1", "c3"],
                ),
                manifest(
                    "mX",
                    true,
                    &[("mX", 400), ("cX", 30), ("lX", 50)],
                    0,
                    &["x"],
                ),
            ],
        );
        let c = image(
            "c",
            &[],
            vec![manifest(
                "mC",
                false,
                &[("mC", 700), ("cC", 120), ("b1", 10000)],
                4000,
                &["c1", "c4"],
            )],
        );
        let backend = Containerd {
            root: Located {
                path: PathBuf::from("/c"),
                found_by: String::new(),
            },
            namespace: "moby".into(),
            docker: true,
            snapshotter: "overlayfs".into(),
            version: VersionProbe::known((v, VersionSource::Flag("--docker-version"))),
            accounting: std::sync::OnceLock::new(),
            images: vec![a, b, c],
            snapshots,
            meta: MetaDb::default(),
            snapshot_db: SnapshotDb::default(),
        };
        let record = ContainerRecord {
            id: "ctr".into(),
            image: String::new(),
            snapshotter: "overlayfs".into(),
            snapshot_key: "ctr".into(),
            runtime: String::new(),
            created: None,
            labels: BTreeMap::new(),
        };
        let rw = MountRecord {
            container: ContainerId("ctr".into()),
            mount_id: CacheId("5".into()),
            init_id: Some(CacheId("4".into())),
            parent: Some(chain("c2")),
            record: PathBuf::from("/s/5"),
        };
        let mut container = Container::from_containerd(&record, ImageId(digest("mA")), rw);
        container.image_manifest = Some(digest("mA"));
        (backend, trees, vec![container])
    }

    /// An image's (Size, SharedSize, Containers); `None` when it is not listed.
    type Row = Option<(i64, i64, i64)>;

    /// The rows of images a, b, c, and LayersSize.
    fn figures(v: DockerVersion) -> (Vec<Row>, i64) {
        let (b, trees, containers) = store(v);
        let rows = image_rows(&b, &containers);
        let of = |name: &str| {
            rows.iter()
                .find(|r| {
                    r.repo_tags
                        .as_ref()
                        .is_some_and(|t| t[0] == format!("{name}:1"))
                })
                .map(|r| (r.size, r.shared_size, r.containers))
        };
        (vec![of("a"), of("b"), of("c")], layers_size(&b, &trees))
    }

    const SNAPSHOTS: i64 = 1000 + 200 + 300 + 20 + 4096;
    /// Every blob the images reach, once: A's, B's index and manifests, C's present ones.
    const CONTENT: i64 =
        500 + 100 + 10000 + 2000 + 300 + 600 + 150 + 3000 + 400 + 30 + 50 + 700 + 120;

    #[test]
    fn docker_26_counts_declared_sizes_of_available_manifests() {
        let (rows, layers) = figures(DockerVersion::new(26, 1, 5));
        // A: declared 12600 + chain c1+c2; B: mB declared 13750 + chain c1+c3 (the
        // attestation and the index count nothing); C has no available manifest: not listed.
        assert_eq!(rows[0], Some((12600 + 1200, 1000, 1)));
        assert_eq!(rows[1], Some((13750 + 1300, 1000, 0)));
        assert_eq!(rows[2], None);
        assert_eq!(layers, SNAPSHOTS);
    }

    #[test]
    fn docker_28_0_2_counts_present_blobs_of_every_manifest() {
        let (rows, layers) = figures(DockerVersion::new(28, 0, 2));
        // B now adds the attestation's present blobs (480).
        assert_eq!(rows[1], Some((13750 + 1300 + 480, 1000, 0)));
        assert_eq!(rows[2], None);
        assert_eq!(layers, SNAPSHOTS);
        assert_eq!(
            Rule::of(DockerVersion::new(28, 0, 1)).name(),
            "docker 28.0.0-28.0.1"
        );
    }

    #[test]
    fn docker_28_2_adds_the_images_content_to_layers_size() {
        let (_, layers) = figures(DockerVersion::new(28, 2, 0));
        assert_eq!(layers, SNAPSHOTS + CONTENT);
    }

    #[test]
    fn docker_29_2_lists_images_whose_blobs_are_missing() {
        let (rows, _) = figures(DockerVersion::new(29, 2, 0));
        // C: its present blobs (10820), no unpacked size (c4 is missing); c1 is now shared
        // by three images.
        assert_eq!(rows[2], Some((10820, 1000, 0)));
        assert_eq!(rows[0], Some((13800, 1000, 1)));
    }

    #[test]
    fn docker_29_5_shares_blobs_too() {
        let (rows, _) = figures(DockerVersion::new(29, 5, 0));
        // b1 (10000) is in all three images.
        assert_eq!(rows[0], Some((13800, 11000, 1)));
        assert_eq!(rows[2], Some((10820, 11000, 0)));
    }

    #[test]
    fn a_kubernetes_node_also_gets_the_cri_size() {
        let (mut b, _, containers) = store(DockerVersion::new(29, 7, 0));
        let of = |rows: &[ImageDf], tag: &str| {
            rows.iter()
                .find(|r| r.repo_tags.as_ref().is_some_and(|t| t[0] == tag))
                .and_then(|r| r.cri_size)
        };
        assert_eq!(of(&image_rows(&b, &containers), "b:1"), None);
        b.docker = false;
        let rows = image_rows(&b, &containers);
        // B: its index (300) and mB's declared manifest, config and layers (13750).
        assert_eq!(of(&rows, "b:1"), Some(300 + 13750));
        assert_eq!(of(&rows, "a:1"), Some(12600));
    }

    #[test]
    fn docker_29_6_counts_only_image_chains_in_layers_size() {
        let (_, layers) = figures(DockerVersion::new(29, 6, 0));
        assert_eq!(layers, 1000 + 200 + 300 + CONTENT);
    }
}
