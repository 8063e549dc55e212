//! One journal record: a length-prefixed, checksummed, hash-chained frame.
//!
//! ```text
//! offset  size  field
//! 0       4     len    u32 LE: bytes after this field (kind .. crc)
//! 4       1     kind
//! 5       8     lsn    u64 LE
//! 13      8     ts     i64 LE, microseconds since the Unix epoch
//! 21      32    prev   SHA-256 of the previous record's bytes (zeros before the first)
//! 53      n     payload (one PackStream map)
//! 53+n    4     crc    u32 LE, CRC-32 (IEEE) of bytes 0 .. 53+n
//! ```
//!
//! The hash of a record is the SHA-256 of all its bytes, `len` to `crc`.

use sha2::{Digest, Sha256};
use thiserror::Error;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The `prev` of the first record of a journal.
pub const ZERO_HASH: Hash = [0; 32];

/// Bytes before the payload.
pub const HEADER_LEN: usize = 53;
/// Bytes of a record that are not payload.
pub const OVERHEAD: usize = HEADER_LEN + 4;
/// The largest payload a record may carry (a statement with large parameters fits).
pub const MAX_PAYLOAD: usize = 64 * 1024 * 1024;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A write about to be committed (durable before the commit is forwarded).
    Intent = 1,
    /// How a write ended (durable before the client sees success).
    Outcome = 2,
    /// A statement boltward refused.
    Refusal = 3,
    /// Written at start-up: what recovery found.
    Checkpoint = 4,
    /// The last record of a sealed segment.
    Rollover = 5,
    /// An operator event (promotion, restore, pause …).
    Event = 6,
}

impl Kind {
    /// The kind with this code.
    pub fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Intent,
            2 => Kind::Outcome,
            3 => Kind::Refusal,
            4 => Kind::Checkpoint,
            5 => Kind::Rollover,
            6 => Kind::Event,
            _ => return None,
        })
    }

    /// Its name in JSON and logs.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Intent => "intent",
            Kind::Outcome => "outcome",
            Kind::Refusal => "refusal",
            Kind::Checkpoint => "checkpoint",
            Kind::Rollover => "rollover",
            Kind::Event => "event",
        }
    }
}

/// Why bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The length field is impossible.
    #[error("record length {0} is out of range")]
    Length(u32),
    /// The checksum does not match.
    #[error("checksum mismatch (stored {stored:08x}, computed {computed:08x})")]
    Checksum {
        /// In the record.
        stored: u32,
        /// Of its bytes.
        computed: u32,
    },
    /// The kind byte is unknown.
    #[error("unknown record kind {0}")]
    Kind(u8),
}

/// A decoded record frame; the payload is borrowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// What it holds.
    pub kind: Kind,
    /// Its log sequence number (consecutive from 1).
    pub lsn: u64,
    /// When it was written, µs since the epoch.
    pub ts_micros: i64,
    /// The hash of the record before it.
    pub prev: Hash,
    /// One PackStream map.
    pub payload: &'a [u8],
    /// The hash of this record.
    pub hash: Hash,
}

impl<'a> Record<'a> {
    /// Decodes the record at the start of `buf`. `Ok(None)`: `buf` ends inside the record
    /// (a torn tail, or a record still being written); otherwise the record and its size.
    pub fn decode(buf: &'a [u8]) -> Result<Option<(Record<'a>, usize)>, RecordError> {
        let Some(len) = buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
        let body = len as usize;
        if body < OVERHEAD - 4 || body - (OVERHEAD - 4) > MAX_PAYLOAD {
            return Err(RecordError::Length(len));
        }
        let total = 4 + body;
        let Some(bytes) = buf.get(..total) else {
            return Ok(None);
        };
        let (covered, crc) = bytes.split_at(total - 4);
        let stored = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        let computed = crc32fast::hash(covered);
        if stored != computed {
            return Err(RecordError::Checksum { stored, computed });
        }
        let kind = Kind::from_u8(bytes[4]).ok_or(RecordError::Kind(bytes[4]))?;
        let lsn = u64::from_le_bytes(array(&bytes[5..13]));
        let ts_micros = i64::from_le_bytes(array(&bytes[13..21]));
        let prev = array(&bytes[21..53]);
        let record = Record {
            kind,
            lsn,
            ts_micros,
            prev,
            payload: &bytes[HEADER_LEN..total - 4],
            hash: Sha256::digest(bytes).into(),
        };
        Ok(Some((record, total)))
    }

    /// Appends one encoded record to `out`; returns its hash.
    pub fn encode(
        kind: Kind,
        lsn: u64,
        ts_micros: i64,
        prev: &Hash,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Hash {
        let start = out.len();
        let len = (OVERHEAD - 4 + payload.len()) as u32;
        out.extend_from_slice(&len.to_le_bytes());
        out.push(kind as u8);
        out.extend_from_slice(&lsn.to_le_bytes());
        out.extend_from_slice(&ts_micros.to_le_bytes());
        out.extend_from_slice(prev);
        out.extend_from_slice(payload);
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
        Sha256::digest(&out[start..]).into()
    }
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(b);
    a
}

/// Hex of a hash, for messages and JSON.
pub fn hex(h: &Hash) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_torn_tail() {
        let mut out = Vec::new();
        let h = Record::encode(
            Kind::Intent,
            7,
            1_700_000_000_000_000,
            &ZERO_HASH,
            b"\xa0",
            &mut out,
        );
        let (r, n) = Record::decode(&out).unwrap().unwrap();
        assert_eq!(n, out.len());
        assert_eq!(
            (r.kind, r.lsn, r.payload, r.hash),
            (Kind::Intent, 7, &b"\xa0"[..], h)
        );
        for cut in 0..out.len() {
            assert_eq!(Record::decode(&out[..cut]), Ok(None), "cut at {cut}");
        }
        let mut flipped = out.clone();
        flipped[30] ^= 1;
        assert!(matches!(
            Record::decode(&flipped),
            Err(RecordError::Checksum { .. })
        ));
        let mut huge = out.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(Record::decode(&huge), Err(RecordError::Length(_))));
    }
}
