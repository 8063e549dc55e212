//! The snapshot data format, version 1 (docs/snapshot-format.md): what is inside the gzip
//! stream of a `<id>.bwsnap.gz` file. Pure encode/decode over `std::io::Read`/`Write`, no
//! files, so the decoder is fuzzed on raw bytes.
//!
//! ```text
//! header  "BWSNAP" | u16 format version | u8 bolt major | u8 bolt minor | u8 flags (bit 0: utc)
//! record  u8 kind | u32 payload length | payload (one PackStream list)
//!   'S' schema        [statement]
//!   'N' node          [element id, [labels], {properties}]
//!   'R' relationship  [element id, type, start element id, end element id, {properties}]
//!   'E' end           [schema count, node count, relationship count]
//! ```
//!
//! Records come in that order (schema, nodes, relationships) and the end record is last:
//! a stream without it was cut short. Integers are big-endian. Values are the PackStream
//! the server sent, decoded with the recorded Bolt dialect, so nothing is converted.

use boltward_protocol::packstream::{decode::Decoder, encode};
use boltward_protocol::{Dialect, Map, Value, Version};
use std::io::{self, Read, Write};
use thiserror::Error;

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
const MAGIC: &[u8; 6] = b"BWSNAP";
/// Largest record payload accepted (a single node with huge properties still fits).
pub const MAX_RECORD: usize = 256 * 1024 * 1024;

/// A snapshot record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A schema statement (CREATE INDEX / CREATE CONSTRAINT).
    Schema(String),
    /// A node.
    Node(NodeRecord),
    /// A relationship.
    Relationship(RelRecord),
    /// The trailer: how many of each came before.
    End(Counts),
}

/// A node as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    /// Element id on the source server (legacy numeric id as a string before Bolt 5).
    pub id: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Properties.
    pub properties: Map,
}

/// A relationship as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RelRecord {
    /// Element id on the source server.
    pub id: String,
    /// Type.
    pub rel_type: String,
    /// Start node element id.
    pub start: String,
    /// End node element id.
    pub end: String,
    /// Properties.
    pub properties: Map,
}

/// Record counts of a snapshot (the trailer).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Schema statements.
    pub schema: u64,
    /// Nodes.
    pub nodes: u64,
    /// Relationships.
    pub relationships: u64,
}

/// Why a snapshot stream does not decode.
#[derive(Debug, Error)]
pub enum FormatError {
    /// Reading failed (including a corrupt gzip stream).
    #[error("read failed: {0}")]
    Io(#[from] io::Error),
    /// Not a boltward snapshot.
    #[error("not a boltward snapshot (bad magic)")]
    Magic,
    /// Written by a newer boltward.
    #[error("snapshot format version {0} is not supported (this build reads {FORMAT_VERSION})")]
    Version(u16),
    /// The stream ends before the end record.
    #[error("truncated after record {0}: the end record is missing")]
    Truncated(u64),
    /// A record is malformed.
    #[error("record {index}: {problem}")]
    Record {
        /// 0-based record index.
        index: u64,
        /// What is wrong.
        problem: RecordError,
    },
    /// Something follows the end record.
    #[error("data after the end record")]
    TrailingData,
}

/// What is wrong with one record (the `problem` of [`FormatError::Record`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RecordError {
    /// The payload is not one PackStream value.
    #[error(transparent)]
    PackStream(#[from] boltward_protocol::PackError),
    /// The payload is not a list.
    #[error("payload is not a list")]
    NotAList,
    /// The list lacks a field.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The list has fields after the last one.
    #[error("extra fields")]
    Extra,
    /// A field has the wrong type.
    #[error("{0} is not a string")]
    NotAString(&'static str),
    /// The labels are not a list.
    #[error("labels are not a list")]
    LabelsNotAList,
    /// The properties are not a map.
    #[error("properties are not a map")]
    PropertiesNotAMap,
    /// A count is not an integer.
    #[error("count is not an integer")]
    CountNotAnInteger,
    /// A count is negative.
    #[error("negative count")]
    NegativeCount,
    /// The kind byte is none of S, N, R, E.
    #[error("unknown record kind 0x{0:02x}")]
    UnknownKind(u8),
    /// The length prefix is larger than [`MAX_RECORD`].
    #[error("length {0} exceeds {MAX_RECORD}")]
    TooLong(usize),
    /// A record comes after a later kind.
    #[error("out of order (schema, nodes, relationships, end)")]
    OutOfOrder,
    /// The trailer does not count what came before it.
    #[error("end record counts {claimed:?} differ from the records read {read:?}")]
    CountsDiffer {
        /// What the end record says.
        claimed: Counts,
        /// What was read.
        read: Counts,
    },
}

/// The header: the Bolt dialect the values were read with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Bolt version of the source connection.
    pub version: Version,
    /// Whether date-times use the UTC encoding (always on Bolt 5+).
    pub utc: bool,
}

impl Header {
    /// The header for values read with `dialect`.
    pub fn of(dialect: Dialect) -> Self {
        Header {
            version: dialect.version,
            utc: dialect.utc_datetime(),
        }
    }

