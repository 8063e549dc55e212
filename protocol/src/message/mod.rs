//! Bolt messages of 4.3–6.0: typed requests and responses, decoded by negotiated version.
//!
//! - [`extra`]: typed accessors for `extra` dictionaries, credential redaction.
//! - [`hello`]: HELLO and LOGON.
//! - [`run`]: RUN, BEGIN, PULL / DISCARD, TELEMETRY.
//! - [`route`]: ROUTE and routing tables (with the address rewrite).
//! - [`summary`]: SUCCESS, RECORD, FAILURE and summary metadata.
//!
//! Decoding validates arity per version and the types of the fields boltward relies on;
//! unknown `extra` keys are kept. Encoding writes the body only; chunk it with
//! [`crate::chunk`].

pub mod extra;
pub mod hello;
pub mod route;
pub mod run;
pub mod summary;

pub use extra::{AccessMode, Extra, NotificationFilter};
pub use hello::{Auth, Hello, Logon};
pub use route::{Route, RoutingTable, ServerEntry};
pub use run::{Begin, Pull, Run, Telemetry};
pub use summary::{Failure, QueryType, Record, Stats, Success};

use crate::error::{EncodeError, MessageError};
use crate::packstream::encode::{write_list_header, write_map, write_string, write_struct_header};
use crate::packstream::{encode, Decoder, Map, Value};
use crate::version::{Dialect, Version};
use bytes::{BufMut, Bytes, BytesMut};

/// Message tags.
pub mod tag {
    /// HELLO.
    pub const HELLO: u8 = 0x01;
    /// GOODBYE.
    pub const GOODBYE: u8 = 0x02;
    /// ACK_FAILURE (Bolt 1–2 only).
    pub const ACK_FAILURE: u8 = 0x0E;
    /// RESET.
    pub const RESET: u8 = 0x0F;
    /// RUN.
    pub const RUN: u8 = 0x10;
    /// BEGIN.
    pub const BEGIN: u8 = 0x11;
    /// COMMIT.
    pub const COMMIT: u8 = 0x12;
    /// ROLLBACK.
    pub const ROLLBACK: u8 = 0x13;
    /// DISCARD.
    pub const DISCARD: u8 = 0x2F;
    /// PULL.
    pub const PULL: u8 = 0x3F;
    /// TELEMETRY.
    pub const TELEMETRY: u8 = 0x54;
    /// ROUTE.
    pub const ROUTE: u8 = 0x66;
    /// LOGON.
    pub const LOGON: u8 = 0x6A;
    /// LOGOFF.
    pub const LOGOFF: u8 = 0x6B;
    /// SUCCESS.
    pub const SUCCESS: u8 = 0x70;
    /// RECORD.
    pub const RECORD: u8 = 0x71;
    /// IGNORED.
    pub const IGNORED: u8 = 0x7E;
    /// FAILURE.
    pub const FAILURE: u8 = 0x7F;
}

/// What kind of request a message is, without its contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum RequestKind {
    /// HELLO.
    Hello,
    /// LOGON.
    Logon,
    /// LOGOFF.
    Logoff,
    /// GOODBYE.
    Goodbye,
    /// RESET.
    Reset,
    /// RUN.
    Run,
    /// BEGIN.
    Begin,
    /// COMMIT.
    Commit,
    /// ROLLBACK.
    Rollback,
    /// DISCARD.
    Discard,
    /// PULL.
    Pull,
    /// ROUTE.
    Route,
    /// TELEMETRY.
    Telemetry,
}

