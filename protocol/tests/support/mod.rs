//! Test helpers: a tiny byte builder, a Python-repr renderer (the captures are annotated
//! with Python reprs), and the canonical text form shared with the Python differential
//! script.
#![allow(dead_code)]

pub mod strategies;

use boltward_protocol::packstream::structs::{tag, to_structure};
use boltward_protocol::{Map, Value};

/// Builds PackStream bytes by hand, so golden vectors read like the spec.
#[derive(Default)]
pub struct B(pub Vec<u8>);

impl B {
    pub fn new() -> Self {
        B(Vec::new())
    }
    pub fn u8(mut self, b: u8) -> Self {
        self.0.push(b);
        self
    }
    pub fn raw(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn tiny_str(self, s: &str) -> Self {
        assert!(s.len() < 16);
        self.u8(0x80 | s.len() as u8).raw(s.as_bytes())
    }
    pub fn tiny_map(self, n: u8) -> Self {
        self.u8(0xA0 | n)
    }
    pub fn tiny_list(self, n: u8) -> Self {
        self.u8(0x90 | n)
    }
    pub fn structure(self, fields: u8, tag: u8) -> Self {
        self.u8(0xB0 | fields).u8(tag)
    }
    /// `key` as a tiny string, then `value` bytes.
    pub fn entry(self, key: &str, value: &[u8]) -> Self {
        self.tiny_str(key).raw(value)
    }
    pub fn done(self) -> Vec<u8> {
        self.0
    }
}

/// Hex of `b`, upper case, space separated (the captures' style).
pub fn hex_spaced(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses "00 0A B1 ..." hex.
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s.split_whitespace().collect::<String>()).expect("hex")
}

fn py_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::new();
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn py_float(f: f64) -> String {
    if f.is_nan() {
        "nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        }
    } else if f == f.trunc() && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn struct_name(t: u8) -> &'static str {
    match t {
        tag::NODE => "Node",
        tag::RELATIONSHIP => "Relationship",
        tag::UNBOUND_RELATIONSHIP => "UnboundRelationship",
        tag::PATH => "Path",
        tag::DATE => "Date",
        tag::TIME => "Time",
        tag::LOCAL_TIME => "LocalTime",
        tag::DATE_TIME => "DateTime",
        tag::DATE_TIME_ZONE_ID => "DateTimeZoneId",
        tag::LEGACY_DATE_TIME => "LegacyDateTime",
        tag::LEGACY_DATE_TIME_ZONE_ID => "LegacyDateTimeZoneId",
        tag::LOCAL_DATE_TIME => "LocalDateTime",
        tag::DURATION => "Duration",
        tag::POINT_2D => "Point2D",
        tag::POINT_3D => "Point3D",
        _ => "Structure",
    }
}

/// Renders a map as a Python dict repr; `credentials` shown as '<redacted>' like the captures.
pub fn py_map(m: &Map) -> String {
    let items: Vec<String> = m
        .iter()
        .map(|(k, v)| {
            let v = if k == "credentials" {
                py_str("<redacted>")
            } else {
                py(v)
            };
            format!("{}: {}", py_str(k), v)
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Renders a value the way the capture annotations do (Python repr; structures as
/// `Name<0xTT>(fields)`).
pub fn py(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Boolean(true) => "True".into(),
        Value::Boolean(false) => "False".into(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => py_float(*f),
        Value::String(s) => py_str(s),
        Value::Bytes(b) => format!(
            "b'{}'",
            b.iter().map(|x| format!("\\x{x:02x}")).collect::<String>()
        ),
        Value::List(l) => format!("[{}]", l.iter().map(py).collect::<Vec<_>>().join(", ")),
        Value::Map(m) => py_map(m),
        other => {
            let s = to_structure(other).expect("structure");
            format!(
                "{}<0x{:02X}>({})",
                struct_name(s.tag),
                s.tag,
                s.fields.iter().map(py).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

/// Canonical text shared with tests/differential/packstream_diff.py.
pub fn canon(v: &Value) -> String {
    match v {
        Value::Null => "N".into(),
        Value::Boolean(true) => "T".into(),
        Value::Boolean(false) => "F".into(),
        Value::Integer(i) => format!("I{i}"),
        Value::Float(f) => format!("D{:016x}", f.to_bits()),
        Value::String(s) => format!("S{}", hex::encode(s.as_bytes())),
        Value::Bytes(b) => format!("B{}", hex::encode(b)),
        Value::List(l) => format!("L[{}]", l.iter().map(canon).collect::<Vec<_>>().join(",")),
        Value::Map(m) => format!(
            "M{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}:{}", hex::encode(k.as_bytes()), canon(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Uuid(u) => format!("U{}", hex::encode(u)),
        other => {
            let s = to_structure(other).expect("structure");
            format!(
                "X{:02x}({})",
                s.tag,
                s.fields.iter().map(canon).collect::<Vec<_>>().join(",")
            )
        }
    }
}
