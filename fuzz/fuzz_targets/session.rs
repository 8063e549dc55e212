//! The session state machine: arbitrary interleavings of client requests, server answers
//! and journal outages. No panic; one answer per request, in request order; nothing
//! forwarded after a refusal before RESET; no write forwarded without a durable intent
//! (the harness asserts each rule on every step).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    boltward::proxy::session::fuzz(data);
});
