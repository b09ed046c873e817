//! A writer of small BoltDB files (the etcd-io/bbolt format) holding one top-level bucket of
//! keys and values: what dockerd's `volumes/metadata.db` is. The reader is
//! `analyzers::bolt`, whose module documentation describes the format.
//!
//! The file is written whole, as a fresh database would be after one transaction:
//!
//! | page | content |
//! | --- | --- |
//! | 0, 1 | meta pages (transaction ids 0 and 1, the same tree) |
//! | 2 | the freelist (empty) |
//! | 3 | the root bucket: a leaf with one element, the bucket |
//! | 4… | the bucket's leaf page, every key in order, continued over `overflow` pages |
//!
//! A leaf spanning several pages is what bbolt itself writes for a node larger than a page;
//! bbolt splits it when it next rewrites the bucket. This module never reads, and it does not
//! lock: callers serialise writers and replace the file atomically.

use analyzers::bolt::{
    fnv1a64, BUCKET_HEADER_SIZE, BUCKET_LEAF_FLAG, ELEMENT_SIZE, FREELIST_PAGE, LEAF_PAGE, MAGIC,
    META_PAGE, PAGE_HEADER_SIZE, VERSION,
};

/// bbolt's page size on the machines Docker runs on (the OS page size).
const PAGE: usize = 4096;
/// Page ids of the layout above.
const FREELIST_AT: u64 = 2;
const ROOT_AT: u64 = 3;
const BUCKET_AT: u64 = 4;

/// The bytes of a database whose root holds the bucket `bucket` with `items` (any order;
/// keys must be distinct).
pub fn single_bucket(bucket: &[u8], items: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut sorted: Vec<(u32, &[u8], &[u8])> = items
        .iter()
        .map(|(k, v)| (0, k.as_slice(), v.as_slice()))
        .collect();
    sorted.sort_by(|a, b| a.1.cmp(b.1));
    let leaf = leaf_page(BUCKET_AT, &sorted);
    let leaf_pages = leaf.len().div_ceil(PAGE);
    let high_water = BUCKET_AT + leaf_pages as u64;

    let mut header = Vec::with_capacity(BUCKET_HEADER_SIZE);
    header.extend_from_slice(&BUCKET_AT.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes()); // sequence
    let root = leaf_page(ROOT_AT, &[(BUCKET_LEAF_FLAG, bucket, &header)]);

    let mut file = vec![0u8; usize::try_from(high_water).unwrap_or(usize::MAX) * PAGE];
    for txid in 0..2u64 {
        let meta = meta_page(txid, high_water);
        place(&mut file, txid, &meta);
    }
    place(
        &mut file,
        FREELIST_AT,
        &page_header(FREELIST_AT, FREELIST_PAGE, 0, 0),
    );
    place(&mut file, ROOT_AT, &root);
    place(&mut file, BUCKET_AT, &leaf);
    file
}

fn place(file: &mut [u8], page: u64, bytes: &[u8]) {
    let at = usize::try_from(page).unwrap_or(usize::MAX) * PAGE;
    file[at..at + bytes.len()].copy_from_slice(bytes);
}

fn page_header(id: u64, flags: u16, count: u16, overflow: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(PAGE_HEADER_SIZE);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&overflow.to_le_bytes());
    out
}

/// A leaf page: header, element headers, then each key followed by its value; an element's
/// `pos` counts from the element header itself. Longer than a page when the items need it
/// (the header's `overflow` then counts the extra pages).
fn leaf_page(id: u64, items: &[(u32, &[u8], &[u8])]) -> Vec<u8> {
    let elements = PAGE_HEADER_SIZE + ELEMENT_SIZE * items.len();
    let data_len: usize = items.iter().map(|(_, k, v)| k.len() + v.len()).sum();
    let pages = (elements + data_len).div_ceil(PAGE).max(1);
    let count = u16::try_from(items.len()).unwrap_or(u16::MAX);
    let overflow = u32::try_from(pages - 1).unwrap_or(u32::MAX);
    let mut out = page_header(id, LEAF_PAGE, count, overflow);
    let mut data = Vec::with_capacity(data_len);
    for (i, (flags, key, value)) in items.iter().enumerate() {
        let pos = elements + data.len() - (PAGE_HEADER_SIZE + ELEMENT_SIZE * i);
        for n in [*flags as usize, pos, key.len(), value.len()] {
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
        data.extend_from_slice(key);
        data.extend_from_slice(value);
    }
    out.extend_from_slice(&data);
    out
}

/// Meta page `txid` (0 or 1): the root bucket at [`ROOT_AT`], checksummed.
fn meta_page(txid: u64, high_water: u64) -> Vec<u8> {
    let mut out = page_header(txid, META_PAGE, 0, 0);
    let start = out.len();
    out.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(PAGE as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes()); // flags
    out.extend_from_slice(&ROOT_AT.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // root bucket's sequence
    out.extend_from_slice(&FREELIST_AT.to_le_bytes());
    out.extend_from_slice(&high_water.to_le_bytes());
    out.extend_from_slice(&txid.to_le_bytes());
    let checksum = fnv1a64(&out[start..]);
    out.extend_from_slice(&checksum.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the analyzers' reader decodes is what was written, for a bucket that fits in a
    /// page, one that spans several, and an empty one.
    #[test]
    fn the_reader_reads_what_the_writer_wrote() {
        let dir = tempfile::tempdir().unwrap();
        for n in [0usize, 3, 500] {
            let items: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
                .rev()
                .map(|i| {
                    (
                        format!("key-{i:04}").into_bytes(),
                        format!("{{\"Name\":\"v{i}\"}}").into_bytes(),
                    )
                })
                .collect();
            let path = dir.path().join(format!("{n}.db"));
            std::fs::write(&path, single_bucket(b"volumes", &items)).unwrap();
            let db = analyzers::bolt::Db::open(
                &analyzers::fs::Jail::open(path.parent().unwrap()).unwrap(),
                &path,
            )
            .unwrap();
            let bucket = db.root().bucket("volumes").unwrap();
            assert_eq!(bucket.len(), n);
            for (k, v) in &items {
                assert_eq!(bucket.get(k), Some(v.as_slice()));
            }
        }
    }
}
