//! The optional audit sink: journal entries written as `:AuditLogEntry` nodes into a
//! configured database — asynchronously, by following the journal files, never on a
//! client's path. If the sink server is down, entries wait in the journal (the sink's
//! position is kept in `sink.lsn`) and are written when it is back.

use super::query::rfc3339;
use super::read::list_segments;
use crate::upstream::client::BoltClient;
use crate::upstream::Connector;
use boltward_journal::entry::dialect_of;
use boltward_journal::segment::{file_name, SegmentReader, SEGMENT_HEADER_LEN};
use boltward_journal::{Entry, Intent};
use boltward_protocol::{Map, Request, Value};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tracing::{debug, info, warn};

/// How often the sink looks for new records.
const POLL: Duration = Duration::from_millis(500);

/// The sink's settings.
pub struct SinkConfig {
    /// Where to write.
    pub connector: Connector,
    /// Database (`None`: the server's default).
    pub database: Option<String>,
    /// User.
    pub user: String,
    /// Password.
    pub password: String,
    /// Entries per write.
    pub batch: usize,
    /// Also write `:BackupMetadata` nodes from snapshot events.
    pub backup_metadata: bool,
}

/// A reading position in the journal: the next record to read.
struct Cursor {
    segment: PathBuf,
    offset: u64,
}