    /// The dialect to decode values with.
    pub fn dialect(&self) -> Dialect {
        Dialect::new(self.version).with_utc_patch(self.utc)
    }

    /// Writes the header.
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT_VERSION.to_be_bytes())?;
        out.write_all(&[self.version.major, self.version.minor, u8::from(self.utc)])
    }

    /// Reads a header.
    pub fn read(input: &mut impl Read) -> Result<Self, FormatError> {
        let mut b = [0u8; 11];
        input.read_exact(&mut b).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => FormatError::Magic,
            _ => FormatError::Io(e),
        })?;
        if &b[..6] != MAGIC {
            return Err(FormatError::Magic);
        }
        let version = u16::from_be_bytes([b[6], b[7]]);
        if version != FORMAT_VERSION {
            return Err(FormatError::Version(version));
        }
        Ok(Header {
            version: Version::new(b[8], b[9]),
            utc: b[10] & 1 == 1,
        })
    }
}

fn strings(v: &[String]) -> Value {
    Value::List(v.iter().map(|s| Value::String(s.clone())).collect())
}

impl Record {
    fn kind(&self) -> u8 {
        match self {
            Record::Schema(_) => b'S',
            Record::Node(_) => b'N',
            Record::Relationship(_) => b'R',
            Record::End(_) => b'E',
        }
    }

    /// Appends the framed record to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), boltward_protocol::EncodeError> {
        let body = match self {
            Record::Schema(s) => Value::List(vec![Value::String(s.clone())]),
            Record::Node(n) => Value::List(vec![
                Value::String(n.id.clone()),
                strings(&n.labels),
                Value::Map(n.properties.clone()),
            ]),
            Record::Relationship(r) => Value::List(vec![
                Value::String(r.id.clone()),
                Value::String(r.rel_type.clone()),
                Value::String(r.start.clone()),
                Value::String(r.end.clone()),
                Value::Map(r.properties.clone()),
            ]),
            Record::End(c) => Value::List(vec![
                count(c.schema),
                count(c.nodes),
                count(c.relationships),
            ]),
        };
        out.push(self.kind());
        let at = out.len();
        out.extend_from_slice(&[0; 4]);
        encode::encode(&body, out)?;
        let len = (out.len() - at - 4) as u32;
        out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        Ok(())
    }

    /// Decodes one record's payload.
    fn decode(kind: u8, payload: &[u8], dialect: Dialect) -> Result<Record, RecordError> {
        let mut d = Decoder::new(payload, dialect);
        let value = d.value()?;
        d.finish()?;
        let Value::List(fields) = value else {
            return Err(RecordError::NotAList);
        };
        let mut it = fields.into_iter();
        let mut next = |what: &'static str| it.next().ok_or(RecordError::Missing(what));
        let record = match kind {
            b'S' => Record::Schema(string(next("statement")?, "statement")?),
            b'N' => Record::Node(NodeRecord {
                id: string(next("id")?, "id")?,
                labels: string_list(next("labels")?)?,
                properties: map(next("properties")?)?,
            }),
            b'R' => Record::Relationship(RelRecord {
                id: string(next("id")?, "id")?,
                rel_type: string(next("type")?, "type")?,
                start: string(next("start")?, "start")?,
                end: string(next("end")?, "end")?,
                properties: map(next("properties")?)?,
            }),
            b'E' => Record::End(Counts {
                schema: int(next("schema count")?)?,
                nodes: int(next("node count")?)?,
                relationships: int(next("relationship count")?)?,
            }),
            other => return Err(RecordError::UnknownKind(other)),
        };
        if it.next().is_some() {
            return Err(RecordError::Extra);
        }
        Ok(record)
    }
}

