//! Reading a journal directory without the writer: segment listing, the time index,
//! verification and entry scans. Safe on a live journal (the tail may be mid-write).

use boltward_journal::segment::{parse_file_name, SegmentHeader, SEGMENT_HEADER_LEN};
use boltward_journal::{ChainError, Entry, SegmentReader};
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
    list_named(dir, parse_file_name)
}

/// The files of `dir` whose name `first_lsn` parses, oldest first.
fn list_named(
    dir: &Path,
    first_lsn: impl Fn(&str) -> Option<u64>,
) -> std::io::Result<Vec<SegmentFile>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(first_lsn) = first_lsn(&name) {
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

/// Reads the JSON file `name` of the journal directory `dir` (absent: the default).
pub fn load_json<T: serde::de::DeserializeOwned + Default>(
    dir: &Path,
    name: &str,
) -> Result<T, ReadError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| ReadError::Io(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(ReadError::Io(format!("{}: {e}", path.display()))),
    }
}

/// Writes the JSON file `name` of the journal directory `dir` atomically (temporary file,
/// fsync, rename, fsync of the directory).
pub fn save_json<T: serde::Serialize>(dir: &Path, name: &str, value: &T) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()
}

/// The archived segments of `archive` (`<segment>.gz`, see
/// [`retention`](super::retention)), oldest first.
pub fn list_archived(archive: &Path) -> std::io::Result<Vec<SegmentFile>> {
    list_named(archive, |name| {
        name.strip_suffix(".gz").and_then(parse_file_name)
    })
}

/// A segment's bytes (an archived one decompressed).
pub fn segment_bytes(seg: &SegmentFile) -> std::io::Result<Vec<u8>> {
    let raw = std::fs::read(&seg.path)?;
    if !seg.name.ends_with(".gz") {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut out)?;
    Ok(out)
}

/// The head of a segment's first record, checksum verified (`None`: it has none yet).
pub struct FirstRecord {
    /// Its LSN.
    pub lsn: u64,
    /// When it was written (µs).
    pub ts_micros: i64,
    /// The hash of the record before it.
    pub prev: boltward_journal::record::Hash,
}

/// Reads and verifies the first record of the segment at `path` (only that record).
pub fn first_record(path: &Path) -> std::io::Result<Option<FirstRecord>> {
    let mut f = std::fs::File::open(path)?;
    let mut head = [0u8; SEGMENT_HEADER_LEN + 4];
    if f.read_exact(&mut head).is_err() {
        return Ok(None);
    }
    let len = u32::from_le_bytes([head[16], head[17], head[18], head[19]]) as usize;
    if len == 0 || len > boltward_journal::record::MAX_PAYLOAD + boltward_journal::record::OVERHEAD
    {
        return Ok(None); // zeros: preallocated space, no record yet
    }
    let mut record = head[SEGMENT_HEADER_LEN..].to_vec();
    record.resize(4 + len, 0);
    if f.read_exact(&mut record[4..]).is_err() {
        return Ok(None); // being written
    }
    match boltward_journal::record::Record::decode(&record) {
        Ok(Some((r, _))) => Ok(Some(FirstRecord {
            lsn: r.lsn,
            ts_micros: r.ts_micros,
            prev: r.prev,
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            e.to_string(),
        )),
    }
}

/// The timestamp of a segment's first record (reads 45 bytes), `None` if it has none.
pub fn first_timestamp(path: &Path) -> std::io::Result<Option<i64>> {
    let mut head = Vec::with_capacity(64);
    let len = (SEGMENT_HEADER_LEN + boltward_journal::record::HEADER_LEN) as u64;
    let file = std::fs::File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(file)
            .take(len)
            .read_to_end(&mut head)?;
    } else {
        file.take(len).read_to_end(&mut head)?;
    }
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
    /// The LSN verification started at: 1, or the first LSN after pruned segments (the
    /// chain is then verified from the anchor a journaled `journal_pruned` event names).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub first_lsn: u64,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

/// Verifies the whole journal; `live`: the newest segment may end in a record being
/// written. `progress` is called after each segment with (done, total) segments.
pub fn verify(
    dir: &Path,
    live: bool,
    progress: impl FnMut(usize, usize),
) -> Result<Verified, ReadError> {
    verify_with_archive(dir, None, live, progress)
}

/// [`verify`] over the archived segments of `archive` followed by the journal's: from LSN
/// 1 when the archive holds every pruned segment.
pub fn verify_with_archive(
    dir: &Path,
    archive: Option<&Path>,
    live: bool,
    mut progress: impl FnMut(usize, usize),
) -> Result<Verified, ReadError> {
    let segments = super::retention::with_archive(dir, archive)
        .map_err(|e| ReadError::Io(format!("{}: {e}", dir.display())))?;
    if segments.is_empty() {
        return Err(ReadError::Io(format!(
            "{}: no journal segments (*.bwj) found",
            dir.display()
        )));
    }
    let (mut chain, anchor) = super::retention::chain_for(dir, &segments)?;
    let first_lsn = chain.next_lsn();
    let mut corroborated = anchor.is_none();
    let n = segments.len();
    for (i, seg) in segments.iter().enumerate() {
        let bytes = segment_bytes(seg).map_err(|e| ReadError::Io(format!("{}: {e}", seg.name)))?;
        chain.segment_entries(&seg.name, &bytes, i + 1 == n, live, |_, _, e| {
            if let Some(b) = &anchor {
                corroborated |= super::retention::corroborates(&e, b);
            }
        })?;
        progress(i + 1, n);
    }
    if !corroborated {
        return Err(ReadError::Io(format!(
            "{}: the journal starts at LSN {first_lsn} after pruned segments, but no journaled {} event names that anchor: the anchor cannot be trusted",
            dir.display(),
            super::retention::PRUNED_EVENT
        )));
    }
    Ok(Verified {
        segments: n,
        records: chain.records(),
        last_lsn: chain.next_lsn() - 1,
        head: boltward_journal::record::hex(&chain.head()),
        first_lsn,
    })
}

/// Calls `f` with every entry of `segments` (LSN, timestamp µs, entry), oldest first.
/// Stops quietly at a partial last record; a corrupt record is an error.
pub fn scan(segments: &[SegmentFile], mut f: impl FnMut(u64, i64, Entry)) -> Result<(), ReadError> {
    for seg in segments {
        let bytes = segment_bytes(seg).map_err(|e| ReadError::Io(format!("{}: {e}", seg.name)))?;
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
