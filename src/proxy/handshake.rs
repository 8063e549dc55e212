//! Relaying the Bolt handshake with narrowed proposals.
//!
//! boltward reads the client's opening before it dials the upstream (so garbage and HTTP
//! cost nothing upstream), narrows the proposals to the versions it parses, and relays
//! them. A legacy reply is forwarded as is; a manifest offer is restricted to the parsed
//! versions before the client sees it, and the client's choice is checked and forwarded.

use super::error::SessionError;
use crate::upstream::BoxStream;
use boltward_protocol::handshake::{
    ClientHello, ManifestChoice, ManifestOffer, ServerReply, MANIFEST_V1, NO_VERSION,
    PARSED_VERSIONS,
};
use boltward_protocol::{HandshakeError, Version};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Reads more bytes; EOF is an error here because the peer has not finished.
pub(crate) async fn fill(
    io: &mut (impl AsyncRead + Unpin + ?Sized),
    buf: &mut BytesMut,
    side: &'static str,
) -> Result<(), SessionError> {
    if buf.capacity() - buf.len() < 1024 {
        buf.reserve(4096);
    }
    let n = io
        .read_buf(buf)
        .await
        .map_err(|source| SessionError::Io { side, source })?;
    if n == 0 {
        return Err(SessionError::Io {
            side,
            source: std::io::ErrorKind::UnexpectedEof.into(),
        });
    }
    Ok(())
}

/// Parses an incremental handshake item, reading until it is complete.
async fn read_item<T>(
    io: &mut (impl AsyncRead + Unpin + ?Sized),
    buf: &mut BytesMut,
    side: &'static str,
    parse: impl Fn(&[u8]) -> Result<Option<(T, usize)>, HandshakeError>,
) -> Result<T, SessionError> {
    loop {
        match parse(buf).map_err(|source| SessionError::Handshake { side, source })? {
            Some((item, used)) => {
                buf.advance(used);
                return Ok(item);
            }
            None => fill(io, buf, side).await?,
        }
    }
}

/// Reads the client's 20-byte opening.
pub(crate) async fn read_client_hello(
    client: &mut (impl AsyncRead + Unpin + ?Sized),
    buf: &mut BytesMut,
) -> Result<ClientHello, SessionError> {
    read_item(client, buf, "client", |b| {
        Ok(ClientHello::parse(b)?.map(|h| (h, boltward_protocol::handshake::CLIENT_HELLO_LEN)))
    })
    .await
}

/// Outcome of the relay.
pub(crate) enum Negotiated {
    /// Both sides agreed on a version.
    Version(Version),
    /// No common version; both sides were told and the connection ends.
    None,
}

/// Relays the handshake once the client's opening is read and the upstream is connected.
/// `client_buf` keeps whatever the client sent after its part of the handshake (HELLO).
pub(crate) async fn relay(
    hello: &ClientHello,
    client: &mut BoxStream,
    client_buf: &mut BytesMut,
    upstream: &mut BoxStream,
    upstream_buf: &mut BytesMut,
) -> Result<Negotiated, SessionError> {
    let narrowed = hello.narrowed(PARSED_VERSIONS, true);
    upstream
        .write_all(&narrowed.to_bytes())
        .await
        .map_err(SessionError::upstream)?;
    let reply = read_item(upstream, upstream_buf, "upstream", |b| {
        Ok(ServerReply::parse(b)?.map(|r| (r, 4)))
    })
    .await?;
    match reply {
        ServerReply::NoVersion => {
            client
                .write_all(&NO_VERSION)
                .await
                .map_err(SessionError::client)?;
            Ok(Negotiated::None)
        }
        ServerReply::Version(v) => {
            if narrowed.ranges().all(|r| !r.contains(v)) {
                client
                    .write_all(&NO_VERSION)
                    .await
                    .map_err(SessionError::client)?;
                return Err(SessionError::UnexpectedVersion(v));
            }
            client
                .write_all(&reply.to_bytes())
                .await
                .map_err(SessionError::client)?;
            Ok(Negotiated::Version(v))
        }
        ServerReply::Manifest(1) => {
            let offer = read_item(upstream, upstream_buf, "upstream", ManifestOffer::parse).await?;
            let offer = offer.restricted(PARSED_VERSIONS);
            let mut out = BytesMut::from(&MANIFEST_V1[..]);
            offer.encode(&mut out);
            client.write_all(&out).await.map_err(SessionError::client)?;
            let choice = read_item(client, client_buf, "client", ManifestChoice::parse).await?;
            let mut out = BytesMut::new();
            choice.encode(&mut out);
            upstream
                .write_all(&out)
                .await
                .map_err(SessionError::upstream)?;
            if choice.version == Version::new(0, 0) {
                return Ok(Negotiated::None);
            }
            if !offer.offers(choice.version) {
                return Err(SessionError::UnexpectedChoice(choice.version));
            }
            Ok(Negotiated::Version(choice.version))
        }
        ServerReply::Manifest(m) => Err(SessionError::Handshake {
            side: "upstream",
            source: HandshakeError::UnsupportedManifest(m),
        }),
    }
}
