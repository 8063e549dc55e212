//! The client side of the handshake as a server (or proxy) reads it: the 20-byte opening,
//! negotiation, narrowing, and the manifest choice that follows it.
#![no_main]
use boltward_protocol::handshake::{ClientHello, ManifestChoice, PARSED_VERSIONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(hello)) = ClientHello::parse(data) else {
        return;
    };
    assert_eq!(&hello.to_bytes()[..], &data[..20]);
    let narrowed = hello.narrowed(PARSED_VERSIONS, true);
    // Narrowing never invents a version and never loses the best common one when it fits.
    for r in narrowed.ranges() {
        for minor in r.minor.saturating_sub(r.range)..=r.minor {
            let v = boltward_protocol::Version::new(r.major, minor);
            assert!(PARSED_VERSIONS.contains(&v));
            assert!(hello.ranges().any(|orig| orig.contains(v)));
        }
    }
    if let Some(v) = narrowed.negotiate(PARSED_VERSIONS) {
        assert!(hello.common_versions(PARSED_VERSIONS).contains(&v));
    }
    if let Ok(Some((choice, n))) = ManifestChoice::parse(&data[20..]) {
        let mut out = Vec::new();
        choice.encode(&mut out);
        assert!(n <= data.len() - 20);
        assert_eq!(
            ManifestChoice::parse(&out).unwrap(),
            Some((choice, out.len()))
        );
    }
});
