//! Typed value structures (graph, temporal, spatial, vector) and their tags.
//!
//! Which tags are typed depends on the [`Dialect`]: Node and relationships change arity at
//! 5.0, DateTime switches from `F`/`f` to `I`/`i` at 5.0 (or with the 4.x `utc` patch),
//! and `V` / `?` exist from 6.0. A tag the dialect does not define stays a [`Structure`].

use super::value::{Map, Value};
use crate::error::PackError;
use crate::version::{Dialect, Version};

/// Value structure tags.
pub mod tag {
    /// Node.
    pub const NODE: u8 = 0x4E;
    /// Relationship.
    pub const RELATIONSHIP: u8 = 0x52;
    /// UnboundRelationship.
    pub const UNBOUND_RELATIONSHIP: u8 = 0x72;
    /// Path.
    pub const PATH: u8 = 0x50;
    /// Date.
    pub const DATE: u8 = 0x44;
    /// Time.
    pub const TIME: u8 = 0x54;
    /// LocalTime.
    pub const LOCAL_TIME: u8 = 0x74;
    /// DateTime, UTC based.
    pub const DATE_TIME: u8 = 0x49;
    /// DateTimeZoneId, UTC based.
    pub const DATE_TIME_ZONE_ID: u8 = 0x69;
    /// DateTime, legacy (local seconds).
    pub const LEGACY_DATE_TIME: u8 = 0x46;
    /// DateTimeZoneId, legacy (local seconds).
    pub const LEGACY_DATE_TIME_ZONE_ID: u8 = 0x66;
    /// LocalDateTime.
    pub const LOCAL_DATE_TIME: u8 = 0x64;
    /// Duration.
    pub const DURATION: u8 = 0x45;
    /// Point2D.
    pub const POINT_2D: u8 = 0x58;
    /// Point3D.
    pub const POINT_3D: u8 = 0x59;
    /// Vector (6.0+).
    pub const VECTOR: u8 = 0x56;
    /// UnsupportedType (6.0+).
    pub const UNSUPPORTED: u8 = 0x3F;
}

/// A node. `element_id` is present from Bolt 5.0.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Node {
    /// Legacy numeric id.
    pub id: i64,
    /// Labels.
    pub labels: Vec<String>,
    /// Properties.
    pub properties: Map,
    /// Element id (5.0+).
    pub element_id: Option<String>,
}

/// A relationship with its endpoints. Element ids are present from Bolt 5.0.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Relationship {
    /// Legacy numeric id.
    pub id: i64,
    /// Start node id.
    pub start_node_id: i64,
    /// End node id.
    pub end_node_id: i64,
    /// Relationship type.
    pub rel_type: String,
    /// Properties.
    pub properties: Map,
    /// Element id (5.0+).
    pub element_id: Option<String>,
    /// Start node element id (5.0+).
    pub start_node_element_id: Option<String>,
    /// End node element id (5.0+).
    pub end_node_element_id: Option<String>,
}

/// A relationship inside a path, without endpoints.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct UnboundRelationship {
    /// Legacy numeric id.
    pub id: i64,
    /// Relationship type.
    pub rel_type: String,
    /// Properties.
    pub properties: Map,
    /// Element id (5.0+).
    pub element_id: Option<String>,
}

/// A path: nodes, relationships and the index sequence that links them.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Path {
    /// Distinct nodes.
    pub nodes: Vec<Node>,
    /// Distinct relationships.
    pub relationships: Vec<UnboundRelationship>,
    /// Pairs of (1-based signed relationship index, 0-based node index).
    pub indices: Vec<i64>,
}

/// Days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Date {
    /// Days since the epoch.
    pub days: i64,
}

/// Time of day with a UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Time {
    /// Nanoseconds since local midnight.
    pub nanoseconds: i64,
    /// Offset from UTC in seconds.
    pub tz_offset_seconds: i64,
}

/// Time of day without zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LocalTime {
    /// Nanoseconds since midnight.
    pub nanoseconds: i64,
}

/// An instant with a fixed offset; `seconds` are UTC epoch seconds (tag `I`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct DateTime {
    /// UTC seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
    /// Offset from UTC in seconds.
    pub tz_offset_seconds: i64,
}

/// An instant in a named zone; `seconds` are UTC epoch seconds (tag `i`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct DateTimeZoneId {
    /// UTC seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
    /// IANA zone id.
    pub tz_id: String,
}

/// Legacy DateTime (tag `F`): `seconds` are *local* (UTC seconds plus the offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LegacyDateTime {
    /// Local seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
    /// Offset from UTC in seconds.
    pub tz_offset_seconds: i64,
}

