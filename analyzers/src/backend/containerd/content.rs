//! The content a namespace's images reach: each image's target, the manifests under it, and
//! for each manifest its config, layers, diff ids and chain ids, with which blobs are present
//! (moby `daemon/containerd/image_manifest.go`, containerd `core/images`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Problem, ProblemKind};
use crate::format::containerd::meta::{ImageRecord, Namespace};
use crate::format::containerd::{BLOBS_SHA256, CONTENT_DIR};
use crate::format::oci::{self, Descriptor, Index, Manifest};
use crate::fs::{self, Jail};
use crate::graph::image::parse_config;
use crate::graph::Image;
use crate::ids::{ChainId, DiffId, Digest, ImageId};

/// The deepest index nesting followed (an index of indexes...).
const MAX_INDEX_DEPTH: usize = 4;

/// One image manifest reachable from an image's target.
#[derive(Debug, Clone)]
pub struct ManifestUse {
    /// The manifest's digest.
    pub digest: Digest,
    /// An attestation or other non-image manifest (moby `IsPseudoImage`).
    pub pseudo: bool,
    /// Every blob it needs (manifest, config, layers) is present (containerd `images.Check`).
    pub available: bool,
    /// Declared sizes of the manifest, its config and its layers (containerd `Image.Size`).
    pub declared: i64,
    /// The manifest, config and layer descriptors whose blob is present, with their declared
    /// sizes, in walk order (a layer listed twice is here twice).
    pub present: Vec<(Digest, i64)>,
    /// The digests of its layers as the manifest lists them, bottom first (what BuildKit's
    /// `imagerefchecker` matches a build cache record's blob chain against); empty when the
    /// manifest cannot be read.
    pub layers: Vec<Digest>,
    /// The chain ids of its layers, bottom-up; empty when its config cannot be read.
    pub chain_ids: Vec<ChainId>,
    /// Its config, read, when present.
    pub config: Option<Image>,
    /// Each layer's diff id (from the config) with the blob it is unpacked from and that
    /// blob's media type.
    pub layer_blobs: Vec<(DiffId, Digest, String)>,
}

/// A target and everything reachable from it.
#[derive(Debug, Clone)]
pub struct Reach {
    /// The target's digest (the image's id under Docker).
    pub target: Digest,
    /// Index blobs on the way, present ones, with their declared sizes.
    pub indexes: Vec<(Digest, i64)>,
    /// The manifests, in walk order.
    pub manifests: Vec<ManifestUse>,
}

/// Reads blobs of the content store of one containerd root.
pub struct ContentStore<'a> {
    /// The jail the root is in.
    pub jail: &'a Jail,
    /// `<root>/io.containerd.content.v1.content/blobs/sha256`.
    pub blobs: PathBuf,
    /// The namespace whose records say which blobs are present.
    pub namespace: &'a Namespace,
}

impl<'a> ContentStore<'a> {
    /// The content store of the containerd root `root`, as `namespace` sees it.
    pub fn new(jail: &'a Jail, root: &Path, namespace: &'a Namespace) -> Self {
        ContentStore {
            jail,
            blobs: root.join(CONTENT_DIR).join(BLOBS_SHA256),
            namespace,
        }
    }

    /// The file of blob `digest`.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    /// True when the namespace has a record of blob `digest` (containerd `content.Info`).
    pub fn present(&self, digest: &Digest) -> bool {
        self.namespace.blobs.contains_key(digest)
    }

    /// The bytes of blob `digest` (a JSON document), checked against its digest.
    fn read(&self, digest: &Digest) -> Result<Vec<u8>, Problem> {
        let path = self.blob_path(digest);
        let bytes = self
            .jail
            .read(&path, fs::JSON_LIMIT)
            .map_err(|e| fs::io_problem(&path, &e))?;
        if Digest::of_bytes(&bytes) != *digest {
            return Err(Problem::new(
                &path,
                ProblemKind::ContentMismatch,
                "content does not hash to the blob's digest",
            ));
        }
        Ok(bytes)
    }

