//! The journal on its own: tamper detection by `boltward audit verify` (flipped byte,
//! removed record, reordered records, truncated or missing segment), recovery (torn tail
//! cut, intents without outcome reported in doubt, corruption refused) and group commit.

mod common;

use boltward::config::{Journal as JournalConfig, SyncMode};
use boltward::journal::{Journal, JournalError};
use boltward::metrics::Metrics;
use boltward_journal::segment::SegmentReader;
use boltward_journal::{Actor, Entry, Intent, Statement, TxMode, TxResult};
use std::path::{Path, PathBuf};

fn config(dir: &Path) -> JournalConfig {
    JournalConfig {
        dir: dir.to_owned(),
        segment_bytes: 4096,
        ..JournalConfig::default()
    }
}

fn intent(i: u64) -> Entry {
    Entry::Intent(Intent {
        conn: i,
        actor: Actor {
            principal: Some("alice".into()),
            ..Actor::default()
        },
        db: Some("alpha".into()),
        bolt: "5.4".into(),
        utc: true,
        mode: TxMode::Auto,
        begin: None,
        statements: vec![Statement {
            run: vec![0xB3, 0x10, 0x81, b'X', 0xA0, 0xA0],
            classes: vec!["write".into()],
            verdict: "allow".into(),
            rule: "default".into(),
        }],
        labels: vec!["Person".into()],
        types: vec![],
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A closed journal with `n` committed writes over several 4 KiB segments.
fn build(dir: &Path, n: u64) {
    let rt = runtime();
    let j = Journal::open(&config(dir), Metrics::new().journal).unwrap();
    rt.block_on(async {
        for i in 0..n {
            let lsn = j.append(intent(i)).await.unwrap();
            j.ticket(lsn)
                .resolve(TxResult::Committed {
                    bookmark: None,
                    query_type: Some("w".into()),
                    stats: Default::default(),
                })
                .await
                .unwrap();
        }
    });
    j.close();
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "bwj"))
        .collect();
    v.sort();
    v
}

/// (lsn, offset, len) of every record of a segment.
fn records(path: &Path) -> Vec<(u64, usize, usize)> {
    let bytes = std::fs::read(path).unwrap();
    let (_, mut reader) = SegmentReader::new(&bytes).unwrap();
    let mut out: Vec<(u64, usize, usize)> = Vec::new();
    let mut items: Vec<(u64, usize)> = reader
        .by_ref()
        .map(|r| r.map(|(r, o)| (r.lsn, o)).unwrap())
        .collect();
    items.push((0, reader.offset()));
    for w in items.windows(2) {
        out.push((w[0].0, w[0].1, w[1].1 - w[0].1));
    }
    out
}

/// `boltward audit verify --json`: exit code and the first bad LSN.
fn verify(dir: &Path) -> (i32, Option<u64>, String) {
    let dir = dir.display().to_string();
    let (code, text, _) =
        common::boltward_cli(&["audit", "verify", "--json", "--journal", &dir], &[]);
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
    (code, v["first_bad_lsn"].as_u64(), text)
}

fn copy(src: &Path) -> tempfile::TempDir {
    let dst = tempfile::tempdir().unwrap();
    for p in segments(src) {
        std::fs::copy(&p, dst.path().join(p.file_name().unwrap())).unwrap();
    }
    dst
}

#[test]
fn verify_detects_every_kind_of_tampering() {
    let src = tempfile::tempdir().unwrap();
    build(src.path(), 60);
    let segs = segments(src.path());
    assert!(segs.len() >= 3, "several segments: {}", segs.len());
    let (code, bad, text) = verify(src.path());
    assert_eq!((code, bad), (0, None), "intact journal: {text}");

    // In the second segment: records k (3rd) and k+1 (4th).
    let recs = records(&segs[1]);
    let (k, off_k, len_k) = recs[2];
    let (_, off_k1, len_k1) = recs[3];
    let name = segs[1].file_name().unwrap().to_owned();

    // A flipped byte in a payload.
    let d = copy(src.path());
    let p = d.path().join(&name);
    let mut b = std::fs::read(&p).unwrap();
    b[off_k + 60] ^= 0x01;
    std::fs::write(&p, &b).unwrap();
    assert_eq!(verify(d.path()).0, 1, "damage exits 1");
    assert_eq!(verify(d.path()).1, Some(k), "flipped byte");

    // A flipped byte in a record's previous-hash with the checksum recomputed (a forger
    // who knows the CRC but cannot fix the chain).
    let d = copy(src.path());
    let p = d.path().join(&name);
    let mut b = std::fs::read(&p).unwrap();
    b[off_k + 30] ^= 0x01;
    let end = off_k + len_k;
    let crc = crc32fast::hash(&b[off_k..end - 4]);
    b[end - 4..end].copy_from_slice(&crc.to_le_bytes());
    std::fs::write(&p, &b).unwrap();
    assert_eq!(verify(d.path()).1, Some(k), "forged previous-hash");

    // A removed record.
    let d = copy(src.path());
    let p = d.path().join(&name);
    let mut b = std::fs::read(&p).unwrap();
    b.drain(off_k..off_k + len_k);
    std::fs::write(&p, &b).unwrap();
    assert_eq!(verify(d.path()).1, Some(k), "removed record");

    // Two records swapped.
    let d = copy(src.path());
    let p = d.path().join(&name);
    let b = std::fs::read(&p).unwrap();
    let mut swapped = b[..off_k].to_vec();
    swapped.extend_from_slice(&b[off_k1..off_k1 + len_k1]);
    swapped.extend_from_slice(&b[off_k..off_k + len_k]);
    swapped.extend_from_slice(&b[off_k1 + len_k1..]);
    std::fs::write(&p, &swapped).unwrap();
    assert_eq!(verify(d.path()).1, Some(k), "reordered records");

    // A sealed segment truncated at a record boundary (its rollover is gone).
    let d = copy(src.path());
    let p = d.path().join(&name);
    let (last_lsn, last_off, _) = *recs.last().unwrap();
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..last_off]).unwrap();
    assert_eq!(
        verify(d.path()).1,
        Some(last_lsn),
        "truncated sealed segment"
    );

    // A segment truncated inside a record.
    let d = copy(src.path());
    let p = d.path().join(&name);
    std::fs::write(&p, &b[..off_k + 10]).unwrap();
    assert_eq!(verify(d.path()).1, Some(k), "truncated inside a record");

    // The newest segment truncated inside its last record (offline, that is damage).
    let d = copy(src.path());
    let newest = segs.last().unwrap();
    let p = d.path().join(newest.file_name().unwrap());
    let b = std::fs::read(&p).unwrap();
    let (lsn, off, _) = *records(newest).last().unwrap();
    std::fs::write(&p, &b[..off + 7]).unwrap();
    assert_eq!(verify(d.path()).1, Some(lsn), "torn newest segment");

    // A whole segment missing.
    let d = copy(src.path());
    let first_of_second = records(&segs[1])[0].0;
    std::fs::remove_file(d.path().join(&name)).unwrap();
    assert_eq!(verify(d.path()).1, Some(first_of_second), "missing segment");

    // Not a journal at all.
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(verify(empty.path()).0, 2);
}

