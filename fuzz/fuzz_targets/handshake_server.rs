//! The server side of the handshake as a client (or proxy) reads it: the 4-byte reply and
//! a manifest offer, re-encoded to the same bytes.
#![no_main]
use boltward_protocol::handshake::{ManifestOffer, ServerReply, PARSED_VERSIONS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(Some(reply)) = ServerReply::parse(data) else {
        return;
    };
    assert_eq!(&reply.to_bytes()[..], &data[..4]);
    if let Ok(Some((offer, n))) = ManifestOffer::parse(&data[4..]) {
        let mut out = Vec::new();
        offer.encode(&mut out);
        assert!(out.len() <= n, "varints re-encode minimally");
        assert_eq!(
            ManifestOffer::parse(&out).unwrap(),
            Some((offer.clone(), out.len()))
        );
        let _ = offer.choose(PARSED_VERSIONS);
    }
});
