//! BoltDB files (the etcd-io/bbolt format): a read-only reader, and (in `write`) the
//! encoder the engine writes them with.
//!
//! Docker keeps several of its records in Bolt files: `volumes/metadata.db` and, under
//! `buildkit/`, `metadata_v2.db` (the build cache records), `snapshots.db`, `cache.db` and
//! `containerdmeta.db`. This module decodes such a file into memory and nothing more: it never
//! writes, never maps the file, and never takes the `flock` that bbolt itself takes, so it can
//! read a database that a running `dockerd` holds open.
//!
//! [`Db::open`] picks the current meta page, walks every page reachable from it and returns the
//! decoded tree: a [`Bucket`] of keys (sorted byte strings), each bound to a value or to a
//! nested bucket. Because the walk is done once, up front, every kind of damage is found at
//! open time and the accessors afterwards cannot fail.
//!
//! # Reading page by page
//!
//! The file is opened once, through the [`Jail`], and never read whole: a Bolt file keeps the
//! pages its transactions freed (a busy `metadata.db` grows to gigabytes around a few KiB of
//! live records), and a damaged or hostile file can be any size. [`Db::open`] reads the two
//! meta pages, then, with positioned reads, each page the walk reaches, one at a time and
//! together with its overflow pages; a page is checked against the file's size before it is
//! read, and dropped once its keys and values are copied out. What the reader holds therefore
//! follows what it decodes — the live keys and values, plus the pages on the path from the
//! root to the page being read — not the size of the file; the pages already read are
//! remembered as runs of page ids, one per page read.
//!
//! What it decodes is capped too. Every allocation of one read is charged to a budget of
//! [`DECODE_LIMIT`] bytes before it is made: each page read (with its overflow pages), and each
//! key and value copied out of it with its bookkeeping (pages count once, the keys and values
//! copied from them again; nothing is given back). A page whose header claims more overflow
//! pages than the budget has left, or a tree of more live data, is refused as damage like any
//! other (below), so a file cannot make the reader allocate more than the budget (give or take
//! the slack of growing vectors), nor read more of the file.
//!
//! # The format, as this reader relies on it
//!
//! All integers are little-endian (bbolt writes its structs in native order; every platform
//! Docker runs on is little-endian). The file is an array of pages of `page_size` bytes; page
//! `n` starts at byte `n * page_size`.
//!
//! * **Page header** (16 bytes): `id: u64` (the page's own number), `flags: u16`
//!   (`0x01` branch, `0x02` leaf, `0x04` meta, `0x10` freelist), `count: u16` (number of
//!   elements), `overflow: u32` (the page continues over that many following pages).
//! * **Meta pages** 0 and 1, after the header: `magic: u32` (`0xED0CDAED`), `version: u32` (2),
//!   `page_size: u32`, `flags: u32`, the root bucket (`root: u64` page id, `sequence: u64`),
//!   `freelist: u64`, `pgid: u64` (the high-water mark: first page id never allocated),
//!   `txid: u64`, `checksum: u64` (FNV-1a 64 of the 56 meta bytes before it). bbolt writes the
//!   meta of transaction `t` to page `t % 2` and uses the valid meta with the highest `txid`;
//!   so does this reader. The page size is read from meta page 0; when that one is damaged,
//!   meta page 1 is looked for at each usual page size (bbolt assumes the OS page size).
//! * **Branch page** elements (16 bytes each, after the header): `pos: u32`, `ksize: u32`,
//!   `pgid: u64`; the key (the first key of the child) lies `pos` bytes after the element
//!   itself, and `pgid` is the child page.
//! * **Leaf page** elements (16 bytes each): `flags: u32`, `pos: u32`, `ksize: u32`,
//!   `vsize: u32`; the key lies `pos` bytes after the element and the value right after the
//!   key. Flag `0x01` marks a nested bucket: its value is a bucket header (`root: u64`,
//!   `sequence: u64`); a `root` of 0 means an *inline* bucket, whose single leaf page (header
//!   included, page id 0) follows the header inside the value itself.
//! * The freelist page is not needed to read and is not decoded.
//!
//! # Damage
//!
//! A truncated file, bad magic or checksums on both metas, a page id below 2 or beyond the
//! high-water mark or the end of the file, a page that does not carry its own id, an element
//! pointing outside its page, a page of the wrong type, keys out of order, a page reached
//! twice (a cycle, or two trees sharing a page), nesting deeper than [`MAX_TREE_DEPTH`] /
//! [`MAX_BUCKET_DEPTH`], or more to decode than [`DECODE_LIMIT`] all make [`Db::open`] fail
//! with a [`Problem`] of kind [`ProblemKind::InvalidDatabase`] naming the file; so does a file
//! that ends inside a page it said it held (it shrank while being read). A read that fails is
//! a [`ProblemKind::Unreadable`] one. Decoding never panics, every loop is bounded by the size
//! of the file, and no page is read whole (or decoded) twice.
//!
//! # Reading a database that is being written
//!
//! bbolt writes a transaction's pages to pages that the current tree does not use, then the
//! new meta page. The tree of the current meta therefore stays intact until a *second* commit
//! reuses its freed pages. Without bbolt's lock a reader cannot prevent that, so
//! [`Db::open`] checks it instead: after decoding the tree it reads the two meta pages again,
//! and if they changed (some transaction committed meanwhile) it decodes the file again from
//! its new meta pages, through the same open file, up to [`READ_ATTEMPTS`] times. If the file
//! never holds still, the last read is decoded as is. Each read takes the file's size afresh
//! and has a budget of its own.

use std::collections::BTreeMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Problem, ProblemKind};
use crate::fs::{self, Jail};

mod write;
pub use write::{single_bucket, write, Layout, NewBucket};

