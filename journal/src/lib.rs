//! The boltward write journal's on-disk format, with no I/O.
//!
//! A journal is a directory of append-only *segments*. Each segment starts with a
//! 16-byte header and holds *records*; every record carries its length, kind, LSN,
//! timestamp, the SHA-256 of the previous record (a hash chain that runs across segments)
//! and a CRC-32 of its own bytes. The payload of a record is one PackStream map, so the
//! statements a client sent are kept as their original PackStream bytes.
//!
//! - [`record`]: the record frame: encode, decode, hash.
//! - [`entry`]: the typed payloads: intent, outcome, refusal, checkpoint, rollover, event.
//! - [`segment`]: the segment header and a reader that tells a torn tail from corruption.
//! - [`chain`]: verification of a sequence of segments (what `boltward audit verify` runs).
//!
//! The format is described for humans in `docs/journal-format.md`; [`FORMAT_VERSION`] is
//! written into every segment header.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chain;
pub mod entry;
pub mod record;
pub mod segment;

pub use chain::{Chain, ChainError, SegmentEnd};
pub use entry::{
    Actor, Checkpoint, Entry, EntryError, Event, Intent, Outcome, Refusal, Result as TxResult,
    Statement, TxMode,
};
pub use record::{Hash, Kind, Record, RecordError, ZERO_HASH};
pub use segment::{SegmentError, SegmentHeader, SegmentReader};

/// The version written into every segment header.
pub const FORMAT_VERSION: u16 = 1;
