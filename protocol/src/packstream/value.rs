//! The PackStream value tree.

use super::structs::{
    Date, DateTime, DateTimeZoneId, Duration, LegacyDateTime, LegacyDateTimeZoneId, LocalDateTime,
    LocalTime, Node, Path, Point2D, Point3D, Relationship, Structure, Time, UnboundRelationship,
    UnsupportedType, Vector,
};

/// One PackStream value. Structures the dialect knows are typed; any other structure is
/// kept as a generic [`Structure`], never dropped.
///
/// Large variants are boxed so a `Value` stays 32 bytes.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Value {
    /// `C0`.
    Null,
    /// `C2` / `C3`.
    Boolean(bool),
    /// Any integer marker.
    Integer(i64),
    /// `C1`.
    Float(f64),
    /// `CC`..`CE`.
    Bytes(Vec<u8>),
    /// Tiny string, `D0`..`D2`.
    String(String),
    /// Tiny list, `D4`..`D6`.
    List(Vec<Value>),
    /// Tiny dictionary, `D8`..`DA`.
    Map(Map),
    /// `N`.
    Node(Box<Node>),
    /// `R`.
    Relationship(Box<Relationship>),
    /// `r`.
    UnboundRelationship(Box<UnboundRelationship>),
    /// `P`.
    Path(Box<Path>),
    /// `D`.
    Date(Date),
    /// `T`.
    Time(Time),
    /// `t`.
    LocalTime(LocalTime),
    /// `I` (5.0+, or 4.3/4.4 with the utc patch).
    DateTime(DateTime),
    /// `i` (5.0+, or 4.3/4.4 with the utc patch).
    DateTimeZoneId(Box<DateTimeZoneId>),
    /// `F` (4.x without the utc patch).
    LegacyDateTime(LegacyDateTime),
    /// `f` (4.x without the utc patch).
    LegacyDateTimeZoneId(Box<LegacyDateTimeZoneId>),
    /// `d`.
    LocalDateTime(LocalDateTime),
    /// `E`.
    Duration(Box<Duration>),
    /// `X`.
    Point2D(Point2D),
    /// `Y`.
    Point3D(Box<Point3D>),
    /// `V` (6.0+).
    Vector(Box<Vector>),
    /// `?` (6.0+).
    Unsupported(Box<UnsupportedType>),
    /// `E0` + 16 bytes (6.1+).
    Uuid([u8; 16]),
    /// A structure this dialect does not define.
    Structure(Box<Structure>),
}

impl Value {
    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is an integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean inside, if this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The map inside, if this is a map.
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// The list inside, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l) => Some(l),
            _ => None,
        }
    }

    /// Whether this is `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Boolean(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Integer(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::String(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::String(v)
    }
}
impl From<Map> for Value {
    fn from(v: Map) -> Self {
        Value::Map(v)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::List(v)
    }
}

/// A PackStream dictionary. Entries keep their wire order; a repeated key is kept too,
/// and lookups see the last occurrence, as the spec requires.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Map(Vec<(String, Value)>);

impl Map {
    /// An empty map.
    pub fn new() -> Self {
        Map(Vec::new())
    }

    /// An empty map with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Map(Vec::with_capacity(n))
    }

    /// The value of `key` (the last occurrence wins).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A mutable reference to the value of `key` (the last occurrence).
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0
            .iter_mut()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Sets `key`, replacing the value in place if present, else appending.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) {
        let key = key.into();
        let value = value.into();
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.0.push((key, value)),
        }
    }

    /// Appends an entry without looking for an existing key (wire order preserved).
    pub fn push(&mut self, key: String, value: Value) {
        self.0.push((key, value));
    }

    /// Removes every occurrence of `key`, returning the last value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let mut last = None;
        self.0.retain_mut(|(k, v)| {
            if k == key {
                last = Some(std::mem::replace(v, Value::Null));
                false
            } else {
                true
            }
        });
        last
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Entries in wire order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of entries on the wire (repeated keys counted).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries.
    pub fn into_entries(self) -> Vec<(String, Value)> {
        self.0
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Map(iter.into_iter().collect())
    }
}

impl<K: Into<String>, V: Into<Value>, const N: usize> From<[(K, V); N]> for Map {
    fn from(entries: [(K, V); N]) -> Self {
        let mut m = Map::with_capacity(N);
        for (k, v) in entries {
            m.insert(k, v);
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_stays_small() {
        assert!(std::mem::size_of::<Value>() <= 32);
    }

    #[test]
    fn last_key_wins() {
        let mut m = Map::new();
        m.push("a".into(), Value::Integer(1));
        m.push("a".into(), Value::Integer(2));
        assert_eq!(m.get("a"), Some(&Value::Integer(2)));
        m.insert("a", 3);
        assert_eq!(m.len(), 2);
        assert_eq!(m.get("a"), Some(&Value::Integer(3)));
        assert_eq!(m.remove("a"), Some(Value::Integer(3)));
        assert!(m.is_empty());
    }
}
