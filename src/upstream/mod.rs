//! boltward's side of the upstream: connecting (TCP or TLS) and its own Bolt client.
//!
//! - [`connect`](mod@connect): the [`Connector`] and the boxed [`Stream`] type.
//! - [`client`]: a small Bolt client that keeps values as PackStream (lossless), used for
//!   EXPLAIN, health probes, snapshots and replay.

pub mod client;
pub mod connect;

pub use client::{BoltClient, ClientError, QueryResult};
pub use connect::{BoxStream, ConnectError, Connector, Stream};
