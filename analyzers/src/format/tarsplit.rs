//! `tar-split.json.gz` (vbatts/tar-split `storage`): the record from which a layer's exact tar
//! stream is rebuilt with the layer's files, and the CRC-64 it keeps per file.
//!
//! The file is gzipped JSON lines, one [`Entry`] per piece of the original stream, numbered
//! by `position`. A segment (`"type": 2`) carries raw bytes (headers, padding, the
//! end-of-archive blocks) base64-encoded in `payload`; a file entry (`"type": 1`) carries
//! `name` (or `name_raw`, base64, when the name is not UTF-8), `size`, and in `payload` the
//! big-endian CRC-64 (Go's `hash/crc64`, ISO table) of the file's bytes, `null` for an empty
//! file. moby rebuilds the stream from it (`asm.NewOutputTarStream` with
//! `storage.NewPathFileGetter`) for `docker save` and to check a layer's diff id.
//!
//! [`Writer`] encodes entries (the engine, registering a layer); [`Reader`] decodes them
//! (`verify`), bounded so that a damaged record cannot choose the memory taken. Neither
//! compresses: callers wrap them in gzip.

use std::io::{self, BufRead, Write};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// tar-split's `storage.FileType`: an entry naming a file whose bytes come from the layer.
pub const FILE_TYPE: u8 = 1;
/// tar-split's `storage.SegmentType`: raw bytes of the stream.
pub const SEGMENT_TYPE: u8 = 2;
/// The longest line read: a line holds one entry (a tar header segment, or a file's name and
/// CRC), a few KB even with long PAX records; a longer one is damage, and reading it whole
/// would let the input choose the memory taken. (The writer's segments of trailing data are
/// 1 MiB, 1.4 MiB once encoded.)
pub const LINE_LIMIT: u64 = 16 << 20;

/// Go's `crc64.MakeTable(crc64.ISO)`.
const fn crc64_iso_table() -> [u64; 256] {
    const POLY: u64 = 0xD800_0000_0000_0000;
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}
static CRC64_ISO: [u64; 256] = crc64_iso_table();

/// Go's `hash/crc64` with the ISO table, the checksum tar-split records per file; fed a
/// piece at a time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Crc64(u64);

impl Crc64 {
    /// Adds `bytes` to the checksum.
    pub fn update(&mut self, bytes: &[u8]) {
        let mut crc = !self.0;
        for &b in bytes {
            crc = CRC64_ISO[usize::from((crc as u8) ^ b)] ^ (crc >> 8);
        }
        self.0 = !crc;
    }

    /// The checksum of everything added so far.
    pub fn value(self) -> u64 {
        self.0
    }

    /// The checksum as tar-split records it in a file entry's `payload`: big-endian bytes.
    pub fn to_payload(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

/// One line of the file (tar-split's `storage.Entry`; fields in the order Go encodes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// [`FILE_TYPE`] or [`SEGMENT_TYPE`].
    #[serde(rename = "type")]
    pub kind: u8,
    /// A file entry's name, when it is UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A file entry's name, base64, when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_raw: Option<String>,
    /// A file entry's size in bytes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size: u64,
    /// Base64: a segment's bytes, or a file's CRC-64 ([`Crc64::to_payload`]).
    #[serde(default)]
    pub payload: Option<String>,
    /// The entry's number in the file, from 0.
    #[serde(default)]
    pub position: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A decoded line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Raw bytes of the stream.
    Segment(Vec<u8>),
    /// A file whose `size` bytes come from the layer's content.
    File {
        /// The name as the tar spells it, as bytes.
        name: Vec<u8>,
        /// Bytes of content.
        size: u64,
        /// The recorded CRC-64, big-endian, when there is one that decodes.
        crc: Option<[u8; 8]>,
    },
}

/// Writes entries as JSON lines, numbering them.
pub struct Writer<W: Write> {
    out: W,
    position: u64,
}

impl<W: Write> Writer<W> {
    /// A writer of lines to `out` (uncompressed: the caller gzips).
    pub fn new(out: W) -> Self {
        Writer { out, position: 0 }
    }

    /// Writes a segment of raw stream bytes.
    pub fn segment(&mut self, raw: &[u8]) -> io::Result<()> {
        self.add(Entry {
            kind: SEGMENT_TYPE,
            name: None,
            name_raw: None,
            size: 0,
            payload: Some(BASE64.encode(raw)),
            position: 0,
        })
    }

    /// Writes a file entry: `name` as the tar spells it, its `size` and, for a non-empty
    /// file, the CRC-64 of its bytes.
    pub fn file(&mut self, name: &[u8], size: u64, crc: Option<Crc64>) -> io::Result<()> {
        let text = std::str::from_utf8(name).ok();
        self.add(Entry {
            kind: FILE_TYPE,
            name: text.map(str::to_owned),
            name_raw: text.is_none().then(|| BASE64.encode(name)),
            size,
            payload: crc.map(|c| BASE64.encode(c.to_payload())),
            position: 0,
        })
    }

