//! Encoding PackStream, always with the smallest marker.

use super::marker::*;
use super::structs::{tag, Node, Structure, UnboundRelationship};
use super::value::{Map, Value};
use crate::error::EncodeError;
use bytes::BufMut;

/// Appends `value` to `out`.
pub fn encode(value: &Value, out: &mut impl BufMut) -> Result<(), EncodeError> {
    match value {
        Value::Null => out.put_u8(NULL),
        Value::Boolean(b) => write_bool(out, *b),
        Value::Integer(i) => write_int(out, *i),
        Value::Float(f) => write_float(out, *f),
        Value::Bytes(b) => write_bytes(out, b)?,
        Value::String(s) => write_string(out, s)?,
        Value::List(items) => {
            write_list_header(out, items.len())?;
            for item in items {
                encode(item, out)?;
            }
        }
        Value::Map(map) => write_map(out, map)?,
        Value::Node(n) => write_node(out, n)?,
        Value::Relationship(r) => {
            let ids = r.element_id.is_some();
            write_struct_header(out, if ids { 8 } else { 5 }, tag::RELATIONSHIP)?;
            write_int(out, r.id);
            write_int(out, r.start_node_id);
            write_int(out, r.end_node_id);
            write_string(out, &r.rel_type)?;
            write_map(out, &r.properties)?;
            if let Some(e) = &r.element_id {
                write_string(out, e)?;
                write_string(out, r.start_node_element_id.as_deref().unwrap_or(""))?;
                write_string(out, r.end_node_element_id.as_deref().unwrap_or(""))?;
            }
        }
        Value::UnboundRelationship(r) => write_unbound(out, r)?,
        Value::Path(p) => {
            write_struct_header(out, 3, tag::PATH)?;
            write_list_header(out, p.nodes.len())?;
            for n in &p.nodes {
                write_node(out, n)?;
            }
            write_list_header(out, p.relationships.len())?;
            for r in &p.relationships {
                write_unbound(out, r)?;
            }
            write_list_header(out, p.indices.len())?;
            for i in &p.indices {
                write_int(out, *i);
            }
        }
        Value::Date(d) => write_ints(out, tag::DATE, &[d.days])?,
        Value::Time(t) => write_ints(out, tag::TIME, &[t.nanoseconds, t.tz_offset_seconds])?,
        Value::LocalTime(t) => write_ints(out, tag::LOCAL_TIME, &[t.nanoseconds])?,
        Value::DateTime(d) => write_ints(
            out,
            tag::DATE_TIME,
            &[d.seconds, d.nanoseconds, d.tz_offset_seconds],
        )?,
        Value::LegacyDateTime(d) => write_ints(
            out,
            tag::LEGACY_DATE_TIME,
            &[d.seconds, d.nanoseconds, d.tz_offset_seconds],
        )?,
        Value::DateTimeZoneId(d) => {
            write_struct_header(out, 3, tag::DATE_TIME_ZONE_ID)?;
            write_int(out, d.seconds);
            write_int(out, d.nanoseconds);
            write_string(out, &d.tz_id)?;
        }
        Value::LegacyDateTimeZoneId(d) => {
            write_struct_header(out, 3, tag::LEGACY_DATE_TIME_ZONE_ID)?;
            write_int(out, d.seconds);
            write_int(out, d.nanoseconds);
            write_string(out, &d.tz_id)?;
        }
        Value::LocalDateTime(d) => {
            write_ints(out, tag::LOCAL_DATE_TIME, &[d.seconds, d.nanoseconds])?
        }
        Value::Duration(d) => write_ints(
            out,
            tag::DURATION,
            &[d.months, d.days, d.seconds, d.nanoseconds],
        )?,
        Value::Point2D(p) => {
            write_struct_header(out, 3, tag::POINT_2D)?;
            write_int(out, p.srid);
            write_float(out, p.x);
            write_float(out, p.y);
        }
        Value::Point3D(p) => {
            write_struct_header(out, 4, tag::POINT_3D)?;
            write_int(out, p.srid);
            write_float(out, p.x);
            write_float(out, p.y);
            write_float(out, p.z);
        }
        Value::Vector(v) => {
            write_struct_header(out, 2, tag::VECTOR)?;
            write_bytes(out, &[v.element.marker()])?;
            write_bytes(out, &v.data)?;
        }
        Value::Unsupported(u) => {
            write_struct_header(out, 4, tag::UNSUPPORTED)?;
            write_string(out, &u.name)?;
            write_int(out, u.min_major);
            write_int(out, u.min_minor);
            write_map(out, &u.extra)?;
        }
        Value::Uuid(u) => {
            out.put_u8(UUID);
            out.put_slice(u);
        }
        Value::Structure(s) => write_structure(out, s)?,
    }
    Ok(())
}

/// Encodes `value` into a new vector.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::new();
    encode(value, &mut out)?;
    Ok(out)
}