impl LegacyDateTime {
    /// The same instant in the UTC-based form.
    pub fn to_utc(self) -> DateTime {
        DateTime {
            seconds: self.seconds.wrapping_sub(self.tz_offset_seconds),
            nanoseconds: self.nanoseconds,
            tz_offset_seconds: self.tz_offset_seconds,
        }
    }
}

/// Legacy DateTimeZoneId (tag `f`): `seconds` are local wall-clock seconds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LegacyDateTimeZoneId {
    /// Local seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
    /// IANA zone id.
    pub tz_id: String,
}

/// Date and time without zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LocalDateTime {
    /// Wall-clock seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
}

/// A temporal amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Duration {
    /// Months.
    pub months: i64,
    /// Days.
    pub days: i64,
    /// Seconds.
    pub seconds: i64,
    /// Nanoseconds.
    pub nanoseconds: i64,
}

/// A 2D point.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Point2D {
    /// Coordinate reference system id.
    pub srid: i64,
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
}

/// A 3D point.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Point3D {
    /// Coordinate reference system id.
    pub srid: i64,
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
}

/// Element type of a [`Vector`], named by the PackStream marker of its scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum VectorType {
    /// `C8`.
    Int8,
    /// `C9`.
    Int16,
    /// `CA`.
    Int32,
    /// `CB`.
    Int64,
    /// `C6`.
    Float32,
    /// `C1`.
    Float64,
}

impl VectorType {
    /// The type of a marker byte.
    pub fn from_marker(m: u8) -> Option<Self> {
        Some(match m {
            0xC8 => Self::Int8,
            0xC9 => Self::Int16,
            0xCA => Self::Int32,
            0xCB => Self::Int64,
            0xC6 => Self::Float32,
            0xC1 => Self::Float64,
            _ => return None,
        })
    }

    /// The marker byte.
    pub fn marker(self) -> u8 {
        match self {
            Self::Int8 => 0xC8,
            Self::Int16 => 0xC9,
            Self::Int32 => 0xCA,
            Self::Int64 => 0xCB,
            Self::Float32 => 0xC6,
            Self::Float64 => 0xC1,
        }
    }

    /// Bytes per element.
    pub fn width(self) -> usize {
        match self {
            Self::Int8 => 1,
            Self::Int16 => 2,
            Self::Int32 | Self::Float32 => 4,
            Self::Int64 | Self::Float64 => 8,
        }
    }
}

/// A dense vector (Bolt 6.0+): big-endian elements packed without markers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Vector {
    /// Element type.
    pub element: VectorType,
    /// Packed big-endian elements; its length is a multiple of the element width.
    pub data: Vec<u8>,
}

/// A value the server cannot express in this version (Bolt 6.0+).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct UnsupportedType {
    /// Type name.
    pub name: String,
    /// Minimum Bolt major version that can carry it.
    pub min_major: i64,
    /// Minimum Bolt minor version.
    pub min_minor: i64,
    /// Extra information (`message`).
    pub extra: Map,
}

/// A structure the dialect does not define, kept as it came.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Structure {
    /// Tag byte.
    pub tag: u8,
    /// Fields (at most 15 on the wire).
    pub fields: Vec<Value>,
}

/// Field-by-field reader for typed structures.
struct Fields {
    name: &'static str,
    it: std::vec::IntoIter<Value>,
}

impl Fields {
    fn new(
        name: &'static str,
        fields: Vec<Value>,
        expected: usize,
        version: Version,
    ) -> Result<Self, PackError> {
        if fields.len() != expected {
            return Err(PackError::StructArity {
                name,
                got: fields.len(),
                expected,
                version,
            });
        }
        Ok(Fields {
            name,
            it: fields.into_iter(),
        })
    }

    fn bad(&self, field: &'static str, expected: &'static str) -> PackError {
        PackError::StructField {
            name: self.name,
            field,
            expected,
        }
    }

    fn next(&mut self, field: &'static str) -> Result<Value, PackError> {
        self.it.next().ok_or_else(|| self.bad(field, "present"))
    }

    fn int(&mut self, field: &'static str) -> Result<i64, PackError> {
        match self.next(field)? {
            Value::Integer(i) => Ok(i),
            _ => Err(self.bad(field, "an integer")),
        }
    }

