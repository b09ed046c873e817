//! OCI and Docker distribution content: descriptors, image indexes (manifest lists) and
//! image manifests, as the content store keeps them (`blobs/sha256/<hex>`).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ids::Digest;

/// OCI image index.
pub const MEDIA_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list.
pub const MEDIA_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const MEDIA_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker image manifest, schema 2.
pub const MEDIA_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's foreign (non-distributable) layer.
pub const MEDIA_DOCKER_FOREIGN_LAYER: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// The annotation BuildKit puts on attestation manifests (`vnd.docker.reference.type`).
pub const ATTESTATION_ANNOTATION: &str = "vnd.docker.reference.type";

/// A content descriptor.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    #[serde(default)]
    pub media_type: String,
    /// Digest, as written (validated with [`Descriptor::digest`]).
    #[serde(rename = "digest")]
    pub digest_text: String,
    /// Declared size in bytes.
    #[serde(default)]
    pub size: i64,
    /// Platform (index entries).
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Descriptor {
    /// The digest, when it is a sha256 digest.
    pub fn digest(&self) -> Option<Digest> {
        Digest::parse(&self.digest_text)
    }

    /// True for an index or manifest list.
    pub fn is_index(&self) -> bool {
        is_index(&self.media_type)
    }

    /// True for an image manifest.
    pub fn is_manifest(&self) -> bool {
        is_manifest(&self.media_type)
    }

    /// True for a pseudo-manifest: an attestation, or one whose platform is `unknown/unknown`
    /// (moby `isPseudo`/`isAttestation`).
    pub fn is_pseudo(&self) -> bool {
        self.annotations.contains_key(ATTESTATION_ANNOTATION)
            || self
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
    }
}

/// A platform of an index entry.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
pub struct Platform {
    /// `linux`.
    #[serde(default)]
    pub os: String,
    /// `amd64`.
    #[serde(default)]
    pub architecture: String,
    /// `v8`.
    #[serde(default)]
    pub variant: Option<String>,
}

/// True for an index or manifest list media type.
pub fn is_index(media_type: &str) -> bool {
    media_type == MEDIA_INDEX || media_type == MEDIA_DOCKER_LIST
}

/// True for an image manifest media type.
pub fn is_manifest(media_type: &str) -> bool {
    media_type == MEDIA_MANIFEST || media_type == MEDIA_DOCKER_MANIFEST
}

/// An image index or manifest list.
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    /// The manifests it lists.
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// An image manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The image config.
    pub config: Descriptor,
    /// The layers, bottom-up.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}
