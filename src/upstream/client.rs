//! boltward's own Bolt client.
//!
//! Values stay PackStream [`Value`]s end to end, so nothing is converted through a driver's
//! type system (temporal, spatial, bytes and large integers survive). Used by later
//! capabilities for EXPLAIN, health probes, snapshots and replay.

use super::connect::{BoxStream, ConnectError, Connector};
use boltward_protocol::chunk::{ChunkDecoder, Frame, DEFAULT_MAX_MESSAGE_SIZE};
use boltward_protocol::handshake::{ClientHello, Proposal, ServerReply, VersionRange};
use boltward_protocol::message::{Begin, Failure, Hello, Logon, Pull, Record, Run, Success};
use boltward_protocol::{Dialect, Map, MessageError, Request, Response, Value, Version};
use bytes::BytesMut;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A client call failed.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The server could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// Socket I/O failed or the server closed the connection.
    #[error("bolt I/O: {0}")]
    Io(#[from] std::io::Error),
    /// No common Bolt version.
    #[error("server {0} shares no Bolt version with boltward (4.4, 5.0-5.8, 6.0)")]
    NoVersion(String),
    /// The server broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The server answered FAILURE.
    #[error("{code}: {message}")]
    Server {
        /// Status code.
        code: String,
        /// Message.
        message: String,
    },
}

impl From<MessageError> for ClientError {
    fn from(e: MessageError) -> Self {
        ClientError::Protocol(e.to_string())
    }
}

impl ClientError {
    fn from_failure(f: &Failure) -> Self {
        ClientError::Server {
            code: f
                .code()
                .unwrap_or("Neo.DatabaseError.General.UnknownError")
                .to_owned(),
            message: f.message().unwrap_or("").to_owned(),
        }
    }

    /// The server's status code, for FAILUREs.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Server { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// Records and summaries of one query.
#[derive(Debug, Clone)]
pub struct QueryResult {
    /// Column names.
    pub fields: Vec<String>,
    /// Rows, values as PackStream.
    pub records: Vec<Vec<Value>>,
    /// The final summary (type, stats, bookmark…).
    pub summary: Success,
}

impl QueryResult {
    /// A query's result from its RUN's SUCCESS, its records and its PULL's SUCCESS.
    fn of(run: &Success, records: Vec<Record>, summary: Success) -> Self {
        QueryResult {
            fields: run
                .fields()
                .unwrap_or_default()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            records: records.into_iter().map(|r| r.fields).collect(),
            summary,
        }
    }

    /// The first column of the first row as an integer (`RETURN count(n)`-style queries).
    pub fn first_int(&self) -> Option<i64> {
        self.records
            .first()
            .and_then(|r| r.first())
            .and_then(Value::as_int)
    }
}

/// A single authenticated Bolt connection.
pub struct BoltClient {
    io: BoxStream,
    buf: BytesMut,
    decoder: ChunkDecoder,
    version: Version,
    dialect: Dialect,
    server: String,
}

/// Versions boltward's client proposes, newest first (no manifest: four legacy slots).
fn proposals() -> ClientHello {
    ClientHello {
        proposals: [
            Proposal::Range(VersionRange::exact(Version::V6_0)),
            Proposal::Range(VersionRange {
                major: 5,
                minor: 8,
                range: 2,
            }),
            Proposal::Range(VersionRange {
                major: 5,
                minor: 4,
                range: 4,
            }),
            Proposal::Range(VersionRange::exact(Version::V4_4)),
        ],
    }
}

/// Statements [`BoltClient::run_pipelined`] sends before reading their answers.
pub const PIPELINE_CHUNK: usize = 64;

/// `step`, or a timeout error once `limit` passes (the connection is then unusable).
pub async fn bounded<T>(
    limit: std::time::Duration,
    step: impl std::future::Future<Output = Result<T, ClientError>>,
) -> Result<T, ClientError> {
    tokio::time::timeout(limit, step).await.unwrap_or_else(|_| {
        Err(ClientError::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} ms", limit.as_millis()),
        )))
    })
}