    fn float(&mut self, field: &'static str) -> Result<f64, PackError> {
        match self.next(field)? {
            Value::Float(f) => Ok(f),
            _ => Err(self.bad(field, "a float")),
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, PackError> {
        match self.next(field)? {
            Value::String(s) => Ok(s),
            _ => Err(self.bad(field, "a string")),
        }
    }

    fn bytes(&mut self, field: &'static str) -> Result<Vec<u8>, PackError> {
        match self.next(field)? {
            Value::Bytes(b) => Ok(b),
            _ => Err(self.bad(field, "bytes")),
        }
    }

    fn map(&mut self, field: &'static str) -> Result<Map, PackError> {
        match self.next(field)? {
            Value::Map(m) => Ok(m),
            _ => Err(self.bad(field, "a map")),
        }
    }

    fn list(&mut self, field: &'static str) -> Result<Vec<Value>, PackError> {
        match self.next(field)? {
            Value::List(l) => Ok(l),
            _ => Err(self.bad(field, "a list")),
        }
    }

    fn strings(&mut self, field: &'static str) -> Result<Vec<String>, PackError> {
        self.list(field)?
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(self.bad(field, "a list of strings")),
            })
            .collect()
    }

    fn opt_string(
        &mut self,
        field: &'static str,
        present: bool,
    ) -> Result<Option<String>, PackError> {
        if present {
            self.string(field).map(Some)
        } else {
            Ok(None)
        }
    }
}

fn node(fields: Vec<Value>, version: Version) -> Result<Node, PackError> {
    let ids = version.has_element_ids();
    let mut f = Fields::new("Node", fields, if ids { 4 } else { 3 }, version)?;
    Ok(Node {
        id: f.int("id")?,
        labels: f.strings("labels")?,
        properties: f.map("properties")?,
        element_id: f.opt_string("element_id", ids)?,
    })
}

fn unbound(fields: Vec<Value>, version: Version) -> Result<UnboundRelationship, PackError> {
    let ids = version.has_element_ids();
    let mut f = Fields::new(
        "UnboundRelationship",
        fields,
        if ids { 4 } else { 3 },
        version,
    )?;
    Ok(UnboundRelationship {
        id: f.int("id")?,
        rel_type: f.string("type")?,
        properties: f.map("properties")?,
        element_id: f.opt_string("element_id", ids)?,
    })
}