/// The magic number at the start of a meta page.
pub const MAGIC: u32 = 0xED0C_DAED;
/// The only file format version bbolt has ever written.
pub const VERSION: u32 = 2;
/// Size of a page header: id, flags, count, overflow.
pub const PAGE_HEADER_SIZE: usize = 16;
/// Size of a branch or leaf element.
pub const ELEMENT_SIZE: usize = 16;
/// Size of a bucket header (root page id, sequence) at the start of a bucket value.
pub const BUCKET_HEADER_SIZE: usize = 16;
/// Bytes of the meta covered by its checksum (everything before the checksum).
pub const META_CHECKSUM_OFFSET: usize = 56;
/// Size of the meta struct, checksum included.
const META_SIZE: usize = META_CHECKSUM_OFFSET + 8;
/// Bytes read of a meta page: its header and the meta struct (the rest of the page is unused).
const META_READ: usize = PAGE_HEADER_SIZE + META_SIZE;
/// Most bytes one read of a database may allocate, in pages read and in keys and values
/// decoded (see the module docs): a bound on what a damaged or hostile file can make this
/// reader hold, whatever the size of the file. Docker's Bolt files hold tens of KiB to a few
/// MiB of live records.
pub const DECODE_LIMIT: u64 = 256 << 20;
/// What keeping one entry of a bucket costs besides its key and value bytes, in bytes: charged
/// to the [`DECODE_LIMIT`] budget with them, so that many empty keys cannot escape it.
const ENTRY_OVERHEAD: u64 = std::mem::size_of::<(Vec<u8>, Entry)>() as u64;

/// Page flag of a branch page.
pub const BRANCH_PAGE: u16 = 0x01;
/// Page flag of a leaf page.
pub const LEAF_PAGE: u16 = 0x02;
/// Page flag of a meta page (written, never needed to read).
pub const META_PAGE: u16 = 0x04;
/// Page flag of the freelist page (written, never needed to read).
pub const FREELIST_PAGE: u16 = 0x10;
/// Leaf element flag marking a nested bucket.
pub const BUCKET_LEAF_FLAG: u32 = 0x01;

/// Smallest page size accepted (bbolt uses the OS page size, 4 KiB on the usual hosts).
const MIN_PAGE_SIZE: u32 = 512;
/// Largest page size accepted.
const MAX_PAGE_SIZE: u32 = 1 << 20;
/// Page sizes tried for meta page 1 when meta page 0 is damaged, commonest first.
const FALLBACK_PAGE_SIZES: [u32; 8] = [4096, 512, 1024, 2048, 8192, 16384, 32768, 65536];

/// Deepest B+tree accepted for one bucket. bbolt keeps at least two keys per page, so a real
/// tree this tall would hold more than 2^32 keys.
pub const MAX_TREE_DEPTH: usize = 32;
/// Deepest nesting of buckets accepted (Docker nests two or three levels).
pub const MAX_BUCKET_DEPTH: usize = 64;
/// How many times [`Db::open`] reads a file whose meta pages change while it is being read.
pub const READ_ATTEMPTS: usize = 3;

/// A decoded Bolt database: the tree of buckets of its current meta page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Db {
    path: PathBuf,
    page_size: u32,
    txid: u64,
    root: Bucket,
}

impl Db {
    /// Reads and decodes the Bolt file at `path`, read-only and without locking it, page by
    /// page (see the module docs for what it holds in memory and the limits it keeps).
    ///
    /// # Errors
    ///
    /// A [`Problem`] naming `path`: [`ProblemKind::Missing`] or [`ProblemKind::Unreadable`]
    /// when the file cannot be read, [`ProblemKind::InvalidDatabase`] when it is not a sound
    /// Bolt file (see the module docs for what is checked).
    pub fn open(jail: &Jail, path: &Path) -> Result<Db, Problem> {
        let io_problem = |e: io::Error| fs::io_problem(path, &e);
        let file = jail.file(path).map_err(io_problem)?;
        let mut attempt = 1;
        loop {
            let source = DbFile::new(&file).map_err(io_problem)?;
            let metas = MetaPages::read(&source).map_err(io_problem)?;
            let decoded = decode_from(path, &source, &metas, DECODE_LIMIT);
            // Keep this read if no transaction committed while it was being made.
            if attempt == READ_ATTEMPTS
                || metas
                    .unchanged(&DbFile::new(&file).map_err(io_problem)?)
                    .map_err(io_problem)?
            {
                return decoded;
            }
            attempt += 1;
        }
    }

    /// The file this database was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The page size recorded in the meta page, in bytes.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The id of the last committed transaction (the `txid` of the meta page in use).
    pub fn txid(&self) -> u64 {
        self.txid
    }

    /// The root bucket, whose entries are the top-level buckets (bbolt allows only buckets at
    /// the top level).
    pub fn root(&self) -> &Bucket {
        &self.root
    }
}

/// A bucket: keys in ascending byte order, each bound to a value or to a nested bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bucket {
    sequence: u64,
    entries: Vec<(Vec<u8>, Entry)>,
}

/// What a key of a [`Bucket`] holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A plain value (possibly empty).
    Value(Vec<u8>),
    /// A nested bucket.
    Bucket(Bucket),
}

impl Entry {
    /// The value, if this entry is a plain value.
    pub fn as_value(&self) -> Option<&[u8]> {
        match self {
            Entry::Value(v) => Some(v),
            Entry::Bucket(_) => None,
        }
    }

    /// The nested bucket, if this entry is one.
    pub fn as_bucket(&self) -> Option<&Bucket> {
        match self {
            Entry::Value(_) => None,
            Entry::Bucket(b) => Some(b),
        }
    }
}

impl Bucket {
    /// The entry under `key`.
    pub fn entry(&self, key: impl AsRef<[u8]>) -> Option<&Entry> {
        let key = key.as_ref();
        self.entries
            .binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .ok()
            .map(|i| &self.entries[i].1)
    }

    /// The value under `key`; `None` when the key is absent or names a nested bucket (as
    /// bbolt's `Get`).
    pub fn get(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        self.entry(key).and_then(Entry::as_value)
    }

    /// The nested bucket called `name`; `None` when absent or a plain value.
    pub fn bucket(&self, name: impl AsRef<[u8]>) -> Option<&Bucket> {
        self.entry(name).and_then(Entry::as_bucket)
    }

    /// All entries, in ascending key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Entry)> + '_ {
        self.entries.iter().map(|(k, e)| (k.as_slice(), e))
    }

    /// The number of entries (values and nested buckets).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the bucket has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The bucket's sequence counter (bbolt's `NextSequence`).
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
}

/// Positioned reads of a database's bytes: the open file, or (in tests) bytes in memory.
trait Source {
    /// The size in bytes, taken when the read began; nothing past it is asked for.
    fn size(&self) -> u64;

