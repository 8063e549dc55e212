//! proptest strategies for values (every typed structure valid on Bolt 6.0).

use boltward_protocol::packstream::structs::*;
use boltward_protocol::{Map, Value};
use proptest::prelude::*;

pub fn map_of(v: impl Strategy<Value = Value>) -> impl Strategy<Value = Map> {
    prop::collection::vec(("[a-z_]{0,12}", v), 0..20).prop_map(|entries| {
        let mut m = Map::new();
        for (k, v) in entries {
            m.insert(k, v);
        }
        m
    })
}

pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Boolean),
        any::<i64>().prop_map(Value::Integer),
        (-200i64..70_000).prop_map(Value::Integer),
        any::<u64>().prop_map(|b| Value::Float(f64::from_bits(b))),
        ".{0,40}".prop_map(Value::String),
        prop::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
    ]
}

fn node(ids: bool) -> impl Strategy<Value = Node> {
    (
        any::<i64>(),
        prop::collection::vec("[A-Za-z]{1,8}", 0..4),
        map_of(scalar()),
        "[a-z0-9:]{1,10}",
    )
        .prop_map(move |(id, labels, properties, e)| Node {
            id,
            labels,
            properties,
            element_id: ids.then_some(e),
        })
}

fn unbound(ids: bool) -> impl Strategy<Value = UnboundRelationship> {
    (
        any::<i64>(),
        "[A-Z_]{1,8}",
        map_of(scalar()),
        "[a-z0-9:]{1,10}",
    )
        .prop_map(move |(id, t, properties, e)| UnboundRelationship {
            id,
            rel_type: t,
            properties,
            element_id: ids.then_some(e),
        })
}

/// Typed structures valid on Bolt 6.0 (element ids, UTC DateTime, vectors).
pub fn structure() -> impl Strategy<Value = Value> {
    let i = any::<i64>;
    let vector =
        (0usize..6, prop::collection::vec(any::<u8>(), 0..64)).prop_map(|(t, mut data)| {
            let element = [
                VectorType::Int8,
                VectorType::Int16,
                VectorType::Int32,
                VectorType::Int64,
                VectorType::Float32,
                VectorType::Float64,
            ][t];
            data.truncate(data.len() / element.width() * element.width());
            Value::Vector(Box::new(Vector { element, data }))
        });
    prop_oneof![
        node(true).prop_map(|n| Value::Node(Box::new(n))),
        unbound(true).prop_map(|r| Value::UnboundRelationship(Box::new(r))),
        (
            i(),
            i(),
            i(),
            "[A-Z]{1,6}",
            map_of(scalar()),
            "[a-z0-9]{1,4}",
            "[a-z0-9]{1,4}",
            "[a-z0-9]{1,4}"
        )
            .prop_map(|(id, s, e, t, p, a, b, c)| Value::Relationship(Box::new(
                Relationship {
                    id,
                    start_node_id: s,
                    end_node_id: e,
                    rel_type: t,
                    properties: p,
                    element_id: Some(a),
                    start_node_element_id: Some(b),
                    end_node_element_id: Some(c),
                }
            ))),
        (
            prop::collection::vec(node(true), 0..3),
            prop::collection::vec(unbound(true), 0..3),
            prop::collection::vec(-5i64..5, 0..6)
        )
            .prop_map(
                |(nodes, relationships, indices)| Value::Path(Box::new(Path {
                    nodes,
                    relationships,
                    indices
                }))
            ),
        i().prop_map(|days| Value::Date(Date { days })),
        (i(), i()).prop_map(|(n, o)| Value::Time(Time {
            nanoseconds: n,
            tz_offset_seconds: o
        })),
        i().prop_map(|n| Value::LocalTime(LocalTime { nanoseconds: n })),
        (i(), i(), i()).prop_map(|(s, n, o)| Value::DateTime(DateTime {
            seconds: s,
            nanoseconds: n,
            tz_offset_seconds: o
        })),
        (i(), i(), "[A-Za-z/_]{1,20}").prop_map(|(s, n, z)| Value::DateTimeZoneId(Box::new(
            DateTimeZoneId {
                seconds: s,
                nanoseconds: n,
                tz_id: z
            }
        ))),
        (i(), i()).prop_map(|(s, n)| Value::LocalDateTime(LocalDateTime {
            seconds: s,
            nanoseconds: n
        })),
        (i(), i(), i(), i()).prop_map(|(m, d, s, n)| Value::Duration(Box::new(Duration {
            months: m,
            days: d,
            seconds: s,
            nanoseconds: n
        }))),
        (i(), any::<f64>(), any::<f64>()).prop_map(|(srid, x, y)| Value::Point2D(Point2D {
            srid,
            x,
            y
        })),
        (i(), any::<f64>(), any::<f64>(), any::<f64>())
            .prop_map(|(srid, x, y, z)| Value::Point3D(Box::new(Point3D { srid, x, y, z }))),
        vector,
        ("[A-Z]{1,8}", i(), i(), map_of(scalar())).prop_map(|(name, a, b, extra)| {
            Value::Unsupported(Box::new(UnsupportedType {
                name,
                min_major: a,
                min_minor: b,
                extra,
            }))
        }),
        (1u8..0x30, prop::collection::vec(scalar(), 0..15))
            .prop_filter("not a typed tag", |(t, _)| ![0x3F].contains(t))
            .prop_map(|(tag, fields)| Value::Structure(Box::new(Structure { tag, fields }))),
    ]
}

pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![4 => scalar(), 1 => structure()];
    leaf.prop_recursive(5, 256, 20, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..20).prop_map(Value::List),
            map_of(inner).prop_map(Value::Map),
        ]
    })
}
