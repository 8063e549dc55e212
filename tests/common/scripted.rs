//! A scripted Bolt server and a raw Bolt client, built on the protocol crate: the fast
//! tier's stand-ins for a Neo4j server (or a cluster of them) and for a driver, for the
//! states and failures a real server cannot be made to produce on demand.
//!
//! The server agrees to Bolt 5.4 (or offers versions with the manifest handshake of
//! Bolt 5.7+, [`Handshake::Manifest`]), answers every request through a script, and counts
//! the connections it holds open, so tests can see what boltward leaves open on its side.

use boltward_protocol::chunk::{ChunkDecoder, Frame};
use boltward_protocol::handshake::{ManifestChoice, ManifestOffer, MANIFEST_V1};
use boltward_protocol::message::{Failure, Record, Success};
use boltward_protocol::{Dialect, Map, Request, Response, Value, Version};
use bytes::BytesMut;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The version the scripted server agrees to.
pub const VERSION: Version = Version::V5_4;

/// What the script does with one request.
pub enum Reply {
    /// Send these answers.
    Answer(Vec<Response>),
    /// Answer nothing, now or later, and keep the connection open.
    Hang,
    /// Close the connection.
    Close,
}

/// The script: connection number (in accept order), request → reply. It runs on the
/// connection's own thread: [`version`] is the version that connection agreed to.
pub type Script = Arc<dyn Fn(usize, &Request) -> Reply + Send + Sync>;

/// How the server answers a client's handshake.
pub enum Handshake {
    /// The legacy reply: four bytes agreeing to [`VERSION`].
    Legacy,
    /// The manifest-v1 reply with these versions; the client's choice is used.
    Manifest(ManifestOffer),
}

#[derive(Default)]
struct State {
    open: AtomicUsize,
    accepted: AtomicUsize,
    requests: Mutex<Vec<(usize, Request)>>,
    /// Answer nothing from now on, on every connection.
    hang: std::sync::atomic::AtomicBool,
    /// Read nothing for now (what is sent to the server waits in the sockets).
    paused: std::sync::atomic::AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
    /// The version each connection agreed to, in the order the handshakes ended.
    versions: Mutex<Vec<Version>>,
}

/// A scripted Bolt server on a loopback port.
pub struct Scripted {
    pub addr: String,
    state: Arc<State>,
}

impl Scripted {
    /// A server that agrees to Bolt 5.4.
    pub fn start(script: Script) -> Scripted {
        Scripted::start_with(Handshake::Legacy, script)
    }

