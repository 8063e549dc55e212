//! Journal retention: which sealed segments may leave the journal directory (deleted, or
//! gzip-compressed into `journal.archive_dir`), and the anchor that keeps the hash chain
//! verifiable after they have.
//!
//! A sealed segment goes only when all of these hold, oldest first (a segment after one
//! that stays, stays; the newest segment, being written, always stays):
//! - every record in it is older than `journal.retention_days`;
//! - it is not needed for a point-in-time restore from the oldest kept snapshot, and that
//!   snapshot's data file matches its checksum: no record at or after the first LSN that
//!   snapshot's replay reads (its LSN + 1, or an earlier intent still open at its LSN);
//! - every mirror that streams from the journal applied it, and so did the audit sink.
//!
//! Before a segment goes, boltward journals a `journal_pruned` event naming the LSN each
//! remaining segment starts at and the hash of the record before it, then writes the same
//! in `ANCHOR.json`. A verification of what remains starts from that hash, and accepts the
//! anchor only when a journaled `journal_pruned` event (inside the verified chain) names it.

use super::read::{list_segments, ReadError, SegmentFile};
use boltward_journal::record::{hex, Hash};
use boltward_journal::{Chain, Entry};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The anchor file in the journal directory.
pub const ANCHOR_FILE: &str = "ANCHOR.json";

/// The name of the event that records a prune.
pub const PRUNED_EVENT: &str = "journal_pruned";

/// Where the chain continues after pruned segments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    /// One per segment that became the oldest, oldest first.
    pub boundaries: Vec<Boundary>,
}

/// A segment that may be the oldest: its first LSN and the hash of the record before it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Boundary {
    /// The segment's first LSN.
    pub first_lsn: u64,
    /// The hash of record `first_lsn - 1`, hex.
    pub prev_hash: String,
}

impl Boundary {
    /// `first_lsn:prev_hash`, as the `journal_pruned` event lists it.
    pub fn token(&self) -> String {
        format!("{}:{}", self.first_lsn, self.prev_hash)
    }
}

/// Reads `ANCHOR.json` (none: an unpruned journal).
pub fn load_anchor(dir: &Path) -> Result<Anchor, ReadError> {
    super::read::load_json(dir, ANCHOR_FILE)
}

/// Writes `ANCHOR.json` atomically.
pub fn save_anchor(dir: &Path, anchor: &Anchor) -> std::io::Result<()> {
    super::read::save_json(dir, ANCHOR_FILE, anchor)
}

/// Where verifying `segments` (oldest first) starts: at LSN 1 with the zero hash, or, when
/// older segments were pruned, at the anchor's boundary for the oldest one. The anchor must
/// still be corroborated by a `journal_pruned` event ([`corroborates`]).
pub fn chain_for(
    dir: &Path,
    segments: &[SegmentFile],
) -> Result<(Chain, Option<Boundary>), ReadError> {
    let Some(first) = segments.first().map(|s| s.first_lsn) else {
        return Ok((Chain::new(), None));
    };
    if first <= 1 {
        return Ok((Chain::new(), None));
    }
    let anchor = load_anchor(dir)?;
    let b = anchor
        .boundaries
        .iter()
        .find(|b| b.first_lsn == first)
        .ok_or_else(|| {
            ReadError::Io(format!(
                "{}: the journal starts at LSN {first} and no anchor in {ANCHOR_FILE} covers it (were segments removed by hand?)",
                dir.display()
            ))
        })?;
    let hash = unhex(&b.prev_hash).ok_or_else(|| {
        ReadError::Io(format!(
            "{ANCHOR_FILE}: {:?} is not a SHA-256 in hex",
            b.prev_hash
        ))
    })?;
    Ok((Chain::anchored(first, hash), Some(b.clone())))
}

/// Whether `entry` is a `journal_pruned` event that lists `boundary`.
pub fn corroborates(entry: &Entry, boundary: &Boundary) -> bool {
    let Entry::Event(e) = entry else {
        return false;
    };
    e.name == PRUNED_EVENT
        && e.details
            .get("boundaries")
            .and_then(|v| v.as_str())
            .is_some_and(|list| list.split(';').any(|t| t == boundary.token()))
}

fn unhex(s: &str) -> Option<Hash> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// What retention knows of one segment.
#[derive(Debug, Clone)]
pub struct Segment {
    /// The file.
    pub file: SegmentFile,
    /// Its newest record's LSN.
    pub last_lsn: u64,
    /// Its newest record's time (µs).
    pub last_ts: i64,
    /// Its size on disk.
    pub bytes: u64,
    /// The hash of its last record: the `prev` of the next segment's first.
    pub last_hash: Hash,
}

