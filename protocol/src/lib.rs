//! I/O-free Bolt and PackStream for boltward.
//!
//! Nothing here touches a socket or an async runtime; the proxy owns the small adapter
//! between bytes on the wire and these types.
//!
//! - [`packstream`]: the value model, bounded decoding, smallest-marker encoding.
//! - [`chunk`]: message framing: reassembly from any split, NOOPs, size limits, and a
//!   zero-copy scanner that tells RECORDs from summaries for forwarding.
//! - [`handshake`]: the 20-byte opening, legacy replies, manifest v1, proposal narrowing.
//! - [`message`]: every request and response of Bolt 4.3–6.0 as typed views.
//! - [`state`]: the server state machine as data.
//! - [`version`]: versions and the dialect switches that depend on them.
//! - [`error`]: one typed error per decoder; "need more bytes" is `Ok(None)`, never an error.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod chunk;
pub mod error;
pub mod handshake;
pub mod message;
pub mod packstream;
pub mod state;
pub mod version;

pub use error::{ChunkError, EncodeError, HandshakeError, MessageError, PackError};
pub use message::{Request, RequestKind, Response, ResponseKind};
pub use packstream::{Map, Value};
pub use version::{Dialect, Version};