    fn json<T: for<'de> Deserialize<'de>>(&self, digest: &Digest) -> Result<T, Problem> {
        let bytes = self.read(digest)?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Problem::new(
                self.blob_path(digest),
                ProblemKind::InvalidJson,
                e.to_string(),
            )
        })
    }

    /// Everything reachable from `image`'s target; unreadable content is a problem, and what
    /// it would have led to is left out (as dockerd skips it).
    pub fn reach(&self, image: &ImageRecord, problems: &mut Vec<Problem>) -> Reach {
        let target = Descriptor {
            media_type: image.target.media_type.clone(),
            digest_text: image.target.digest.to_string(),
            size: image.target.size,
            platform: None,
            annotations: BTreeMap::new(),
        };
        let mut reach = Reach {
            target: image.target.digest.clone(),
            indexes: Vec::new(),
            manifests: Vec::new(),
        };
        self.walk(&target, 0, &mut reach, problems);
        reach
    }

    fn walk(
        &self,
        desc: &Descriptor,
        depth: usize,
        reach: &mut Reach,
        problems: &mut Vec<Problem>,
    ) {
        let Some(digest) = desc.digest() else {
            problems.push(Problem::new(
                &self.blobs,
                ProblemKind::InvalidValue,
                format!(
                    "descriptor digest {:?} is not a sha256 digest",
                    desc.digest_text
                ),
            ));
            return;
        };
        if desc.is_manifest() {
            reach.manifests.push(self.manifest(desc, digest, problems));
            return;
        }
        if !desc.is_index() || !self.present(&digest) || depth >= MAX_INDEX_DEPTH {
            return;
        }
        reach.indexes.push((digest.clone(), desc.size));
        match self.json::<Index>(&digest) {
            Ok(index) => {
                for child in &index.manifests {
                    self.walk(child, depth + 1, reach, problems);
                }
            }
            Err(p) => problems.push(p),
        }
    }

    fn manifest(
        &self,
        desc: &Descriptor,
        digest: Digest,
        problems: &mut Vec<Problem>,
    ) -> ManifestUse {
        let mut out = ManifestUse {
            digest: digest.clone(),
            pseudo: desc.is_pseudo(),
            available: false,
            declared: desc.size,
            present: Vec::new(),
            layers: Vec::new(),
            chain_ids: Vec::new(),
            config: None,
            layer_blobs: Vec::new(),
        };
        if !self.present(&digest) {
            return out;
        }
        out.present.push((digest.clone(), desc.size));
        let manifest: Manifest = match self.json(&digest) {
            Ok(m) => m,
            Err(p) => {
                problems.push(p);
                out.pseudo = true;
                return out;
            }
        };
        if !manifest.layers.is_empty() && !manifest.layers.iter().any(|l| is_layer(&l.media_type)) {
            out.pseudo = true;
        }
        out.layers = manifest
            .layers
            .iter()
            .filter_map(Descriptor::digest)
            .collect();
        let mut available = true;
        for d in std::iter::once(&manifest.config).chain(&manifest.layers) {
            out.declared = out.declared.saturating_add(d.size);
            match d.digest() {
                Some(dd) if self.present(&dd) => out.present.push((dd, d.size)),
                _ => available = false,
            }
        }
        out.available = available;
        if let Some(config) = manifest.config.digest().filter(|c| self.present(c)) {
            match self.config(&config) {
                Ok(img) => {
                    out.chain_ids = img.chain_ids.clone();
                    if img.diff_ids.len() == manifest.layers.len() {
                        out.layer_blobs = img
                            .diff_ids
                            .iter()
                            .zip(&manifest.layers)
                            .filter_map(|(diff, l)| {
                                Some((diff.clone(), l.digest()?, l.media_type.clone()))
                            })
                            .collect();
                    }
                    out.config = Some(img);
                }
                Err(p) => problems.push(p),
            }
        }
        out
    }

    fn config(&self, digest: &Digest) -> Result<Image, Problem> {
        let path = self.blob_path(digest);
        let bytes = self.read(digest)?;
        parse_config(ImageId(digest.clone()), path, &bytes)
    }
}

/// containerd `images.IsLayerType`: a layer media type (Docker or OCI, any compression).
fn is_layer(media_type: &str) -> bool {
    media_type.starts_with("application/vnd.oci.image.layer.")
        || media_type.starts_with("application/vnd.docker.image.rootfs.")
        || media_type == oci::MEDIA_DOCKER_FOREIGN_LAYER
}