/// What retention needs of the sealed segment `file`, read from the first record of the
/// segment after it (`next`) rather than from the segment itself: its last LSN is the one
/// before `next` starts, its last hash is the `prev` of `next`'s first record, and no
/// record in it is newer than that first record. `None` while `next` has no record yet.
pub fn inspect(file: &SegmentFile, next: &SegmentFile) -> Result<Option<Segment>, ReadError> {
    let io = |e: std::io::Error| ReadError::Io(format!("{}: {e}", next.name));
    let Some(first) = super::read::first_record(&next.path).map_err(io)? else {
        return Ok(None);
    };
    if first.lsn != next.first_lsn {
        return Err(ReadError::Io(format!(
            "{}: its first record has LSN {}, its name says {}",
            next.name, first.lsn, next.first_lsn
        )));
    }
    let bytes = std::fs::metadata(&file.path)
        .map_err(|e| ReadError::Io(format!("{}: {e}", file.name)))?
        .len();
    Ok(Some(Segment {
        file: file.clone(),
        last_lsn: next.first_lsn - 1,
        last_ts: first.ts_micros,
        bytes,
        last_hash: first.prev,
    }))
}

/// Why the oldest segment that stays, stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum Kept {
    /// Nothing but the segment being written.
    OnlyTheLiveSegment,
    /// It holds records younger than the retention.
    Young {
        /// Its newest record, RFC 3339.
        newest: String,
    },
    /// A point-in-time restore from the oldest kept snapshot reads it (or there is no
    /// usable snapshot).
    Pitr {
        /// The first LSN that restore reads.
        needed_from: Option<u64>,
    },
    /// A mirror has not applied it.
    Mirror {
        /// The mirror.
        name: String,
        /// Its applied LSN.
        applied: u64,
    },
    /// The audit sink has not written it.
    Sink {
        /// The sink's LSN.
        done: u64,
    },
}

/// What holds segments back: each is the first LSN still needed (`None`: everything).
#[derive(Debug, Clone, Default)]
pub struct Needs {
    /// Point-in-time restore from the oldest kept snapshot.
    pub pitr: Option<u64>,
    /// Mirrors: name and applied LSN.
    pub mirrors: Vec<(String, u64)>,
    /// The audit sink's LSN, when it is enabled.
    pub sink: Option<u64>,
}

/// The oldest segments that may go (a prefix of `sealed`, oldest first), and why the next
/// one stays. `sealed` excludes the newest segment.
pub fn select(sealed: &[Segment], now: i64, retention_micros: i64, needs: &Needs) -> (usize, Kept) {
    for (i, seg) in sealed.iter().enumerate() {
        if seg.last_ts >= now.saturating_sub(retention_micros) {
            return (
                i,
                Kept::Young {
                    newest: super::query::rfc3339(seg.last_ts),
                },
            );
        }
        match needs.pitr {
            Some(from) if seg.last_lsn < from => {}
            needed_from => return (i, Kept::Pitr { needed_from }),
        }
        if let Some((name, applied)) = needs.mirrors.iter().find(|(_, a)| seg.last_lsn > *a) {
            return (
                i,
                Kept::Mirror {
                    name: name.clone(),
                    applied: *applied,
                },
            );
        }
        if let Some(done) = needs.sink.filter(|d| seg.last_lsn > *d) {
            return (i, Kept::Sink { done });
        }
    }
    (sealed.len(), Kept::OnlyTheLiveSegment)
}

/// The first LSN a replay after snapshot LSN `s` reads: `s + 1`, or the intent of a
/// transaction still open at `s` (its outcome comes after). Scans the segments up to `s`.
pub fn pitr_floor(segments: &[SegmentFile], s: u64) -> Result<u64, ReadError> {
    let mut open = std::collections::BTreeSet::new();
    let upto: Vec<SegmentFile> = segments
        .iter()
        .filter(|seg| seg.first_lsn <= s)
        .cloned()
        .collect();
    super::read::scan(&upto, |lsn, _, e| {
        if lsn <= s {
            super::track(&mut open, lsn, &e);
        }
    })?;
    Ok(open.first().copied().unwrap_or(s + 1).min(s + 1))
}

/// A segment that left the journal directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruned {
    /// File name.
    pub name: String,
    /// Its first and last LSN.
    pub first_lsn: u64,
    /// Its last LSN.
    pub last_lsn: u64,
    /// Bytes it held.
    pub bytes: u64,
    /// Where it was archived (absent: deleted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<PathBuf>,
}

