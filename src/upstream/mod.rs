//! boltward's side of the upstream: connecting (TCP or TLS) and its own Bolt client.
//!
//! - [`connect`](mod@connect): the [`Connector`] and the boxed [`Stream`] type.
//! - [`client`]: a small Bolt client that keeps values as PackStream (lossless), used for
//!   EXPLAIN, health probes, snapshots and replay.
//! - [`handle`]: the upstream in force, switched by promotion.

pub mod client;
pub mod connect;
pub mod handle;

pub use client::{BoltClient, ClientError, QueryResult};
pub use connect::{BoxStream, ConnectError, Connector, Stream};
pub use handle::UpstreamHandle;
