//! Load generator for `scripts/bench-proxy.sh`: speaks raw Bolt (no driver overhead, no
//! record decoding) so the numbers show the proxy, not the client.
//!
//! ```text
//! loadgen stream  ADDR PASSWORD RECORDS      # one query streaming RECORDS small records
//! loadgen latency ADDR PASSWORD ITERATIONS   # sequential RETURN 1 round trips
//! loadgen idle    ADDR PASSWORD CONNECTIONS  # open authenticated idle connections, hold
//! loadgen commits ADDR PASSWORD PER_WRITER WRITERS  # explicit write transactions
//! loadgen autocommits ADDR PASSWORD PER_WRITER WRITERS  # auto-commit writes (RUN+PULL)
//! ```
//! Every mode prints one line of `key=value` results.

use boltward_protocol::chunk::{scan, DEFAULT_MAX_MESSAGE_SIZE};
use boltward_protocol::handshake::{ClientHello, Proposal, VersionRange};
use boltward_protocol::message::{Begin, Hello, Logon, Pull, Run};
use boltward_protocol::{Map, Request, Version};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Conn {
    s: TcpStream,
    v: Version,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: &str, password: &str) -> Conn {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        let hello = ClientHello {
            proposals: [
                Proposal::Range(VersionRange {
                    major: 5,
                    minor: 8,
                    range: 8,
                }),
                Proposal::Range(VersionRange::exact(Version::V4_4)),
                Proposal::Empty,
                Proposal::Empty,
            ],
        };
        s.write_all(&hello.to_bytes()).unwrap();
        let mut r = [0u8; 4];
        s.read_exact(&mut r).unwrap();
        let v = Version::new(r[3], r[2]);
        let mut c = Conn {
            s,
            v,
            buf: Vec::with_capacity(1 << 16),
        };
        let auth = [
            ("scheme", "basic"),
            ("principal", "root"),
            ("credentials", password),
        ];
        if v.has_logon() {
            c.send(&[
                Request::Hello(Hello {
                    extra: Map::from([("user_agent", "loadgen/1.0")]),
                }),
                Request::Logon(Logon {
                    auth: Map::from(auth),
                }),
            ]);
            c.summaries(2);
        } else {
            let mut extra = Map::from(auth);
            extra.insert("user_agent", "loadgen/1.0");
            c.send(&[Request::Hello(Hello { extra })]);
            c.summaries(1);
        }
        c
    }

    fn send(&mut self, reqs: &[Request]) {
        let mut out = Vec::new();
        for r in reqs {
            out.extend_from_slice(&r.to_wire(self.v).unwrap());
        }
        self.s.write_all(&out).unwrap();
    }

    /// Reads until `n` summaries arrived; returns the RECORDs seen and bytes read.
    fn summaries(&mut self, n: usize) -> (u64, u64) {
        let (records, bytes, failed) = self.answers(n);
        assert!(!failed, "FAILURE from server");
        (records, bytes)
    }

    /// Reads `n` answers (SUCCESS, FAILURE or IGNORED); whether one was a FAILURE.
    fn answers(&mut self, mut n: usize) -> (u64, u64, bool) {
        let mut failed = false;
        let (mut records, mut bytes) = (0u64, 0u64);
        let mut tmp = vec![0u8; 1 << 16];
        loop {
            let mut at = 0;
            while let Some(m) = scan(&self.buf[at..], DEFAULT_MAX_MESSAGE_SIZE).unwrap() {
                at += m.len;
                match m.tag {
                    Some(0x71) => records += 1,
                    Some(0x70) | Some(0x7E) => n -= 1,
                    Some(0x7F) => {
                        failed = true;
                        n -= 1;
                    }
                    _ => {}
                }
                if n == 0 {
                    self.buf.drain(..at);
                    return (records, bytes, failed);
                }
            }
            self.buf.drain(..at);
            let k = self.s.read(&mut tmp).unwrap();
            assert!(k > 0, "connection closed");
            bytes += k as u64;
            self.buf.extend_from_slice(&tmp[..k]);
        }
    }

    fn query(&mut self, q: &str) -> (u64, u64) {
        let mut run = Run::new(q);
        run.extra.insert("db", "neo4j");
        self.send(&[Request::Run(run), Request::Pull(Pull::new(-1))]);
        self.summaries(2)
    }
}

/// One explicit write transaction as drivers send it: BEGIN + RUN + PULL pipelined, then
/// COMMIT once the records are in; retried after RESET when the server reports a conflict
/// (ArcadeDB's optimistic concurrency). Returns the retries.
fn write_tx(c: &mut Conn, writer: usize, i: usize) -> u64 {
    let mut retries = 0;
    while !try_write_tx(c, writer, i) {
        c.send(&[Request::Reset]);
        c.summaries(1);
        retries += 1;
        assert!(retries < 1000, "transaction keeps failing");
    }
    retries
}

