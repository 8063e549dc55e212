//! PackStream decoding under every dialect; whatever decodes re-encodes to bytes that
//! decode to the same value.
#![no_main]
use boltward_protocol::packstream::{decode, to_vec};
use boltward_protocol::{Dialect, Version};
use libfuzzer_sys::fuzz_target;

const DIALECTS: [Dialect; 5] = [
    Dialect::new(Version::V4_4),
    Dialect::new(Version::V4_4).with_utc_patch(true),
    Dialect::new(Version::V5_4),
    Dialect::new(Version::V6_0),
    Dialect::new(Version::V6_1),
];

fuzz_target!(|data: &[u8]| {
    let Some((&d, bytes)) = data.split_first() else {
        return;
    };
    let dialect = DIALECTS[d as usize % DIALECTS.len()];
    if let Ok(v) = decode(bytes, dialect) {
        let again = to_vec(&v).expect("a decoded value encodes");
        assert!(
            again.len() <= bytes.len(),
            "smallest markers never grow the value"
        );
        let back = decode(&again, dialect).expect("re-encoded bytes decode");
        assert_eq!(to_vec(&back).unwrap(), again);
    }
});
