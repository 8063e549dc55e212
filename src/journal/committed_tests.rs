//! Journals built record by record (intents and outcomes interleaved, outcomes of every
//! kind, rollovers anywhere), read by [`Committed`] and by the collect-everything scan the
//! journal had before it, which is kept here as the reference.

use super::*;
use crate::journal::read::scan;
use boltward_journal::record::{Hash, Record, ZERO_HASH};
use boltward_journal::segment::{file_name, SegmentHeader};
use boltward_journal::Kind;
use boltward_journal::{Actor, Checkpoint, Event, Outcome, Statement, TxMode, FORMAT_VERSION};
use boltward_protocol::Map;

/// Writes segments the way the writer does: consecutive LSNs, chained hashes, a rollover
/// at the end of every sealed segment.
pub(crate) struct Builder {
    dir: tempfile::TempDir,
    segment: Vec<u8>,
    first_lsn: u64,
    lsn: u64,
    prev: Hash,
}

impl Builder {
    pub(crate) fn new() -> Builder {
        let mut b = Builder {
            dir: tempfile::tempdir().unwrap(),
            segment: Vec::new(),
            first_lsn: 1,
            lsn: 1,
            prev: ZERO_HASH,
        };
        b.start();
        b
    }

    fn start(&mut self) {
        self.first_lsn = self.lsn;
        self.segment = SegmentHeader {
            version: FORMAT_VERSION,
            first_lsn: self.lsn,
        }
        .encode()
        .to_vec();
    }

    /// Appends `e`; returns its LSN.
    fn push(&mut self, e: &Entry) -> u64 {
        let lsn = self.lsn;
        let ts = 1_800_000_000_000_000 + lsn as i64;
        self.prev = Record::encode(
            e.kind(),
            lsn,
            ts,
            &self.prev,
            &e.encode(),
            &mut self.segment,
        );
        self.lsn += 1;
        lsn
    }

    pub(crate) fn intent(&mut self, conn: u64) -> u64 {
        self.push(&Entry::Intent(intent(conn)))
    }

    pub(crate) fn outcome(&mut self, intent: u64, result: TxResult) -> u64 {
        self.push(&Entry::Outcome(Outcome { intent, result }))
    }

    /// Seals the segment with a rollover and starts the next one.
    pub(crate) fn roll(&mut self) {
        let next_lsn = self.lsn + 1;
        self.push(&Entry::Rollover { next_lsn });
        self.flush();
        self.start();
    }

    pub(crate) fn flush(&self) {
        let path = self.dir.path().join(file_name(self.first_lsn));
        std::fs::write(path, &self.segment).unwrap();
    }

    /// Writes the open segment; the directory to read.
    pub(crate) fn finish(&self) -> &Path {
        self.flush();
        self.dir.path()
    }
}

fn intent(conn: u64) -> Intent {
    Intent {
        conn,
        actor: Actor {
            principal: Some("alice".into()),
            ..Actor::default()
        },
        db: Some("neo4j".into()),
        bolt: "5.4".into(),
        utc: false,
        mode: TxMode::Auto,
        begin: None,
        statements: vec![Statement {
            run: vec![0xB3, 0x10, conn as u8],
            classes: vec!["write".into()],
            verdict: "allow".into(),
            rule: "default".into(),
        }],
        labels: vec![],
        types: vec![],
    }
}

pub(crate) fn committed() -> TxResult {
    TxResult::Committed {
        bookmark: Some("bm".into()),
        query_type: Some("w".into()),
        stats: Map::new(),
    }
}

/// The outcome for transaction `n`: most commit, some do not.
fn result_of(n: u64) -> TxResult {
    match n % 7 {
        3 => TxResult::RolledBack {
            reason: "client".into(),
        },
        5 => TxResult::Failed {
            code: "Neo.ClientError.Statement.SyntaxError".into(),
            message: "no".into(),
        },
        6 => TxResult::InDoubt {
            reason: "crash".into(),
        },
        _ => committed(),
    }
}

/// What `committed_between` returned before it streamed: scan everything, collect.
fn reference(dir: &Path, after: Option<u64>, upto: Option<u64>) -> Vec<Intent> {
    let segments = list_segments(dir).unwrap();
    let mut intents: HashMap<u64, Intent> = HashMap::new();
    let mut out = Vec::new();
    scan(&segments, |lsn, _, e| {
        if upto.is_some_and(|u| lsn > u) {
            return;
        }
        match e {
            Entry::Intent(i) => {
                intents.insert(lsn, i);
            }
            Entry::Outcome(o) => {
                if let Some(i) = intents.remove(&o.intent) {
                    if matches!(o.result, TxResult::Committed { .. })
                        && after.is_none_or(|a| lsn > a)
                    {
                        out.push(i);
                    }
                }
            }
            _ => {}
        }
    })
    .unwrap();
    out
}