fn try_write_tx(c: &mut Conn, writer: usize, i: usize) -> bool {
    let begin = Begin {
        extra: Map::from([("db", "neo4j")]),
    };
    let mut run = Run::new("CREATE (:Bench {w: $w, i: $i})");
    run.parameters.insert("w", writer as i64);
    run.parameters.insert("i", i as i64);
    c.send(&[
        Request::Begin(begin),
        Request::Run(run),
        Request::Pull(Pull::new(-1)),
    ]);
    if c.answers(3).2 {
        return false;
    }
    c.send(&[Request::Commit]);
    !c.answers(1).2
}

/// One auto-commit write (RUN `CREATE` + PULL, pipelined); retried after a FAILURE.
fn write_auto(c: &mut Conn, writer: usize, i: usize) -> u64 {
    let mut retries = 0;
    loop {
        let mut run = Run::new("CREATE (:Bench {w: $w, i: $i})");
        run.parameters.insert("w", writer as i64);
        run.parameters.insert("i", i as i64);
        run.extra.insert("db", "neo4j");
        c.send(&[Request::Run(run), Request::Pull(Pull::new(-1))]);
        if !c.answers(2).2 {
            return retries;
        }
        c.send(&[Request::Reset]);
        c.summaries(1);
        retries += 1;
        assert!(retries < 1000, "write keeps failing");
    }
}

fn percentile(lat: &mut [Duration], q: f64) -> f64 {
    lat.sort();
    lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (mode, addr, pw, n) = (
        &args[1],
        &args[2],
        &args[3],
        args[4].parse::<usize>().unwrap(),
    );
    match mode.as_str() {
        "stream" => {
            let mut c = Conn::open(addr, pw);
            c.query("RETURN 1");
            let t = Instant::now();
            let (records, bytes) = c.query(&format!("UNWIND range(1, {n}) AS i RETURN i"));
            let secs = t.elapsed().as_secs_f64();
            assert_eq!(records, n as u64);
            println!(
                "records={records} bytes={bytes} seconds={secs:.3} records_per_s={:.0} mib_per_s={:.1}",
                records as f64 / secs,
                bytes as f64 / secs / 1048576.0
            );
        }
        "latency" => {
            let mut c = Conn::open(addr, pw);
            for _ in 0..200 {
                c.query("RETURN 1");
            }
            let mut lat: Vec<Duration> = (0..n)
                .map(|_| {
                    let t = Instant::now();
                    c.query("RETURN 1");
                    t.elapsed()
                })
                .collect();
            lat.sort();
            let p = |q: f64| {
                lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)].as_secs_f64() * 1e6
            };
            println!(
                "iterations={n} p50_us={:.1} p99_us={:.1} max_us={:.1}",
                p(0.50),
                p(0.99),
                p(1.0)
            );
        }
        "idle" => {
            let conns: Vec<Conn> = (0..n).map(|_| Conn::open(addr, pw)).collect();
            println!("open={}", conns.len());
            std::io::stdout().flush().unwrap();
            // Hold them until stdin closes (the bench script measures meanwhile).
            let mut sink = String::new();
            let _ = std::io::stdin().read_to_string(&mut sink);
            drop(conns);
        }
        "commits" | "autocommits" => {
            let write = if mode == "commits" {
                write_tx
            } else {
                write_auto
            };
            let writers: usize = args.get(5).map(|w| w.parse().unwrap()).unwrap_or(1);
            let barrier = std::sync::Arc::new(std::sync::Barrier::new(writers));
            let t = Instant::now();
            let handles: Vec<_> = (0..writers)
                .map(|w| {
                    let (addr, pw, barrier) = (addr.clone(), pw.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        let mut c = Conn::open(&addr, &pw);
                        for i in 0..20 {
                            write(&mut c, w, i);
                        }
                        barrier.wait();
                        (0..n)
                            .map(|i| {
                                let t = Instant::now();
                                let r = write(&mut c, w, 1000 + i);
                                (t.elapsed(), r)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let results: Vec<(Duration, u64)> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            let secs = t.elapsed().as_secs_f64();
            let retries: u64 = results.iter().map(|r| r.1).sum();
            let mut lat: Vec<Duration> = results.into_iter().map(|r| r.0).collect();
            println!(
                "writers={writers} transactions={} retries={retries} tx_per_s={:.0} p50_us={:.1} p99_us={:.1} max_us={:.1}",
                lat.len(),
                lat.len() as f64 / secs,
                percentile(&mut lat, 0.50),
                percentile(&mut lat, 0.99),
                percentile(&mut lat, 1.0)
            );
        }
        other => panic!("unknown mode {other}"),
    }
}
