//! TLS on both sides, with certificates the test generates: drivers over bolt+s (custom
//! CA) and bolt+ssc (self-signed trust), optional TLS on one port, and a chain in which a
//! boltward reaches its upstream over mutual TLS with a custom CA and a client certificate.

mod common;

use common::{shared_server, Boltward};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
use std::path::PathBuf;

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        ca.distinguished_name
            .push(DnType::CommonName, "boltward test CA");
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issue = |name: &str, sans: Vec<String>| {
            let key = KeyPair::generate().unwrap();
            let mut p = CertificateParams::new(sans).unwrap();
            p.distinguished_name.push(DnType::CommonName, name);
            let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
            std::fs::write(dir.path().join(format!("{name}.crt")), cert.pem()).unwrap();
            std::fs::write(dir.path().join(format!("{name}.key")), key.serialize_pem()).unwrap();
        };
        issue("server", vec!["localhost".into(), "127.0.0.1".into()]);
        issue("client", vec!["agent-7".into()]);
        issue("agent-7", vec!["agent-7".into()]);
        issue("ops", vec!["ops".into()]);
        std::fs::write(dir.path().join("ca.crt"), ca_cert.pem()).unwrap();
        // a self-signed certificate for bolt+ssc
        let key = KeyPair::generate().unwrap();
        let ss = CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("self.crt"), ss.pem()).unwrap();
        std::fs::write(dir.path().join("self.key"), key.serialize_pem()).unwrap();
        Pki { dir }
    }

    fn path(&self, f: &str) -> String {
        PathBuf::from(self.dir.path()).join(f).display().to_string()
    }
}

const QUERY: &str = "RETURN 'over tls' AS x, $n + 1 AS n";

/// QUERY with the Python driver `which`. bolt+s / neo4j+s trust the system CAs;
/// SSL_CERT_FILE (the test CA, when given) makes it the system bundle, so the real +s
/// schemes are exercised.
fn query_cmd(which: &str, uri: &str, ca: Option<&str>) -> std::process::Command {
    let args = [
        "--uri",
        uri,
        "--db",
        "neo4j",
        "--timeout",
        "5",
        "--params",
        r#"{"n": 41}"#,
    ];
    let mut cmd = common::statements_cmd(which, &args, &[QUERY]);
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    cmd
}

/// QUERY's record as `x n` ("over tls 42").
fn query(which: &str, uri: &str, ca: Option<&str>) -> String {
    let answer = &common::answers(1, &common::run(&mut query_cmd(which, uri, ca)))[0];
    let record = &answer["records"][0];
    format!("{} {}", record[0].as_str().unwrap_or("?"), record[1])
}

/// Whether QUERY succeeds against `uri` (for the failure cases).
fn query_succeeds(uri: &str) -> bool {
    let out = query_cmd("py6", uri, None).output().unwrap();
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains(r#""ok": true"#)
}

fn tls_args<'a>(mode: &'a str, cert: &'a str, key: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("BOLTWARD_LISTEN_TLS_MODE", mode),
        ("BOLTWARD_LISTEN_TLS_CERT", cert),
        ("BOLTWARD_LISTEN_TLS_KEY", key),
    ]
}

/// A boltward with client-facing TLS using the `name` certificate; returns it and its port.
fn tls_boltward(pki: &Pki, mode: &str, name: &str) -> (Boltward, String) {
    let (cert, key) = (
        pki.path(&format!("{name}.crt")),
        pki.path(&format!("{name}.key")),
    );
    let bw = Boltward::start(&shared_server().addr(), &[], &tls_args(mode, &cert, &key));
    let port = bw.addr.rsplit_once(':').unwrap().1.to_owned();
    (bw, port)
}

#[test]
fn drivers_over_bolt_s_and_bolt_ssc() {
    let pki = Pki::new();
    let ca = pki.path("ca.crt");
    let (_bw, port) = tls_boltward(&pki, "required", "server");
    for which in ["py6", "py528"] {
        assert_eq!(
            query(which, &format!("bolt+s://localhost:{port}"), Some(&ca)).trim(),
            "over tls 42"
        );
        assert_eq!(
            query(which, &format!("neo4j+s://localhost:{port}"), Some(&ca)).trim(),
            "over tls 42"
        );
    }
    // plain Bolt on a TLS-only port fails
    assert!(
        !query_succeeds(&format!("bolt://localhost:{port}")),
        "plain Bolt must not work on a TLS-only listener"
    );

    let (_ssc, port) = tls_boltward(&pki, "required", "self");
    assert_eq!(
        query("py6", &format!("bolt+ssc://localhost:{port}"), None).trim(),
        "over tls 42"
    );
}

