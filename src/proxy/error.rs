//! Why a proxied connection ended early.

use crate::upstream::ConnectError;
use boltward_protocol::{ChunkError, HandshakeError, Version};
use thiserror::Error;

/// A session error; each variant is logged once when the connection closes.
#[derive(Debug, Error)]
pub enum SessionError {
    /// Socket I/O failed.
    #[error("{side} I/O: {source}")]
    Io {
        /// "client" or "upstream".
        side: &'static str,
        /// Cause.
        source: std::io::Error,
    },
    /// The handshake was invalid.
    #[error("{side} handshake: {source}")]
    Handshake {
        /// "client" or "upstream".
        side: &'static str,
        /// Cause.
        source: HandshakeError,
    },
    /// The outcome of a committed write could not be journaled.
    #[error("journal: {0}")]
    Journal(#[from] crate::journal::JournalError),
    /// The client did not finish the handshake in time.
    #[error("client did not complete the Bolt handshake within {0:?}")]
    HandshakeTimeout(std::time::Duration),
    /// The upstream chose a version boltward did not offer.
    #[error("upstream chose Bolt {0}, which was not offered")]
    UnexpectedVersion(Version),
    /// The client chose a manifest version the server did not offer.
    #[error("client chose Bolt {0}, which was not offered")]
    UnexpectedChoice(Version),
    /// Message framing was invalid.
    #[error("{side} framing: {source}")]
    Framing {
        /// "client" or "upstream".
        side: &'static str,
        /// Cause.
        source: ChunkError,
    },
    /// The upstream sent something that is not a Bolt response.
    #[error("upstream sent an invalid response: {0}")]
    BadResponse(#[from] BadResponse),
    /// The upstream could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// TLS with the client failed.
    #[error("client TLS handshake: {0}")]
    ClientTls(std::io::Error),
}

impl SessionError {
    pub(crate) fn client(source: std::io::Error) -> Self {
        SessionError::Io {
            side: "client",
            source,
        }
    }

    pub(crate) fn upstream(source: std::io::Error) -> Self {
        SessionError::Io {
            side: "upstream",
            source,
        }
    }
}

/// How the upstream broke the protocol.
#[derive(Debug, Error)]
pub enum BadResponse {
    /// A message whose tag is no response.
    #[error("message with tag {0:?} is not a response")]
    NotAResponse(Option<u8>),
    /// A response that does not decode.
    #[error(transparent)]
    Decode(#[from] boltward_protocol::MessageError),
    /// A summary with no request waiting for it.
    #[error("a summary arrived for no outstanding request")]
    Unrequested,
}
