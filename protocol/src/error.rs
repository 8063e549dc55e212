//! Typed errors of every decoder in the crate.
//!
//! "Need more bytes" is never an error: incremental decoders (chunks, handshake) return
//! `Ok(None)` for that. Everything here means the input is invalid and the connection that
//! sent it cannot be trusted to continue.

use crate::version::Version;
use thiserror::Error;

/// A PackStream value could not be decoded from a complete buffer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackError {
    /// The buffer ended inside a value.
    #[error("value truncated at byte {offset}")]
    Truncated {
        /// Offset where more bytes were needed.
        offset: usize,
    },
    /// A marker byte that PackStream reserves (or that this version does not allow).
    #[error("invalid marker 0x{marker:02X} at byte {offset}")]
    InvalidMarker {
        /// The marker.
        marker: u8,
        /// Its offset.
        offset: usize,
    },
    /// Lists, maps and structures nested deeper than the configured limit.
    #[error("values nested deeper than {limit} levels")]
    TooDeep {
        /// The configured limit.
        limit: usize,
    },
    /// A string, byte array or collection is longer than the configured limit.
    #[error("{what} of length {len} exceeds the limit of {limit}")]
    TooLong {
        /// "string", "bytes", "list", "map".
        what: &'static str,
        /// The declared length.
        len: usize,
        /// The configured limit.
        limit: usize,
    },
    /// String bytes are not UTF-8.
    #[error("string at byte {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// Offset of the string's marker.
        offset: usize,
    },
    /// A dictionary key that is not a string.
    #[error("dictionary key at byte {offset} is not a string")]
    NonStringKey {
        /// Offset of the key.
        offset: usize,
    },
    /// A known structure with the wrong number of fields for the negotiated version.
    #[error("{name} structure has {got} fields, Bolt {version} requires {expected}")]
    StructArity {
        /// Structure name.
        name: &'static str,
        /// Fields present.
        got: usize,
        /// Fields required.
        expected: usize,
        /// Version the arity was checked against.
        version: Version,
    },
    /// A known structure with a field of the wrong type.
    #[error("{name}.{field} must be {expected}")]
    StructField {
        /// Structure name.
        name: &'static str,
        /// Field name.
        field: &'static str,
        /// Expected type.
        expected: &'static str,
    },
    /// Bytes after the end of a value that should fill the buffer.
    #[error("{count} unexpected bytes after the value at byte {offset}")]
    TrailingBytes {
        /// Offset of the first extra byte.
        offset: usize,
        /// How many.
        count: usize,
    },
}

/// A value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A structure has more than 15 fields.
    #[error("structure 0x{tag:02X} has {fields} fields; PackStream allows at most 15")]
    TooManyFields {
        /// Structure tag.
        tag: u8,
        /// Field count.
        fields: usize,
    },
    /// A string, byte array or collection longer than 2^31 - 1.
    #[error("{what} of length {len} is too long for PackStream")]
    TooLong {
        /// "string", "bytes", "list", "map".
        what: &'static str,
        /// Length.
        len: usize,
    },
}

/// A chunked message stream is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ChunkError {
    /// The message grew past the configured maximum before its end marker.
    #[error("message of at least {size} bytes exceeds the maximum message size of {max} bytes")]
    MessageTooLarge {
        /// Bytes of message body seen so far.
        size: usize,
        /// Configured maximum.
        max: usize,
    },
}

/// A handshake is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HandshakeError {
    /// The peer sent an HTTP request to the Bolt port.
    #[error("received an HTTP request on the Bolt port; Bolt clients use bolt:// or neo4j:// (port 7687), HTTP is served elsewhere (7474)")]
    Http,
    /// The first four bytes are not the Bolt magic `60 60 B0 17`.
    #[error("bad magic {0:02X?}: not a Bolt client")]
    BadMagic([u8; 4]),
    /// The server's reply is not a version, a manifest or "no match".
    #[error("server answered {0:02X?}, which is not a Bolt handshake reply")]
    BadReply([u8; 4]),
    /// The server replied with HTTP.
    #[error("server answered with HTTP: is the upstream address the HTTP port (7474)? Bolt is usually 7687")]
    HttpReply,
    /// A varint longer than 64 bits.
    #[error("manifest varint overflows 64 bits")]
    VarintOverflow,
    /// More version entries than boltward accepts in a manifest.
    #[error("manifest offers {count} versions, more than the limit of {limit}")]
    TooManyVersions {
        /// Entries declared.
        count: u64,
        /// Limit.
        limit: u64,
    },
    /// A manifest version other than 1.
    #[error("unsupported manifest version {0}")]
    UnsupportedManifest(u8),
}

/// A message body could not be decoded as a Bolt message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// The PackStream inside the message is invalid.
    #[error(transparent)]
    Pack(#[from] PackError),
    /// The message body is empty or not a structure.
    #[error("message body is not a structure")]
    NotAStructure,
    /// A tag that is no Bolt message at all.
    #[error("unknown message tag 0x{0:02X}")]
    UnknownTag(u8),
    /// A message that exists but not in the negotiated version.
    #[error("{name} is not part of Bolt {version}")]
    NotInVersion {
        /// Message name.
        name: &'static str,
        /// Negotiated version.
        version: Version,
    },
    /// A message with the wrong number of fields.
    #[error("{name} takes {expected} fields on Bolt {version}, got {got}")]
    Arity {
        /// Message name.
        name: &'static str,
        /// Fields present.
        got: usize,
        /// Fields required.
        expected: usize,
        /// Negotiated version.
        version: Version,
    },
    /// A field or an `extra` entry of the wrong type.
    #[error("{name} {field} must be {expected}")]
    Field {
        /// Message name.
        name: &'static str,
        /// Field or key.
        field: &'static str,
        /// Expected type.
        expected: &'static str,
    },
}
