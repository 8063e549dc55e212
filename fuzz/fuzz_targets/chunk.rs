//! The chunk decoder fed the input in pieces whose sizes come from the input itself; the
//! scanner must agree with the decoder on every message.
#![no_main]
use boltward_protocol::chunk::{scan, ChunkDecoder, Frame};
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let split = split as usize % 17 + 1;
    let mut dec = ChunkDecoder::new(MAX);
    let mut buf = BytesMut::new();
    let mut offset = 0;
    for piece in stream.chunks(split) {
        buf.extend_from_slice(piece);
        loop {
            let scanned = scan(&buf, MAX);
            match dec.decode(&mut buf) {
                Ok(Some(Frame::Noop)) => {
                    assert_eq!(scanned.unwrap().unwrap().len, 2);
                    offset += 2;
                }
                Ok(Some(Frame::Message(m))) => {
                    let s = scanned.unwrap().unwrap();
                    assert_eq!(s.len, m.raw().len());
                    assert_eq!(s.tag, m.tag());
                    assert_eq!(m.body().len(), m.body_len());
                    assert!(m.body_len() <= MAX);
                    assert_eq!(m.raw().as_ref(), &stream[offset..offset + s.len]);
                    offset += s.len;
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
});
