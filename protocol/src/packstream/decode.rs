//! Decoding PackStream from a complete buffer.
//!
//! The buffer is always a whole message (or a whole record), so running out of bytes is an
//! error ([`PackError::Truncated`]), not a request for more. Every declared length is
//! checked against the bytes that remain before anything is allocated, and nesting is
//! bounded, so no input can make the decoder allocate more than a small multiple of its
//! own size or overflow the stack.

use super::marker::*;
use super::structs::typed;
use super::value::{Map, Value};
use crate::error::PackError;
use crate::version::Dialect;

/// Bounds applied while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of lists, maps and structures.
    pub max_depth: usize,
    /// Longest string, byte array, list or map.
    pub max_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_len: MAX_SIZE,
        }
    }
}

/// Decodes exactly one value that fills `buf`.
pub fn decode(buf: &[u8], dialect: Dialect) -> Result<Value, PackError> {
    let mut d = Decoder::new(buf, dialect);
    let v = d.value()?;
    d.finish()?;
    Ok(v)
}

/// A cursor over a complete PackStream buffer.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    dialect: Dialect,
    limits: Limits,
}

impl<'a> Decoder<'a> {
    /// A decoder at the start of `buf`.
    pub fn new(buf: &'a [u8], dialect: Dialect) -> Self {
        Decoder {
            buf,
            pos: 0,
            dialect,
            limits: Limits::default(),
        }
    }

    /// Replaces the default limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), PackError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(PackError::TrailingBytes {
                offset: self.pos,
                count,
            }),
        }
    }

    /// Reads a structure header: `(field count, tag)`.
    pub fn struct_header(&mut self) -> Result<Option<(usize, u8)>, PackError> {
        let m = self.peek()?;
        if m & 0xF0 != TINY_STRUCT {
            return Ok(None);
        }
        self.pos += 1;
        let tag = self.byte()?;
        Ok(Some(((m & 0x0F) as usize, tag)))
    }

    /// Reads one value.
    pub fn value(&mut self) -> Result<Value, PackError> {
        self.value_at(0)
    }

    fn peek(&self) -> Result<u8, PackError> {
        self.buf
            .get(self.pos)
            .copied()
            .ok_or(PackError::Truncated { offset: self.pos })
    }

    fn byte(&mut self) -> Result<u8, PackError> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PackError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(PackError::Truncated {
                offset: self.buf.len(),
            })?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PackError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn size(&mut self, width: u8) -> Result<usize, PackError> {
        Ok(match width {
            1 => self.byte()? as usize,
            2 => u16::from_be_bytes(self.array()?) as usize,
            _ => u32::from_be_bytes(self.array()?) as usize,
        })
    }

    /// Checks a declared collection length: each item needs at least `min_item` bytes.
    fn check_len(&self, what: &'static str, len: usize, min_item: usize) -> Result<(), PackError> {
        if len > self.limits.max_len {
            return Err(PackError::TooLong {
                what,
                len,
                limit: self.limits.max_len,
            });
        }
        if len.saturating_mul(min_item) > self.remaining() {
            return Err(PackError::Truncated {
                offset: self.buf.len(),
            });
        }
        Ok(())
    }

    fn string(&mut self, len: usize, start: usize) -> Result<String, PackError> {
        self.check_len("string", len, 1)?;
        let bytes = self.take(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| PackError::InvalidUtf8 { offset: start })
    }

    fn list(&mut self, len: usize, depth: usize) -> Result<Value, PackError> {
        self.check_len("list", len, 1)?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(self.value_at(depth + 1)?);
        }
        Ok(Value::List(items))
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<Value, PackError> {
        self.check_len("map", len, 2)?;
        let mut map = Map::with_capacity(len);
        for _ in 0..len {
            let key_at = self.pos;
            let key = match self.value_at(depth + 1)? {
                Value::String(s) => s,
                _ => return Err(PackError::NonStringKey { offset: key_at }),
            };
            let value = self.value_at(depth + 1)?;
            map.push(key, value);
        }
        Ok(Value::Map(map))
    }

    fn structure(&mut self, len: usize, depth: usize) -> Result<Value, PackError> {
        let tag = self.byte()?;
        self.check_len("structure", len, 1)?;
        let mut fields = Vec::with_capacity(len);
        for _ in 0..len {
            fields.push(self.value_at(depth + 1)?);
        }
        typed(tag, fields, self.dialect)
    }

    fn value_at(&mut self, depth: usize) -> Result<Value, PackError> {
        if depth >= self.limits.max_depth {
            return Err(PackError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        let start = self.pos;
        let m = self.byte()?;
        Ok(match m {
            0x00..=0x7F => Value::Integer(m as i64),
            0xF0..=0xFF => Value::Integer(m as i8 as i64),
            NULL => Value::Null,
            FALSE => Value::Boolean(false),
            TRUE => Value::Boolean(true),
            FLOAT_64 => Value::Float(f64::from_be_bytes(self.array()?)),
            INT_8 => Value::Integer(i8::from_be_bytes(self.array()?) as i64),
            INT_16 => Value::Integer(i16::from_be_bytes(self.array()?) as i64),
            INT_32 => Value::Integer(i32::from_be_bytes(self.array()?) as i64),
            INT_64 => Value::Integer(i64::from_be_bytes(self.array()?)),
            BYTES_8 | BYTES_16 | BYTES_32 => {
                let len = self.size(1 << (m - BYTES_8))?;
                self.check_len("bytes", len, 1)?;
                Value::Bytes(self.take(len)?.to_vec())
            }
            0x80..=0x8F => Value::String(self.string((m & 0x0F) as usize, start)?),
            STRING_8 | STRING_16 | STRING_32 => {
                let len = self.size(1 << (m - STRING_8))?;
                Value::String(self.string(len, start)?)
            }
            0x90..=0x9F => self.list((m & 0x0F) as usize, depth)?,
            LIST_8 | LIST_16 | LIST_32 => {
                let len = self.size(1 << (m - LIST_8))?;
                self.list(len, depth)?
            }
            0xA0..=0xAF => self.map((m & 0x0F) as usize, depth)?,
            MAP_8 | MAP_16 | MAP_32 => {
                let len = self.size(1 << (m - MAP_8))?;
                self.map(len, depth)?
            }
            0xB0..=0xBF => self.structure((m & 0x0F) as usize, depth)?,
            UUID if self.dialect.version.has_uuid() => Value::Uuid(self.array()?),
            _ => {
                return Err(PackError::InvalidMarker {
                    marker: m,
                    offset: start,
                })
            }
        })
    }
}