    pub fn start_with(handshake: Handshake, script: Script) -> Scripted {
        let handshake = Arc::new(handshake);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let state = Arc::new(State::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let conn = st.accepted.fetch_add(1, Ordering::SeqCst);
                st.open.fetch_add(1, Ordering::SeqCst);
                if let Ok(clone) = stream.try_clone() {
                    st.streams.lock().unwrap().push(clone);
                }
                let (st, script, handshake) = (st.clone(), script.clone(), handshake.clone());
                std::thread::spawn(move || {
                    serve(stream, conn, &st, &handshake, &script);
                    st.open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Scripted { addr, state }
    }

    /// The version each connection agreed to, in the order the handshakes ended.
    pub fn versions(&self) -> Vec<Version> {
        self.state.versions.lock().unwrap().clone()
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.state.open.load(Ordering::SeqCst)
    }

    /// From now on, answers nothing (connections stay open).
    pub fn hang(&self, hang: bool) {
        self.state.hang.store(hang, Ordering::SeqCst);
    }

    /// Stops (or resumes) reading from every connection.
    pub fn pause_reading(&self, paused: bool) {
        self.state.paused.store(paused, Ordering::SeqCst);
    }

    /// Closes every connection it holds, as a server that goes away.
    pub fn close_all(&self) {
        for s in self.state.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Every request received, with its connection number.
    pub fn requests(&self) -> Vec<(usize, Request)> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The queries of every RUN received.
    pub fn queries(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter_map(|(_, r)| match r {
                Request::Run(r) => Some(r.query),
                _ => None,
            })
            .collect()
    }
}

/// Answers the client's handshake: the version agreed, `None` if the client went away.
fn handshake(s: &mut TcpStream, handshake: &Handshake, buf: &mut BytesMut) -> Option<Version> {
    let mut opening = [0u8; 20];
    s.read_exact(&mut opening).ok()?;
    let offer = match handshake {
        Handshake::Legacy => {
            s.write_all(&[0, 0, VERSION.minor, VERSION.major]).ok()?;
            return Some(VERSION);
        }
        Handshake::Manifest(offer) => offer,
    };
    let mut out = BytesMut::from(&MANIFEST_V1[..]);
    offer.encode(&mut out);
    s.write_all(&out).ok()?;
    let mut tmp = [0u8; 1024];
    loop {
        if let Some((choice, n)) = ManifestChoice::parse(buf).ok()? {
            let _ = buf.split_to(n);
            return Some(choice.version);
        }
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

fn serve(mut s: TcpStream, conn: usize, state: &State, hs: &Handshake, script: &Script) {
    let mut buf = BytesMut::new();
    let Some(version) = handshake(&mut s, hs, &mut buf) else {
        return;
    };
    state.versions.lock().unwrap().push(version);
    AGREED.with(|v| v.set(version));
    let dialect = Dialect::new(version);
    let (mut dec, mut tmp) = (ChunkDecoder::default(), [0u8; 8192]);
    let mut hung = false;
    loop {
        while let Ok(Some(frame)) = dec.decode(&mut buf) {
            let Frame::Message(m) = frame else { continue };
            let Ok(request) = Request::decode(&m.body(), dialect) else {
                return;
            };
            state.requests.lock().unwrap().push((conn, request.clone()));
            if hung || state.hang.load(Ordering::SeqCst) {
                continue;
            }
            match script(conn, &request) {
                Reply::Answer(answers) => {
                    for a in answers {
                        if s.write_all(&a.to_wire().unwrap()).is_err() {
                            return;
                        }
                    }
                }
                Reply::Hang => hung = true,
                Reply::Close => {
                    let _ = s.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
        while state.paused.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
}

pub fn success(pairs: &[(&str, Value)]) -> Response {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(*k, v.clone());
    }
    Response::Success(Success::new(m))
}

pub fn failure(code: &str, message: &str) -> Response {
    let mut m = Map::new();
    m.insert("code", code);
    m.insert("message", message);
    Response::Failure(Failure { metadata: m })
}

thread_local! {
    static LAST: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    static FAILED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static AGREED: std::cell::Cell<Version> = const { std::cell::Cell::new(VERSION) };
}

/// The version the connection a script is answering agreed to.
pub fn version() -> Version {
    AGREED.with(|v| v.get())
}

/// Answers this connection's request with a FAILURE; what follows is IGNORED until RESET
/// (for scripts that fail requests [`single_server`] would answer).
pub fn fail(code: &str, message: &str) -> Reply {
    FAILED.with(|f| f.set(true));
    Reply::Answer(vec![failure(code, message)])
}

/// What a single Neo4j server answers, for every request a driver sends: HELLO, LOGON,
/// RUN (one column `x`), PULL (one record), BEGIN/COMMIT/ROLLBACK/RESET, GOODBYE. A RUN
/// whose query contains `FAIL` fails; one that contains `WRITE` is reported as a write.
pub fn single_server(_conn: usize, r: &Request) -> Reply {
    // After a FAILURE, everything but RESET and GOODBYE is IGNORED (one connection is one
    // thread of the server).
    match r {
        Request::Reset => FAILED.with(|f| f.set(false)),
        Request::Goodbye => {}
        _ if FAILED.with(|f| f.get()) => return Reply::Answer(vec![Response::Ignored]),
        Request::Run(run) if run.query.contains("FAIL") => FAILED.with(|f| f.set(true)),
        _ => {}
    }
    Reply::Answer(match r {
        Request::Hello(_) => vec![success(&[
            ("server", "Neo4j/5.26.0".into()),
            ("connection_id", "bolt-1".into()),
        ])],
        Request::Run(run) if run.query.contains("FAIL") => vec![failure(
            "Neo.ClientError.Statement.SyntaxError",
            "scripted failure",
        )],
        Request::Run(run) => {
            LAST.with(|l| *l.borrow_mut() = run.query.clone());
            vec![success(&[("fields", Value::List(vec!["x".into()]))])]
        }
        Request::Pull(p) => {
            let write = LAST.with(|l| l.borrow().contains("WRITE"));
            let ty = if write { "w" } else { "r" };
            let mut out = vec![Response::Record(Record {
                fields: vec![Value::Integer(1)],
            })];
            if p.n() == 1 && !write {
                out.push(success(&[("has_more", true.into())]));
            } else {
                out.push(success(&[("type", ty.into()), ("db", "neo4j".into())]));
            }
            out
        }
        Request::Commit => vec![success(&[("bookmark", "FB:scripted".into())])],
        Request::Goodbye => return Reply::Close,
        _ => vec![success(&[])],
    })
}

/// A raw Bolt client speaking 5.4 to `addr`.
pub struct RawClient {
    s: TcpStream,
    buf: BytesMut,
    dec: ChunkDecoder,
}

impl RawClient {
    /// Connects and sends the handshake (not awaiting the answer).
    pub fn open(addr: &str) -> RawClient {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut hs = vec![0x60, 0x60, 0xB0, 0x17];
        hs.extend_from_slice(&[0, 0, VERSION.minor, VERSION.major]);
        hs.extend_from_slice(&[0; 12]);
        s.write_all(&hs).unwrap();
        RawClient {
            s,
            buf: BytesMut::new(),
            dec: ChunkDecoder::default(),
        }
    }

    /// Connects, agrees on 5.4, says HELLO and LOGON.
    pub fn connect(addr: &str) -> RawClient {
        let mut c = RawClient::open(addr);
        let mut v = [0u8; 4];
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = 0;
        while got < 4 {
            match c.s.read(&mut v[got..]) {
                Ok(0) => panic!("closed during the handshake"),
                Ok(n) => got += n,
                Err(_) => assert!(Instant::now() < deadline, "no handshake answer"),
            }
        }
        assert_eq!(v, [0, 0, VERSION.minor, VERSION.major]);
        c.send(&[hello()]);
        assert!(matches!(c.recv(), Some(Response::Success(_))), "HELLO");
        c.send(&[logon()]);
        assert!(matches!(c.recv(), Some(Response::Success(_))), "LOGON");
        c
    }

    pub fn send(&mut self, requests: &[Request]) {
        for r in requests {
            self.s.write_all(&r.to_wire(VERSION).unwrap()).unwrap();
        }
    }

    /// The next response, or `None` if the connection closed (waits up to 30 s).
    pub fn recv(&mut self) -> Option<Response> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut tmp = [0u8; 8192];
        loop {
            if let Some(Frame::Message(m)) = self.dec.decode(&mut self.buf).unwrap() {
                return Some(Response::decode(&m.body(), Dialect::new(VERSION)).unwrap());
            }
            match self.s.read(&mut tmp) {
                Ok(0) => return None,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => return None,
                Err(_) => assert!(Instant::now() < deadline, "no answer within 30 s"),
            }
        }
    }

    /// Whether the other side closed within `within` (anything it sends is discarded).
    pub fn closed_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut tmp = [0u8; 8192];
        while Instant::now() < deadline {
            match self.s.read(&mut tmp) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => return true,
                Err(_) => {}
            }
        }
        false
    }

    /// Hangs up.
    pub fn close(self) {
        let _ = self.s.shutdown(Shutdown::Both);
    }
}

pub fn hello() -> Request {
    Request::Hello(boltward_protocol::message::Hello {
        extra: Map::from([("user_agent", "raw/1.0")]),
    })
}

pub fn logon() -> Request {
    Request::Logon(boltward_protocol::message::Logon {
        auth: Map::from([
            ("scheme", "basic"),
            ("principal", "neo4j"),
            ("credentials", "pw"),
        ]),
    })
}