#[test]
fn optional_tls_serves_both_on_one_port() {
    let pki = Pki::new();
    let ca = pki.path("ca.crt");
    let (_bw, port) = tls_boltward(&pki, "optional", "server");
    assert_eq!(
        query("py6", &format!("bolt+s://localhost:{port}"), Some(&ca)).trim(),
        "over tls 42"
    );
    assert_eq!(
        query("py6", &format!("bolt://localhost:{port}"), None).trim(),
        "over tls 42"
    );
}

#[test]
fn upstream_mutual_tls_with_custom_ca_and_client_certificate() {
    let pki = Pki::new();
    let (cert, key, ca) = (
        pki.path("server.crt"),
        pki.path("server.key"),
        pki.path("ca.crt"),
    );
    // B: TLS listener that requires a client certificate signed by the test CA.
    let mut b_env = tls_args("required", &cert, &key);
    b_env.push(("BOLTWARD_LISTEN_TLS_CLIENT_CA", &ca));
    let b = Boltward::start(&shared_server().addr(), &[], &b_env);
    let b_port = b.addr.rsplit_once(':').unwrap().1.to_owned();
    let upstream = format!("localhost:{b_port}");
    // A: plain listener, upstream over TLS to B with the client certificate.
    let (ccert, ckey) = (pki.path("client.crt"), pki.path("client.key"));
    let a = Boltward::start(
        &upstream,
        &[],
        &[
            ("BOLTWARD_UPSTREAM_TLS_ENABLED", "true"),
            ("BOLTWARD_UPSTREAM_TLS_CA", &ca),
            ("BOLTWARD_UPSTREAM_TLS_CLIENT_CERT", &ccert),
            ("BOLTWARD_UPSTREAM_TLS_CLIENT_KEY", &ckey),
        ],
    );
    assert_eq!(
        query("py6", &format!("bolt://{}", a.addr), None).trim(),
        "over tls 42"
    );

    // Without the client certificate, B refuses the TLS handshake and says why.
    let no_cert = Boltward::start(
        &upstream,
        &[],
        &[
            ("BOLTWARD_UPSTREAM_TLS_ENABLED", "true"),
            ("BOLTWARD_UPSTREAM_TLS_CA", &ca),
        ],
    );
    assert!(
        !query_succeeds(&format!("bolt://{}", no_cert.addr)),
        "a missing client certificate must fail"
    );
    assert!(
        b.wait_log("client TLS handshake", std::time::Duration::from_secs(5)),
        "{}",
        b.logs()
    );

    // And an upstream that does not trust our CA is reported as a TLS failure.
    let wrong_ca = Boltward::start(
        &upstream,
        &[],
        &[
            ("BOLTWARD_UPSTREAM_TLS_ENABLED", "true"),
            ("BOLTWARD_UPSTREAM_TLS_CA", &pki.path("self.crt")),
        ],
    );
    assert!(!query_succeeds(&format!("bolt://{}", wrong_ca.addr)));
    assert!(
        wrong_ca.wait_log(
            "TLS handshake with upstream",
            std::time::Duration::from_secs(5)
        ),
        "{}",
        wrong_ca.logs()
    );
}

