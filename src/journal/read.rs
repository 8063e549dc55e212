//! Reading a journal directory without the writer: segment listing, the time index,
//! verification and entry scans. Safe on a live journal (the tail may be mid-write).

use boltward_journal::segment::{parse_file_name, SegmentHeader, SEGMENT_HEADER_LEN};
use boltward_journal::{Chain, ChainError, Entry, SegmentReader};
use std::io::Read;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One segment file.
#[derive(Debug, Clone)]
pub struct SegmentFile {
    /// File name.
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// The LSN its name stands for.
    pub first_lsn: u64,
}

/// Why a journal cannot be read or verified.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The directory or a file cannot be read.
    #[error("{0}")]
    Io(String),
    /// The chain is broken.
    #[error("{0}")]
    Chain(#[from] ChainError),
}

/// The segments of `dir`, oldest first.
pub fn list_segments(dir: &Path) -> std::io::Result<Vec<SegmentFile>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(first_lsn) = parse_file_name(&name) {
            out.push(SegmentFile {
                path: e.path(),
                name,
                first_lsn,
            });
        }
    }
    out.sort_by_key(|s| s.first_lsn);
    Ok(out)
}

/// The timestamp of a segment's first record (reads 45 bytes), `None` if it has none.
pub fn first_timestamp(path: &Path) -> std::io::Result<Option<i64>> {
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)?
        .take((SEGMENT_HEADER_LEN + boltward_journal::record::HEADER_LEN) as u64)
        .read_to_end(&mut head)?;
    Ok(SegmentHeader::first_timestamp(&head))
}

/// The result of a clean verification.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verified {
    /// Segment files.
    pub segments: usize,
    /// Records.
    pub records: u64,
    /// The newest LSN.
    pub last_lsn: u64,
    /// SHA-256 of the newest record (the head of the chain).
    pub head: String,
}

/// Verifies the whole journal; `live`: the newest segment may end in a record being
/// written. `progress` is called after each segment with (done, total) segments.
pub fn verify(
    dir: &Path,
    live: bool,
    mut progress: impl FnMut(usize, usize),
) -> Result<Verified, ReadError> {
    let segments =
        list_segments(dir).map_err(|e| ReadError::Io(format!("{}: {e}", dir.display())))?;
    if segments.is_empty() {
        return Err(ReadError::Io(format!(
            "{}: no journal segments (*.bwj) found",
            dir.display()
        )));
    }
    let mut chain = Chain::new();
    let n = segments.len();
    for (i, seg) in segments.iter().enumerate() {
        let bytes =
            std::fs::read(&seg.path).map_err(|e| ReadError::Io(format!("{}: {e}", seg.name)))?;
        chain.segment(&seg.name, &bytes, i + 1 == n, live, |_, _, _| {})?;
        progress(i + 1, n);
    }
    Ok(Verified {
        segments: n,
        records: chain.records(),
        last_lsn: chain.next_lsn() - 1,
        head: boltward_journal::record::hex(&chain.head()),
    })
}

/// Calls `f` with every entry of `segments` (LSN, timestamp µs, entry), oldest first.
/// Stops quietly at a partial last record; a corrupt record is an error.
pub fn scan(segments: &[SegmentFile], mut f: impl FnMut(u64, i64, Entry)) -> Result<(), ReadError> {
    for seg in segments {
        let bytes =
            std::fs::read(&seg.path).map_err(|e| ReadError::Io(format!("{}: {e}", seg.name)))?;
        let (_, reader) =
            SegmentReader::new(&bytes).map_err(|e| ReadError::Io(format!("{}: {e}", seg.name)))?;
        for item in reader {
            let (r, offset) = item.map_err(|e| ReadError::Io(format!("{}: {e}", seg.name)))?;
            let entry = Entry::decode(r.kind, r.payload).map_err(|e| {
                ReadError::Io(format!("{} offset {offset} (LSN {}): {e}", seg.name, r.lsn))
            })?;
            f(r.lsn, r.ts_micros, entry);
        }
    }
    Ok(())
}
