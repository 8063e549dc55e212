//! `BoltClient::run_pipelined` (the mirror applies a group of transactions with it)
//! against a scripted Bolt server: answers are matched to statements across chunks, a
//! FAILURE names its statement and leaves the connection usable, a failed BEGIN is told
//! apart, and a server that stops answering times out naming the statement it was on.

mod common;

use boltward::upstream::client::{ClientError, PIPELINE_CHUNK};
use boltward_protocol::message::Run;
use boltward_protocol::{Map, Request};
use common::scripted::{self, Reply, Scripted};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(5);

/// A single scripted server; a RUN containing `HANG` makes it answer nothing from then on,
/// and a BEGIN whose extra names `fail` fails.
fn server() -> Scripted {
    let silent = Arc::new(AtomicBool::new(false));
    Scripted::start(Arc::new(move |conn, r| {
        if silent.load(Ordering::SeqCst) {
            return Reply::Hang;
        }
        match r {
            Request::Run(run) if run.query.contains("HANG") => {
                silent.store(true, Ordering::SeqCst);
                Reply::Hang
            }
            Request::Begin(b) if b.extra.get("fail").is_some() => {
                scripted::fail("Neo.ClientError.Transaction.Invalid", "scripted")
            }
            _ => scripted::single_server(conn, r),
        }
    }))
}

fn runs(queries: &[String]) -> Vec<Run> {
    queries
        .iter()
        .map(|q| Run {
            query: q.clone(),
            parameters: Map::new(),
            extra: Map::new(),
        })
        .collect()
}

#[test]
fn every_statement_is_answered_in_order_across_chunks() {
    let s = server();
    let n = PIPELINE_CHUNK * 2 + 6;
    let qs: Vec<String> = (0..n).map(|i| format!("RETURN {i}")).collect();
    let results = common::with_client(&s.addr, async |c| {
        let r = c
            .run_pipelined(Some(Map::new()), runs(&qs), LIMIT)
            .await
            .unwrap();
        c.commit().await.unwrap();
        r
    });
    assert_eq!(results.len(), n);
    assert!(results.iter().all(|r| r.records.len() == 1));
    assert_eq!(s.queries(), qs, "sent once each, in order");
    let kinds: Vec<&str> = s
        .requests()
        .iter()
        .filter_map(|(_, r)| match r {
            Request::Begin(_) => Some("BEGIN"),
            Request::Commit => Some("COMMIT"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["BEGIN", "COMMIT"]);
}

#[test]
fn a_failure_names_its_statement_and_the_connection_stays_usable() {
    let s = server();
    let at = PIPELINE_CHUNK + 8;
    let qs: Vec<String> = (0..PIPELINE_CHUNK * 3)
        .map(|i| {
            if i == at {
                "FAIL here".to_owned()
            } else {
                format!("RETURN {i}")
            }
        })
        .collect();
    let (err, after) = common::with_client(&s.addr, async |c| {
        let err = c
            .run_pipelined(Some(Map::new()), runs(&qs), LIMIT)
            .await
            .unwrap_err();
        let after = c.query("RETURN 1", Map::new(), Map::new()).await;
        (err, after)
    });
    assert_eq!(err.0, Some(at));
    assert!(matches!(err.1, ClientError::Server { .. }), "{:?}", err.1);
    assert!(after.is_ok(), "RESET after the failure: {after:?}");
    // Nothing after the failing statement's chunk was sent.
    let sent = s.queries();
    assert_eq!(sent.len(), PIPELINE_CHUNK * 2 + 1, "{sent:?}");
    assert!(s
        .requests()
        .iter()
        .any(|(_, r)| matches!(r, Request::Reset)));
}

#[test]
fn a_failed_begin_is_told_apart_from_a_failed_statement() {
    let s = server();
    let qs = vec!["RETURN 1".to_owned()];
    let err = common::with_client(&s.addr, async |c| {
        c.run_pipelined(Some(Map::from([("fail", true)])), runs(&qs), LIMIT)
            .await
            .unwrap_err()
    });
    assert_eq!(err.0, None);
}

#[test]
fn a_server_that_stops_answering_times_out_on_the_statement_it_was_on() {
    let s = server();
    let qs: Vec<String> = (0..10)
        .map(|i| {
            if i == 5 {
                "HANG".to_owned()
            } else {
                format!("RETURN {i}")
            }
        })
        .collect();
    let err = common::with_client(&s.addr, async |c| {
        c.run_pipelined(None, runs(&qs), Duration::from_millis(300))
            .await
            .unwrap_err()
    });
    assert_eq!(err.0, Some(5));
    match err.1 {
        ClientError::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::TimedOut),
        other => panic!("{other:?}"),
    }
}
