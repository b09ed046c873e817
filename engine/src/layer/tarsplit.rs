//! Reading a layer tar the way dockerd's layer store does: every byte is hashed (the diff id is
//! the sha256 of the uncompressed stream), and the stream is split, as vbatts/tar-split's
//! `asm.NewInputTarStream` splits it, into raw segments (headers, padding, the end-of-archive
//! blocks) and file entries (name, size, crc64 of the content) written to
//! `tar-split.json.gz` (encoded by `analyzers::format::tarsplit`, whose reader `verify`
//! uses), from which the exact tar can be rebuilt with the layer's files.
//!
//! The module only reads and records; what happens to an entry's content is the caller's
//! callback ([`disassemble`]). It knows nothing of Docker's directories.

use std::io::{self, Read, Write};

use sha2::{Digest as _, Sha256};

use analyzers::format::tarsplit::{Crc64, Writer};
use analyzers::ids::{hex_lower, DiffId, Digest};

/// Tar's block size.
const BLOCK: usize = 512;
/// tar-split writes trailing data after the end-of-archive blocks in chunks of this size.
const PADDING_CHUNK: usize = 1024 * 1024;

/// What a tar entry is, after GNU and PAX extensions are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryMeta {
    /// The entry's name as the archive spells it (PAX `path`, GNU long name, or USTAR
    /// prefix + name), raw bytes.
    pub name: Vec<u8>,
    /// The link target of a symlink or hard link (PAX `linkpath`, GNU long link, or the
    /// header's field).
    pub link: Vec<u8>,
    /// The tar type flag (`b'0'` regular, `b'5'` directory...), with old-style regular files
    /// (`\0`) resolved as Go's reader resolves them.
    pub kind: u8,
    /// Content bytes that follow the header.
    pub size: u64,
    /// Permission bits (and set-id, sticky).
    pub mode: u32,
    /// Owner.
    pub uid: u64,
    /// Group.
    pub gid: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Device numbers of a character or block device.
    pub device: (u32, u32),
    /// Extended attributes (PAX `SCHILY.xattr.*`).
    pub xattrs: Vec<(String, Vec<u8>)>,
}

/// A reader that hashes (sha256) and counts everything read through it.
struct Hashing<R> {
    inner: R,
    sha: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

/// An entry's content, limited to its size, checksummed as it is read.
pub struct Content<'a, R> {
    inner: &'a mut Hashing<R>,
    left: u64,
    crc: Crc64,
}

impl<R: Read> Read for Content<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.crc.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// What a whole stream was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disassembled {
    /// sha256 of every byte of the stream: the layer's diff id.
    pub diff_id: DiffId,
    /// The sum of the entries' sizes (what moby's `UnpackLayer` returns, and so the recorded
    /// size of a vfs layer).
    pub entries_size: u64,
}