    /// Fills `buf` with the bytes from byte `offset` on; an
    /// [`io::ErrorKind::UnexpectedEof`] error when the bytes end first.
    fn fill(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

/// The open database file and its size when one read of it began.
struct DbFile<'a> {
    file: &'a File,
    size: u64,
}

impl<'a> DbFile<'a> {
    /// Takes the size of `file` now (a database being written may grow or shrink).
    fn new(file: &'a File) -> io::Result<Self> {
        let size = file.metadata()?.len();
        Ok(DbFile { file, size })
    }
}

impl Source for DbFile<'_> {
    fn size(&self) -> u64 {
        self.size
    }

    fn fill(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
}

#[cfg(test)]
impl Source for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn fill(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let bytes = usize::try_from(offset)
            .ok()
            .and_then(|start| self.get(start..start.checked_add(buf.len())?))
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(bytes);
        Ok(())
    }
}

/// Reads up to `len` bytes from byte `offset` of `source`: fewer where it ends, none past it.
fn read_upto<S: Source + ?Sized>(source: &S, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let available = source.size().saturating_sub(offset);
    let mut buf = vec![0; usize::try_from(available).map_or(len, |a| a.min(len))];
    if !buf.is_empty() {
        source.fill(&mut buf, offset)?;
    }
    Ok(buf)
}

/// The fields of a meta page this reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    page_size: u32,
    root: u64,
    sequence: u64,
    high_water: u64,
    txid: u64,
}

/// FNV-1a 64, bbolt's meta page checksum.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let b = bytes.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Decodes the meta page read at byte `offset` of a file of `file_size` bytes (`page` holds
/// its first [`META_READ`] bytes, fewer where the file ends), or says why it is not valid.
fn parse_meta(page: &[u8], offset: u64, file_size: u64) -> Result<Meta, String> {
    let Some(m) = page.get(PAGE_HEADER_SIZE..META_READ) else {
        return Err(format!(
            "file ends before the meta page at byte {offset} ({file_size} bytes)"
        ));
    };
    let field32 = |at| u32_at(m, at).unwrap_or(0);
    let field64 = |at| u64_at(m, at).unwrap_or(0);
    if field32(0) != MAGIC {
        return Err(format!("bad magic {:#010x}", field32(0)));
    }
    if field32(4) != VERSION {
        return Err(format!("unsupported version {}", field32(4)));
    }
    let sum = fnv1a64(&m[..META_CHECKSUM_OFFSET]);
    if field64(META_CHECKSUM_OFFSET) != sum {
        return Err(format!(
            "checksum {:#018x} does not match {sum:#018x}",
            field64(META_CHECKSUM_OFFSET)
        ));
    }
    let page_size = field32(8);
    if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(format!("implausible page size {page_size}"));
    }
    Ok(Meta {
        page_size,
        root: field64(16),
        sequence: field64(24),
        high_water: field64(40),
        txid: field64(48),
    })
}

/// The two meta pages as one read found them, kept to choose the tree to decode and to see
/// afterwards whether a transaction committed meanwhile.
struct MetaPages {
    /// The size of the file when they were read, in bytes.
    file_size: u64,
    /// Meta page 0 and meta page 1: the byte each was read at, and its first [`META_READ`]
    /// bytes (fewer where the file ends).
    pages: [(u64, Vec<u8>); 2],
}

impl MetaPages {
    /// Reads meta page 0 and meta page 1: at the page size meta page 0 records or, when meta
    /// page 0 is damaged, at the first usual page size that holds a valid meta page 1 of that
    /// page size (at the commonest one when none does).
    fn read<S: Source + ?Sized>(source: &S) -> io::Result<MetaPages> {
        let file_size = source.size();
        let first = read_upto(source, 0, META_READ)?;
        let second = match parse_meta(&first, 0, file_size) {
            Ok(m0) => {
                let at = u64::from(m0.page_size);
                (at, read_upto(source, at, META_READ)?)
            }
            Err(_) => {
                let mut found = None;
                for size in FALLBACK_PAGE_SIZES.map(u64::from) {
                    let page = read_upto(source, size, META_READ)?;
                    let fits = parse_meta(&page, size, file_size)
                        .is_ok_and(|m| u64::from(m.page_size) == size);
                    if fits {
                        found = Some((size, page));
                        break;
                    }
                }
                match found {
                    Some(second) => second,
                    None => {
                        let at = u64::from(FALLBACK_PAGE_SIZES[0]);
                        (at, read_upto(source, at, META_READ)?)
                    }
                }
            }
        };
        Ok(MetaPages {
            file_size,
            pages: [(0, first), second],
        })
    }

    /// Picks the valid meta page with the highest txid, as bbolt does.
    fn select(&self) -> Result<Meta, String> {
        let [(_, first), (at, second)] = &self.pages;
        let meta0 = parse_meta(first, 0, self.file_size);
        let meta1 = parse_meta(second, *at, self.file_size);
        let meta1 = match &meta0 {
            Ok(m0) => meta1.and_then(|m1| {
                if m1.page_size == m0.page_size {
                    Ok(m1)
                } else {
                    Err(format!(
                        "page size {} differs from meta page 0's {}",
                        m1.page_size, m0.page_size
                    ))
                }
            }),
            Err(_) => meta1
                .ok()
                .filter(|m| u64::from(m.page_size) == *at)
                .ok_or_else(|| "not found at any usual page size".to_owned()),
        };
        match (meta0, meta1) {
            (Ok(m0), Ok(m1)) => Ok(if m1.txid > m0.txid { m1 } else { m0 }),
            (Ok(m), Err(_)) | (Err(_), Ok(m)) => Ok(m),
            (Err(e0), Err(e1)) => Err(format!("no valid meta page (page 0: {e0}; page 1: {e1})")),
        }
    }

