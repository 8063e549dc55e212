//! The journal's record, segment and entry decoders on arbitrary bytes. Two shapes of
//! input, chosen by the first byte:
//!
//! - raw: the bytes are a segment file as found on disk;
//! - framed: the bytes are payloads that get valid headers, checksums and chain hashes
//!   (so the fuzzer reaches the PackStream entry decoder and the chain checks instead of
//!   stopping at the checksum), with the kind and LSN taken from the input.
//!
//! Nothing may panic; a record that decodes re-encodes to the bytes it was read from, and
//! an entry that decodes re-encodes to a payload that decodes to the same bytes again.
#![no_main]
use boltward_journal::record::{Kind, Record, ZERO_HASH};
use boltward_journal::segment::{SegmentHeader, SegmentReader};
use boltward_journal::{Chain, Entry, FORMAT_VERSION};
use libfuzzer_sys::fuzz_target;

fn check(segment: &[u8]) {
    let _ = Chain::new().segment("fuzz", segment, true, true, |_, _, _| {});
    let _ = Chain::new().segment("fuzz", segment, false, false, |_, _, _| {});
    let Ok((_, reader)) = SegmentReader::new(segment) else {
        return;
    };
    for item in reader {
        let Ok((r, offset)) = item else { return };
        if let Ok(entry) = Entry::decode(r.kind, r.payload) {
            let once = entry.encode();
            let again = Entry::decode(entry.kind(), &once).expect("a re-encoded entry decodes");
            assert_eq!(again.encode(), once);
        }
        let mut out = Vec::new();
        let hash = Record::encode(r.kind, r.lsn, r.ts_micros, &r.prev, r.payload, &mut out);
        assert_eq!(hash, r.hash);
        assert_eq!(&segment[offset..offset + out.len()], &out[..]);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        return check(rest);
    }
    // Framed: [kind, lsn delta, len, payload…]*
    let mut seg = SegmentHeader {
        version: FORMAT_VERSION,
        first_lsn: 1,
    }
    .encode()
    .to_vec();
    let (mut lsn, mut prev, mut at) = (1u64, ZERO_HASH, 0);
    while at + 3 <= rest.len() {
        let kind = Kind::from_u8(rest[at] % 7).unwrap_or(Kind::Event);
        lsn += u64::from(rest[at + 1] == 0xFF);
        let len = (rest[at + 2] as usize).min(rest.len() - at - 3);
        let payload = &rest[at + 3..at + 3 + len];
        prev = Record::encode(kind, lsn, lsn as i64, &prev, payload, &mut seg);
        lsn += 1;
        at += 3 + len;
    }
    check(&seg);
});
