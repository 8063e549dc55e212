//! Verification of a whole journal: every record decodes, LSNs are consecutive, each
//! record names the hash of the one before it (across segments), every sealed segment ends
//! with a rollover record that names the next LSN, and nothing follows it.
//!
//! Feed segments in order with [`Chain::segment`]; the first error names the first bad
//! LSN, which is what `boltward audit verify` prints.

use crate::entry::Entry;
use crate::record::{hex, Hash, ZERO_HASH};
use crate::segment::{SegmentError, SegmentReader};
use thiserror::Error;

/// The first problem found in a journal.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("first bad LSN {lsn} (segment {segment}, offset {offset}): {problem}")]
pub struct ChainError {
    /// The first LSN that cannot be trusted.
    pub lsn: u64,
    /// The segment it is in.
    pub segment: String,
    /// Byte offset in that segment.
    pub offset: usize,
    /// What is wrong.
    pub problem: String,
}

/// Where a verified segment's records end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentEnd {
    /// Byte offset just after the last complete record.
    pub records_end: usize,
    /// Bytes of a partial record after it (only with `allow_torn_tail`), not counting
    /// zero padding.
    pub tail: usize,
}

/// The running state of a verification.
#[derive(Debug, Clone)]
pub struct Chain {
    next_lsn: u64,
    last_hash: Hash,
    records: u64,
}

impl Default for Chain {
    fn default() -> Self {
        Self::new()
    }
}

impl Chain {
    /// Starts at LSN 1 with the zero hash.
    pub fn new() -> Self {
        Chain {
            next_lsn: 1,
            last_hash: ZERO_HASH,
            records: 0,
        }
    }

    /// Starts at `next_lsn`, the record before it having hash `last_hash`: a journal whose
    /// older segments were pruned, verified from an anchor that recorded that hash.
    pub fn anchored(next_lsn: u64, last_hash: Hash) -> Self {
        Chain {
            next_lsn,
            last_hash,
            records: 0,
        }
    }

    /// The LSN the next record must have.
    pub fn next_lsn(&self) -> u64 {
        self.next_lsn
    }

    /// The hash of the last verified record (the journal's head).
    pub fn head(&self) -> Hash {
        self.last_hash
    }

    /// Records verified so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Verifies one segment. `last`: the newest segment (it has no rollover). A partial
    /// record at the end is an error unless `allow_torn_tail` (a live journal being
    /// written). Calls `each` with every verified entry. Returns where the records end.
    pub fn segment(
        &mut self,
        name: &str,
        bytes: &[u8],
        last: bool,
        allow_torn_tail: bool,
        mut each: impl FnMut(u64, i64, &Entry),
    ) -> Result<SegmentEnd, ChainError> {
        self.segment_entries(name, bytes, last, allow_torn_tail, |lsn, ts, e| {
            each(lsn, ts, &e)
        })
    }

    /// [`Chain::segment`], handing each verified entry over (a reader that keeps entries
    /// needs no copy). The entries before a bad record have been handed over when the
    /// error is returned.
    pub fn segment_entries(
        &mut self,
        name: &str,
        bytes: &[u8],
        last: bool,
        allow_torn_tail: bool,
        mut each: impl FnMut(u64, i64, Entry),
    ) -> Result<SegmentEnd, ChainError> {
        let fail = |lsn: u64, offset: usize, problem: String| ChainError {
            lsn,
            segment: name.to_owned(),
            offset,
            problem,
        };
        let (header, mut reader) =
            SegmentReader::new(bytes).map_err(|e| fail(self.next_lsn, 0, e.to_string()))?;
        if header.first_lsn != self.next_lsn {
            return Err(fail(
                self.next_lsn,
                0,
                format!(
                    "segment starts at LSN {}, expected {} (a segment or record is missing)",
                    header.first_lsn, self.next_lsn
                ),
            ));
        }
        let mut sealed = false;
        for item in reader.by_ref() {
            let (record, offset) = item.map_err(|e| {
                let offset = match &e {
                    SegmentError::Record { offset, .. } => *offset,
                    _ => 0,
                };
                fail(self.next_lsn, offset, e.to_string())
            })?;
            if sealed {
                return Err(fail(
                    self.next_lsn,
                    offset,
                    "record after the segment's rollover".into(),
                ));
            }
            if record.lsn != self.next_lsn {
                return Err(fail(
                    self.next_lsn,
                    offset,
                    format!(
                        "record has LSN {}, expected {} (removed or reordered record)",
                        record.lsn, self.next_lsn
                    ),
                ));
            }
            if record.prev != self.last_hash {
                return Err(fail(
                    record.lsn,
                    offset,
                    format!(
                        "previous-hash {} does not match the previous record's hash {}",
                        hex(&record.prev),
                        hex(&self.last_hash)
                    ),
                ));
            }
            let entry = Entry::decode(record.kind, record.payload).map_err(|e| {
                fail(
                    record.lsn,
                    offset,
                    format!("{} payload: {e}", record.kind.name()),
                )
            })?;
            if let Entry::Rollover { next_lsn } = entry {
                if next_lsn != record.lsn + 1 {
                    return Err(fail(
                        record.lsn,
                        offset,
                        format!("rollover names LSN {next_lsn}, expected {}", record.lsn + 1),
                    ));
                }
                sealed = true;
            }
            each(record.lsn, record.ts_micros, entry);
            self.last_hash = record.hash;
            self.next_lsn += 1;
            self.records += 1;
        }
        if reader.tail() > 0 && !(last && allow_torn_tail) {
            return Err(fail(
                self.next_lsn,
                reader.offset(),
                format!(
                    "segment ends inside a record ({} bytes of a partial record: truncated or torn)",
                    reader.tail()
                ),
            ));
        }
        if !last && !sealed {
            return Err(fail(
                self.next_lsn,
                reader.offset(),
                "sealed segment does not end with a rollover record (truncated)".into(),
            ));
        }
        Ok(SegmentEnd {
            records_end: reader.offset(),
            tail: reader.tail(),
        })
    }
}