    /// Whether `source` still holds these bytes where they were read: if not, a transaction
    /// committed (or the file was replaced in place) since.
    fn unchanged<S: Source + ?Sized>(&self, source: &S) -> io::Result<bool> {
        for (at, bytes) in &self.pages {
            if read_upto(source, *at, META_READ)? != *bytes {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Decodes a whole Bolt file held in memory.
#[cfg(test)]
fn decode(path: &Path, bytes: &[u8]) -> Result<Db, Problem> {
    decode_limited(path, bytes, DECODE_LIMIT)
}

/// Decodes a whole Bolt file held in memory, allocating at most `limit` bytes.
#[cfg(test)]
fn decode_limited(path: &Path, bytes: &[u8], limit: u64) -> Result<Db, Problem> {
    let metas = MetaPages::read(bytes).map_err(|e| fs::io_problem(path, &e))?;
    decode_from(path, bytes, &metas, limit)
}

/// Decodes the tree of the current meta page among `metas`, reading its pages from
/// `source` and allocating at most `limit` bytes.
fn decode_from<S: Source + ?Sized>(
    path: &Path,
    source: &S,
    metas: &MetaPages,
    limit: u64,
) -> Result<Db, Problem> {
    let invalid = |detail: String| Problem::new(path, ProblemKind::InvalidDatabase, detail);
    let meta = metas.select().map_err(invalid)?;
    let mut walker = Walker {
        source,
        page_size: u64::from(meta.page_size),
        high_water: meta.high_water,
        visited: BTreeMap::new(),
        budget: limit,
    };
    let entries = walker.tree(meta.root, 0, 0).map_err(|fault| match fault {
        Fault::Invalid(e) => invalid(format!("transaction {}: {e}", meta.txid)),
        Fault::Io(e) => fs::io_problem(path, &e),
    })?;
    Ok(Db {
        path: path.to_path_buf(),
        page_size: meta.page_size,
        txid: meta.txid,
        root: Bucket {
            sequence: meta.sequence,
            entries,
        },
    })
}

/// Why a walk stopped.
#[derive(Debug)]
enum Fault {
    /// The file is not a sound Bolt database: what is wrong and where, in words.
    Invalid(String),
    /// A read of the file failed.
    Io(io::Error),
}

impl Fault {
    /// Says where damage was found, in front of what it is.
    fn within(self, place: impl FnOnce() -> String) -> Fault {
        match self {
            Fault::Invalid(e) => Fault::Invalid(format!("{}: {e}", place())),
            io @ Fault::Io(_) => io,
        }
    }
}

impl From<String> for Fault {
    fn from(detail: String) -> Self {
        Fault::Invalid(detail)
    }
}

impl From<&str> for Fault {
    fn from(detail: &str) -> Self {
        Fault::Invalid(detail.to_owned())
    }
}

/// Walks the pages of one meta's tree, checking every offset, reading each page once and
/// charging what it allocates to its budget.
struct Walker<'a, S: ?Sized> {
    source: &'a S,
    page_size: u64,
    high_water: u64,
    /// The pages read so far, as runs `first page id -> last page id` (a page and its
    /// overflow); a page reached twice means a cycle or a shared page.
    visited: BTreeMap<u64, u64>,
    /// Bytes that may still be allocated: [`DECODE_LIMIT`] less the pages read and the
    /// entries kept so far.
    budget: u64,
}

/// A page (with its overflow) as read from the file.
struct Page {
    flags: u16,
    count: u16,
    /// The page's bytes from its header to the end of its last overflow page.
    data: Vec<u8>,
}

impl<S: Source + ?Sized> Walker<'_, S> {
    /// Reads page `pgid`, checking that it exists, names itself, fits the budget and was not
    /// read before.
    fn page(&mut self, pgid: u64) -> Result<Page, Fault> {
        if pgid < 2 {
            return Err(format!("a bucket points at meta page {pgid}").into());
        }
        if pgid >= self.high_water {
            return Err(format!(
                "page {pgid} is at or beyond the high-water mark {}",
                self.high_water
            )
            .into());
        }
        let size = self.source.size();
        let truncated = || format!("page {pgid} lies beyond the end of the file ({size} bytes)");
        let start = pgid
            .checked_mul(self.page_size)
            .filter(|&s| s.checked_add(PAGE_HEADER_SIZE as u64) <= Some(size))
            .ok_or_else(truncated)?;
        let mut header = [0u8; PAGE_HEADER_SIZE];
        self.read(&mut header, start, pgid)?;
        let id = u64_at(&header, 0).unwrap_or(0);
        if id != pgid {
            return Err(format!("page {pgid} calls itself page {id}").into());
        }
        let overflow = u64::from(u32_at(&header, 12).unwrap_or(0));
        let last = pgid.saturating_add(overflow);
        if last >= self.high_water {
            return Err(format!(
                "page {pgid} overflows to page {last}, beyond the high-water mark {}",
                self.high_water
            )
            .into());
        }
        let end = (last + 1)
            .checked_mul(self.page_size)
            .filter(|&e| e <= size)
            .ok_or_else(truncated)?;
        let len = end - start;
        self.charge(len, || {
            format!("page {pgid} ({len} bytes with its {overflow} overflow pages)")
        })?;
        if let Some(p) = self.first_visited(pgid, last) {
            return Err(format!(
                "page {p} is reached twice (a cycle, or two trees sharing a page)"
            )
            .into());
        }
        self.visited.insert(pgid, last);
        // `len` fits the budget, so it fits in memory's address space.
        let mut data = vec![0; usize::try_from(len).map_err(|_| truncated())?];
        self.read(&mut data, start, pgid)?;
        Ok(Page {
            flags: u16_at(&header, 8).unwrap_or(0),
            count: u16_at(&header, 10).unwrap_or(0),
            data,
        })
    }

    /// The first page of `first..=last` already read, if any.
    fn first_visited(&self, first: u64, last: u64) -> Option<u64> {
        // The runs never overlap: the one starting at or before `first` is the only one that
        // can cover it; otherwise the first run starting inside the span is the answer.
        let covering = self
            .visited
            .range(..=first)
            .next_back()
            .filter(|(_, &run_last)| run_last >= first)
            .map(|_| first);
        covering.or_else(|| {
            self.visited
                .range(first..=last)
                .next()
                .map(|(&run_first, _)| run_first)
        })
    }

    /// Fills `buf` from byte `offset`, a part of page `pgid` that lay inside the file.
    fn read(&self, buf: &mut [u8], offset: u64, pgid: u64) -> Result<(), Fault> {
        self.source.fill(buf, offset).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                Fault::Invalid(format!(
                    "the file ends inside page {pgid} (it shrank while being read)"
                ))
            } else {
                Fault::Io(e)
            }
        })
    }

    /// Takes `bytes` from the budget before they are allocated; `what` names them when they
    /// do not fit.
    fn charge(&mut self, bytes: u64, what: impl FnOnce() -> String) -> Result<(), Fault> {
        self.budget = self.budget.checked_sub(bytes).ok_or_else(|| {
            format!(
                "{} would take what is decoded past the limit of {DECODE_LIMIT} bytes",
                what()
            )
        })?;
        Ok(())
    }

    /// The entries of the bucket whose B+tree starts at page `root`.
    fn tree(
        &mut self,
        root: u64,
        tree_depth: usize,
        bucket_depth: usize,
    ) -> Result<Vec<(Vec<u8>, Entry)>, Fault> {
        let mut entries = Vec::new();
        self.subtree(root, tree_depth, bucket_depth, &mut entries)?;
        Ok(entries)
    }

    /// Appends the entries under page `pgid` to `out`.
    fn subtree(
        &mut self,
        pgid: u64,
        tree_depth: usize,
        bucket_depth: usize,
        out: &mut Vec<(Vec<u8>, Entry)>,
    ) -> Result<(), Fault> {
        if tree_depth > MAX_TREE_DEPTH {
            return Err(format!(
                "page {pgid} is more than {MAX_TREE_DEPTH} levels deep in its tree"
            )
            .into());
        }
        let page = self.page(pgid)?;
        match page.flags {
            BRANCH_PAGE => {
                if page.count == 0 {
                    return Err(format!("branch page {pgid} has no elements").into());
                }
                for i in 0..usize::from(page.count) {
                    let at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
                    let child = u64_at(&page.data, at + 8).ok_or_else(|| {
                        format!("branch page {pgid}: element {i} lies outside it")
                    })?;
                    self.subtree(child, tree_depth + 1, bucket_depth, out)?;
                }
                Ok(())
            }
            LEAF_PAGE => self.leaf(
                &page.data,
                page.count,
                bucket_depth,
                out,
                &format!("leaf page {pgid}"),
            ),
            flags => {
                Err(format!("page {pgid} has flags {flags:#06x}, not a branch or leaf page").into())
            }
        }
    }

    /// Decodes the elements of a leaf page (`data` starts at its header) into `out`.
    fn leaf(
        &mut self,
        data: &[u8],
        count: u16,
        bucket_depth: usize,
        out: &mut Vec<(Vec<u8>, Entry)>,
        what: &str,
    ) -> Result<(), Fault> {
        for i in 0..usize::from(count) {
            let at = PAGE_HEADER_SIZE + i * ELEMENT_SIZE;
            let outside = || format!("{what}: element {i} points outside the page");
            let element = data.get(at..at + ELEMENT_SIZE).ok_or_else(outside)?;
            let field = |n: usize| u32_at(element, n * 4).map_or(0, |v| v as usize);
            let (flags, pos, ksize, vsize) = (field(0), field(1), field(2), field(3));
            let key_start = at.checked_add(pos).ok_or_else(outside)?;
            let key_end = key_start.checked_add(ksize).ok_or_else(outside)?;
            let value_end = key_end.checked_add(vsize).ok_or_else(outside)?;
            let key = data.get(key_start..key_end).ok_or_else(outside)?;
            let value = data.get(key_end..value_end).ok_or_else(outside)?;
            if let Some((last, _)) = out.last() {
                if last.as_slice() >= key {
                    return Err(format!("{what}: element {i}: keys are out of order").into());
                }
            }
            let is_bucket = flags & BUCKET_LEAF_FLAG as usize != 0;
            // A nested bucket's value is not kept: its entries are charged as they are decoded.
            let kept = key.len() + if is_bucket { 0 } else { value.len() };
            self.charge(ENTRY_OVERHEAD + kept as u64, || {
                format!("{what}: element {i}")
            })?;
            let entry = if is_bucket {
                let name = String::from_utf8_lossy(key);
                let bucket = self
                    .bucket(value, bucket_depth + 1)
                    .map_err(|f| f.within(|| format!("bucket {name:?}")))?;
                Entry::Bucket(bucket)
            } else {
                Entry::Value(value.to_vec())
            };
            out.push((key.to_vec(), entry));
        }
        Ok(())
    }

    /// Decodes a nested bucket from its value in the parent's leaf.
    fn bucket(&mut self, value: &[u8], depth: usize) -> Result<Bucket, Fault> {
        if depth > MAX_BUCKET_DEPTH {
            return Err(format!("buckets nested more than {MAX_BUCKET_DEPTH} deep").into());
        }
        let (Some(root), Some(sequence)) = (u64_at(value, 0), u64_at(value, 8)) else {
            return Err(format!(
                "bucket header is {} bytes, shorter than {BUCKET_HEADER_SIZE}",
                value.len()
            )
            .into());
        };
        let mut entries = Vec::new();
        if root == 0 {
            let page = &value[BUCKET_HEADER_SIZE..];
            let flags = u16_at(page, 8).ok_or("inline page shorter than a page header")?;
            if flags != LEAF_PAGE {
                return Err(format!("inline page has flags {flags:#06x}, not a leaf").into());
            }
            let count = u16_at(page, 10).unwrap_or(0);
            self.leaf(page, count, depth, &mut entries, "inline page")?;
        } else {
            self.subtree(root, 0, depth, &mut entries)?;
        }
        Ok(Bucket { sequence, entries })
    }
}