fn stream(dir: &Path, after: Option<u64>, upto: Option<u64>) -> Vec<CommittedTx> {
    Committed::open(dir, after)
        .unwrap()
        .upto(upto)
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
}

/// `in_flight` writers with staggered commits, a rollover every `per_segment` records,
/// refusals, events and checkpoints between them. Returns the directory and the LSNs of
/// the committed outcomes, in order.
fn interleaved(txs: u64, in_flight: usize, per_segment: u64) -> (Builder, Vec<u64>) {
    let mut b = Builder::new();
    let mut open: VecDeque<(u64, u64)> = VecDeque::new();
    let mut commits = Vec::new();
    let mut since_roll = 0;
    for n in 0..txs {
        open.push_back((n, b.intent(n)));
        // Outcomes do not come in intent order: the second oldest sometimes goes first.
        while open.len() >= in_flight {
            let k = if n % 3 == 0 && open.len() > 1 { 1 } else { 0 };
            let (m, lsn) = open.remove(k).unwrap();
            let result = result_of(m);
            let ok = matches!(result, TxResult::Committed { .. });
            let out = b.outcome(lsn, result);
            if ok {
                commits.push(out);
            }
        }
        if n % 5 == 0 {
            b.push(&Entry::Event(Event {
                name: "promote".into(),
                details: Map::new(),
            }));
        }
        if n % 11 == 0 {
            b.push(&Entry::Checkpoint(Checkpoint::default()));
        }
        since_roll += 1;
        if since_roll >= per_segment {
            b.roll();
            since_roll = 0;
        }
    }
    // The last ones commit newest first.
    while let Some((m, lsn)) = open.pop_back() {
        let result = result_of(m);
        let ok = matches!(result, TxResult::Committed { .. });
        let out = b.outcome(lsn, result);
        if ok {
            commits.push(out);
        }
    }
    b.finish();
    (b, commits)
}

#[test]
fn yields_what_the_collecting_scan_did_across_segments() {
    for (txs, in_flight, per_segment) in [(1, 1, 100), (50, 1, 7), (120, 4, 5), (200, 9, 3)] {
        let (b, commits) = interleaved(txs, in_flight, per_segment);
        let dir = b.dir.path();
        assert!(list_segments(dir).unwrap().len() > usize::from(txs > 1));
        let got = stream(dir, None, None);
        let want = reference(dir, None, None);
        assert_eq!(got.len(), commits.len());
        assert_eq!(
            got.iter().map(|t| t.intent.clone()).collect::<Vec<_>>(),
            want
        );
        // Commit order: the outcome LSNs, ascending, exactly the committed ones.
        assert_eq!(got.iter().map(|t| t.lsn).collect::<Vec<_>>(), commits);
        for t in &got {
            assert!(t.intent_lsn < t.lsn);
            assert!(matches!(t.result, TxResult::Committed { .. }));
            assert_eq!(t.ts_micros, 1_800_000_000_000_000 + t.lsn as i64);
        }
        // The thin wrappers are the stream, collected.
        assert_eq!(crate::journal::replay::committed(dir, None).unwrap(), want);
    }
}

#[test]
fn after_and_upto_match_the_collecting_scan() {
    let (b, commits) = interleaved(150, 6, 4);
    let dir = b.dir.path();
    let last = commits.last().copied().unwrap();
    for after in [
        None,
        Some(0),
        Some(commits[3]),
        Some(commits[40] + 1),
        Some(last),
    ] {
        for upto in [
            None,
            Some(commits[10]),
            Some(commits[60] - 1),
            Some(last + 5),
        ] {
            let got: Vec<_> = stream(dir, after, upto)
                .into_iter()
                .map(|t| t.intent)
                .collect();
            assert_eq!(
                got,
                reference(dir, after, upto),
                "after {after:?} upto {upto:?}"
            );
            assert_eq!(
                crate::journal::replay::committed_between(dir, after, upto).unwrap(),
                got
            );
        }
    }
    assert!(stream(dir, Some(last), None).is_empty());
}

#[test]
fn an_outcome_in_a_later_segment_pairs_with_its_intent() {
    let mut b = Builder::new();
    let early = b.intent(1);
    let failed = b.intent(2);
    b.roll();
    let other = b.intent(3);
    b.outcome(other, committed());
    b.roll();
    b.outcome(failed, result_of(5));
    b.roll();
    b.push(&Entry::Checkpoint(Checkpoint::default()));
    let outcome = b.outcome(early, committed());
    let dir = b.finish();
    let got = stream(dir, None, None);
    assert_eq!(
        got.iter().map(|t| t.intent.conn).collect::<Vec<_>>(),
        [3, 1]
    );
    assert_eq!(got[1].intent_lsn, early);
    assert_eq!(got[1].lsn, outcome);
    // Only what commits after LSN `other + 1` (the first outcome).
    let since: Vec<_> = stream(dir, Some(other + 1), None);
    assert_eq!(since.iter().map(|t| t.intent.conn).collect::<Vec<_>>(), [1]);
}

