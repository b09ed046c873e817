//! The domain's identifiers, as distinct types.
//!
//! Docker names everything by `sha256:<64 hex>` digests, but a diff id (the digest of a layer's
//! uncompressed tar), a chain id (a layer's digest together with all below it) and an image id
//! (the digest of the image config) are different things; mixing them up is the classic bug, so
//! each gets its own type. Cache ids and container ids are bare 64-hex names.

use std::fmt;

use serde::{Serialize, Serializer};
use sha2::{Digest as _, Sha256};

/// A validated `sha256:<64 lowercase hex>` digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses `sha256:<hex>`; `None` when the algorithm or the hex is wrong.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("sha256:")?;
        is_hex64(hex).then(|| Digest(text.to_owned()))
    }

    /// Builds the digest of `hex` (64 lowercase hex characters, no algorithm prefix).
    pub fn from_hex(hex: &str) -> Option<Self> {
        is_hex64(hex).then(|| Digest(format!("sha256:{hex}")))
    }

    /// The sha256 digest of `bytes`.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex_lower(&Sha256::digest(bytes))))
    }

    /// The digest a finished sha256 hash gives.
    pub fn of_hash(hash: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex_lower(hash)))
    }

    /// The full `sha256:<hex>` form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex characters without the algorithm.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// The first 12 hex characters, as the Docker CLI prints ids.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// True when `text` is exactly 64 lowercase hex digits.
pub fn is_hex64(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Lowercase hex of `bytes`.
pub fn hex_lower(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

macro_rules! digest_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub Digest);

        impl $name {
            /// Parses `sha256:<hex>`.
            pub fn parse(text: &str) -> Option<Self> {
                Digest::parse(text).map($name)
            }
            /// The digest.
            pub fn digest(&self) -> &Digest {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

digest_newtype!(
    /// The digest of a layer's uncompressed tar stream (`rootfs.diff_ids[]`, layerdb `diff`).
    DiffId
);
digest_newtype!(
    /// A layer's identity together with every layer below it: the layerdb directory name.
    ChainId
);
digest_newtype!(
    /// The digest of an image's config JSON: the image id.
    ImageId
);

impl ChainId {
    /// The chain id of a layer with diff id `diff` on top of `parent` (none for a base layer):
    /// `chain(L1) = diff(L1)`, `chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln))`.
    pub fn of(parent: Option<&ChainId>, diff: &DiffId) -> ChainId {
        match parent {
            None => ChainId(diff.0.clone()),
            Some(p) => ChainId(Digest::of_bytes(format!("{p} {diff}").as_bytes())),
        }
    }

    /// The chain ids of every prefix of `diffs` (bottom-up), the last being the top layer's.
    pub fn chain(diffs: &[DiffId]) -> Vec<ChainId> {
        let mut out: Vec<ChainId> = Vec::with_capacity(diffs.len());
        for d in diffs {
            let next = ChainId::of(out.last(), d);
            out.push(next);
        }
        out
    }
}

macro_rules! name_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// The name as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_newtype!(
    /// The storage driver's directory name for a layer (layerdb `cache-id`, or a container's
    /// `mount-id`); the directory under `overlay2/` or `vfs/dir/`.
    CacheId
);
name_newtype!(
    /// A container's 64-hex id: its directory under `containers/`.
    ContainerId
);

/// True when `name` can name one entry of a directory and nothing else: not empty, not `.`
/// or `..`, at most 255 bytes, no `/`, NUL or control character. Record fields that name a
/// directory (`cache-id`, `mount-id`, `init-id`) must pass, so that joining them onto a
/// driver's home can never climb out of it.
pub fn is_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && !name.chars().any(|c| c == '/' || c.is_control())
}

impl CacheId {
    /// A cache id read from a record: one directory name ([`is_component`]), else `None`.
    pub fn parse(text: &str) -> Option<CacheId> {
        is_component(text).then(|| CacheId(text.to_owned()))
    }
}

impl ContainerId {
    /// The first 12 characters, as the Docker CLI prints them.
    pub fn short(&self) -> &str {
        &self.0[..self.0.len().min(12)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_id_follows_docker_formula() {
        let a = DiffId::parse(&format!("sha256:{}", "a".repeat(64))).unwrap();
        let b = DiffId::parse(&format!("sha256:{}", "b".repeat(64))).unwrap();
        let chain = ChainId::chain(&[a.clone(), b.clone()]);
        assert_eq!(chain[0].0, a.0);
        let expect = Digest::of_bytes(format!("{a} {b}").as_bytes());
        assert_eq!(chain[1].0, expect);
    }

    #[test]
    fn cache_ids_are_single_components() {
        assert!(CacheId::parse("0123abc-init").is_some());
        for bad in ["", ".", "..", "../../x", "a/b", "a\nb", "a\u{1b}b"] {
            assert!(CacheId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn digest_rejects_bad_input() {
        assert!(Digest::parse("sha256:abc").is_none());
        assert!(Digest::parse(&format!("md5:{}", "a".repeat(64))).is_none());
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_none());
    }
}
