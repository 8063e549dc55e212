//! The CLI's side of the control port: one request, a JSON answer, an exit code.
//!
//! Exit codes: 0 success, 1 the control port answered with an error, 3 it could not be
//! reached.

use super::ControlArgs;
use crate::control::api::{ErrorBody, JournalState, Status};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::process::ExitCode;

/// A failed control call, already explained.
pub struct Failed(pub ExitCode);

/// A 2xx answer: typed, and as it came (what `--json` prints, unknown fields included).
pub struct Answer<T> {
    /// The body, typed.
    pub body: T,
    /// The body as received.
    pub json: serde_json::Value,
}

/// `GET` or `POST` `path`; the body of a 2xx answer.
pub fn call<T: DeserializeOwned>(
    args: &ControlArgs,
    method: &str,
    path: &str,
) -> Result<Answer<T>, Failed> {
    call_with(args, method, path, None::<&()>)
}

/// Like [`call`], with a JSON body (`POST`) or another method (`DELETE`).
pub fn call_with<T: DeserializeOwned>(
    args: &ControlArgs,
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<Answer<T>, Failed> {
    let (status, json) = request_with(args, method, path, body)?;
    if !(200..300).contains(&status) {
        refused(path, status, &json);
        return Err(Failed(ExitCode::from(1)));
    }
    Ok(Answer {
        body: decode(path, &json)?,
        json,
    })
}

/// Reads a control-port answer as `T`; an answer of another shape is a failure (exit 1).
pub fn decode<T: DeserializeOwned>(path: &str, json: &serde_json::Value) -> Result<T, Failed> {
    T::deserialize(json).map_err(|e| {
        eprintln!(
            "boltward: {path}: unexpected answer ({e}); is --control the control port of a boltward of this version?"
        );
        Failed(ExitCode::from(1))
    })
}

/// Explains a non-2xx answer on standard error.
pub fn refused(path: &str, status: u16, json: &serde_json::Value) {
    let msg = ErrorBody::deserialize(json)
        .map(|b| b.error.message)
        .unwrap_or_else(|_| "unexpected answer".to_owned());
    eprintln!("boltward: {path}: {status} {msg}");
}

/// `GET` or `POST` `path`; the status and JSON body of whatever came back.
pub fn request(
    args: &ControlArgs,
    method: &str,
    path: &str,
) -> Result<(u16, serde_json::Value), Failed> {
    request_with(args, method, path, None::<&()>)
}

/// `GET`, `POST` (with an optional JSON body) or `DELETE` `path`.
pub fn request_with(
    args: &ControlArgs,
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
) -> Result<(u16, serde_json::Value), Failed> {
    let url = if args.control.starts_with("https://") || args.control.starts_with("http://") {
        format!("{}{path}", args.control.trim_end_matches('/'))
    } else {
        format!("http://{}{path}", args.control)
    };
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(args.timeout_secs)));
    if let Some(ca) = &args.cacert {
        let pem = std::fs::read(ca).map_err(|e| {
            eprintln!("boltward: --cacert {}: {e}", ca.display());
            Failed(ExitCode::from(2))
        })?;
        let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                _ => None,
            })
            .collect();
        if certs.is_empty() {
            eprintln!(
                "boltward: --cacert {}: no PEM certificate in it",
                ca.display()
            );
            return Err(Failed(ExitCode::from(2)));
        }
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build(),
        );
    }
    let agent: ureq::Agent = config.build().into();
    let auth = args.token.as_deref().map(|t| format!("Bearer {t}"));
    let result = if method == "POST" {
        let mut req = agent.post(&url);
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        match body {
            Some(b) => req.send_json(b),
            None => req.send_empty(),
        }
    } else if method == "DELETE" {
        let mut req = agent.delete(&url);
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        req.call()
    } else {
        let mut req = agent.get(&url);
        if let Some(a) = &auth {
            req = req.header("Authorization", a);
        }
        req.call()
    };
    let mut resp = result.map_err(|e| {
        eprintln!(
            "boltward: cannot reach the control port at {}: {e} (set --control or BOLTWARD_CONTROL_ADDR)",
            args.control
        );
        Failed(ExitCode::from(3))
    })?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp
        .body_mut()
        .read_json()
        .unwrap_or(serde_json::Value::Null);
    Ok((status, body))
}

fn journal_row(j: &JournalState) -> String {
    let JournalState::Enabled(j) = j else {
        return "off".into();
    };
    format!(
        "lsn {}, {}, {} in doubt",
        j.lsn,
        if j.writable {
            "writable".to_owned()
        } else {
            format!(
                "NOT WRITABLE ({})",
                j.last_error.as_deref().unwrap_or("unknown error")
            )
        },
        j.in_doubt
    )
}

/// Renders `boltward status` for people.
pub fn status_table(s: &Status) -> String {
    let writes = if s.writes.paused {
        format!("paused ({} held)", s.writes.held)
    } else {
        "open".to_owned()
    };
    let rows = [
        ("version", s.version.clone()),
        ("uptime", format!("{}s", s.uptime_seconds)),
        ("listen", s.listen.clone()),
        ("upstream", s.upstream.clone()),
        (
            "connections",
            format!(
                "{} active, {} total",
                s.connections_active, s.connections_total
            ),
        ),
        (
            "policy",
            format!(
                "{}, default {}, rules: {}",
                s.policy.mode.as_str(),
                s.policy.default.as_str(),
                if s.policy.rules.is_empty() {
                    "none".into()
                } else {
                    s.policy.rules.join(", ")
                }
            ),
        ),
        ("writes", writes),
        ("journal", journal_row(&s.journal)),
    ];
    rows.iter().map(|(k, v)| format!("{k:<12} {v}\n")).collect()
}

/// One control-port call, printed as JSON (`--json`) or for people.
pub fn show<T: DeserializeOwned>(
    args: &super::ControlArgs,
    method: &str,
    path: &str,
    human: impl Fn(&T) -> String,
) -> ExitCode {
    match call::<T>(args, method, path) {
        Ok(answer) => {
            if args.json {
                println!("{}", answer.json);
            } else {
                print!("{}", human(&answer.body));
            }
            ExitCode::SUCCESS
        }
        Err(Failed(code)) => code,
    }
}