/// Writes a boolean.
pub fn write_bool(out: &mut impl BufMut, b: bool) {
    out.put_u8(if b { TRUE } else { FALSE });
}

/// Writes an integer with the smallest marker.
pub fn write_int(out: &mut impl BufMut, i: i64) {
    if (-16..=127).contains(&i) {
        out.put_i8(i as i8);
    } else if (-128..-16).contains(&i) {
        out.put_u8(INT_8);
        out.put_i8(i as i8);
    } else if (i16::MIN as i64..=i16::MAX as i64).contains(&i) {
        out.put_u8(INT_16);
        out.put_i16(i as i16);
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&i) {
        out.put_u8(INT_32);
        out.put_i32(i as i32);
    } else {
        out.put_u8(INT_64);
        out.put_i64(i);
    }
}

/// Writes a float.
pub fn write_float(out: &mut impl BufMut, f: f64) {
    out.put_u8(FLOAT_64);
    out.put_f64(f);
}

fn write_size(
    out: &mut impl BufMut,
    len: usize,
    tiny: Option<u8>,
    m8: u8,
    what: &'static str,
) -> Result<(), EncodeError> {
    match (tiny, len) {
        (Some(base), 0..=15) => out.put_u8(base | len as u8),
        (_, 0..=0xFF) => {
            out.put_u8(m8);
            out.put_u8(len as u8);
        }
        (_, 0x100..=0xFFFF) => {
            out.put_u8(m8 + 1);
            out.put_u16(len as u16);
        }
        (_, _) if len <= MAX_SIZE => {
            out.put_u8(m8 + 2);
            out.put_u32(len as u32);
        }
        _ => return Err(EncodeError::TooLong { what, len }),
    }
    Ok(())
}

/// Writes a string.
pub fn write_string(out: &mut impl BufMut, s: &str) -> Result<(), EncodeError> {
    write_size(out, s.len(), Some(TINY_STRING), STRING_8, "string")?;
    out.put_slice(s.as_bytes());
    Ok(())
}

/// Writes a byte array.
pub fn write_bytes(out: &mut impl BufMut, b: &[u8]) -> Result<(), EncodeError> {
    write_size(out, b.len(), None, BYTES_8, "bytes")?;
    out.put_slice(b);
    Ok(())
}

/// Writes a list header; `len` items must follow.
pub fn write_list_header(out: &mut impl BufMut, len: usize) -> Result<(), EncodeError> {
    write_size(out, len, Some(TINY_LIST), LIST_8, "list")
}

/// Writes a map header; `len` key/value pairs must follow.
pub fn write_map_header(out: &mut impl BufMut, len: usize) -> Result<(), EncodeError> {
    write_size(out, len, Some(TINY_MAP), MAP_8, "map")
}

/// Writes a whole map.
pub fn write_map(out: &mut impl BufMut, map: &Map) -> Result<(), EncodeError> {
    write_map_header(out, map.len())?;
    for (k, v) in map.iter() {
        write_string(out, k)?;
        encode(v, out)?;
    }
    Ok(())
}

/// Writes a structure header; `fields` values must follow.
pub fn write_struct_header(
    out: &mut impl BufMut,
    fields: usize,
    tag: u8,
) -> Result<(), EncodeError> {
    if fields > 15 {
        return Err(EncodeError::TooManyFields { tag, fields });
    }
    out.put_u8(TINY_STRUCT | fields as u8);
    out.put_u8(tag);
    Ok(())
}

/// Writes a generic structure.
pub fn write_structure(out: &mut impl BufMut, s: &Structure) -> Result<(), EncodeError> {
    write_struct_header(out, s.fields.len(), s.tag)?;
    for f in &s.fields {
        encode(f, out)?;
    }
    Ok(())
}

fn write_ints(out: &mut impl BufMut, tag: u8, ints: &[i64]) -> Result<(), EncodeError> {
    write_struct_header(out, ints.len(), tag)?;
    for i in ints {
        write_int(out, *i);
    }
    Ok(())
}

fn write_node(out: &mut impl BufMut, n: &Node) -> Result<(), EncodeError> {
    write_struct_header(out, if n.element_id.is_some() { 4 } else { 3 }, tag::NODE)?;
    write_int(out, n.id);
    write_list_header(out, n.labels.len())?;
    for l in &n.labels {
        write_string(out, l)?;
    }
    write_map(out, &n.properties)?;
    if let Some(e) = &n.element_id {
        write_string(out, e)?;
    }
    Ok(())
}

fn write_unbound(out: &mut impl BufMut, r: &UnboundRelationship) -> Result<(), EncodeError> {
    write_struct_header(
        out,
        if r.element_id.is_some() { 4 } else { 3 },
        tag::UNBOUND_RELATIONSHIP,
    )?;
    write_int(out, r.id);
    write_string(out, &r.rel_type)?;
    write_map(out, &r.properties)?;
    if let Some(e) = &r.element_id {
        write_string(out, e)?;
    }
    Ok(())
}