fn count(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

fn string(v: Value, what: &'static str) -> Result<String, RecordError> {
    match v {
        Value::String(s) => Ok(s),
        _ => Err(RecordError::NotAString(what)),
    }
}

fn string_list(v: Value) -> Result<Vec<String>, RecordError> {
    match v {
        Value::List(l) => l.into_iter().map(|v| string(v, "label")).collect(),
        _ => Err(RecordError::LabelsNotAList),
    }
}

fn map(v: Value) -> Result<Map, RecordError> {
    match v {
        Value::Map(m) => Ok(m),
        _ => Err(RecordError::PropertiesNotAMap),
    }
}

fn int(v: Value) -> Result<u64, RecordError> {
    match v {
        Value::Integer(i) => u64::try_from(i).map_err(|_| RecordError::NegativeCount),
        _ => Err(RecordError::CountNotAnInteger),
    }
}

/// Reads records one by one, checking order and the trailer.
pub struct Reader<R> {
    input: R,
    dialect: Dialect,
    header: Header,
    index: u64,
    seen: Counts,
    phase: u8,
    done: bool,
    buf: Vec<u8>,
}

impl<R: Read> Reader<R> {
    /// Reads the header.
    pub fn new(mut input: R) -> Result<Self, FormatError> {
        let header = Header::read(&mut input)?;
        Ok(Reader {
            input,
            dialect: header.dialect(),
            header,
            index: 0,
            seen: Counts::default(),
            phase: 0,
            done: false,
            buf: Vec::new(),
        })
    }

    /// The header.
    pub fn header(&self) -> Header {
        self.header
    }

    fn bad(&self, problem: RecordError) -> FormatError {
        FormatError::Record {
            index: self.index,
            problem,
        }
    }

    /// The next record; `None` after the end record (and after checking nothing follows).
    pub fn next_record(&mut self) -> Result<Option<Record>, FormatError> {
        if self.done {
            return Ok(None);
        }
        let mut head = [0u8; 5];
        if let Err(e) = self.input.read_exact(&mut head) {
            return Err(match e.kind() {
                io::ErrorKind::UnexpectedEof => FormatError::Truncated(self.index),
                _ => FormatError::Io(e),
            });
        }
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > MAX_RECORD {
            return Err(self.bad(RecordError::TooLong(len)));
        }
        self.buf.clear();
        let read = (&mut self.input)
            .take(len as u64)
            .read_to_end(&mut self.buf)?;
        if read < len {
            return Err(FormatError::Truncated(self.index));
        }
        let record = Record::decode(head[0], &self.buf, self.dialect).map_err(|p| self.bad(p))?;
        let phase = match &record {
            Record::Schema(_) => 0,
            Record::Node(_) => 1,
            Record::Relationship(_) => 2,
            Record::End(_) => 3,
        };
        if phase < self.phase {
            return Err(self.bad(RecordError::OutOfOrder));
        }
        self.phase = phase;
        match &record {
            Record::Schema(_) => self.seen.schema += 1,
            Record::Node(_) => self.seen.nodes += 1,
            Record::Relationship(_) => self.seen.relationships += 1,
            Record::End(c) => {
                if *c != self.seen {
                    return Err(self.bad(RecordError::CountsDiffer {
                        claimed: *c,
                        read: self.seen,
                    }));
                }
                let mut probe = [0u8; 1];
                if self.input.read(&mut probe)? != 0 {
                    return Err(FormatError::TrailingData);
                }
                self.done = true;
            }
        }
        self.index += 1;
        Ok(Some(record))
    }
}

/// Decodes a whole uncompressed stream (tests and fuzzing).
pub fn decode_all(bytes: &[u8]) -> Result<(Header, Vec<Record>), FormatError> {
    let mut reader = Reader::new(bytes)?;
    let mut out = Vec::new();
    while let Some(r) = reader.next_record()? {
        out.push(r);
    }
    Ok((reader.header(), out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use boltward_protocol::packstream::{Date, DateTime, Duration, Point2D};

    fn sample() -> (Header, Vec<Record>) {
        let header = Header::of(Dialect::new(Version::V5_4));
        let props: Map = [
            ("i", Value::Integer(i64::MIN)),
            ("f", Value::Float(f64::NAN)),
            ("b", Value::Bytes(vec![0, 255])),
            ("d", Value::Date(Date { days: -3 })),
            (
                "dt",
                Value::DateTime(DateTime {
                    seconds: 1,
                    nanoseconds: 2,
                    tz_offset_seconds: 3600,
                }),
            ),
            (
                "dur",
                Value::Duration(Box::new(Duration {
                    months: 1,
                    days: 2,
                    seconds: 3,
                    nanoseconds: 4,
                })),
            ),
            (
                "p",
                Value::Point2D(Point2D {
                    srid: 7203,
                    x: 1.0,
                    y: 2.0,
                }),
            ),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let records = vec![
            Record::Schema("CREATE INDEX i FOR (n:A) ON (n.x)".into()),
            Record::Node(NodeRecord {
                id: "4:a:0".into(),
                labels: vec!["A".into(), "B".into()],
                properties: props.clone(),
            }),
            Record::Node(NodeRecord {
                id: "4:a:1".into(),
                labels: vec![],
                properties: Map::new(),
            }),
            Record::Relationship(RelRecord {
                id: "5:a:0".into(),
                rel_type: "T".into(),
                start: "4:a:0".into(),
                end: "4:a:1".into(),
                properties: props,
            }),
            Record::End(Counts {
                schema: 1,
                nodes: 2,
                relationships: 1,
            }),
        ];
        (header, records)
    }

    fn bytes(header: Header, records: &[Record]) -> Vec<u8> {
        let mut out = Vec::new();
        header.write(&mut out).unwrap();
        for r in records {
            r.encode(&mut out).unwrap();
        }
        out
    }

    #[test]
    fn round_trips_every_record_kind() {
        let (h, records) = sample();
        let (h2, back) = decode_all(&bytes(h, &records)).unwrap();
        assert_eq!(h2, h);
        // NaN != NaN: compare the re-encoded bytes instead.
        assert_eq!(bytes(h2, &back), bytes(h, &records));
    }

    #[test]
    fn every_truncation_is_detected() {
        let (h, records) = sample();
        let full = bytes(h, &records);
        for cut in 0..full.len() {
            assert!(decode_all(&full[..cut]).is_err(), "cut at {cut} accepted");
        }
    }

    #[test]
    fn wrong_counts_order_and_trailing_data_are_refused() {
        let (h, mut records) = sample();
        let mut extra = bytes(h, &records);
        extra.push(0);
        assert!(matches!(decode_all(&extra), Err(FormatError::TrailingData)));
        records.swap(1, 3);
        assert!(decode_all(&bytes(h, &records)).is_err());
        let (h, mut records) = sample();
        records[4] = Record::End(Counts::default());
        let err = decode_all(&bytes(h, &records)).unwrap_err().to_string();
        assert!(err.contains("differ"), "{err}");
        let mut v = bytes(h, &sample().1);
        v[7] = 9;
        assert!(matches!(decode_all(&v), Err(FormatError::Version(_))));
    }
}