impl RequestKind {
    /// Upper-case message name, as in the Bolt docs (also the metrics label).
    pub fn name(self) -> &'static str {
        match self {
            Self::Hello => "HELLO",
            Self::Logon => "LOGON",
            Self::Logoff => "LOGOFF",
            Self::Goodbye => "GOODBYE",
            Self::Reset => "RESET",
            Self::Run => "RUN",
            Self::Begin => "BEGIN",
            Self::Commit => "COMMIT",
            Self::Rollback => "ROLLBACK",
            Self::Discard => "DISCARD",
            Self::Pull => "PULL",
            Self::Route => "ROUTE",
            Self::Telemetry => "TELEMETRY",
        }
    }

    /// The kind of a tag, if it is a request in `version`.
    pub fn from_tag(tag: u8, version: Version) -> Result<Self, MessageError> {
        let (kind, since) = match tag {
            tag::HELLO => (Self::Hello, Version::new(1, 0)),
            tag::GOODBYE => (Self::Goodbye, Version::new(3, 0)),
            tag::RESET => (Self::Reset, Version::new(1, 0)),
            tag::RUN => (Self::Run, Version::new(3, 0)),
            tag::BEGIN => (Self::Begin, Version::new(3, 0)),
            tag::COMMIT => (Self::Commit, Version::new(3, 0)),
            tag::ROLLBACK => (Self::Rollback, Version::new(3, 0)),
            tag::DISCARD => (Self::Discard, Version::new(4, 0)),
            tag::PULL => (Self::Pull, Version::new(4, 0)),
            tag::TELEMETRY => (Self::Telemetry, Version::V5_4),
            tag::ROUTE => (Self::Route, Version::V4_3),
            tag::LOGON => (Self::Logon, Version::V5_1),
            tag::LOGOFF => (Self::Logoff, Version::V5_1),
            tag::ACK_FAILURE => {
                return Err(MessageError::NotInVersion {
                    name: "ACK_FAILURE",
                    version,
                })
            }
            t => return Err(MessageError::UnknownTag(t)),
        };
        if version < since {
            return Err(MessageError::NotInVersion {
                name: kind.name(),
                version,
            });
        }
        Ok(kind)
    }

    /// Field count on the wire.
    fn arity(self) -> usize {
        match self {
            Self::Goodbye | Self::Reset | Self::Commit | Self::Rollback | Self::Logoff => 0,
            Self::Run | Self::Route => 3,
            _ => 1,
        }
    }

    /// The message tag.
    pub fn tag(self) -> u8 {
        match self {
            Self::Hello => tag::HELLO,
            Self::Logon => tag::LOGON,
            Self::Logoff => tag::LOGOFF,
            Self::Goodbye => tag::GOODBYE,
            Self::Reset => tag::RESET,
            Self::Run => tag::RUN,
            Self::Begin => tag::BEGIN,
            Self::Commit => tag::COMMIT,
            Self::Rollback => tag::ROLLBACK,
            Self::Discard => tag::DISCARD,
            Self::Pull => tag::PULL,
            Self::Route => tag::ROUTE,
            Self::Telemetry => tag::TELEMETRY,
        }
    }
}

/// A client request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// HELLO.
    Hello(Hello),
    /// LOGON (5.1+).
    Logon(Logon),
    /// LOGOFF (5.1+).
    Logoff,
    /// GOODBYE.
    Goodbye,
    /// RESET.
    Reset,
    /// RUN.
    Run(Run),
    /// BEGIN.
    Begin(Begin),
    /// COMMIT.
    Commit,
    /// ROLLBACK.
    Rollback,
    /// DISCARD.
    Discard(Pull),
    /// PULL.
    Pull(Pull),
    /// ROUTE (4.3+).
    Route(Route),
    /// TELEMETRY (5.4+).
    Telemetry(Telemetry),
}

/// A server response.
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    /// SUCCESS.
    Success(Success),
    /// RECORD.
    Record(Record),
    /// IGNORED.
    Ignored,
    /// FAILURE.
    Failure(Failure),
}

/// Reads the header of a message body: `(field count, tag)`.
fn header(d: &mut Decoder<'_>) -> Result<(usize, u8), MessageError> {
    d.struct_header()
        .map_err(|_| MessageError::NotAStructure)?
        .ok_or(MessageError::NotAStructure)
}

fn check_arity(
    name: &'static str,
    got: usize,
    expected: usize,
    version: Version,
) -> Result<(), MessageError> {
    if got == expected {
        Ok(())
    } else {
        Err(MessageError::Arity {
            name,
            got,
            expected,
            version,
        })
    }
}

fn map_field(
    d: &mut Decoder<'_>,
    name: &'static str,
    field: &'static str,
) -> Result<Map, MessageError> {
    match d.value()? {
        Value::Map(m) => Ok(m),
        _ => Err(MessageError::Field {
            name,
            field,
            expected: "a map",
        }),
    }
}

