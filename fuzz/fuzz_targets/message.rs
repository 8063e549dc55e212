//! Request and response decoding per negotiated version; decoded messages re-encode to
//! bytes that decode to the same message.
#![no_main]
use boltward_protocol::handshake::PARSED_VERSIONS;
use boltward_protocol::{Dialect, Request, Response, Version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let mut versions = PARSED_VERSIONS.to_vec();
    versions.push(Version::V4_3);
    let version = versions[(sel as usize >> 1) % versions.len()];
    let dialect = Dialect::new(version).with_utc_patch(sel & 1 == 1);
    if let Ok(req) = Request::decode(body, dialect) {
        let mut out = Vec::new();
        req.encode(version, &mut out)
            .expect("decoded request encodes");
        let back = Request::decode(&out, dialect).expect("re-encoded request decodes");
        assert_eq!(back.kind(), req.kind());
        let mut again = Vec::new();
        back.encode(version, &mut again).unwrap();
        assert_eq!(again, out);
    }
    if let Ok(resp) = Response::decode(body, dialect) {
        let mut out = Vec::new();
        resp.encode(&mut out).expect("decoded response encodes");
        let back = Response::decode(&out, dialect).expect("re-encoded response decodes");
        let mut again = Vec::new();
        back.encode(&mut again).unwrap();
        assert_eq!(again, out);
    }
});
