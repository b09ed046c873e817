//! The write side of the Bolt format: a database of any shape, encoded whole into bytes in
//! bbolt's layout, as a fresh database would be after one transaction. The engine writes
//! `volumes/metadata.db` with it ([`single_bucket`]); the reader's tests and those of the
//! modules that read Docker's Bolt files use it for trees of every shape (several leaves under
//! branch pages, values that overflow onto following pages, nested and inline buckets).
//!
//! | page | content |
//! | --- | --- |
//! | 0, 1 | meta pages (transactions `txid - 1` and `txid`, the same tree) |
//! | 2 | the freelist (empty) |
//! | 3… | the buckets' pages, children before their parents, the root bucket's last |
//!
//! A leaf may span several pages (its `overflow` counts the extra ones): bbolt itself writes a
//! node larger than a page so, and splits it when it next rewrites the bucket. This module
//! only encodes: it touches no file (callers write the bytes, serialise writers and replace
//! the file atomically) and takes no lock.

use super::{
    fnv1a64, BRANCH_PAGE, BUCKET_HEADER_SIZE, BUCKET_LEAF_FLAG, ELEMENT_SIZE, FREELIST_PAGE,
    LEAF_PAGE, MAGIC, META_CHECKSUM_OFFSET, META_PAGE, PAGE_HEADER_SIZE, VERSION,
};

/// Page id of the freelist in the layout above.
const FREELIST_AT: u64 = 2;

/// What a key of a [`NewBucket`] holds.
#[derive(Debug, Clone)]
enum Node {
    Value(Vec<u8>),
    Bucket(NewBucket),
}

/// A bucket to write; entries are kept sorted by key, as bbolt keeps them.
#[derive(Debug, Clone, Default)]
pub struct NewBucket {
    entries: Vec<(Vec<u8>, Node)>,
    inline: bool,
    sequence: u64,
}

impl NewBucket {
    /// An empty bucket written on pages of its own.
    pub fn new() -> Self {
        NewBucket::default()
    }

    /// An empty bucket written inline, inside its parent's leaf (bbolt does this for small
    /// buckets without sub-buckets).
    pub fn inline() -> Self {
        NewBucket {
            inline: true,
            ..NewBucket::default()
        }
    }

    /// Sets the bucket's sequence counter.
    pub fn sequence(mut self, sequence: u64) -> Self {
        self.sequence = sequence;
        self
    }

    /// Adds (or replaces) a value.
    pub fn value(self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.node(key, Node::Value(value.as_ref().to_vec()))
    }

    /// Adds (or replaces) a nested bucket.
    pub fn bucket(self, key: impl AsRef<[u8]>, bucket: NewBucket) -> Self {
        self.node(key, Node::Bucket(bucket))
    }

    fn node(mut self, key: impl AsRef<[u8]>, node: Node) -> Self {
        let key = key.as_ref().to_vec();
        match self.entries.binary_search_by(|(k, _)| k.cmp(&key)) {
            Ok(i) => self.entries[i].1 = node,
            Err(i) => self.entries.insert(i, (key, node)),
        }
        self
    }
}

/// How to lay the file out.
pub struct Layout {
    /// Page size in bytes.
    pub page_size: usize,
    /// Most entries per leaf page and most children per branch page.
    pub fanout: usize,
    /// Transaction id of the newer meta page (the older one gets `txid - 1`); at least 1.
    pub txid: u64,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            page_size: 4096,
            fanout: 64,
            txid: 7,
        }
    }
}

/// The bytes of a database whose root bucket holds `bucket` with `items` (any order; keys
/// must be distinct, a repeated key keeps its last value): what dockerd's
/// `volumes/metadata.db` is. One leaf holds every key, continued over overflow pages.
pub fn single_bucket(bucket: &[u8], items: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let content = items
        .iter()
        .fold(NewBucket::new(), |b, (k, v)| b.value(k, v));
    let layout = Layout {
        page_size: 4096,
        fanout: usize::MAX,
        txid: 1,
    };
    write(&NewBucket::new().bucket(bucket, content), &layout)
}