impl Request {
    /// Decodes a request body under the connection's dialect.
    pub fn decode(body: &[u8], dialect: Dialect) -> Result<Self, MessageError> {
        let version = dialect.version;
        let mut d = Decoder::new(body, dialect);
        let (fields, t) = header(&mut d)?;
        let kind = RequestKind::from_tag(t, version)?;
        check_arity(kind.name(), fields, kind.arity(), version)?;
        let name = kind.name();
        let req = match kind {
            RequestKind::Hello => Request::Hello(Hello {
                extra: map_field(&mut d, name, "extra")?,
            }),
            RequestKind::Logon => Request::Logon(Logon {
                auth: map_field(&mut d, name, "auth")?,
            }),
            RequestKind::Logoff => Request::Logoff,
            RequestKind::Goodbye => Request::Goodbye,
            RequestKind::Reset => Request::Reset,
            RequestKind::Commit => Request::Commit,
            RequestKind::Rollback => Request::Rollback,
            RequestKind::Run => {
                let query = match d.value()? {
                    Value::String(s) => s,
                    _ => {
                        return Err(MessageError::Field {
                            name,
                            field: "query",
                            expected: "a string",
                        })
                    }
                };
                let parameters = map_field(&mut d, name, "parameters")?;
                let extra = map_field(&mut d, name, "extra")?;
                extra::check_tx_extra(name, &extra)?;
                Request::Run(Run {
                    query,
                    parameters,
                    extra,
                })
            }
            RequestKind::Begin => {
                let extra = map_field(&mut d, name, "extra")?;
                extra::check_tx_extra(name, &extra)?;
                Request::Begin(Begin { extra })
            }
            RequestKind::Pull | RequestKind::Discard => {
                let extra = map_field(&mut d, name, "extra")?;
                for key in ["n", "qid"] {
                    if extra.get(key).is_some_and(|v| v.as_int().is_none()) {
                        return Err(MessageError::Field {
                            name,
                            field: if key == "n" { "extra.n" } else { "extra.qid" },
                            expected: "an integer",
                        });
                    }
                }
                if kind == RequestKind::Pull {
                    Request::Pull(Pull { extra })
                } else {
                    Request::Discard(Pull { extra })
                }
            }
            RequestKind::Telemetry => match d.value()? {
                Value::Integer(api) => Request::Telemetry(Telemetry { api }),
                _ => {
                    return Err(MessageError::Field {
                        name,
                        field: "api",
                        expected: "an integer",
                    })
                }
            },
            RequestKind::Route => {
                let routing = map_field(&mut d, name, "routing")?;
                let bookmarks = match d.value()? {
                    Value::List(l) => l
                        .into_iter()
                        .map(|b| match b {
                            Value::String(s) => Some(s),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>(),
                    Value::Null => Some(Vec::new()),
                    _ => None,
                }
                .ok_or(MessageError::Field {
                    name,
                    field: "bookmarks",
                    expected: "a list of strings",
                })?;
                let extra = if version.route_has_extra() {
                    let e = map_field(&mut d, name, "extra")?;
                    extra::check_tx_extra(name, &e)?;
                    e
                } else {
                    match d.value()? {
                        Value::String(db) => Map::from([("db", db)]),
                        Value::Null => Map::new(),
                        _ => {
                            return Err(MessageError::Field {
                                name,
                                field: "db",
                                expected: "a string or null",
                            })
                        }
                    }
                };
                Request::Route(Route {
                    routing,
                    bookmarks,
                    extra,
                })
            }
        };
        d.finish()?;
        Ok(req)
    }

    /// The request's kind.
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Hello(_) => RequestKind::Hello,
            Request::Logon(_) => RequestKind::Logon,
            Request::Logoff => RequestKind::Logoff,
            Request::Goodbye => RequestKind::Goodbye,
            Request::Reset => RequestKind::Reset,
            Request::Run(_) => RequestKind::Run,
            Request::Begin(_) => RequestKind::Begin,
            Request::Commit => RequestKind::Commit,
            Request::Rollback => RequestKind::Rollback,
            Request::Discard(_) => RequestKind::Discard,
            Request::Pull(_) => RequestKind::Pull,
            Request::Route(_) => RequestKind::Route,
            Request::Telemetry(_) => RequestKind::Telemetry,
        }
    }

    /// Writes the message body for `version`.
    pub fn encode(&self, version: Version, out: &mut impl BufMut) -> Result<(), EncodeError> {
        let kind = self.kind();
        write_struct_header(out, kind.arity(), kind.tag())?;
        match self {
            Request::Hello(h) => write_map(out, &h.extra)?,
            Request::Logon(l) => write_map(out, &l.auth)?,
            Request::Run(r) => {
                write_string(out, &r.query)?;
                write_map(out, &r.parameters)?;
                write_map(out, &r.extra)?;
            }
            Request::Begin(b) => write_map(out, &b.extra)?,
            Request::Pull(p) | Request::Discard(p) => write_map(out, &p.extra)?,
            Request::Telemetry(t) => encode(&Value::Integer(t.api), out)?,
            Request::Route(r) => {
                write_map(out, &r.routing)?;
                write_list_header(out, r.bookmarks.len())?;
                for b in &r.bookmarks {
                    write_string(out, b)?;
                }
                if version.route_has_extra() {
                    write_map(out, &r.extra)?;
                } else {
                    encode(r.extra.get("db").unwrap_or(&Value::Null), out)?;
                }
            }
            Request::Logoff
            | Request::Goodbye
            | Request::Reset
            | Request::Commit
            | Request::Rollback => {}
        }
        Ok(())
    }

    /// The body for `version`, chunked and terminated, ready for the wire.
    pub fn to_wire(&self, version: Version) -> Result<Bytes, EncodeError> {
        let mut body = BytesMut::new();
        self.encode(version, &mut body)?;
        Ok(crate::chunk::chunked(&body))
    }
}