/// Turns a decoded structure into its typed value under `dialect`.
pub(crate) fn typed(tag: u8, fields: Vec<Value>, dialect: Dialect) -> Result<Value, PackError> {
    let v = dialect.version;
    let utc = dialect.utc_datetime();
    Ok(match tag {
        tag::NODE => Value::Node(Box::new(node(fields, v)?)),
        tag::RELATIONSHIP => {
            let ids = v.has_element_ids();
            let mut f = Fields::new("Relationship", fields, if ids { 8 } else { 5 }, v)?;
            Value::Relationship(Box::new(Relationship {
                id: f.int("id")?,
                start_node_id: f.int("start_node_id")?,
                end_node_id: f.int("end_node_id")?,
                rel_type: f.string("type")?,
                properties: f.map("properties")?,
                element_id: f.opt_string("element_id", ids)?,
                start_node_element_id: f.opt_string("start_node_element_id", ids)?,
                end_node_element_id: f.opt_string("end_node_element_id", ids)?,
            }))
        }
        tag::UNBOUND_RELATIONSHIP => Value::UnboundRelationship(Box::new(unbound(fields, v)?)),
        tag::PATH => {
            let mut f = Fields::new("Path", fields, 3, v)?;
            let nodes = f
                .list("nodes")?
                .into_iter()
                .map(|n| match n {
                    Value::Node(n) => Ok(*n),
                    _ => Err(f.bad("nodes", "a list of nodes")),
                })
                .collect::<Result<_, _>>()?;
            let relationships = f
                .list("relationships")?
                .into_iter()
                .map(|r| match r {
                    Value::UnboundRelationship(r) => Ok(*r),
                    _ => Err(f.bad("relationships", "a list of unbound relationships")),
                })
                .collect::<Result<_, _>>()?;
            let indices = f
                .list("indices")?
                .into_iter()
                .map(|i| {
                    i.as_int()
                        .ok_or_else(|| f.bad("indices", "a list of integers"))
                })
                .collect::<Result<_, _>>()?;
            Value::Path(Box::new(Path {
                nodes,
                relationships,
                indices,
            }))
        }
        tag::DATE => {
            let mut f = Fields::new("Date", fields, 1, v)?;
            Value::Date(Date {
                days: f.int("days")?,
            })
        }
        tag::TIME => {
            let mut f = Fields::new("Time", fields, 2, v)?;
            Value::Time(Time {
                nanoseconds: f.int("nanoseconds")?,
                tz_offset_seconds: f.int("tz_offset_seconds")?,
            })
        }
        tag::LOCAL_TIME => {
            let mut f = Fields::new("LocalTime", fields, 1, v)?;
            Value::LocalTime(LocalTime {
                nanoseconds: f.int("nanoseconds")?,
            })
        }
        tag::DATE_TIME if utc => {
            let mut f = Fields::new("DateTime", fields, 3, v)?;
            Value::DateTime(DateTime {
                seconds: f.int("seconds")?,
                nanoseconds: f.int("nanoseconds")?,
                tz_offset_seconds: f.int("tz_offset_seconds")?,
            })
        }
        tag::DATE_TIME_ZONE_ID if utc => {
            let mut f = Fields::new("DateTimeZoneId", fields, 3, v)?;
            Value::DateTimeZoneId(Box::new(DateTimeZoneId {
                seconds: f.int("seconds")?,
                nanoseconds: f.int("nanoseconds")?,
                tz_id: f.string("tz_id")?,
            }))
        }
        tag::LEGACY_DATE_TIME if !utc => {
            let mut f = Fields::new("LegacyDateTime", fields, 3, v)?;
            Value::LegacyDateTime(LegacyDateTime {
                seconds: f.int("seconds")?,
                nanoseconds: f.int("nanoseconds")?,
                tz_offset_seconds: f.int("tz_offset_seconds")?,
            })
        }
        tag::LEGACY_DATE_TIME_ZONE_ID if !utc => {
            let mut f = Fields::new("LegacyDateTimeZoneId", fields, 3, v)?;
            Value::LegacyDateTimeZoneId(Box::new(LegacyDateTimeZoneId {
                seconds: f.int("seconds")?,
                nanoseconds: f.int("nanoseconds")?,
                tz_id: f.string("tz_id")?,
            }))
        }
        tag::LOCAL_DATE_TIME => {
            let mut f = Fields::new("LocalDateTime", fields, 2, v)?;
            Value::LocalDateTime(LocalDateTime {
                seconds: f.int("seconds")?,
                nanoseconds: f.int("nanoseconds")?,
            })
        }
        tag::DURATION => {
            let mut f = Fields::new("Duration", fields, 4, v)?;
            Value::Duration(Box::new(Duration {
                months: f.int("months")?,
                days: f.int("days")?,
                seconds: f.int("seconds")?,
                nanoseconds: f.int("nanoseconds")?,
            }))
        }
        tag::POINT_2D => {
            let mut f = Fields::new("Point2D", fields, 3, v)?;
            Value::Point2D(Point2D {
                srid: f.int("srid")?,
                x: f.float("x")?,
                y: f.float("y")?,
            })
        }
        tag::POINT_3D => {
            let mut f = Fields::new("Point3D", fields, 4, v)?;
            Value::Point3D(Box::new(Point3D {
                srid: f.int("srid")?,
                x: f.float("x")?,
                y: f.float("y")?,
                z: f.float("z")?,
            }))
        }
        tag::VECTOR if v.has_vectors() => {
            let mut f = Fields::new("Vector", fields, 2, v)?;
            let marker = f.bytes("type_marker")?;
            let element = match marker.as_slice() {
                [m] => VectorType::from_marker(*m),
                _ => None,
            }
            .ok_or_else(|| f.bad("type_marker", "one of C8 C9 CA CB C6 C1"))?;
            let data = f.bytes("data")?;
            if data.len() % element.width() != 0 {
                return Err(f.bad("data", "a whole number of elements"));
            }
            Value::Vector(Box::new(Vector { element, data }))
        }
        tag::UNSUPPORTED if v.has_vectors() => {
            let mut f = Fields::new("UnsupportedType", fields, 4, v)?;
            Value::Unsupported(Box::new(UnsupportedType {
                name: f.string("name")?,
                min_major: f.int("min_major")?,
                min_minor: f.int("min_minor")?,
                extra: f.map("extra")?,
            }))
        }
        _ => Value::Structure(Box::new(Structure { tag, fields })),
    })
}