/// Gzip-compresses `seg` into `archive` (temporary file, fsync, rename) and returns the
/// archived path.
pub fn archive(seg: &SegmentFile, archive: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(archive)?;
    let dest = archive.join(format!("{}.gz", seg.name));
    let tmp = archive.join(format!("{}.gz.tmp", seg.name));
    let bytes = std::fs::read(&seg.path)?;
    let file = std::fs::File::create(&tmp)?;
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    gz.write_all(&bytes)?;
    let file = gz.finish()?;
    file.sync_all()?;
    std::fs::rename(&tmp, &dest)?;
    std::fs::File::open(archive)?.sync_all()?;
    Ok(dest)
}

/// The boundaries of a prune of `doomed` (oldest first) from `sealed`: each segment after
/// a doomed one may become the oldest.
pub fn boundaries(sealed: &[Segment], doomed: usize) -> Vec<Boundary> {
    sealed
        .iter()
        .take(doomed)
        .map(|s| Boundary {
            first_lsn: s.last_lsn + 1,
            prev_hash: hex(&s.last_hash),
        })
        .collect()
}

/// The live journal's segments (`dir`) after the archived ones (`archive`), oldest first;
/// a segment in both (a crash between archiving and deleting) is read from `dir`.
pub fn with_archive(dir: &Path, archive: Option<&Path>) -> std::io::Result<Vec<SegmentFile>> {
    let live = list_segments(dir)?;
    let Some(archive) = archive else {
        return Ok(live);
    };
    let mut all = match super::read::list_archived(archive) {
        Ok(a) => a,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    all.retain(|a| live.iter().all(|l| l.first_lsn != a.first_lsn));
    all.extend(live);
    all.sort_by_key(|s| s.first_lsn);
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(first: u64, last: u64, ts: i64) -> Segment {
        Segment {
            file: SegmentFile {
                name: format!("{first}"),
                path: PathBuf::new(),
                first_lsn: first,
            },
            last_lsn: last,
            last_ts: ts,
            bytes: 100,
            last_hash: [first as u8; 32],
        }
    }

    const DAY: i64 = 86_400_000_000;

    fn old() -> Vec<Segment> {
        vec![seg(1, 10, 0), seg(11, 20, DAY), seg(21, 30, 2 * DAY)]
    }

    fn free() -> Needs {
        Needs {
            pitr: Some(1000),
            mirrors: vec![("vps".into(), 1000)],
            sink: Some(1000),
        }
    }

    #[test]
    fn everything_old_and_unneeded_goes() {
        assert_eq!(
            select(&old(), 40 * DAY, 30 * DAY, &free()),
            (3, Kept::OnlyTheLiveSegment)
        );
    }

    #[test]
    fn each_condition_keeps_a_segment() {
        // Young: retention 39 days keeps the segment whose newest record is 1 day old.
        let (n, why) = select(&old(), 40 * DAY, 39 * DAY, &free());
        assert_eq!(n, 1);
        assert!(matches!(why, Kept::Young { .. }), "{why:?}");
        // PITR: the oldest snapshot's replay reads from LSN 15.
        let needs = Needs {
            pitr: Some(15),
            ..free()
        };
        assert_eq!(
            select(&old(), 40 * DAY, 30 * DAY, &needs),
            (
                1,
                Kept::Pitr {
                    needed_from: Some(15)
                }
            )
        );
        // No usable snapshot: nothing goes.
        let needs = Needs {
            pitr: None,
            ..free()
        };
        assert_eq!(select(&old(), 40 * DAY, 30 * DAY, &needs).0, 0);
        // A mirror applied up to LSN 20.
        let needs = Needs {
            mirrors: vec![("a".into(), 1000), ("b".into(), 20)],
            ..free()
        };
        assert_eq!(
            select(&old(), 40 * DAY, 30 * DAY, &needs),
            (
                2,
                Kept::Mirror {
                    name: "b".into(),
                    applied: 20
                }
            )
        );
        // The sink wrote up to LSN 9.
        let needs = Needs {
            sink: Some(9),
            ..free()
        };
        assert_eq!(
            select(&old(), 40 * DAY, 30 * DAY, &needs),
            (0, Kept::Sink { done: 9 })
        );
    }

    #[test]
    fn boundaries_name_the_next_segments_first_lsn_and_the_hash_before_it() {
        let b = boundaries(&old(), 2);
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].first_lsn, 21);
        assert_eq!(unhex(&b[1].prev_hash), Some([11u8; 32]));
        assert_eq!(unhex("zz"), None);
    }
}