/// Follows the journal in `dir` forever, writing entries after the saved position.
pub async fn run(
    dir: PathBuf,
    cfg: SinkConfig,
    errors: prometheus::IntCounter,
    lsn_gauge: prometheus::IntGauge,
) {
    let state = dir.join("sink.lsn");
    let mut done: u64 = std::fs::read_to_string(&state)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    let mut cursor: Option<Cursor> = None;
    let mut client: Option<BoltClient> = None;
    let mut backoff = Duration::from_secs(1);
    info!(
        from_lsn = done + 1,
        database = cfg.database.as_deref().unwrap_or("(default)"),
        "audit sink started"
    );
    loop {
        let batch = match read_batch(&dir, &mut cursor, done, cfg.batch) {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "audit sink cannot read the journal");
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        if batch.rows.is_empty() {
            if batch.last > done {
                done = batch.last;
                let _ = std::fs::write(&state, done.to_string());
            }
            tokio::time::sleep(POLL).await;
            continue;
        }
        if client.is_none() {
            match BoltClient::connect(
                &cfg.connector,
                &cfg.user,
                &cfg.password,
                "boltward-audit-sink",
            )
            .await
            {
                Ok(c) => client = Some(c),
                Err(e) => {
                    errors.inc();
                    warn!(error = %e, retry_in_secs = backoff.as_secs(), "audit sink cannot connect");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                    cursor = None;
                    continue;
                }
            }
        }
        let Some(c) = client.as_mut() else { continue };
        let mut params = Map::new();
        params.insert("rows", Value::List(batch.rows));
        let mut extra = Map::new();
        if let Some(db) = &cfg.database {
            extra.insert("db", db.as_str());
        }
        let q = "UNWIND $rows AS r MERGE (e:AuditLogEntry {lsn: r.lsn}) SET e += r";
        let backups = if cfg.backup_metadata {
            batch.backups
        } else {
            Vec::new()
        };
        let written = match c.query(q, params, extra.clone()).await {
            Ok(_) if backups.is_empty() => Ok(()),
            Ok(_) => {
                let mut params = Map::new();
                params.insert("rows", Value::List(backups));
                c.query(
                    "UNWIND $rows AS r MERGE (b:BackupMetadata {id: r.id}) SET b += r",
                    params,
                    extra,
                )
                .await
                .map(|_| ())
            }
            Err(e) => Err(e),
        };
        match written {
            Ok(_) => {
                debug!(upto = batch.last, "audit sink wrote entries");
                done = batch.last;
                lsn_gauge.set(done as i64);
                let _ = std::fs::write(&state, done.to_string());
                backoff = Duration::from_secs(1);
            }
            Err(e) => {
                errors.inc();
                warn!(error = %e, retry_in_secs = backoff.as_secs(), "audit sink write failed");
                client = None;
                cursor = None;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

struct Batch {
    rows: Vec<Value>,
    /// `:BackupMetadata` properties of the snapshot events among them.
    backups: Vec<Value>,
    /// The LSN of the last record read.
    last: u64,
}

/// Reads up to `max` entries after LSN `done`, advancing `cursor` (re-found from the
/// directory when `None`). The cursor moves only over what is returned.
fn read_batch(
    dir: &Path,
    cursor: &mut Option<Cursor>,
    done: u64,
    max: usize,
) -> std::io::Result<Batch> {
    if cursor.is_none() {
        let segs = list_segments(dir)?;
        let seg = segs
            .iter()
            .rev()
            .find(|s| s.first_lsn <= done + 1)
            .or(segs.first());
        let Some(seg) = seg else {
            return Ok(Batch {
                rows: Vec::new(),
                backups: Vec::new(),
                last: done,
            });
        };
        *cursor = Some(Cursor {
            segment: seg.path.clone(),
            offset: SEGMENT_HEADER_LEN as u64,
        });
    }
    let Some(cur) = cursor.as_mut() else {
        return Ok(Batch {
            rows: Vec::new(),
            backups: Vec::new(),
            last: done,
        });
    };
    let mut f = std::fs::File::open(&cur.segment)?;
    let mut head = vec![0; SEGMENT_HEADER_LEN];
    f.read_exact(&mut head)?;
    f.seek(SeekFrom::Start(cur.offset))?;
    let mut bytes = head;
    f.read_to_end(&mut bytes)?;
    let (_, reader) = SegmentReader::new(&bytes).map_err(std::io::Error::other)?;
    let mut rows = Vec::new();
    let mut backups = Vec::new();
    let mut last = done;
    let mut consumed = 0usize;
    let mut next_segment = None;
    for item in reader {
        let Ok((r, offset)) = item else { break };
        let end = offset + r.payload.len() + boltward_journal::record::OVERHEAD;
        consumed = end - SEGMENT_HEADER_LEN;
        last = last.max(r.lsn);
        if r.lsn <= done {
            continue;
        }
        match Entry::decode(r.kind, r.payload) {
            Ok(Entry::Rollover { next_lsn }) => {
                next_segment = Some(dir.join(file_name(next_lsn)));
                break;
            }
            Ok(e) => {
                if let Some(row) = row(r.lsn, r.ts_micros, &e) {
                    rows.push(row);
                }
                if let Some(b) = backup(r.lsn, r.ts_micros, &e) {
                    backups.push(b);
                }
            }
            Err(_) => {}
        }
        if rows.len() >= max {
            break;
        }
    }
    cur.offset += consumed as u64;
    if let Some(next) = next_segment {
        *cursor = Some(Cursor {
            segment: next,
            offset: SEGMENT_HEADER_LEN as u64,
        });
    }
    Ok(Batch {
        rows,
        backups,
        last,
    })
}

/// The `:BackupMetadata` properties of a `snapshot_taken` or `snapshot_failed` event.
fn backup(lsn: u64, ts: i64, e: &Entry) -> Option<Value> {
    let Entry::Event(ev) = e else {
        return None;
    };
    let status = match ev.name.as_str() {
        crate::snapshot::service::TAKEN_EVENT => "complete",
        crate::snapshot::service::FAILED_EVENT => "failed",
        _ => return None,
    };
    let mut m = ev.details.clone();
    m.get("id")?;
    m.insert("status", status);
    m.insert("recorded_at", rfc3339(ts));
    m.insert("event_lsn", lsn as i64);
    Some(Value::Map(m))
}

fn queries(i: &Intent) -> Vec<Value> {
    i.statements
        .iter()
        .map(
            |s| match Request::decode(&s.run, dialect_of(&i.bolt, i.utc)) {
                Ok(Request::Run(r)) => Value::String(r.query),
                _ => Value::String("<undecodable RUN>".into()),
            },
        )
        .collect()
}

fn strings(v: &[String]) -> Value {
    Value::List(v.iter().map(|s| Value::String(s.clone())).collect())
}

fn actor(m: &mut Map, a: &boltward_journal::Actor) {
    for (k, v) in [
        ("principal", &a.principal),
        ("scheme", &a.scheme),
        ("address", &a.address),
        ("cert_subject", &a.cert_subject),
        ("user_agent", &a.user_agent),
        ("claimed", &a.claimed),
    ] {
        if let Some(v) = v {
            m.insert(k, v.as_str());
        }
    }
}

/// The node properties of one entry (`None` for checkpoints and rollovers).
fn row(lsn: u64, ts: i64, e: &Entry) -> Option<Value> {
    let mut m = Map::new();
    m.insert("lsn", lsn as i64);
    m.insert("time", rfc3339(ts));
    match e {
        Entry::Intent(i) => {
            m.insert("kind", "intent");
            actor(&mut m, &i.actor);
            if let Some(db) = &i.db {
                m.insert("database", db.as_str());
            }
            m.insert(
                "mode",
                if i.mode == boltward_journal::TxMode::Auto {
                    "auto"
                } else {
                    "explicit"
                },
            );
            m.insert("statements", Value::List(queries(i)));
            m.insert("labels", strings(&i.labels));
            m.insert("types", strings(&i.types));
            let mut classes: Vec<String> = i
                .statements
                .iter()
                .flat_map(|s| s.classes.clone())
                .collect();
            classes.sort();
            classes.dedup();
            m.insert("classes", strings(&classes));
        }
        Entry::Outcome(o) => {
            m.insert("kind", "outcome");
            m.insert("intent", o.intent as i64);
            m.insert("result", o.result.name());
        }
        Entry::Refusal(r) => {
            m.insert("kind", "refusal");
            actor(&mut m, &r.actor);
            if let Some(db) = &r.db {
                m.insert("database", db.as_str());
            }
            m.insert("rule", r.rule.as_str());
            m.insert("reason", r.reason.as_str());
            m.insert("classes", strings(&r.classes));
            if let Ok(Request::Run(run)) = Request::decode(&r.statement, dialect_of(&r.bolt, false))
            {
                m.insert("statements", Value::List(vec![Value::String(run.query)]));
            }
        }
        Entry::Event(ev) => {
            m.insert("kind", "event");
            m.insert("name", ev.name.as_str());
        }
        Entry::Checkpoint(_) | Entry::Rollover { .. } => return None,
    }
    Some(Value::Map(m))
}