/// The bytes of a Bolt file whose root bucket holds `root`'s entries (give only buckets at the
/// top, as bbolt requires).
pub fn write(root: &NewBucket, layout: &Layout) -> Vec<u8> {
    let mut w = Writer {
        page_size: layout.page_size,
        fanout: layout.fanout.max(2),
        file: vec![0; 3 * layout.page_size],
        next: 3,
    };
    // Page 2: an empty freelist.
    let ps = layout.page_size;
    w.file[2 * ps..2 * ps + 8].copy_from_slice(&FREELIST_AT.to_le_bytes());
    w.file[2 * ps + 8..2 * ps + 10].copy_from_slice(&FREELIST_PAGE.to_le_bytes());
    let root_pgid = w.tree(root);
    let high_water = w.next;
    let txid = layout.txid.max(1);
    for txid in [txid, txid - 1] {
        let page = meta_page(ps, txid, root_pgid, root.sequence, high_water);
        let at = (txid % 2) as usize * ps;
        w.file[at..at + page.len()].copy_from_slice(&page);
    }
    w.file
}

/// A meta page (header and meta) for transaction `txid`.
pub(super) fn meta_page(
    page_size: usize,
    txid: u64,
    root: u64,
    sequence: u64,
    high_water: u64,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(PAGE_HEADER_SIZE + 64);
    p.extend_from_slice(&(txid % 2).to_le_bytes());
    p.extend_from_slice(&META_PAGE.to_le_bytes());
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&MAGIC.to_le_bytes());
    p.extend_from_slice(&VERSION.to_le_bytes());
    p.extend_from_slice(&(page_size as u32).to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes());
    p.extend_from_slice(&root.to_le_bytes());
    p.extend_from_slice(&sequence.to_le_bytes());
    p.extend_from_slice(&FREELIST_AT.to_le_bytes());
    p.extend_from_slice(&high_water.to_le_bytes());
    p.extend_from_slice(&txid.to_le_bytes());
    let sum = fnv1a64(&p[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + META_CHECKSUM_OFFSET]);
    p.extend_from_slice(&sum.to_le_bytes());
    p
}

/// Rewrites the checksum of the meta page at byte `offset` after a test edited it.
#[cfg(test)]
pub(super) fn reseal_meta(file: &mut [u8], offset: usize) {
    let start = offset + PAGE_HEADER_SIZE;
    let sum = fnv1a64(&file[start..start + META_CHECKSUM_OFFSET]);
    file[start + META_CHECKSUM_OFFSET..start + META_CHECKSUM_OFFSET + 8]
        .copy_from_slice(&sum.to_le_bytes());
}

struct Writer {
    page_size: usize,
    fanout: usize,
    file: Vec<u8>,
    next: u64,
}

impl Writer {
    /// Stores `page` (header included) at the next free page id, with its overflow count.
    fn alloc(&mut self, mut page: Vec<u8>) -> u64 {
        let pages = page.len().div_ceil(self.page_size).max(1);
        let id = self.next;
        self.next += pages as u64;
        page[0..8].copy_from_slice(&id.to_le_bytes());
        page[12..16].copy_from_slice(&((pages - 1) as u32).to_le_bytes());
        let at = id as usize * self.page_size;
        self.file.resize(at + pages * self.page_size, 0);
        self.file[at..at + page.len()].copy_from_slice(&page);
        id
    }