impl BoltClient {
    /// Connects, negotiates, and authenticates with `basic` credentials.
    pub async fn connect(
        connector: &Connector,
        principal: &str,
        credentials: &str,
        user_agent: &str,
    ) -> Result<Self, ClientError> {
        let mut io = connector.connect().await?;
        io.write_all(&proposals().to_bytes()).await?;
        let mut reply = [0u8; 4];
        io.read_exact(&mut reply).await?;
        let version =
            match ServerReply::parse(&reply).map_err(|e| ClientError::Protocol(e.to_string()))? {
                Some(ServerReply::Version(v)) => v,
                _ => return Err(ClientError::NoVersion(connector.addr().to_owned())),
            };
        let mut client = BoltClient {
            io,
            buf: BytesMut::with_capacity(8192),
            decoder: ChunkDecoder::new(DEFAULT_MAX_MESSAGE_SIZE),
            version,
            dialect: Dialect::new(version),
            server: String::new(),
        };
        let auth = Map::from([
            ("scheme", "basic"),
            ("principal", principal),
            ("credentials", credentials),
        ]);
        let mut extra = Map::from([("user_agent", user_agent)]);
        if version >= Version::new(5, 3) {
            extra.insert("bolt_agent", Map::from([("product", user_agent)]));
        }
        if version.has_logon() {
            client
                .send(&[
                    Request::Hello(Hello { extra }),
                    Request::Logon(Logon { auth }),
                ])
                .await?;
            let hello = client.summary().await?;
            client.server = hello.server().unwrap_or_default().to_owned();
            client.summary().await?;
        } else {
            for (k, v) in auth.into_entries() {
                extra.push(k, v);
            }
            if version.major == 4 {
                extra.insert("patch_bolt", Value::List(vec!["utc".into()]));
            }
            client.send(&[Request::Hello(Hello { extra })]).await?;
            let hello = client.summary().await?;
            client.dialect = client.dialect.with_utc_patch(hello.accepts_utc_patch());
            client.server = hello.server().unwrap_or_default().to_owned();
        }
        Ok(client)
    }

    /// The negotiated version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The server's agent string from HELLO.
    pub fn server_agent(&self) -> &str {
        &self.server
    }

    async fn send(&mut self, requests: &[Request]) -> Result<(), ClientError> {
        let mut out = BytesMut::new();
        for r in requests {
            out.extend_from_slice(
                &r.to_wire(self.version)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?,
            );
        }
        self.io.write_all(&out).await?;
        Ok(())
    }

    async fn next(&mut self) -> Result<Response, ClientError> {
        loop {
            match self
                .decoder
                .decode(&mut self.buf)
                .map_err(|e| ClientError::Protocol(e.to_string()))?
            {
                Some(Frame::Message(m)) => return Ok(Response::decode(&m.body(), self.dialect)?),
                Some(Frame::Noop) => continue,
                None => {
                    if self.io.read_buf(&mut self.buf).await? == 0 {
                        return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
                    }
                }
            }
        }
    }

    /// Reads up to the next summary; records before it are returned with it.
    async fn collect(&mut self) -> Result<(Vec<Record>, Response), ClientError> {
        let mut records = Vec::new();
        loop {
            match self.next().await? {
                Response::Record(r) => records.push(r),
                other => return Ok((records, other)),
            }
        }
    }

    async fn summary(&mut self) -> Result<Success, ClientError> {
        match self.collect().await?.1 {
            Response::Success(s) => Ok(s),
            Response::Failure(f) => Err(ClientError::from_failure(&f)),
            Response::Ignored => Err(ClientError::Protocol("request IGNORED".into())),
            Response::Record(_) => Err(ClientError::Protocol(
                "RECORD where a summary was due".into(),
            )),
        }
    }

    /// RESET: recovers from a FAILURE and rolls back an open transaction.
    pub async fn reset(&mut self) -> Result<(), ClientError> {
        self.send(&[Request::Reset]).await?;
        self.summary().await.map(|_| ())
    }

    /// Runs `query` and pulls every record (RUN and PULL pipelined). On a FAILURE the
    /// connection is RESET before the error is returned, so it stays usable.
    pub async fn query(
        &mut self,
        query: &str,
        parameters: Map,
        extra: Map,
    ) -> Result<QueryResult, ClientError> {
        let run = Request::Run(Run {
            query: query.to_owned(),
            parameters,
            extra,
        });
        self.send(&[run, Request::Pull(Pull::new(-1))]).await?;
        let run_summary = self.collect().await?.1;
        let (records, pull_summary) = self.collect().await?;
        match (run_summary, pull_summary) {
            (Response::Success(r), Response::Success(summary)) => {
                Ok(QueryResult::of(&r, records, summary))
            }
            (Response::Failure(f), _) | (_, Response::Failure(f)) => {
                self.reset().await?;
                Err(ClientError::from_failure(&f))
            }
            _ => Err(ClientError::Protocol(
                "unexpected answer to RUN/PULL".into(),
            )),
        }
    }

    /// Runs `query` and hands every record to `each` as it arrives, pulling `batch` records
    /// at a time so memory stays bounded however large the result. Returns the final
    /// summary. An error from `each` abandons the connection (the stream is left open).
    pub async fn stream<E>(
        &mut self,
        query: &str,
        parameters: Map,
        extra: Map,
        batch: i64,
        mut each: impl FnMut(Vec<Value>) -> Result<(), E>,
    ) -> Result<Result<Success, E>, ClientError> {
        let run = Request::Run(Run {
            query: query.to_owned(),
            parameters,
            extra,
        });
        let pull = Request::Pull(Pull::new(batch));
        self.send(&[run, pull.clone()]).await?;
        let mut failure = match self.collect().await?.1 {
            Response::Success(_) => None,
            Response::Failure(f) => Some(f),
            _ => return Err(ClientError::Protocol("unexpected answer to RUN".into())),
        };
        loop {
            let (records, summary) = self.collect().await?;
            if failure.is_none() {
                for r in records {
                    if let Err(e) = each(r.fields) {
                        return Ok(Err(e));
                    }
                }
            }
            match summary {
                Response::Success(s) if failure.is_none() && s.has_more() => {
                    self.send(std::slice::from_ref(&pull)).await?;
                }
                Response::Success(s) if failure.is_none() => return Ok(Ok(s)),
                Response::Failure(f) => failure = failure.or(Some(f)),
                Response::Ignored if failure.is_some() => {}
                _ => return Err(ClientError::Protocol("unexpected answer to PULL".into())),
            }
            if let Some(f) = failure {
                self.reset().await?;
                return Err(ClientError::from_failure(&f));
            }
        }
    }

