//! Logs written to a file or a pipe carry no terminal colour codes, and a `BOLTWARD_*`
//! variable that names no setting is reported.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn logs_to_a_file_have_no_colour_codes_and_unknown_variables_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("boltward.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_boltward"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            "127.0.0.1:1",
        ])
        .env_remove("NO_COLOR")
        .env("BOLTWARD_LOG", "info")
        .env("BOLTWARD_CONTROL_ADDR", "127.0.0.1:0")
        .env("BOLTWARD_JOURNAL_DIR", dir.path().join("journal"))
        .env("BOLTWARD_POLCY_MODE", "audit")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Started once it prints where it listens (logs of the start are written by then).
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 && !line.contains("BOLTWARD_LISTEN=") {
        line.clear();
    }
    // The line saying it serves may come just after: wait for it (the test is about what
    // a log file holds, so it needs one).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let serving = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("boltward proxy serving") || std::time::Instant::now() > deadline {
            break text.contains("boltward proxy serving");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(line.contains("BOLTWARD_LISTEN="), "started: {text}");
    assert!(serving, "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI escape codes in a log file: {text:?}"
    );
    assert!(
        text.contains("BOLTWARD_POLCY_MODE"),
        "the unknown variable is reported: {text}"
    );
}
