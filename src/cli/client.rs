//! The CLI's side of the control port: one request, a JSON answer, an exit code.
//!
//! Exit codes: 0 success, 1 the control port answered with an error, 3 it could not be
//! reached.

use super::ControlArgs;
use std::process::ExitCode;

/// A failed control call, already explained.
pub struct Failed(pub ExitCode);

/// `GET` or `POST` `path`; returns the JSON body of a 2xx answer.
pub fn call(args: &ControlArgs, method: &str, path: &str) -> Result<serde_json::Value, Failed> {
    call_with(args, method, path, None)
}

/// Like [`call`], with a JSON body (`POST`) or another method (`DELETE`).
pub fn call_with(
    args: &ControlArgs,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<serde_json::Value, Failed> {
    let (status, answer) = request_with(args, method, path, body)?;
    if (200..300).contains(&status) {
        return Ok(answer);
    }
    let msg = answer["error"]["message"]
        .as_str()
        .unwrap_or("unexpected answer");
    eprintln!("boltward: {path}: {status} {msg}");
    Err(Failed(ExitCode::from(1)))
}

/// `GET` or `POST` `path`; the status and JSON body of whatever came back.
pub fn request(
    args: &ControlArgs,
    method: &str,
    path: &str,
) -> Result<(u16, serde_json::Value), Failed> {
    request_with(args, method, path, None)
}

/// `GET`, `POST` (with an optional JSON body) or `DELETE` `path`.
pub fn request_with(
    args: &ControlArgs,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
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

fn journal_row(j: &serde_json::Value) -> String {
    if j["enabled"] != true {
        return "off".into();
    }
    format!(
        "lsn {}, {}, {} in doubt",
        j["lsn"],
        if j["writable"] == true {
            "writable".to_owned()
        } else {
            format!(
                "NOT WRITABLE ({})",
                j["last_error"].as_str().unwrap_or("unknown error")
            )
        },
        j["in_doubt"]
    )
}

/// Renders `boltward status` for people.
pub fn status_table(s: &serde_json::Value) -> String {
    let rules: Vec<&str> = s["policy"]["rules"]
        .as_array()
        .map(|r| r.iter().filter_map(|x| x.as_str()).collect())
        .unwrap_or_default();
    let writes = if s["writes"]["paused"] == true {
        format!("paused ({} held)", s["writes"]["held"])
    } else {
        "open".to_owned()
    };
    let rows = [
        ("version", s["version"].as_str().unwrap_or("").to_owned()),
        ("uptime", format!("{}s", s["uptime_seconds"])),
        ("listen", s["listen"].as_str().unwrap_or("").to_owned()),
        ("upstream", s["upstream"].as_str().unwrap_or("").to_owned()),
        (
            "connections",
            format!(
                "{} active, {} total",
                s["connections_active"], s["connections_total"]
            ),
        ),
        (
            "policy",
            format!(
                "{}, default {}, rules: {}",
                s["policy"]["mode"].as_str().unwrap_or(""),
                s["policy"]["default"].as_str().unwrap_or(""),
                if rules.is_empty() {
                    "none".into()
                } else {
                    rules.join(", ")
                }
            ),
        ),
        ("writes", writes),
        ("journal", journal_row(&s["journal"])),
    ];
    rows.iter().map(|(k, v)| format!("{k:<12} {v}\n")).collect()
}
