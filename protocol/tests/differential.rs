//! Differential test against an independent PackStream implementation: the official
//! Python driver's own packer/unpacker (PyPI `neo4j`, 5.28.x and 6.x).
//!
//! - Python → Rust: the Python script packs thousands of random values; boltward decodes
//!   each to the same canonical form and re-encodes it to the same bytes.
//! - Rust → Python: boltward packs thousands of random values; Python unpacks each to the
//!   same canonical form and re-packs it to the same bytes.
//!
//! The drivers come from `scripts/setup-testenv.sh` (`.testenv/py6`, `.testenv/py528`);
//! `BOLTWARD_DIFF_PYTHONS` (colon separated) overrides the interpreters.

mod support;

use boltward_protocol::packstream::{decode, to_vec};
use boltward_protocol::{Dialect, Version};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use support::{canon, strategies::value};

const D6: Dialect = Dialect::new(Version::V6_0);
const CASES: usize = 3000;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/differential/packstream_diff.py")
}

fn pythons() -> Vec<PathBuf> {
    if let Some(list) = std::env::var_os("BOLTWARD_DIFF_PYTHONS") {
        return std::env::split_paths(&list).collect();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let found: Vec<PathBuf> = ["py6", "py528"]
        .iter()
        .map(|v| root.join(".testenv").join(v).join("bin/python"))
        .collect();
    for p in &found {
        assert!(
            p.exists(),
            "{} is missing: run scripts/setup-testenv.sh to install the Python drivers",
            p.display()
        );
    }
    found
}

fn driver_version(python: &PathBuf) -> String {
    let out = Command::new(python)
        .args(["-c", "import neo4j; print(neo4j.__version__)"])
        .output()
        .expect("run python");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn python_packs_boltward_decodes() {
    for python in pythons() {
        let version = driver_version(&python);
        let out = Command::new(&python)
            .arg(script())
            .args(["gen", "--seed", "20261122", "--count", &CASES.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("run the differential script");
        assert!(out.status.success(), "gen failed with neo4j {version}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut n = 0;
        for (i, line) in text.lines().enumerate() {
            let (hex, expected) = line.split_once(' ').expect("hex canon");
            let bytes = hex::decode(hex).unwrap();
            let v = decode(&bytes, D6)
                .unwrap_or_else(|e| panic!("neo4j {version} case {i}: {e}: {hex:.200}"));
            assert_eq!(canon(&v), expected, "neo4j {version} case {i}");
            assert_eq!(
                to_vec(&v).unwrap(),
                bytes,
                "neo4j {version} case {i}: re-encoding"
            );
            n += 1;
        }
        assert!(n >= CASES, "neo4j {version}: only {n} cases");
        eprintln!("neo4j {version}: {n} Python-packed values decoded identically");
    }
}

#[test]
fn boltward_packs_python_decodes() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = value();
    let values: Vec<_> = (0..CASES)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let input: String = values
        .iter()
        .map(|v| hex::encode(to_vec(v).unwrap()) + "\n")
        .collect();
    for python in pythons() {
        let version = driver_version(&python);
        let mut child = Command::new(&python)
            .arg(script())
            .arg("check")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run the differential script");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "check failed with neo4j {version}");
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines.len(),
            values.len(),
            "neo4j {version}: one answer per value"
        );
        for (i, (line, v)) in lines.iter().zip(&values).enumerate() {
            let (repacked, got) = line.split_once(' ').expect("hex canon");
            assert_ne!(
                repacked, "ERR",
                "neo4j {version} case {i}: Python rejected {v:?}: {got}"
            );
            assert_eq!(got, canon(v), "neo4j {version} case {i}");
            assert_eq!(
                repacked,
                hex::encode(to_vec(v).unwrap()),
                "neo4j {version} case {i}: Python re-packed differently"
            );
        }
        eprintln!(
            "neo4j {version}: {} boltward-packed values decoded identically",
            lines.len()
        );
    }
}
