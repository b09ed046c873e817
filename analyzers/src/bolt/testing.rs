//! Test helper: a tiny writer of Bolt files in bbolt's layout, so that the reader (and the
//! modules that read Docker's Bolt files) can be tested on trees of any shape: several leaves
//! under branch pages, values that overflow onto following pages, nested and inline buckets.
//! Compiled only for tests.

use super::{fnv1a64, BUCKET_HEADER_SIZE, ELEMENT_SIZE, META_CHECKSUM_OFFSET, PAGE_HEADER_SIZE};

/// What a key of a [`TestBucket`] holds.
pub(crate) enum Node {
    Value(Vec<u8>),
    Bucket(TestBucket),
}

/// A bucket to write; entries are kept sorted by key, as bbolt keeps them.
#[derive(Default)]
pub(crate) struct TestBucket {
    entries: Vec<(Vec<u8>, Node)>,
    inline: bool,
    sequence: u64,
}

impl TestBucket {
    /// An empty bucket written on pages of its own.
    pub(crate) fn new() -> Self {
        TestBucket::default()
    }

    /// An empty bucket written inline, inside its parent's leaf (bbolt does this for small
    /// buckets without sub-buckets).
    pub(crate) fn inline() -> Self {
        TestBucket {
            inline: true,
            ..TestBucket::default()
        }
    }

    /// Sets the bucket's sequence counter.
    pub(crate) fn sequence(mut self, sequence: u64) -> Self {
        self.sequence = sequence;
        self
    }

    /// Adds (or replaces) a value.
    pub(crate) fn value(self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.node(key, Node::Value(value.as_ref().to_vec()))
    }

    /// Adds (or replaces) a nested bucket.
    pub(crate) fn bucket(self, key: impl AsRef<[u8]>, bucket: TestBucket) -> Self {
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
pub(crate) struct Layout {
    /// Page size in bytes.
    pub(crate) page_size: usize,
    /// Most entries per leaf page and most children per branch page.
    pub(crate) fanout: usize,
    /// Transaction id of the newer meta page (the older one gets `txid - 1`).
    pub(crate) txid: u64,
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

/// Writes a Bolt file whose root bucket holds `root`'s entries (give only buckets at the top,
/// as bbolt requires).
pub(crate) fn write(root: &TestBucket, layout: &Layout) -> Vec<u8> {
    let mut w = Writer {
        page_size: layout.page_size,
        fanout: layout.fanout.max(2),
        file: vec![0; 3 * layout.page_size],
        next: 3,
    };
    // Page 2: an empty freelist.
    let ps = layout.page_size;
    w.file[2 * ps..2 * ps + 8].copy_from_slice(&2u64.to_le_bytes());
    w.file[2 * ps + 8..2 * ps + 10].copy_from_slice(&0x10u16.to_le_bytes());
    let root_pgid = w.tree(root);
    let high_water = w.next;
    for txid in [layout.txid, layout.txid - 1] {
        let page = meta_page(ps, txid, root_pgid, root.sequence, high_water);
        let at = (txid % 2) as usize * ps;
        w.file[at..at + page.len()].copy_from_slice(&page);
    }
    w.file
}

/// A meta page (header and meta) for transaction `txid`.
pub(crate) fn meta_page(
    page_size: usize,
    txid: u64,
    root: u64,
    sequence: u64,
    high_water: u64,
) -> Vec<u8> {
    let mut p = Vec::with_capacity(PAGE_HEADER_SIZE + 64);
    p.extend_from_slice(&(txid % 2).to_le_bytes());
    p.extend_from_slice(&0x04u16.to_le_bytes());
    p.extend_from_slice(&[0; 6]);
    p.extend_from_slice(&super::MAGIC.to_le_bytes());
    p.extend_from_slice(&super::VERSION.to_le_bytes());
    p.extend_from_slice(&(page_size as u32).to_le_bytes());
    p.extend_from_slice(&0u32.to_le_bytes());
    p.extend_from_slice(&root.to_le_bytes());
    p.extend_from_slice(&sequence.to_le_bytes());
    p.extend_from_slice(&2u64.to_le_bytes()); // freelist
    p.extend_from_slice(&high_water.to_le_bytes());
    p.extend_from_slice(&txid.to_le_bytes());
    let sum = fnv1a64(&p[PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + META_CHECKSUM_OFFSET]);
    p.extend_from_slice(&sum.to_le_bytes());
    p
}

/// Rewrites the checksum of the meta page at byte `offset` after a test edited it.
pub(crate) fn reseal_meta(file: &mut [u8], offset: usize) {
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
    fn tree(&mut self, bucket: &TestBucket) -> u64 {
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
                    items.push((1u32, key.clone(), value));
                }
            }
        }
        let mut page = vec![0u8; PAGE_HEADER_SIZE + items.len() * ELEMENT_SIZE];
        page[8..10].copy_from_slice(&0x02u16.to_le_bytes());
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
    fn bucket_value(&mut self, bucket: &TestBucket) -> Vec<u8> {
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
    page[8..10].copy_from_slice(&0x01u16.to_le_bytes());
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