    /// The dialect values are decoded with (version and the 4.x utc patch).
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Runs `runs` in order, pipelined: (after a BEGIN with `begin`, when given) every RUN
    /// and its PULL are sent before their answers are read, in chunks of
    /// [`PIPELINE_CHUNK`] statements so the answers always fit the socket's buffers. The
    /// results in order; or the index of the statement that failed (`None`: the BEGIN)
    /// with its error, after the connection was RESET (an open transaction is rolled back).
    /// Each write and each answer must come within `limit` (a timeout leaves the connection
    /// unusable: drop it).
    pub async fn run_pipelined(
        &mut self,
        begin: Option<Map>,
        runs: Vec<Run>,
        limit: std::time::Duration,
    ) -> Result<Vec<QueryResult>, (Option<usize>, ClientError)> {
        let mut results = Vec::with_capacity(runs.len());
        let mut pending_begin = begin;
        let mut runs = runs.into_iter().peekable();
        let mut index = 0usize;
        while pending_begin.is_some() || runs.peek().is_some() {
            let mut batch = Vec::new();
            let began = pending_begin.take();
            if let Some(extra) = began.clone() {
                batch.push(Request::Begin(Begin { extra }));
            }
            let mut n = 0;
            while n < PIPELINE_CHUNK {
                let Some(run) = runs.next() else { break };
                batch.push(Request::Run(run));
                batch.push(Request::Pull(Pull::new(-1)));
                n += 1;
            }
            bounded(limit, self.send(&batch))
                .await
                .map_err(|e| (Some(index), e))?;
            // Read every answer of the chunk, remembering the first failure.
            let mut failed: Option<(Option<usize>, ClientError)> = None;
            if began.is_some() {
                match bounded(limit, self.collect())
                    .await
                    .map_err(|e| (None, e))?
                    .1
                {
                    Response::Success(_) => {}
                    Response::Failure(f) => failed = Some((None, ClientError::from_failure(&f))),
                    _ => {
                        failed = Some((
                            None,
                            ClientError::Protocol("unexpected answer to BEGIN".into()),
                        ))
                    }
                }
            }
            for i in index..index + n {
                let run = bounded(limit, self.collect())
                    .await
                    .map_err(|e| (Some(i), e))?
                    .1;
                let (records, pull) = bounded(limit, self.collect())
                    .await
                    .map_err(|e| (Some(i), e))?;
                match (run, pull) {
                    (Response::Success(r), Response::Success(summary)) if failed.is_none() => {
                        results.push(QueryResult::of(&r, records, summary))
                    }
                    (Response::Failure(f), _) | (_, Response::Failure(f)) if failed.is_none() => {
                        failed = Some((Some(i), ClientError::from_failure(&f)));
                    }
                    _ if failed.is_some() => {}
                    _ => {
                        failed = Some((
                            Some(i),
                            ClientError::Protocol("unexpected answer to RUN/PULL".into()),
                        ))
                    }
                }
            }
            index += n;
            if let Some((at, e)) = failed {
                bounded(limit, self.reset()).await.map_err(|e| (at, e))?;
                return Err((at, e));
            }
        }
        Ok(results)
    }

    /// BEGIN with `extra` (db, mode, bookmarks, tx_metadata…).
    pub async fn begin(&mut self, extra: Map) -> Result<(), ClientError> {
        self.send(&[Request::Begin(Begin { extra })]).await?;
        self.summary().await.map(|_| ())
    }

    /// COMMIT; returns the bookmark if the server sent one.
    pub async fn commit(&mut self) -> Result<Option<String>, ClientError> {
        self.send(&[Request::Commit]).await?;
        Ok(self.summary().await?.bookmark().map(str::to_owned))
    }

    /// ROLLBACK.
    pub async fn rollback(&mut self) -> Result<(), ClientError> {
        self.send(&[Request::Rollback]).await?;
        self.summary().await.map(|_| ())
    }

    /// GOODBYE and close.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.send(&[Request::Goodbye]).await?;
        let _ = self.io.shutdown().await;
        Ok(())
    }
}

impl std::fmt::Debug for BoltClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoltClient")
            .field("version", &self.version)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}
