//! Segment files: a 16-byte header, then records.
//!
//! ```text
//! 0   6   magic "BWJRNL"
//! 6   2   format version, u16 LE
//! 8   8   LSN of the first record, u64 LE
//! ```
//!
//! Space after the last record may be zeros: the writer preallocates segments (so an
//! fsync after an append only flushes data, not the file size). A reader stops at a
//! zero-filled remainder; that is the end of the records, not a torn tail.
//!
//! A segment is named after its first LSN (`00000000000000000001.bwj`), so listing the
//! directory orders segments, and the first record's timestamp (bytes 29..37 of the file)
//! tells when the segment starts: a time window reads a few bytes of each segment, not the
//! records.

use crate::record::{Record, RecordError, HEADER_LEN};
use thiserror::Error;

/// The magic at the start of every segment.
pub const MAGIC: &[u8; 6] = b"BWJRNL";
/// Bytes of the segment header.
pub const SEGMENT_HEADER_LEN: usize = 16;
/// The file extension of segments.
pub const EXTENSION: &str = "bwj";

/// Why a segment cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SegmentError {
    /// Shorter than a header.
    #[error("segment is shorter than its 16-byte header")]
    ShortHeader,
    /// Not a journal segment.
    #[error("not a boltward journal segment (bad magic)")]
    Magic,
    /// Written by a newer boltward.
    #[error("segment format version {0} is not supported (this build reads 1)")]
    Version(u16),
    /// A record is corrupt.
    #[error("corrupt record at offset {offset}: {source}")]
    Record {
        /// Byte offset in the segment.
        offset: usize,
        /// Why.
        source: RecordError,
    },
}

/// The header of a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The format version.
    pub version: u16,
    /// The LSN of its first record.
    pub first_lsn: u64,
}

impl SegmentHeader {
    /// The header bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut b = [0; SEGMENT_HEADER_LEN];
        b[..6].copy_from_slice(MAGIC);
        b[6..8].copy_from_slice(&self.version.to_le_bytes());
        b[8..].copy_from_slice(&self.first_lsn.to_le_bytes());
        b
    }

    /// Parses the header at the start of `buf`.
    pub fn decode(buf: &[u8]) -> Result<SegmentHeader, SegmentError> {
        let h = buf
            .get(..SEGMENT_HEADER_LEN)
            .ok_or(SegmentError::ShortHeader)?;
        if &h[..6] != MAGIC {
            return Err(SegmentError::Magic);
        }
        let version = u16::from_le_bytes([h[6], h[7]]);
        if version != crate::FORMAT_VERSION {
            return Err(SegmentError::Version(version));
        }
        let mut lsn = [0; 8];
        lsn.copy_from_slice(&h[8..]);
        Ok(SegmentHeader {
            version,
            first_lsn: u64::from_le_bytes(lsn),
        })
    }

    /// The timestamp of the first record, from the first bytes of a segment file.
    pub fn first_timestamp(buf: &[u8]) -> Option<i64> {
        let at = SEGMENT_HEADER_LEN + 13;
        let b = buf.get(at..at + 8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        (buf.len() >= SEGMENT_HEADER_LEN + HEADER_LEN).then(|| i64::from_le_bytes(a))
    }
}

/// The file name of the segment starting at `first_lsn`.
pub fn file_name(first_lsn: u64) -> String {
    format!("{first_lsn:020}.{EXTENSION}")
}

/// The first LSN a segment file name stands for.
pub fn parse_file_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(EXTENSION)?.strip_suffix('.')?;
    (stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()))
        .then(|| stem.parse().ok())
        .flatten()
}

/// Iterates the records of one segment held in memory.
#[derive(Debug, Clone)]
pub struct SegmentReader<'a> {
    buf: &'a [u8],
    pos: usize,
    failed: bool,
    padding: usize,
}

impl<'a> SegmentReader<'a> {
    /// Reads the header; the reader then yields the records.
    pub fn new(buf: &'a [u8]) -> Result<(SegmentHeader, Self), SegmentError> {
        let header = SegmentHeader::decode(buf)?;
        Ok((
            header,
            SegmentReader {
                buf,
                pos: SEGMENT_HEADER_LEN,
                failed: false,
                padding: 0,
            },
        ))
    }

    /// Byte offset of the next record.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes after the last complete record that are not zero padding: a torn tail (or a
    /// record being written).
    pub fn tail(&self) -> usize {
        self.buf.len() - self.pos - self.padding
    }

    /// Zero bytes after the last record (preallocated space).
    pub fn padding(&self) -> usize {
        self.padding
    }

    /// Whether everything from the read position on is zero (preallocated space).
    fn at_padding(&mut self) -> bool {
        let rest = &self.buf[self.pos..];
        if !rest.is_empty() && rest.iter().all(|b| *b == 0) {
            self.padding = rest.len();
            return true;
        }
        false
    }
}

impl<'a> Iterator for SegmentReader<'a> {
    type Item = Result<(Record<'a>, usize), SegmentError>;

    /// The next record and its offset; `None` at the end or at a torn tail (see
    /// [`SegmentReader::tail`]).
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match Record::decode(&self.buf[self.pos..]) {
            Ok(Some((r, n))) => {
                let at = self.pos;
                self.pos += n;
                Some(Ok((r, at)))
            }
            Ok(None) => {
                self.at_padding();
                None
            }
            Err(_) if self.at_padding() => None,
            Err(source) => {
                self.failed = true;
                Some(Err(SegmentError::Record {
                    offset: self.pos,
                    source,
                }))
            }
        }
    }
}
