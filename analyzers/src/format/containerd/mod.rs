//! containerd's two BoltDB files: the metadata store `io.containerd.metadata.v1.bolt/meta.db`
//! ([`meta`]) and a snapshotter's own `metadata.db` ([`snapshots`]), plus the value encodings
//! they share (containerd `core/metadata/buckets.go`, `core/snapshots/storage/bolt.go`).
//!
//! Integers are Go `binary.PutVarint` (zigzag) or `PutUvarint`; times are
//! `time.Time.MarshalBinary`; strings and digests are raw bytes.

pub mod meta;
pub mod snapshots;

/// `io.containerd.metadata.v1.bolt/meta.db` under a containerd root.
pub const META_DB: &str = "io.containerd.metadata.v1.bolt/meta.db";
/// `io.containerd.content.v1.content/`: the content store (blobs and ingests).
pub const CONTENT_DIR: &str = "io.containerd.content.v1.content";
/// `blobs/sha256/<hex>` under the content store.
pub const BLOBS_SHA256: &str = "blobs/sha256";
/// `ingest/<sha256(ref)>/` under the content store: downloads in progress.
pub const INGEST_DIR: &str = "ingest";
/// The prefix of a snapshotter plugin's directory: `io.containerd.snapshotter.v1.<name>`.
pub const SNAPSHOTTER_PREFIX: &str = "io.containerd.snapshotter.v1.";
/// A snapshotter's own database, in its directory.
pub const SNAPSHOTTER_DB: &str = "metadata.db";
/// A snapshotter's directory of snapshots, `snapshots/<id>/{fs,work}`.
pub const SNAPSHOTS_DIR: &str = "snapshots";
/// A snapshot's files, in `snapshots/<id>/`.
pub const SNAPSHOT_FS: &str = "fs";
/// overlayfs's work directory of an active snapshot, in `snapshots/<id>/`.
pub const SNAPSHOT_WORK: &str = "work";
/// The schema version bucket both databases start with.
pub const SCHEMA_V1: &str = "v1";

/// Decodes a Go `binary.Uvarint`; `None` when truncated or longer than 64 bits.
pub fn uvarint(bytes: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        let low = u64::from(b & 0x7f);
        if i == 9 && b > 1 {
            return None;
        }
        value |= low << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Decodes a Go `binary.Varint` (zigzag); `None` when malformed.
pub fn varint(bytes: &[u8]) -> Option<i64> {
    let u = uvarint(bytes)?;
    let magnitude = i64::try_from(u >> 1).ok()?;
    Some(if u & 1 == 0 { magnitude } else { !magnitude })
}

/// Seconds from Go's year 1 to the Unix epoch.
const GO_EPOCH_TO_UNIX: i64 = 62_135_596_800;

/// A Go `time.Time.MarshalBinary` value as Unix seconds and nanoseconds; `None` when
/// malformed.
pub fn go_time(bytes: &[u8]) -> Option<(i64, u32)> {
    let (&version, rest) = bytes.split_first()?;
    let needed = match version {
        1 => 14,
        2 => 15,
        _ => return None,
    };
    if rest.len() != needed {
        return None;
    }
    let secs = i64::from_be_bytes(rest[..8].try_into().ok()?);
    let nanos = u32::from_be_bytes(rest[8..12].try_into().ok()?);
    (nanos < 1_000_000_000).then(|| (secs.saturating_sub(GO_EPOCH_TO_UNIX), nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_follow_go() {
        // binary.PutUvarint(300) = [0xac, 0x02]; PutVarint(-3) = [0x05]; PutVarint(4096) = [0x80, 0x40].
        assert_eq!(uvarint(&[0xac, 0x02]), Some(300));
        assert_eq!(varint(&[0x05]), Some(-3));
        assert_eq!(varint(&[0x80, 0x40]), Some(4096));
        assert_eq!(varint(&[0x80]), None);
        assert_eq!(uvarint(&[0xff; 11]), None);
    }

    #[test]
    fn go_times_decode() {
        // time.Unix(1700000000, 5).UTC().MarshalBinary()
        let mut b = vec![1u8];
        b.extend_from_slice(&(1_700_000_000i64 + GO_EPOCH_TO_UNIX).to_be_bytes());
        b.extend_from_slice(&5u32.to_be_bytes());
        b.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(go_time(&b), Some((1_700_000_000, 5)));
        assert_eq!(go_time(&b[..10]), None);
    }
}
