//! Structured round trip: an arbitrary value, made valid for Bolt 6.0, encodes and decodes
//! back to itself (compared as bytes, so NaN payloads count).
#![no_main]
use boltward_protocol::packstream::structs::tag;
use boltward_protocol::packstream::{
    decode, to_vec, Decoder, Limits, Map, Node, UnboundRelationship, Value,
};
use boltward_protocol::{Dialect, PackError, Version};
use libfuzzer_sys::fuzz_target;

fn normalize_map(m: &mut Map) {
    let entries = std::mem::take(m).into_entries();
    for (k, mut v) in entries {
        normalize(&mut v);
        m.push(k, v);
    }
}

fn normalize_node(n: &mut Node) {
    n.element_id.get_or_insert_with(String::new);
    normalize_map(&mut n.properties);
}

fn normalize_unbound(r: &mut UnboundRelationship) {
    r.element_id.get_or_insert_with(String::new);
    normalize_map(&mut r.properties);
}

/// Rewrites the shapes Bolt 6.0 does not allow into ones it does, at any depth.
fn normalize(v: &mut Value) {
    match v {
        Value::List(l) => l.iter_mut().for_each(normalize),
        Value::Map(m) => normalize_map(m),
        Value::Node(n) => normalize_node(n),
        Value::Relationship(r) => {
            r.element_id.get_or_insert_with(String::new);
            r.start_node_element_id.get_or_insert_with(String::new);
            r.end_node_element_id.get_or_insert_with(String::new);
            normalize_map(&mut r.properties);
        }
        Value::UnboundRelationship(r) => normalize_unbound(r),
        Value::Path(p) => {
            p.nodes.iter_mut().for_each(normalize_node);
            p.relationships.iter_mut().for_each(normalize_unbound);
        }
        Value::Unsupported(u) => normalize_map(&mut u.extra),
        Value::LegacyDateTime(d) => *v = Value::DateTime(d.to_utc()),
        Value::LegacyDateTimeZoneId(_) => *v = Value::Null,
        Value::Vector(vec) => {
            let w = vec.element.width();
            vec.data.truncate(vec.data.len() / w * w);
        }
        Value::Uuid(_) => *v = Value::Null,
        Value::Structure(s) => {
            s.fields.truncate(15);
            s.fields.iter_mut().for_each(normalize);
            let typed = [
                tag::NODE,
                tag::RELATIONSHIP,
                tag::UNBOUND_RELATIONSHIP,
                tag::PATH,
                tag::DATE,
                tag::TIME,
                tag::LOCAL_TIME,
                tag::DATE_TIME,
                tag::DATE_TIME_ZONE_ID,
                tag::LOCAL_DATE_TIME,
                tag::DURATION,
                tag::POINT_2D,
                tag::POINT_3D,
                tag::VECTOR,
                tag::UNSUPPORTED,
            ];
            if typed.contains(&s.tag) {
                s.tag = 0x01;
            }
        }
        _ => {}
    }
}

fuzz_target!(|v: Value| {
    let mut v = v;
    normalize(&mut v);
    let bytes = to_vec(&v).expect("normalized values encode");
    let dialect = Dialect::new(Version::V6_0);
    let limits = Limits {
        max_depth: 10_000,
        ..Limits::default()
    };
    match Decoder::new(&bytes, dialect).with_limits(limits).value() {
        Ok(back) => assert_eq!(to_vec(&back).unwrap(), bytes),
        Err(PackError::TooDeep { .. }) => {}
        Err(e) => panic!("{e} for {v:?}"),
    }
    let _ = decode(&bytes, dialect);
});