#[test]
fn rolled_back_failed_and_in_doubt_are_skipped() {
    let mut b = Builder::new();
    let ids: Vec<u64> = (0..7).map(|n| b.intent(n)).collect();
    for (n, id) in ids.iter().enumerate() {
        b.outcome(*id, result_of(n as u64));
    }
    let dir = b.finish();
    let got: Vec<_> = stream(dir, None, None)
        .into_iter()
        .map(|t| t.intent.conn)
        .collect();
    assert_eq!(got, [0, 1, 2, 4]);
    assert_eq!(reference(dir, None, None).len(), 4);
}

#[test]
fn memory_is_bounded_by_the_writes_in_flight() {
    for in_flight in [1, 3, 8] {
        let (b, _) = interleaved(300, in_flight, 6);
        let mut it = Committed::open(b.dir.path(), None).unwrap();
        let mut yielded = 0;
        while let Some(tx) = it.next() {
            tx.unwrap();
            yielded += 1;
            assert!(it.open_intents() <= in_flight);
        }
        assert!(yielded > 0);
        assert_eq!(it.open_intents(), 0, "every intent got its outcome");
        assert_eq!(it.max_open_intents(), in_flight);
    }
}

#[test]
fn an_intent_still_in_flight_is_not_yielded() {
    let mut b = Builder::new();
    let done = b.intent(1);
    b.intent(2);
    b.outcome(done, committed());
    let dir = b.finish();
    let mut it = Committed::open(dir, None).unwrap();
    assert_eq!(it.next().unwrap().unwrap().intent.conn, 1);
    assert!(it.next().is_none());
    assert_eq!(it.open_intents(), 1);
}

#[test]
fn a_torn_tail_ends_the_stream_quietly() {
    let mut b = Builder::new();
    let i = b.intent(1);
    b.outcome(i, committed());
    b.intent(2);
    b.finish();
    // Cut the last record in half, as a crash mid-write leaves it.
    let path = b.dir.path().join(file_name(1));
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 20);
    std::fs::write(&path, bytes).unwrap();
    let got = stream(b.dir.path(), None, None);
    assert_eq!(got.len(), 1);
}

#[test]
fn a_segment_being_rolled_over_is_read_as_the_tail() {
    // The writer has created the next segment but not yet appended the rollover.
    let mut b = Builder::new();
    let i = b.intent(1);
    b.outcome(i, committed());
    let dir = b.finish().to_owned();
    let next = SegmentHeader {
        version: FORMAT_VERSION,
        first_lsn: b.lsn + 1,
    };
    std::fs::write(dir.join(file_name(b.lsn + 1)), next.encode()).unwrap();
    assert_eq!(stream(&dir, None, None).len(), 1);
    // Half the rollover written.
    let mut sealed = b.segment.clone();
    Record::encode(
        Kind::Rollover,
        b.lsn,
        0,
        &b.prev,
        &Entry::Rollover {
            next_lsn: b.lsn + 1,
        }
        .encode(),
        &mut sealed,
    );
    sealed.truncate(sealed.len() - 3);
    std::fs::write(dir.join(file_name(1)), sealed).unwrap();
    assert_eq!(stream(&dir, None, None).len(), 1);
}

#[test]
fn a_broken_chain_is_an_error_after_what_was_verified() {
    let mut b = Builder::new();
    let i = b.intent(1);
    b.outcome(i, committed());
    b.roll();
    // A record whose previous-hash is not its predecessor's (its CRC is fine: only the
    // chain can tell).
    b.prev = [7; 32];
    let j = b.intent(2);
    b.outcome(j, committed());
    let dir = b.finish();
    let items: Vec<_> = Committed::open(dir, None).unwrap().collect();
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().unwrap().intent.conn, 1);
    assert!(
        matches!(&items[1], Err(ReadError::Chain(e)) if e.lsn == j),
        "{:?}",
        items[1]
    );
    assert!(crate::journal::replay::committed(dir, None).is_err());
}

#[test]
fn a_missing_sealed_segment_is_an_error() {
    let (b, _) = interleaved(40, 2, 5);
    let segments = list_segments(b.dir.path()).unwrap();
    std::fs::remove_file(&segments[1].path).unwrap();
    let items: Vec<_> = Committed::open(b.dir.path(), None).unwrap().collect();
    assert!(matches!(items.last(), Some(Err(ReadError::Chain(_)))));
}

#[test]
fn an_empty_directory_has_no_transactions() {
    let dir = tempfile::tempdir().unwrap();
    assert!(stream(dir.path(), None, None).is_empty());
}