/// Why a stream could not be read as a tar.
#[derive(Debug, thiserror::Error)]
pub enum TarError {
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// A header is not a valid tar header.
    #[error("invalid tar header at byte {offset}: {detail}")]
    Header {
        /// Where the header starts in the stream.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The callback refused an entry.
    #[error(transparent)]
    Entry(#[from] crate::Error),
}

/// Reads the tar `input` to its end, writes its tar-split record to `split` (uncompressed JSON
/// lines; the caller gzips), and calls `each` with every real entry (GNU and PAX extension
/// headers are folded into the entry they describe) and a reader of its content. Content the
/// callback leaves unread is read and checksummed here.
pub fn disassemble<R, W, F>(input: R, split: W, mut each: F) -> Result<Disassembled, TarError>
where
    R: Read,
    W: Write,
    F: FnMut(&EntryMeta, &mut dyn Read) -> crate::Result<()>,
{
    let mut reader = Hashing {
        inner: input,
        sha: Sha256::new(),
    };
    let mut packer = Writer::new(split);
    let mut raw: Vec<u8> = Vec::new();
    let mut offset: u64 = 0;
    let mut entries_size = 0u64;
    let mut long_name: Option<Vec<u8>> = None;
    let mut long_link: Option<Vec<u8>> = None;
    let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
    let mut pad = 0usize;
    loop {
        // Padding after the previous entry's content belongs to the next raw segment.
        let mut padding = [0u8; BLOCK];
        reader.read_exact(&mut padding[..pad])?;
        raw.extend_from_slice(&padding[..pad]);
        offset += pad as u64;

        let mut block = [0u8; BLOCK];
        if !read_block(&mut reader, &mut block)? {
            // A stream that ends without end-of-archive blocks: Go reports io.EOF as well.
            if !raw.is_empty() {
                packer.segment(&raw)?;
            }
            break;
        }
        raw.extend_from_slice(&block);
        let header_offset = offset;
        offset += BLOCK as u64;
        if block.iter().all(|&b| b == 0) {
            let mut second = [0u8; BLOCK];
            if read_block(&mut reader, &mut second)? {
                raw.extend_from_slice(&second);
            }
            packer.segment(&raw)?;
            let mut chunk = vec![0u8; PADDING_CHUNK];
            loop {
                let n = read_some(&mut reader, &mut chunk)?;
                if n == 0 {
                    break;
                }
                packer.segment(&chunk[..n])?;
            }
            break;
        }
        let header = tar::Header::from_byte_slice(&block);
        let bad = |detail: String| TarError::Header {
            offset: header_offset,
            detail,
        };
        header
            .cksum()
            .ok()
            .filter(|&sum| sum == checksum(&block))
            .ok_or_else(|| bad("checksum mismatch".to_owned()))?;
        let size = header.entry_size().map_err(|e| bad(e.to_string()))?;
        let kind = header.entry_type().as_byte();
        if matches!(kind, b'x' | b'L' | b'K') {
            let len = usize::try_from(size).map_err(|e| bad(e.to_string()))?;
            if len > 16 * 1024 * 1024 {
                return Err(bad(format!("extension header of {len} bytes")));
            }
            let mut data = vec![0u8; len];
            reader.read_exact(&mut data)?;
            raw.extend_from_slice(&data);
            offset += size;
            pad = padding_of(size);
            match kind {
                b'L' => long_name = Some(trim_nul(&data).to_vec()),
                b'K' => long_link = Some(trim_nul(&data).to_vec()),
                _ => {
                    for ext in tar::PaxExtensions::new(&data) {
                        let ext = ext.map_err(|e| bad(format!("PAX record: {e}")))?;
                        let key = ext.key().map_err(|e| bad(format!("PAX key: {e}")))?;
                        pax.push((key.to_owned(), ext.value_bytes().to_vec()));
                    }
                }
            }
            continue;
        }
        if kind == b'S' {
            return Err(bad("sparse files are not supported".to_owned()));
        }
        let old = header.as_old();
        let mut meta = EntryMeta {
            name: long_name
                .take()
                .unwrap_or_else(|| header.path_bytes().into_owned()),
            link: long_link
                .take()
                .or_else(|| header.link_name_bytes().map(|l| l.into_owned()))
                .unwrap_or_default(),
            kind,
            size,
            mode: u32::try_from(numeric(header.mode().map(u64::from), &old.mode).map_err(bad)?)
                .unwrap_or(0),
            uid: numeric(header.uid(), &old.uid).map_err(bad)?,
            gid: numeric(header.gid(), &old.gid).map_err(bad)?,
            mtime: i64::try_from(numeric(header.mtime(), &old.mtime).map_err(bad)?)
                .unwrap_or(i64::MAX),
            device: (
                header.device_major().ok().flatten().unwrap_or(0),
                header.device_minor().ok().flatten().unwrap_or(0),
            ),
            xattrs: Vec::new(),
        };
        apply_pax(&mut meta, std::mem::take(&mut pax)).map_err(bad)?;
        if meta.kind == 0 || meta.kind == b'7' {
            meta.kind = if meta.name.ends_with(b"/") {
                b'5'
            } else {
                b'0'
            };
        }
        packer.segment(&raw)?;
        raw.clear();
        entries_size += meta.size;
        let mut content = Content {
            inner: &mut reader,
            left: meta.size,
            crc: Crc64::default(),
        };
        each(&meta, &mut content)?;
        io::copy(&mut content, &mut io::sink())?;
        let crc = (meta.size > 0).then_some(content.crc);
        packer.file(&meta.name, meta.size, crc)?;
        offset += meta.size;
        pad = padding_of(meta.size);
    }
    Ok(Disassembled {
        diff_id: DiffId(
            Digest::from_hex(&hex_lower(&reader.sha.finalize()))
                .expect("sha256 gives 64 hex digits"),
        ),
        entries_size,
    })
}

/// A numeric header field; a blank one (all NULs or spaces) is 0, as Go's reader reads it.
fn numeric(parsed: io::Result<u64>, raw: &[u8]) -> Result<u64, String> {
    match parsed {
        Ok(n) => Ok(n),
        Err(_) if raw.iter().all(|&b| b == 0 || b == b' ') => Ok(0),
        Err(e) => Err(e.to_string()),
    }
}

/// Applies PAX records to the entry they precede, as Go's `mergePAX` does.
fn apply_pax(meta: &mut EntryMeta, records: Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let number = |key: &str, value: &[u8]| -> Result<u64, String> {
        let text = std::str::from_utf8(value).map_err(|_| format!("PAX {key} is not text"))?;
        let whole = text.split('.').next().unwrap_or(text);
        whole
            .parse::<u64>()
            .map_err(|_| format!("PAX {key}={text:?} is not a number"))
    };
    for (key, value) in records {
        match key.as_str() {
            "path" => meta.name = value,
            "linkpath" => meta.link = value,
            "size" => meta.size = number(&key, &value)?,
            "uid" => meta.uid = number(&key, &value)?,
            "gid" => meta.gid = number(&key, &value)?,
            "mtime" => meta.mtime = i64::try_from(number(&key, &value)?).unwrap_or(i64::MAX),
            _ => {
                if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                    meta.xattrs.push((name.to_owned(), value));
                }
            }
        }
    }
    Ok(())
}

/// The tar header checksum: the sum of the block's bytes with the checksum field as spaces.
fn checksum(block: &[u8; BLOCK]) -> u32 {
    block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum()
}

fn padding_of(size: u64) -> usize {
    // The remainder is below 512, so the cast is exact.
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

fn trim_nul(data: &[u8]) -> &[u8] {
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    &data[..end]
}

/// Reads one whole block; `false` at a clean end of stream. A partial block is an error.
fn read_block(reader: &mut impl Read, block: &mut [u8; BLOCK]) -> io::Result<bool> {
    let n = read_some(reader, block)?;
    match n {
        0 => Ok(false),
        BLOCK => Ok(true),
        _ => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

/// Reads until `buf` is full or the stream ends; the number of bytes read.
fn read_some(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use analyzers::format::tarsplit::{Reader, Record};

    /// Rebuilds the tar from the split and the entries' contents (tar-split's
    /// `asm.NewOutputTarStream`), reading the split with the analyzers' reader and checking
    /// every crc on the way.
    fn assemble(split: &[u8], files: &std::collections::HashMap<String, Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut reader = Reader::new(split);
        while let Some(record) = reader.next_record().unwrap() {
            match record {
                Record::Segment(bytes) => out.extend_from_slice(&bytes),
                Record::File { name, size, crc } if size > 0 => {
                    let data = &files[&String::from_utf8(name).unwrap()];
                    assert_eq!(data.len() as u64, size);
                    let mut sum = Crc64::default();
                    sum.update(data);
                    assert_eq!(crc, Some(sum.to_payload()));
                    out.extend_from_slice(data);
                }
                Record::File { .. } => {}
            }
        }
        out
    }

    fn sample_tar() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_size(0);
        h.set_mode(0o755);
        b.append_data(&mut h, "dir/", io::empty()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_size(5);
        h.set_mode(0o644);
        b.append_data(&mut h, "dir/a.txt", &b"hello"[..]).unwrap();
        let long = format!("dir/{}", "n".repeat(150));
        let mut h = tar::Header::new_gnu();
        h.set_size(600);
        h.set_mode(0o600);
        b.append_data(&mut h, &long, &vec![7u8; 600][..]).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(0);
        b.append_data(&mut h, "empty", io::empty()).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn split_rebuilds_the_exact_tar_and_hashes_it() {
        let tar = sample_tar();
        let mut split = Vec::new();
        let mut files = std::collections::HashMap::new();
        let mut names = Vec::new();
        let done = disassemble(&tar[..], &mut split, |meta, content| {
            let mut data = Vec::new();
            content.read_to_end(&mut data).unwrap();
            let name = String::from_utf8(meta.name.clone()).unwrap();
            names.push(name.clone());
            files.insert(name, data);
            Ok(())
        })
        .unwrap();
        assert_eq!(names[0], "dir/");
        assert_eq!(names[2].len(), 154, "GNU long name folded in");
        assert_eq!(done.entries_size, 605);
        assert_eq!(done.diff_id.0, Digest::of_bytes(&tar));
        assert_eq!(assemble(&split, &files), tar);
    }

    #[test]
    fn truncated_stream_is_an_error() {
        let tar = sample_tar();
        let cut = &tar[..700];
        let r = disassemble(cut, io::sink(), |_, _| Ok(()));
        assert!(r.is_err());
    }
}
