//! neo4j:// routing: boltward rewrites every routing-table address to its own, so a
//! routing driver never connects to the server directly. The negative control is a plain
//! TCP relay in the same position, through which the driver follows the server's table
//! and bypasses the relay.

mod common;

use common::{script, shared_server, Boltward, PASSWORD};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Runs reads and writes through a routing driver; prints the addresses the driver used
/// (from each result's server info), one per line, and the routing table's addresses.
const ROUTED: &str = "routing/routed.py";

/// A byte relay that counts the connections it accepts.
fn relay(target: String) -> (String, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    std::thread::spawn(move || {
        for conn in l.incoming().take(50) {
            let Ok(client) = conn else { return };
            c.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = TcpStream::connect(&target) else {
                return;
            };
            let pipe = |mut a: TcpStream, mut b: TcpStream| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = a.read(&mut buf) {
                        if n == 0 || b.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = b.shutdown(std::net::Shutdown::Write);
                });
            };
            pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
            pipe(server, client);
        }
    });
    (addr, count)
}

fn port(addr: &str) -> &str {
    addr.rsplit_once(':').unwrap().1
}

#[test]
fn routing_drivers_only_ever_talk_to_boltward() {
    let server = shared_server();
    let bw = Boltward::start(&server.addr(), &[], &[]);
    for which in ["py6", "py528"] {
        let used = script(
            which,
            ROUTED,
            &[],
            &[("URI", &format!("neo4j://{}", bw.addr)), ("PW", PASSWORD)],
        );
        let used: Vec<&str> = used.lines().collect();
        assert_eq!(
            used,
            vec![bw.addr.as_str()],
            "{which}: every query went through boltward"
        );
        assert!(!used.iter().any(|a| port(a) == server.port.to_string()));
    }
    let routed = bw.logs().matches("rewrote routing table").count();
    assert!(routed >= 2, "routing tables were rewritten ({routed})");
}

#[test]
fn without_the_rewrite_a_routing_driver_bypasses_the_proxy() {
    let server = shared_server();
    let (relay_addr, accepted) = relay(server.addr());
    let used = script(
        "py6",
        ROUTED,
        &[],
        &[("URI", &format!("neo4j://{relay_addr}")), ("PW", PASSWORD)],
    );
    // ArcadeDB advertises localhost:<its own port>: the driver leaves the relay.
    assert!(
        used.lines().all(|a| port(a) == server.port.to_string()),
        "{used}"
    );
    assert!(
        accepted.load(Ordering::SeqCst) >= 1,
        "the routing table was fetched through the relay"
    );
}

#[test]
fn advertised_address_is_configurable() {
    let bw = Boltward::start(
        &shared_server().addr(),
        &["--advertised-address", "localhost:7999"],
        &[],
    );
    // A routing driver first fetches a routing table; the driver then dials localhost:7999,
    // which nobody serves, so only the log tells what the table said.
    let uri = format!("neo4j://{}", bw.addr);
    let args = ["--uri", &uri, "--timeout", "2"];
    let _ = common::statements_cmd("py6", &args, &["RETURN 1"])
        .output()
        .unwrap();
    assert!(
        bw.wait_log("to=localhost:7999", std::time::Duration::from_secs(10)),
        "{}",
        bw.logs()
    );
}