    fn add(&mut self, mut entry: Entry) -> io::Result<()> {
        entry.position = self.position;
        self.position += 1;
        serde_json::to_writer(&mut self.out, &entry)?;
        self.out.write_all(b"\n")
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Why a line could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {detail}")]
pub struct Damage {
    /// The line, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub detail: String,
}

/// Reads the entries of an (already decompressed) file, one line at a time.
pub struct Reader<R: BufRead> {
    input: R,
    line: Vec<u8>,
    number: usize,
}

impl<R: BufRead> Reader<R> {
    /// A reader of the JSON lines of `input`.
    pub fn new(input: R) -> Self {
        Reader {
            input,
            line: Vec::new(),
            number: 0,
        }
    }

    /// The number of the line last read, from 1.
    pub fn line_number(&self) -> usize {
        self.number
    }

    /// The next record; `Ok(None)` at the end. Empty lines are skipped; a line that is not an
    /// entry, longer than [`LINE_LIMIT`], or with a segment payload that is not base64 is
    /// [`Damage`]. A file entry's CRC that does not decode reads as none.
    pub fn next_record(&mut self) -> Result<Option<Record>, Damage> {
        loop {
            self.number += 1;
            let damaged = |detail: String| Damage {
                line: self.number,
                detail,
            };
            self.line.clear();
            let n = io::Read::take(&mut self.input, LINE_LIMIT + 1)
                .read_until(b'\n', &mut self.line)
                .map_err(|e| damaged(format!("cannot be decompressed ({e})")))?;
            if n == 0 {
                return Ok(None);
            }
            if self.line.last() == Some(&b'\n') {
                self.line.pop();
            } else if n as u64 > LINE_LIMIT {
                return Err(damaged(format!("a line longer than {LINE_LIMIT} bytes")));
            }
            if self.line.is_empty() {
                continue;
            }
            let e: Entry = serde_json::from_slice(&self.line)
                .map_err(|e| damaged(format!("not JSON ({e})")))?;
            return match e.kind {
                SEGMENT_TYPE => BASE64
                    .decode(e.payload.as_deref().unwrap_or(""))
                    .map(|bytes| Some(Record::Segment(bytes)))
                    .map_err(|err| damaged(format!("payload is not base64 ({err})"))),
                FILE_TYPE => {
                    let name = match (&e.name_raw, &e.name) {
                        (Some(raw), _) => BASE64.decode(raw).ok(),
                        (None, Some(name)) => Some(name.as_bytes().to_vec()),
                        (None, None) => None,
                    }
                    .ok_or_else(|| damaged("no name".into()))?;
                    let crc = e
                        .payload
                        .as_deref()
                        .and_then(|p| BASE64.decode(p).ok())
                        .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok());
                    Ok(Some(Record::File {
                        name,
                        size: e.size,
                        crc,
                    }))
                }
                other => Err(damaged(format!("unknown entry type {other}"))),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_go() {
        // Go: crc64.Checksum([]byte("hello"), crc64.MakeTable(crc64.ISO)) == 0x3c3eeee2d8100000
        let mut c = Crc64::default();
        c.update(b"hello");
        assert_eq!(c.value(), 0x3c3e_eee2_d810_0000);
        // The catalogue's check value of CRC-64/GO-ISO, fed in two pieces.
        let mut c = Crc64::default();
        c.update(b"1234");
        c.update(b"56789");
        assert_eq!(c.value(), 0xB909_56C7_75A4_1001);
    }

    /// What the writer wrote, the reader reads back: segments, files with and without a CRC,
    /// a name that is not UTF-8; lines are numbered from 0.
    #[test]
    fn the_reader_reads_what_the_writer_wrote() {
        let mut crc = Crc64::default();
        crc.update(b"hello");
        let mut w = Writer::new(Vec::new());
        w.segment(&[0u8; 512]).unwrap();
        w.file(b"dir/a.txt", 5, Some(crc)).unwrap();
        w.file(b"empty", 0, None).unwrap();
        w.file(b"raw\xff", 3, Some(crc)).unwrap();
        w.segment(b"").unwrap();
        let bytes = w.into_inner();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with(r#"{"type":2,"payload":""#), "{text}");
        assert!(text.contains(r#"{"type":1,"name":"empty","payload":null,"position":2}"#));

        let mut r = Reader::new(&bytes[..]);
        let mut got = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            got.push(rec);
        }
        assert_eq!(
            got,
            [
                Record::Segment(vec![0u8; 512]),
                Record::File {
                    name: b"dir/a.txt".to_vec(),
                    size: 5,
                    crc: Some(crc.to_payload())
                },
                Record::File {
                    name: b"empty".to_vec(),
                    size: 0,
                    crc: None
                },
                Record::File {
                    name: b"raw\xff".to_vec(),
                    size: 3,
                    crc: Some(crc.to_payload())
                },
                Record::Segment(Vec::new()),
            ]
        );
    }

    #[test]
    fn damage_names_its_line() {
        let mut r = Reader::new(&b"\n{\"type\":2,\"payload\":\"AA==\"}\n{\"type\":9}\n"[..]);
        assert_eq!(r.next_record().unwrap(), Some(Record::Segment(vec![0])));
        let err = r.next_record().unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.detail.contains("unknown entry type 9"), "{err}");
        let mut r = Reader::new(&b"{\"type\":1,\"size\":3}"[..]);
        assert_eq!(r.next_record().unwrap_err().detail, "no name");
    }
}