impl Response {
    /// Decodes a response body under the connection's dialect.
    pub fn decode(body: &[u8], dialect: Dialect) -> Result<Self, MessageError> {
        let version = dialect.version;
        let mut d = Decoder::new(body, dialect);
        let (fields, t) = header(&mut d)?;
        let resp = match t {
            tag::SUCCESS => {
                check_arity("SUCCESS", fields, 1, version)?;
                Response::Success(Success {
                    metadata: map_field(&mut d, "SUCCESS", "metadata")?,
                })
            }
            tag::FAILURE => {
                check_arity("FAILURE", fields, 1, version)?;
                Response::Failure(Failure {
                    metadata: map_field(&mut d, "FAILURE", "metadata")?,
                })
            }
            tag::IGNORED => {
                check_arity("IGNORED", fields, 0, version)?;
                Response::Ignored
            }
            tag::RECORD => {
                check_arity("RECORD", fields, 1, version)?;
                match d.value()? {
                    Value::List(fields) => Response::Record(Record { fields }),
                    _ => {
                        return Err(MessageError::Field {
                            name: "RECORD",
                            field: "data",
                            expected: "a list",
                        })
                    }
                }
            }
            t => return Err(MessageError::UnknownTag(t)),
        };
        d.finish()?;
        Ok(resp)
    }

    /// Writes the message body.
    pub fn encode(&self, out: &mut impl BufMut) -> Result<(), EncodeError> {
        match self {
            Response::Success(s) => {
                write_struct_header(out, 1, tag::SUCCESS)?;
                write_map(out, &s.metadata)
            }
            Response::Failure(f) => {
                write_struct_header(out, 1, tag::FAILURE)?;
                write_map(out, &f.metadata)
            }
            Response::Ignored => write_struct_header(out, 0, tag::IGNORED),
            Response::Record(r) => {
                write_struct_header(out, 1, tag::RECORD)?;
                write_list_header(out, r.fields.len())?;
                for v in &r.fields {
                    encode(v, out)?;
                }
                Ok(())
            }
        }
    }

    /// The body chunked and terminated, ready for the wire.
    pub fn to_wire(&self) -> Result<Bytes, EncodeError> {
        let mut body = BytesMut::new();
        self.encode(&mut body)?;
        Ok(crate::chunk::chunked(&body))
    }
}

/// The kind of a response, read from its tag alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// SUCCESS.
    Success,
    /// RECORD.
    Record,
    /// IGNORED.
    Ignored,
    /// FAILURE.
    Failure,
}

impl ResponseKind {
    /// The kind of a response tag.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Some(match tag {
            tag::SUCCESS => Self::Success,
            tag::RECORD => Self::Record,
            tag::IGNORED => Self::Ignored,
            tag::FAILURE => Self::Failure,
            _ => return None,
        })
    }

    /// Whether this response ends the request it answers (all but RECORD).
    pub fn is_summary(self) -> bool {
        self != Self::Record
    }
}

/// An auto-commit RUN split into the explicit transaction that runs the same statement:
/// a BEGIN carrying the RUN's `extra` (bookmarks, timeout, metadata, mode, database,
/// impersonation, notification filters) and the RUN with an empty `extra`. Both are cut
/// from the original bytes, so the query and parameters travel exactly as the client
/// encoded them. Returns the two messages chunked for the wire, BEGIN first.
pub fn split_auto_commit_run(
    body: &[u8],
    dialect: Dialect,
) -> Result<(Bytes, Bytes), MessageError> {
    let mut d = Decoder::new(body, dialect);
    let (fields, t) = header(&mut d)?;
    if t != tag::RUN {
        return Err(MessageError::Field {
            name: "RUN",
            field: "tag",
            expected: "0x10",
        });
    }
    check_arity("RUN", fields, 3, dialect.version)?;
    let field = |field| MessageError::Field {
        name: "RUN",
        field,
        expected: "a map",
    };
    d.value()?;
    if !matches!(d.value()?, Value::Map(_)) {
        return Err(field("parameters"));
    }
    let extra_at = d.position();
    if !matches!(d.value()?, Value::Map(_)) {
        return Err(field("extra"));
    }
    d.finish()?;
    // A one-field structure tagged BEGIN, and the empty map.
    let mut begin = BytesMut::with_capacity(2 + body.len() - extra_at);
    begin.extend_from_slice(&[0xB1, tag::BEGIN]);
    begin.extend_from_slice(&body[extra_at..]);
    let mut run = BytesMut::with_capacity(extra_at + 1);
    run.extend_from_slice(&body[..extra_at]);
    run.extend_from_slice(&[0xA0]);
    Ok((crate::chunk::chunked(&begin), crate::chunk::chunked(&run)))
}