#[test]
fn javascript_drivers_over_bolt_s_and_bolt_ssc() {
    let pki = Pki::new();
    let (cert, key, ca) = (
        pki.path("server.crt"),
        pki.path("server.key"),
        pki.path("ca.crt"),
    );
    let bw = Boltward::start(
        &shared_server().addr(),
        &[],
        &tls_args("required", &cert, &key),
    );
    let port = bw.addr.rsplit_once(':').unwrap().1.to_owned();
    let (_ssc, ssc_port) = tls_boltward(&pki, "required", "self");
    for pkg in ["neo4j-driver-5", "neo4j-driver-6"] {
        for (uri, extra_ca) in [
            (format!("bolt+s://localhost:{port}"), Some(ca.as_str())),
            (format!("neo4j+s://localhost:{port}"), Some(ca.as_str())),
            (format!("bolt+ssc://localhost:{ssc_port}"), None),
        ] {
            let args = ["--uri", &uri, "--db", "neo4j", "--params", r#"{"n": 41}"#];
            let mut cmd = common::statements_cmd(pkg, &args, &["RETURN $n + 1 AS n"]);
            if let Some(ca) = extra_ca {
                // bolt+s trusts the system store; Node adds this file to it.
                cmd.env("NODE_EXTRA_CA_CERTS", ca);
            }
            let answer = &common::answers(1, &common::run(&mut cmd))[0];
            assert_eq!(answer["records"][0][0], "42", "{pkg} {uri}");
        }
    }
}

/// Under mutual TLS the client certificate's subject is an actor field policies match.
#[test]
fn certificate_subject_is_an_actor() {
    let pki = Pki::new();
    let (cert, key, ca) = (
        pki.path("server.crt"),
        pki.path("server.key"),
        pki.path("ca.crt"),
    );
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("boltward.toml");
    std::fs::write(
        &cfg,
        "[policy]\ndefault = \"allow\"\n[[policy.rules]]\nname = \"agent-certs\"\nactors = { cert_subjects = [\"CN=agent-*\"] }\nallow = [\"read\"]\n",
    )
    .unwrap();
    let mut env = tls_args("required", &cert, &key);
    env.push(("BOLTWARD_LISTEN_TLS_CLIENT_CA", &ca));
    let bw = Boltward::start(
        &shared_server().addr(),
        &["--config", cfg.to_str().unwrap()],
        &env,
    );
    let port = bw.addr.rsplit_once(':').unwrap().1.to_owned();
    let uri = format!("bolt+s://localhost:{port}");
    for (name, want) in [
        ("agent-7", "Neo.ClientError.Security.Forbidden"),
        ("ops", "allowed"),
    ] {
        let (cert, key) = (
            pki.path(&format!("{name}.crt")),
            pki.path(&format!("{name}.key")),
        );
        let args = [
            "--uri", &uri, "--db", "neo4j", "--cert", &cert, "--key", &key,
        ];
        let mut cmd = common::statements_cmd("py6", &args, &["CREATE (:CertWrite)"]);
        let out = common::run(cmd.env("SSL_CERT_FILE", &ca));
        let out = common::outcome(&common::answers(1, &out)[0]);
        assert_eq!(out.trim(), want, "{name}");
    }
    assert!(
        bw.logs().contains("cert_subject=\"CN=agent-7\"")
            || bw.logs().contains("cert_subject=CN=agent-7"),
        "{}",
        bw.logs()
    );
}

#[test]
fn control_port_serves_https_when_configured() {
    let pki = Pki::new();
    let bw = Boltward::start(
        &shared_server().addr(),
        &[],
        &[
            ("BOLTWARD_CONTROL_TLS_CERT", &pki.path("server.crt")),
            ("BOLTWARD_CONTROL_TLS_KEY", &pki.path("server.key")),
            ("BOLTWARD_CONTROL_TOKEN", "tls-token"),
        ],
    );
    assert!(
        bw.control.starts_with("https://127.0.0.1:"),
        "{}",
        bw.control
    );
    let cli = |extra: &[&str]| {
        let args = [
            "status",
            "--json",
            "--token",
            "tls-token",
            "--control",
            &bw.control,
        ];
        common::boltward_cli(&[&args[..], extra].concat(), &[])
    };
    let (code, out, err) = cli(&["--cacert", &pki.path("ca.crt")]);
    assert_eq!(code, 0, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status["upstream"], shared_server().addr());
    // A certificate nobody vouched for is refused by the CLI.
    let (code, _, err) = cli(&["--cacert", &pki.path("self.crt")]);
    assert_eq!(code, 3, "untrusted certificate: {err}");
    // Plain HTTP gets no answer from the TLS port.
    let plain = bw.control.replace("https://", "http://");
    let r = ureq::get(&format!("{plain}/healthz"))
        .config()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .build()
        .call();
    assert!(r.is_err(), "plain HTTP must not be served: {r:?}");
}