    /// Writes `bucket`'s B+tree and returns its root page.
    fn tree(&mut self, bucket: &NewBucket) -> u64 {
        let mut level: Vec<(Vec<u8>, u64)> = Vec::new();
        let chunks: Vec<&[(Vec<u8>, Node)]> = if bucket.entries.is_empty() {
            vec![&[]]
        } else {
            bucket.entries.chunks(self.fanout).collect()
        };
        for chunk in chunks {
            let page = self.leaf_page(chunk);
            let first = chunk.first().map(|(k, _)| k.clone()).unwrap_or_default();
            level.push((first, self.alloc(page)));
        }
        while level.len() > 1 {
            let mut up = Vec::new();
            for chunk in level.chunks(self.fanout) {
                let page = branch_page(chunk);
                up.push((chunk[0].0.clone(), self.alloc(page)));
            }
            level = up;
        }
        level[0].1
    }

    /// Encodes a leaf page (page id left 0) holding `entries`.
    fn leaf_page(&mut self, entries: &[(Vec<u8>, Node)]) -> Vec<u8> {
        let mut items = Vec::new();
        for (key, node) in entries {
            match node {
                Node::Value(v) => items.push((0u32, key.clone(), v.clone())),
                Node::Bucket(b) => {
                    let value = self.bucket_value(b);
                    items.push((BUCKET_LEAF_FLAG, key.clone(), value));
                }
            }
        }
        let mut page = vec![0u8; PAGE_HEADER_SIZE + items.len() * ELEMENT_SIZE];
        page[8..10].copy_from_slice(&LEAF_PAGE.to_le_bytes());
        page[10..12].copy_from_slice(&(items.len() as u16).to_le_bytes());
        for (i, (flags, key, value)) in items.iter().enumerate() {
            let at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
            let pos = (page.len() - at) as u32;
            let fields = [*flags, pos, key.len() as u32, value.len() as u32];
            for (n, f) in fields.iter().enumerate() {
                page[at + 4 * n..at + 4 * n + 4].copy_from_slice(&f.to_le_bytes());
            }
            page.extend_from_slice(key);
            page.extend_from_slice(value);
        }
        page
    }

    /// The value that stands for `bucket` in its parent's leaf.
    fn bucket_value(&mut self, bucket: &NewBucket) -> Vec<u8> {
        let root = if bucket.inline { 0 } else { self.tree(bucket) };
        let mut value = Vec::with_capacity(BUCKET_HEADER_SIZE);
        value.extend_from_slice(&root.to_le_bytes());
        value.extend_from_slice(&bucket.sequence.to_le_bytes());
        if bucket.inline {
            let page = self.leaf_page(&bucket.entries);
            value.extend_from_slice(&page);
        }
        value
    }
}

/// Encodes a branch page (page id left 0) over `children` (first key, page id).
fn branch_page(children: &[(Vec<u8>, u64)]) -> Vec<u8> {
    let mut page = vec![0u8; PAGE_HEADER_SIZE + children.len() * ELEMENT_SIZE];
    page[8..10].copy_from_slice(&BRANCH_PAGE.to_le_bytes());
    page[10..12].copy_from_slice(&(children.len() as u16).to_le_bytes());
    for (i, (key, pgid)) in children.iter().enumerate() {
        let at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
        let pos = (page.len() - at) as u32;
        page[at..at + 4].copy_from_slice(&pos.to_le_bytes());
        page[at + 4..at + 8].copy_from_slice(&(key.len() as u32).to_le_bytes());
        page[at + 8..at + 16].copy_from_slice(&pgid.to_le_bytes());
        page.extend_from_slice(key);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::bolt::Db;
    use crate::fs::Jail;

    /// What the reader decodes is what [`single_bucket`] wrote, for a bucket that fits in a
    /// page, one that spans several, and an empty one.
    #[test]
    fn the_reader_reads_what_single_bucket_wrote() {
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
            let db = Db::open(&Jail::open(dir.path()).unwrap(), &path).unwrap();
            assert_eq!(db.page_size(), 4096);
            let bucket = db.root().bucket("volumes").unwrap();
            assert_eq!(bucket.len(), n);
            for (k, v) in &items {
                assert_eq!(bucket.get(k), Some(v.as_slice()));
            }
        }
    }
}
