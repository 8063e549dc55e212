//! Chunked message framing.
//!
//! A message is one or more chunks (`u16` size + bytes) followed by `00 00`. An empty chunk
//! between messages is a NOOP keep-alive. [`ChunkDecoder`] reassembles messages from any
//! split of the byte stream and keeps the original wire bytes, so a proxy can forward a
//! message unchanged and decode its body only when it needs to. [`scan`] walks messages in
//! a buffer without copying, which is how large results are forwarded.

use crate::error::ChunkError;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Largest chunk the wire format allows.
pub const MAX_CHUNK_SIZE: usize = u16::MAX as usize;

/// Default maximum message body size (64 MiB).
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// One framed item from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A NOOP keep-alive (`00 00` between messages).
    Noop,
    /// A complete message.
    Message(RawMessage),
}

/// A complete message as it came off the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    raw: Bytes,
    head: [u8; 2],
    body_len: usize,
}

impl RawMessage {
    /// The chunked wire bytes, chunk headers and the `00 00` terminator included.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// Consumes the message, returning its wire bytes.
    pub fn into_raw(self) -> Bytes {
        self.raw
    }

    /// Size of the reassembled body.
    pub fn body_len(&self) -> usize {
        self.body_len
    }

    /// The message tag, if the body starts with a structure marker.
    pub fn tag(&self) -> Option<u8> {
        signature(self.head, self.body_len)
    }

    /// The reassembled body: zero-copy for a single chunk, one copy otherwise.
    pub fn body(&self) -> Bytes {
        let first = chunk_len(&self.raw, 0);
        if first == self.body_len {
            return self.raw.slice(2..2 + first);
        }
        let mut body = BytesMut::with_capacity(self.body_len);
        let mut at = 0;
        loop {
            let n = chunk_len(&self.raw, at);
            if n == 0 {
                break;
            }
            body.extend_from_slice(&self.raw[at + 2..at + 2 + n]);
            at += 2 + n;
        }
        body.freeze()
    }
}

/// The body of one complete chunked message (as found by [`scan`]): borrowed when it is a
/// single chunk, copied otherwise. Stops at the terminator or at malformed framing.
pub fn body_of(raw: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let first = chunk_len(raw, 0);
    if first > 0 && chunk_len(raw, 2 + first) == 0 && raw.len() >= 2 + first {
        return std::borrow::Cow::Borrowed(&raw[2..2 + first]);
    }
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let n = chunk_len(raw, at);
        match raw.get(at + 2..at + 2 + n) {
            Some(chunk) if n > 0 => body.extend_from_slice(chunk),
            _ => break,
        }
        at += 2 + n;
    }
    std::borrow::Cow::Owned(body)
}

fn chunk_len(raw: &[u8], at: usize) -> usize {
    match raw.get(at..at + 2) {
        Some(h) => u16::from_be_bytes([h[0], h[1]]) as usize,
        None => 0,
    }
}

fn signature(head: [u8; 2], body_len: usize) -> Option<u8> {
    (body_len >= 2 && head[0] & 0xF0 == 0xB0).then_some(head[1])
}

/// Progress through one message; shared by the decoder and the scanner.
#[derive(Debug, Clone, Copy, Default)]
struct Scan {
    offset: usize,
    body_len: usize,
    head: [u8; 2],
}

enum Step {
    Noop,
    Message(usize),
}

impl Scan {
    /// Advances over complete chunks; `Some(step)` once a NOOP or a whole message is seen.
    fn advance(&mut self, buf: &[u8], max: usize) -> Result<Option<Step>, ChunkError> {
        loop {
            let Some(h) = buf.get(self.offset..self.offset + 2) else {
                return Ok(None);
            };
            let size = u16::from_be_bytes([h[0], h[1]]) as usize;
            if size == 0 {
                return Ok(Some(if self.offset == 0 {
                    Step::Noop
                } else {
                    Step::Message(self.offset + 2)
                }));
            }
            let body_len = self.body_len + size;
            if body_len > max {
                return Err(ChunkError::MessageTooLarge {
                    size: body_len,
                    max,
                });
            }
            let end = self.offset + 2 + size;
            if end > buf.len() {
                return Ok(None);
            }
            for (i, b) in buf[self.offset + 2..end].iter().take(2).enumerate() {
                if let Some(slot) = self.head.get_mut(self.body_len + i) {
                    *slot = *b;
                }
            }
            self.body_len = body_len;
            self.offset = end;
        }
    }
}

/// Reassembles messages from a byte stream split in any way.
#[derive(Debug, Clone)]
pub struct ChunkDecoder {
    max_message_size: usize,
    scan: Scan,
}

impl Default for ChunkDecoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_SIZE)
    }
}

impl ChunkDecoder {
    /// A decoder that refuses message bodies larger than `max_message_size` bytes.
    pub fn new(max_message_size: usize) -> Self {
        ChunkDecoder {
            max_message_size,
            scan: Scan::default(),
        }
    }

    /// The configured maximum body size.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Takes the next NOOP or message off the front of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed; `buf` is left untouched then, and the bytes
    /// already checked are not scanned again on the next call.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, ChunkError> {
        match self.scan.advance(buf, self.max_message_size)? {
            None => Ok(None),
            Some(Step::Noop) => {
                buf.advance(2);
                Ok(Some(Frame::Noop))
            }
            Some(Step::Message(end)) => {
                let scan = std::mem::take(&mut self.scan);
                Ok(Some(Frame::Message(RawMessage {
                    raw: buf.split_to(end).freeze(),
                    head: scan.head,
                    body_len: scan.body_len,
                })))
            }
        }
    }
}

/// A message found by [`scan`], located in the scanned buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanned {
    /// Wire length of the message (or 2 for a NOOP).
    pub len: usize,
    /// Body length (0 for a NOOP).
    pub body_len: usize,
    /// Message tag (`None` for a NOOP or a body that is not a structure).
    pub tag: Option<u8>,
}

/// Looks at the first message (or NOOP) in `buf` without copying anything.
///
/// `Ok(None)` means `buf` does not hold a complete message yet.
pub fn scan(buf: &[u8], max_message_size: usize) -> Result<Option<Scanned>, ChunkError> {
    let mut s = Scan::default();
    Ok(match s.advance(buf, max_message_size)? {
        None => None,
        Some(Step::Noop) => Some(Scanned {
            len: 2,
            body_len: 0,
            tag: None,
        }),
        Some(Step::Message(len)) => Some(Scanned {
            len,
            body_len: s.body_len,
            tag: signature(s.head, s.body_len),
        }),
    })
}

/// Appends `body` as chunks of at most `max_chunk` bytes plus the `00 00` terminator.
///
/// `max_chunk` is clamped to `1..=65535`. An empty body is written as a lone terminator,
/// which readers see as a NOOP; Bolt messages are never empty.
pub fn write_chunked(body: &[u8], max_chunk: usize, out: &mut impl BufMut) {
    let max_chunk = max_chunk.clamp(1, MAX_CHUNK_SIZE);
    for chunk in body.chunks(max_chunk) {
        out.put_u16(chunk.len() as u16);
        out.put_slice(chunk);
    }
    out.put_u16(0);
}

/// `body` chunked at the largest chunk size.
pub fn chunked(body: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(body.len() + 4 + 2 * (body.len() / MAX_CHUNK_SIZE));
    write_chunked(body, MAX_CHUNK_SIZE, &mut out);
    out.freeze()
}
