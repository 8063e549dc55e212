//! The snapshot record decoder (`boltward::snapshot::format`) on arbitrary bytes: the
//! uncompressed stream inside a `.bwsnap.gz` file. Half the inputs get a valid header so
//! the fuzzer reaches the record framing and the PackStream payloads.
//!
//! Nothing may panic; whatever decodes re-encodes to a stream that decodes to the same
//! bytes again.
#![no_main]
use boltward::snapshot::format::{decode_all, Header};
use boltward_protocol::{Dialect, Version};
use libfuzzer_sys::fuzz_target;

fn check(bytes: &[u8]) {
    let Ok((header, records)) = decode_all(bytes) else {
        return;
    };
    let mut once = Vec::new();
    header.write(&mut once).unwrap();
    for r in &records {
        r.encode(&mut once).expect("a decoded record encodes");
    }
    let (_, again) = decode_all(&once).expect("a re-encoded stream decodes");
    let mut twice = Vec::new();
    header.write(&mut twice).unwrap();
    for r in &again {
        r.encode(&mut twice).unwrap();
    }
    assert_eq!(once, twice);
}

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, rest)) => {
            let mut framed = Vec::new();
            Header::of(Dialect::new(Version::V5_4))
                .write(&mut framed)
                .unwrap();
            framed.extend_from_slice(rest);
            check(&framed);
        }
        _ => check(data),
    }
});