#[test]
fn recovery_cuts_a_torn_tail_and_reports_writes_in_doubt() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 5);
    // An intent without outcome (boltward died between forwarding and the answer) …
    let rt = runtime();
    let metrics = Metrics::new();
    let j = Journal::open(&config(dir.path()), metrics.journal.clone()).unwrap();
    let open = rt.block_on(j.append(intent(99))).unwrap();
    j.close();
    // … and half a record at the end (the crash hit during a write).
    let newest = segments(dir.path()).pop().unwrap();
    let mut b = std::fs::read(&newest).unwrap();
    let (_, off, len) = *records(&newest).last().unwrap();
    let whole = (off + len) as u64;
    // Inside the preallocated (zero) space, where the next record was being written.
    b.truncate(whole as usize);
    b.extend_from_slice(&[0x40, 0, 0, 0, 2, 9, 9]);
    b.extend_from_slice(&[0; 100]);
    std::fs::write(&newest, &b).unwrap();

    let metrics = Metrics::new();
    let j = Journal::open(&config(dir.path()), metrics.journal.clone()).unwrap();
    let r = j.recovery().clone();
    assert_eq!(r.torn_bytes, 7);
    assert_eq!(r.in_doubt, vec![open]);
    assert_eq!(metrics.journal.in_doubt.get(), 1);
    assert!(metrics.render().contains("boltward_journal_in_doubt 1"));
    // The cut tail is gone and new records chain onto the last good one.
    assert!(
        !std::fs::read(&newest).unwrap()[whole as usize..].starts_with(&[0x40, 0, 0, 0, 2, 9, 9])
    );
    let later = rt.block_on(j.append(intent(100))).unwrap();
    j.close();
    let (code, _, text) = verify(dir.path());
    assert_eq!(code, 0, "{text}");
    // The in-doubt outcome is recorded, so a second start finds nothing open.
    let j = Journal::open(&config(dir.path()), Metrics::new().journal).unwrap();
    assert_eq!(
        j.recovery().in_doubt,
        vec![later],
        "only the new open intent"
    );
    j.close();
    let rows = boltward::journal::query::query(
        dir.path(),
        &boltward::journal::query::Filter {
            outcome: Some("in_doubt".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.lsn).collect::<Vec<_>>(),
        vec![later, open]
    );
}

#[test]
fn corruption_before_the_tail_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 30);
    let first = segments(dir.path())[0].clone();
    let (_, off, _) = records(&first)[1];
    let mut b = std::fs::read(&first).unwrap();
    b[off + 40] ^= 0xFF;
    std::fs::write(&first, &b).unwrap();
    match Journal::open(&config(dir.path()), Metrics::new().journal) {
        Err(JournalError::Corrupt(e)) => assert_eq!(e.lsn, 2),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a corrupt journal was opened for appending"),
    }
}

#[test]
fn a_second_process_cannot_open_the_same_journal() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&config(dir.path()), Metrics::new().journal).unwrap();
    assert!(matches!(
        Journal::open(&config(dir.path()), Metrics::new().journal),
        Err(JournalError::Locked(_))
    ));
    j.close();
}

#[test]
fn concurrent_commits_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Metrics::new();
    let j = Journal::open(
        &JournalConfig {
            dir: dir.path().to_owned(),
            sync: SyncMode::Commit,
            ..JournalConfig::default()
        },
        metrics.journal.clone(),
    )
    .unwrap();
    let before = metrics.journal.fsyncs.get();
    let rt = runtime();
    let n = 400;
    rt.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..n {
            let j = j.clone();
            tasks.push(tokio::spawn(
                async move { j.append(intent(i)).await.unwrap() },
            ));
        }
        let mut lsns = Vec::new();
        for t in tasks {
            lsns.push(t.await.unwrap());
        }
        lsns.sort();
        lsns.dedup();
        assert_eq!(lsns.len(), n as usize, "every append got its own LSN");
    });
    let fsyncs = metrics.journal.fsyncs.get() - before;
    assert!(
        fsyncs >= 1 && fsyncs < n,
        "{fsyncs} fsyncs for {n} concurrent appends"
    );
    j.close();
}