/// The generic `(tag, fields)` form of a structure value (typed or not); `None` for
/// values that are not structures. Used for canonical renderings and fingerprints.
pub fn to_structure(value: &Value) -> Option<Structure> {
    let s = |tag, fields: Vec<Value>| Some(Structure { tag, fields });
    let ints = |v: &[i64]| v.iter().map(|i| Value::Integer(*i)).collect::<Vec<_>>();
    let node = |n: &Node| {
        let mut f = vec![
            Value::Integer(n.id),
            Value::List(n.labels.iter().map(|l| Value::from(l.as_str())).collect()),
            Value::Map(n.properties.clone()),
        ];
        f.extend(n.element_id.as_deref().map(Value::from));
        Value::Structure(Box::new(Structure {
            tag: tag::NODE,
            fields: f,
        }))
    };
    let unbound = |r: &UnboundRelationship| {
        let mut f = vec![
            Value::Integer(r.id),
            Value::from(r.rel_type.as_str()),
            Value::Map(r.properties.clone()),
        ];
        f.extend(r.element_id.as_deref().map(Value::from));
        Value::Structure(Box::new(Structure {
            tag: tag::UNBOUND_RELATIONSHIP,
            fields: f,
        }))
    };
    let generic = |v: Value| match v {
        Value::Structure(b) => *b,
        _ => Structure {
            tag: 0,
            fields: vec![],
        },
    };
    match value {
        Value::Node(n) => Some(generic(node(n))),
        Value::UnboundRelationship(r) => Some(generic(unbound(r))),
        Value::Relationship(r) => {
            let mut f = vec![
                Value::Integer(r.id),
                Value::Integer(r.start_node_id),
                Value::Integer(r.end_node_id),
                Value::from(r.rel_type.as_str()),
                Value::Map(r.properties.clone()),
            ];
            if let Some(e) = &r.element_id {
                f.push(Value::from(e.as_str()));
                f.push(Value::from(
                    r.start_node_element_id.as_deref().unwrap_or(""),
                ));
                f.push(Value::from(r.end_node_element_id.as_deref().unwrap_or("")));
            }
            s(tag::RELATIONSHIP, f)
        }
        Value::Path(p) => s(
            tag::PATH,
            vec![
                Value::List(p.nodes.iter().map(node).collect()),
                Value::List(p.relationships.iter().map(unbound).collect()),
                Value::List(ints(&p.indices)),
            ],
        ),
        Value::Date(d) => s(tag::DATE, ints(&[d.days])),
        Value::Time(t) => s(tag::TIME, ints(&[t.nanoseconds, t.tz_offset_seconds])),
        Value::LocalTime(t) => s(tag::LOCAL_TIME, ints(&[t.nanoseconds])),
        Value::DateTime(d) => s(
            tag::DATE_TIME,
            ints(&[d.seconds, d.nanoseconds, d.tz_offset_seconds]),
        ),
        Value::LegacyDateTime(d) => s(
            tag::LEGACY_DATE_TIME,
            ints(&[d.seconds, d.nanoseconds, d.tz_offset_seconds]),
        ),
        Value::DateTimeZoneId(d) => s(
            tag::DATE_TIME_ZONE_ID,
            vec![
                Value::Integer(d.seconds),
                Value::Integer(d.nanoseconds),
                Value::from(d.tz_id.as_str()),
            ],
        ),
        Value::LegacyDateTimeZoneId(d) => s(
            tag::LEGACY_DATE_TIME_ZONE_ID,
            vec![
                Value::Integer(d.seconds),
                Value::Integer(d.nanoseconds),
                Value::from(d.tz_id.as_str()),
            ],
        ),
        Value::LocalDateTime(d) => s(tag::LOCAL_DATE_TIME, ints(&[d.seconds, d.nanoseconds])),
        Value::Duration(d) => s(
            tag::DURATION,
            ints(&[d.months, d.days, d.seconds, d.nanoseconds]),
        ),
        Value::Point2D(p) => s(
            tag::POINT_2D,
            vec![Value::Integer(p.srid), Value::Float(p.x), Value::Float(p.y)],
        ),
        Value::Point3D(p) => s(
            tag::POINT_3D,
            vec![
                Value::Integer(p.srid),
                Value::Float(p.x),
                Value::Float(p.y),
                Value::Float(p.z),
            ],
        ),
        Value::Vector(v) => s(
            tag::VECTOR,
            vec![
                Value::Bytes(vec![v.element.marker()]),
                Value::Bytes(v.data.clone()),
            ],
        ),
        Value::Unsupported(u) => s(
            tag::UNSUPPORTED,
            vec![
                Value::from(u.name.as_str()),
                Value::Integer(u.min_major),
                Value::Integer(u.min_minor),
                Value::Map(u.extra.clone()),
            ],
        ),
        Value::Structure(st) => Some((**st).clone()),
        _ => None,
    }
}