#[cfg(test)]
mod tests {
    use super::write::{meta_page, reseal_meta};
    use super::*;

    /// Opens `path` in a jail of its own directory.
    fn open_in_parent(path: &Path) -> Result<Db, Problem> {
        Db::open(&Jail::open(path.parent().unwrap()).unwrap(), path)
    }

    fn decode_ok(bytes: &[u8]) -> Db {
        decode(Path::new("/t.db"), bytes).expect("decodes")
    }

    fn decode_err(bytes: &[u8]) -> Problem {
        let p = decode(Path::new("/t.db"), bytes).expect_err("must fail");
        assert_eq!(p.kind, ProblemKind::InvalidDatabase);
        assert_eq!(p.path, Path::new("/t.db"));
        p
    }

    fn small(page_size: usize) -> Layout {
        Layout {
            page_size,
            fanout: 4,
            txid: 9,
        }
    }

    /// A tree with every shape: branch levels, overflow, nested, inline and empty buckets.
    fn sample() -> NewBucket {
        let mut many = NewBucket::new().sequence(42);
        for n in 0..50 {
            many = many.value(format!("key{n:03}"), format!("value {n}"));
        }
        NewBucket::new()
            .bucket("many", many)
            .bucket(
                "nested",
                NewBucket::new()
                    .value("big", vec![7u8; 5000])
                    .value("empty", b"")
                    .bucket(
                        "inline",
                        NewBucket::inline().value("a", "1").value("b", "2"),
                    )
                    .bucket("deeper", NewBucket::new().bucket("leaf", NewBucket::new())),
            )
            .bucket("zempty", NewBucket::new())
    }

    #[test]
    fn fnv1a64_matches_reference_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn reads_every_shape_of_tree() {
        for page_size in [512, 1024, 4096] {
            let db = decode_ok(&write(&sample(), &small(page_size)));
            assert_eq!(db.page_size() as usize, page_size);
            assert_eq!(db.txid(), 9);
            let root = db.root();
            let names: Vec<&[u8]> = root.iter().map(|(k, _)| k).collect();
            assert_eq!(names, [&b"many"[..], b"nested", b"zempty"]);

            let many = root.bucket("many").unwrap();
            assert_eq!(many.len(), 50);
            assert_eq!(many.sequence(), 42);
            assert_eq!(many.get("key007"), Some(&b"value 7"[..]));
            assert_eq!(many.get("key050"), None);
            let keys: Vec<&[u8]> = many.iter().map(|(k, _)| k).collect();
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "sorted");

            let nested = root.bucket("nested").unwrap();
            assert_eq!(nested.get("big"), Some(&[7u8; 5000][..]));
            assert_eq!(nested.get("empty"), Some(&b""[..]));
            let inline = nested.bucket("inline").unwrap();
            assert_eq!(inline.get("b"), Some(&b"2"[..]));
            assert!(nested.get("inline").is_none(), "a bucket is not a value");
            assert!(nested.bucket("big").is_none(), "a value is not a bucket");
            let leaf = nested
                .bucket("deeper")
                .and_then(|d| d.bucket("leaf"))
                .unwrap();
            assert!(leaf.is_empty());
            assert!(root.bucket("zempty").unwrap().is_empty());
        }
    }

    #[test]
    fn reads_a_file_written_by_dockerd() {
        // buildkit/metadata_v2.db from dockerd 20.10.24 after three builds and a
        // `docker system df`, cut at its high-water mark (19 pages of 4 KiB): a branch page
        // over six leaves, inline record buckets, and one record big enough for its own page.
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/format/bolt/testdata/metadata_v2.db"
        ));
        let db = open_in_parent(path).unwrap();
        assert_eq!((db.page_size(), db.txid()), (4096, 201));
        let top: Vec<&[u8]> = db.root().iter().map(|(k, _)| k).collect();
        assert_eq!(top, [&b"_external"[..], b"_index", b"_main"]);
        let main = db.root().bucket("_main").unwrap();
        assert_eq!(main.len(), 26);
        let record = main.bucket("xiu68xihcp8e09y6575h54svb").unwrap();
        assert_eq!(
            record.get("snapshot.size"),
            Some(&br#"{"value":123006}"#[..])
        );
        assert_eq!(
            record.get("cache.parent"),
            Some(&br#"{"value":"wggygu95a9wj1dx0u9anl1xya"}"#[..])
        );
        assert_eq!(record.get("cache.equalMutable"), Some(&b""[..]));
        // The record stored on a page of its own (not inline).
        let base = main.bucket("wggygu95a9wj1dx0u9anl1xya").unwrap();
        assert_eq!(
            base.get("cache.description"),
            Some(&br#"{"value":"from local "}"#[..])
        );
        assert_eq!(db.root().bucket("_index").unwrap().len(), 10);
    }

    #[test]
    fn picks_the_valid_meta_with_the_highest_txid() {
        let layout = small(1024);
        let file = write(&sample(), &layout);
        // txid 9 lives on page 1, txid 8 on page 0.
        assert_eq!(decode_ok(&file).txid(), 9);

        let mut newer_broken = file.clone();
        newer_broken[1024 + PAGE_HEADER_SIZE + 50] ^= 0xff; // inside the txid-9 meta
        assert_eq!(decode_ok(&newer_broken).txid(), 8);

        // With meta page 0 broken, meta page 1 is found by trying page sizes.
        let mut first_broken = file.clone();
        first_broken[PAGE_HEADER_SIZE] ^= 0xff; // magic of page 0
        assert_eq!(decode_ok(&first_broken).txid(), 9);

        let mut both = file;
        both[PAGE_HEADER_SIZE] ^= 0xff;
        both[1024 + PAGE_HEADER_SIZE + 4] = 3; // version of page 1
        let p = decode_err(&both);
        assert!(p.detail.contains("no valid meta page"), "{}", p.detail);
        assert!(p.detail.contains("bad magic"), "{}", p.detail);
    }

    #[test]
    fn rejects_files_that_are_not_bolt() {
        decode_err(b"");
        decode_err(&[0u8; 8192]);
        decode_err(b"{\"not\": \"bolt\"}");
        let file = write(&sample(), &small(4096));
        // Meta page 0 fits in 100 bytes; the tree it points at does not.
        let p = decode_err(&file[..100]);
        assert!(
            p.detail.contains("beyond the end of the file"),
            "{}",
            p.detail
        );
    }

    #[test]
    fn rejects_a_truncated_file() {
        let file = write(&sample(), &small(4096));
        // Both metas intact, but the pages they point at are cut off.
        let p = decode_err(&file[..3 * 4096]);
        assert!(
            p.detail.contains("beyond the end of the file"),
            "{}",
            p.detail
        );
    }

    /// Rewrites both metas of `file` (page size `ps`) with a new root and high-water mark.
    fn with_meta(file: &[u8], ps: usize, root: u64, high_water: u64) -> Vec<u8> {
        let mut out = file.to_vec();
        for txid in [9u64, 8] {
            let page = meta_page(ps, txid, root, 0, high_water);
            let at = (txid % 2) as usize * ps;
            out[at..at + page.len()].copy_from_slice(&page);
        }
        out
    }

    #[test]
    fn rejects_page_ids_out_of_range() {
        let ps = 1024;
        let file = write(&sample(), &small(ps));
        let pages = (file.len() / ps) as u64;
        let p = decode_err(&with_meta(&file, ps, pages, pages));
        assert!(p.detail.contains("high-water mark"), "{}", p.detail);
        let p = decode_err(&with_meta(&file, ps, 1, pages));
        assert!(p.detail.contains("meta page 1"), "{}", p.detail);
        let p = decode_err(&with_meta(&file, ps, pages + 50, pages + 100));
        assert!(p.detail.contains("end of the file"), "{}", p.detail);
    }

    /// Page size 1024, root bucket "b" holding 8 values under a branch page (fanout 4):
    /// pages 3 and 4 are leaves, 5 is the bucket's branch, 6 the root leaf.
    fn branchy() -> Vec<u8> {
        let mut b = NewBucket::new();
        for n in 0..8 {
            b = b.value(format!("k{n}"), "v");
        }
        write(&NewBucket::new().bucket("b", b), &small(1024))
    }

    fn set_u64(file: &mut [u8], at: usize, v: u64) {
        file[at..at + 8].copy_from_slice(&v.to_le_bytes());
    }

    #[test]
    fn the_branchy_layout_is_as_described() {
        let file = branchy();
        assert_eq!(u16_at(&file, 5 * 1024 + 8), Some(BRANCH_PAGE));
        assert_eq!(u64_at(&file, 5 * 1024 + PAGE_HEADER_SIZE + 8), Some(3));
        assert_eq!(decode_ok(&file).root().bucket("b").unwrap().len(), 8);
    }

    #[test]
    fn rejects_cycles_and_shared_pages() {
        // The branch's second child pointing back at the branch itself.
        let mut cycle = branchy();
        set_u64(
            &mut cycle,
            5 * 1024 + PAGE_HEADER_SIZE + ELEMENT_SIZE + 8,
            5,
        );
        let p = decode_err(&cycle);
        assert!(p.detail.contains("reached twice"), "{}", p.detail);
        // Both children pointing at the same leaf.
        let mut shared = branchy();
        set_u64(
            &mut shared,
            5 * 1024 + PAGE_HEADER_SIZE + ELEMENT_SIZE + 8,
            3,
        );
        let p = decode_err(&shared);
        assert!(p.detail.contains("page 3 is reached twice"), "{}", p.detail);
    }

    #[test]
    fn rejects_damaged_pages() {
        let mut wrong_id = branchy();
        set_u64(&mut wrong_id, 4 * 1024, 77);
        assert!(decode_err(&wrong_id)
            .detail
            .contains("calls itself page 77"));

        let mut wrong_type = branchy();
        wrong_type[3 * 1024 + 8] = 0x10;
        assert!(decode_err(&wrong_type)
            .detail
            .contains("not a branch or leaf"));

        let mut outside = branchy();
        // First element of leaf 3: pos = 2^31.
        let at = 3 * 1024 + PAGE_HEADER_SIZE + 4;
        outside[at..at + 4].copy_from_slice(&0x8000_0000u32.to_le_bytes());
        assert!(decode_err(&outside).detail.contains("outside the page"));

        let mut huge_overflow = branchy();
        huge_overflow[4 * 1024 + 12..4 * 1024 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_err(&huge_overflow).detail.contains("overflows"));

        let mut unsorted = branchy();
        // Swap the two leaves under the branch.
        set_u64(&mut unsorted, 5 * 1024 + PAGE_HEADER_SIZE + 8, 4);
        set_u64(
            &mut unsorted,
            5 * 1024 + PAGE_HEADER_SIZE + ELEMENT_SIZE + 8,
            3,
        );
        assert!(decode_err(&unsorted).detail.contains("out of order"));
    }

    #[test]
    fn bounds_nesting_depth() {
        fn nest(depth: usize) -> NewBucket {
            let mut b = NewBucket::inline().value("x", "y");
            for _ in 0..depth {
                b = NewBucket::inline().bucket("n", b);
            }
            NewBucket::new().bucket("top", b)
        }
        let layout = Layout {
            page_size: 4096,
            fanout: 64,
            txid: 3,
        };
        assert!(decode(Path::new("/t.db"), &write(&nest(10), &layout)).is_ok());
        let p = decode_err(&write(&nest(MAX_BUCKET_DEPTH + 5), &layout));
        assert!(p.detail.contains("nested more than"), "{}", p.detail);

        // A tree deeper than MAX_TREE_DEPTH: fanout 2 over 2^34 keys is out of reach, so
        // chain branch pages by hand: page n (a one-element branch) points at page n + 1.
        let ps = 512;
        let levels = MAX_TREE_DEPTH as u64 + 3;
        let mut file = vec![0u8; (3 + levels as usize + 1) * ps];
        for n in 3..3 + levels {
            let at = n as usize * ps;
            set_u64(&mut file, at, n);
            file[at + 8..at + 10].copy_from_slice(&BRANCH_PAGE.to_le_bytes());
            file[at + 10..at + 12].copy_from_slice(&1u16.to_le_bytes());
            set_u64(&mut file, at + PAGE_HEADER_SIZE + 8, n + 1);
        }
        let leaf = (3 + levels) as usize * ps;
        set_u64(&mut file, leaf, 3 + levels);
        file[leaf + 8..leaf + 10].copy_from_slice(&LEAF_PAGE.to_le_bytes());
        let file = with_meta(&file, ps, 3, 4 + levels);
        let p = decode_err(&file);
        assert!(p.detail.contains("levels deep"), "{}", p.detail);
    }

    #[test]
    fn never_panics_on_damaged_bytes() {
        let file = write(&sample(), &small(512));
        for cut in 0..file.len() {
            let _ = decode(Path::new("/t.db"), &file[..cut]);
        }
        for at in 0..file.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = file.clone();
                damaged[at] ^= flip;
                // Keep the metas valid so that the damage reaches the tree walk.
                reseal_meta(&mut damaged, 0);
                reseal_meta(&mut damaged, 512);
                if let Err(p) = decode(Path::new("/t.db"), &damaged) {
                    assert_eq!(p.kind, ProblemKind::InvalidDatabase);
                }
            }
        }
    }

    /// Makes the file at `path` `len` bytes long; past its end it is a hole (no disk used).
    fn extend_sparse(path: &Path, len: u64) {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(len)
            .unwrap();
    }

    #[test]
    fn opens_a_sparse_file_of_several_gigabytes() {
        // A small database at the start of a 6 GiB file (what freed pages make of a busy
        // metadata.db): only the pages the tree reaches are read, so this neither reads 6 GiB
        // nor holds them; the whole-file read this replaced refused anything over 1 GiB.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sparse.db");
        let bytes = write(&sample(), &Layout::default());
        std::fs::write(&path, &bytes).unwrap();
        extend_sparse(&path, 6 << 30);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 6 << 30);
        let db = open_in_parent(&path).unwrap();
        assert_eq!(db.root(), decode_ok(&bytes).root());
        let nested = db.root().bucket("nested").unwrap();
        assert_eq!(nested.get("big"), Some(&[7u8; 5000][..]));
    }

    #[test]
    fn refuses_a_value_claiming_a_huge_overflow() {
        // Page 3 is bucket "b"'s leaf, whose 5000-byte value overflows onto page 4; page 5
        // is the root leaf. Page 3 then claims 2^20 overflow pages (4 GiB), all inside the
        // high-water mark and the (sparse) file: refused by the budget, not allocated.
        let ps = 4096;
        let tree = NewBucket::new().bucket("b", NewBucket::new().value("big", vec![7u8; 5000]));
        let file = write(&tree, &Layout::default());
        assert_eq!(u32_at(&file, 3 * ps + 12), Some(1), "page 3 overflows once");
        assert_eq!(
            u16_at(&file, 5 * ps + 8),
            Some(LEAF_PAGE),
            "page 5 is the root"
        );
        let overflow: u32 = 1 << 20;
        let high_water = 3 + u64::from(overflow) + 1;
        let mut file = with_meta(&file, ps, 5, high_water);
        file[3 * ps + 12..3 * ps + 16].copy_from_slice(&overflow.to_le_bytes());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overflow.db");
        std::fs::write(&path, &file).unwrap();
        extend_sparse(&path, high_water * ps as u64);
        let p = open_in_parent(&path).unwrap_err();
        assert_eq!(
            (p.kind, p.path.as_path()),
            (ProblemKind::InvalidDatabase, path.as_path())
        );
        assert!(
            p.detail
                .contains("page 3 (4294971392 bytes with its 1048576 overflow pages)"),
            "{}",
            p.detail
        );
        assert!(p.detail.contains("past the limit"), "{}", p.detail);
    }

    #[test]
    fn caps_the_keys_and_values_decoded() {
        // Page 3: bucket "b"'s leaf of 20 entries with empty values; page 4: the root leaf.
        let mut b = NewBucket::new();
        for n in 0..20 {
            b = b.value(format!("k{n:02}"), b"");
        }
        let file = write(&NewBucket::new().bucket("b", b), &Layout::default());
        let db = decode_limited(Path::new("/t.db"), &file, DECODE_LIMIT).unwrap();
        assert_eq!(db.root().bucket("b").unwrap().len(), 20);
        // Room for both pages, the entry "b" and ten entries of "b": the eleventh is refused,
        // however small its key, because every entry costs its bookkeeping too.
        let limit = 2 * 4096 + (ENTRY_OVERHEAD + 1) + 10 * (ENTRY_OVERHEAD + 3);
        let p = decode_limited(Path::new("/t.db"), &file, limit).unwrap_err();
        assert_eq!(p.kind, ProblemKind::InvalidDatabase);
        assert!(
            p.detail
                .contains("bucket \"b\": leaf page 3: element 10 would take what is decoded"),
            "{}",
            p.detail
        );
        assert!(decode_limited(Path::new("/t.db"), &file, limit + ENTRY_OVERHEAD + 3).is_err());
        let enough = limit + 10 * (ENTRY_OVERHEAD + 3);
        assert!(decode_limited(Path::new("/t.db"), &file, enough).is_ok());
        // A budget smaller than the first page refuses it before reading it.
        let p = decode_limited(Path::new("/t.db"), &file, 4095).unwrap_err();
        assert!(p.detail.contains("page 4 (4096 bytes"), "{}", p.detail);
    }

    #[test]
    fn sees_a_commit_between_two_reads_of_the_meta_pages() {
        let file = write(&sample(), &small(1024));
        let metas = MetaPages::read(&file[..]).unwrap();
        assert!(metas.unchanged(&file[..]).unwrap());
        // Transaction 10 commits: its meta goes to page 0.
        let layout = Layout {
            txid: 10,
            ..small(1024)
        };
        assert!(!metas.unchanged(&write(&sample(), &layout)[..]).unwrap());
        // The file cut inside meta page 1.
        assert!(!metas.unchanged(&file[..1024 + 40]).unwrap());
    }

    /// Bytes that claim a size larger than they hold: a file that shrank after its size
    /// was taken.
    struct Shrunk<'a>(&'a [u8], u64);

    impl Source for Shrunk<'_> {
        fn size(&self) -> u64 {
            self.1
        }

        fn fill(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
            self.0.fill(buf, offset)
        }
    }

    #[test]
    fn rejects_a_file_that_shrinks_while_being_read() {
        let file = write(&sample(), &small(1024));
        let metas = MetaPages::read(&file[..]).unwrap();
        let shrunk = Shrunk(&file[..3 * 1024], file.len() as u64);
        let p = decode_from(Path::new("/t.db"), &shrunk, &metas, DECODE_LIMIT).unwrap_err();
        assert_eq!(p.kind, ProblemKind::InvalidDatabase);
        assert!(
            p.detail.contains("the file ends inside page"),
            "{}",
            p.detail
        );
    }

    #[test]
    fn open_names_the_file_and_does_not_change_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.db");
        let p = open_in_parent(&missing).unwrap_err();
        assert_eq!(
            (p.kind, p.path.as_path()),
            (ProblemKind::Missing, missing.as_path())
        );

        let path = dir.path().join("x.db");
        let bytes = write(&sample(), &Layout::default());
        std::fs::write(&path, &bytes).unwrap();
        let before = std::fs::metadata(&path).unwrap().modified().unwrap();
        let db = open_in_parent(&path).unwrap();
        assert_eq!(db.path(), path);
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            before
        );

        let garbage = dir.path().join("garbage.db");
        std::fs::write(&garbage, b"not a database").unwrap();
        let p = open_in_parent(&garbage).unwrap_err();
        assert_eq!(
            (p.kind, p.path.as_path()),
            (ProblemKind::InvalidDatabase, garbage.as_path())
        );
    }
}
