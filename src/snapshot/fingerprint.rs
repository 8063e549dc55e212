//! The graph fingerprint: an order-independent content hash of all nodes, relationships,
//! labels, types and properties that does not depend on internal ids, so a graph and its
//! restore (or its mirror) can be compared.
//!
//! - A node's hash is SHA-256 over `"N"`, its labels sorted and its properties in canonical
//!   form (keys sorted, values as PackStream).
//! - A relationship's hash is SHA-256 over `"R"`, its type, its canonical properties and the
//!   hashes of its start and end nodes (endpoints by content, not by id).
//! - The fingerprint is SHA-256 over the node count, the relationship count, and the
//!   lane-wise wrapping sums (4 × u64) of the node hashes and of the relationship hashes.
//!   A sum, unlike XOR, keeps duplicates: two identical nodes differ from one.
//!
//! Two graphs whose nodes have the same content in different numbers of copies, connected
//! differently, still differ, because relationships hash their endpoints' content.

use boltward_protocol::packstream::encode;
use boltward_protocol::{Map, Value};
use sha2::{Digest, Sha256};

/// A 32-byte digest.
pub type Digest32 = [u8; 32];

/// The canonical bytes of a property map: keys sorted, values as PackStream (nested maps
/// sorted too).
pub fn canonical(props: &Map) -> Vec<u8> {
    let mut out = Vec::new();
    // Values that do not encode (impossible for values read from a server) hash as null.
    let _ = encode::encode(&sorted(&Value::Map(props.clone())), &mut out);
    out
}

fn sorted(v: &Value) -> Value {
    match v {
        Value::Map(m) => {
            let mut entries: Vec<(String, Value)> =
                m.iter().map(|(k, v)| (k.to_owned(), sorted(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Map(entries.into_iter().collect())
        }
        Value::List(l) => Value::List(l.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The hash of a node's content.
pub fn node_hash(labels: &[String], props: &Map) -> Digest32 {
    let mut labels: Vec<&String> = labels.iter().collect();
    labels.sort();
    let mut h = Sha256::new();
    h.update(b"N");
    h.update((labels.len() as u64).to_le_bytes());
    for l in labels {
        h.update((l.len() as u64).to_le_bytes());
        h.update(l.as_bytes());
    }
    h.update(canonical(props));
    h.finalize().into()
}

/// The hash of a relationship's content, with its endpoints' node hashes.
pub fn relationship_hash(
    rel_type: &str,
    props: &Map,
    start: &Digest32,
    end: &Digest32,
) -> Digest32 {
    let mut h = Sha256::new();
    h.update(b"R");
    h.update((rel_type.len() as u64).to_le_bytes());
    h.update(rel_type.as_bytes());
    h.update(canonical(props));
    h.update(start);
    h.update(end);
    h.finalize().into()
}

/// Accumulates node and relationship hashes in any order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint {
    nodes: u64,
    relationships: u64,
    node_sum: [u64; 4],
    rel_sum: [u64; 4],
}

fn add(sum: &mut [u64; 4], d: &Digest32) {
    for (i, lane) in sum.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[i * 8..i * 8 + 8]);
        *lane = lane.wrapping_add(u64::from_le_bytes(b));
    }
}

impl Fingerprint {
    /// Adds a node by its hash.
    pub fn node(&mut self, h: &Digest32) {
        self.nodes += 1;
        add(&mut self.node_sum, h);
    }

    /// Adds a relationship by its hash.
    pub fn relationship(&mut self, h: &Digest32) {
        self.relationships += 1;
        add(&mut self.rel_sum, h);
    }

    /// Nodes added.
    pub fn nodes(&self) -> u64 {
        self.nodes
    }

    /// Relationships added.
    pub fn relationships(&self) -> u64 {
        self.relationships
    }

    /// The fingerprint, as hex.
    pub fn hex(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"boltward-graph-fingerprint-v1");
        h.update(self.nodes.to_le_bytes());
        h.update(self.relationships.to_le_bytes());
        for lane in self.node_sum.iter().chain(self.rel_sum.iter()) {
            h.update(lane.to_le_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a graph contains: counts per label and type, and its fingerprint. Fed records in
/// snapshot order (nodes before relationships); used for manifests, offline verification
/// and restore validation alike.
#[derive(Debug, Default)]
pub struct GraphDigest {
    /// Schema statements seen.
    pub schema: u64,
    /// Nodes per label (a node with two labels counts twice).
    pub labels: std::collections::BTreeMap<String, u64>,
    /// Relationships per type.
    pub types: std::collections::BTreeMap<String, u64>,
    /// The fingerprint.
    pub fingerprint: Fingerprint,
    /// Node content hashes by source element id (relationships hash their endpoints).
    nodes: std::collections::HashMap<String, Digest32>,
}

/// A record that cannot be part of a graph's digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    /// Two nodes with one element id.
    #[error("node {0} appears twice")]
    DuplicateNode(String),
    /// A relationship before (or without) one of its endpoints.
    #[error("relationship {relationship} references unknown node {node}")]
    UnknownNode {
        /// The relationship's element id.
        relationship: String,
        /// The missing node's element id.
        node: String,
    },
}

impl GraphDigest {
    /// Adds one record. Fails if a relationship names a node not seen before it.
    pub fn add(&mut self, record: &super::format::Record) -> Result<(), DigestError> {
        use super::format::Record;
        match record {
            Record::Schema(_) => self.schema += 1,
            Record::Node(n) => {
                let h = node_hash(&n.labels, &n.properties);
                self.fingerprint.node(&h);
                for l in &n.labels {
                    *self.labels.entry(l.clone()).or_default() += 1;
                }
                if self.nodes.insert(n.id.clone(), h).is_some() {
                    return Err(DigestError::DuplicateNode(n.id.clone()));
                }
            }
            Record::Relationship(r) => {
                let endpoint = |id: &str| {
                    self.nodes
                        .get(id)
                        .copied()
                        .ok_or_else(|| DigestError::UnknownNode {
                            relationship: r.id.clone(),
                            node: id.to_owned(),
                        })
                };
                let h = relationship_hash(
                    &r.rel_type,
                    &r.properties,
                    &endpoint(&r.start)?,
                    &endpoint(&r.end)?,
                );
                self.fingerprint.relationship(&h);
                *self.types.entry(r.rel_type.clone()).or_default() += 1;
            }
            Record::End(_) => self.nodes = Default::default(),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(kv: &[(&str, Value)]) -> Map {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    /// A graph as (labels, props) nodes and (type, start index, end index) relationships.
    fn fp(nodes: &[(Vec<&str>, Map)], rels: &[(&str, usize, usize)]) -> String {
        let hashes: Vec<Digest32> = nodes
            .iter()
            .map(|(l, p)| node_hash(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>(), p))
            .collect();
        let mut f = Fingerprint::default();
        for h in &hashes {
            f.node(h);
        }
        for (t, s, e) in rels {
            f.relationship(&relationship_hash(t, &Map::new(), &hashes[*s], &hashes[*e]));
        }
        f.hex()
    }

    #[test]
    fn order_and_ids_do_not_matter_content_does() {
        let a = (
            vec!["Person", "Admin"],
            props(&[("name", "ada".into()), ("age", Value::Integer(36))]),
        );
        let a_reordered = (
            vec!["Admin", "Person"],
            props(&[("age", Value::Integer(36)), ("name", "ada".into())]),
        );
        let b = (vec!["Pet"], props(&[("name", "rex".into())]));
        let base = fp(&[a.clone(), b.clone()], &[("OWNS", 0, 1)]);
        assert_eq!(
            base,
            fp(&[b.clone(), a_reordered.clone()], &[("OWNS", 1, 0)]),
            "order and key order"
        );
        assert_ne!(
            base,
            fp(&[a.clone(), b.clone()], &[("OWNS", 1, 0)]),
            "direction"
        );
        assert_ne!(
            base,
            fp(&[a.clone(), b.clone()], &[("KNOWS", 0, 1)]),
            "type"
        );
        assert_ne!(
            base,
            fp(&[a.clone(), b.clone(), b.clone()], &[("OWNS", 0, 1)]),
            "a duplicate node counts"
        );
        assert_ne!(
            base,
            fp(&[a.clone(), b.clone()], &[("OWNS", 0, 1), ("OWNS", 0, 1)]),
            "a duplicate relationship counts"
        );
        let float_age = (
            vec!["Person", "Admin"],
            props(&[("name", "ada".into()), ("age", Value::Float(36.0))]),
        );
        assert_ne!(
            base,
            fp(&[float_age, b.clone()], &[("OWNS", 0, 1)]),
            "integer vs float"
        );
        let nested = |x: Value| {
            (
                vec!["N"],
                props(&[(
                    "m",
                    Value::Map(props(&[("b", x.clone()), ("a", Value::Integer(1))])),
                )]),
            )
        };
        let nested_other_order = (
            vec!["N"],
            props(&[(
                "m",
                Value::Map(props(&[("a", Value::Integer(1)), ("b", Value::Integer(2))])),
            )]),
        );
        assert_eq!(
            fp(&[nested(Value::Integer(2))], &[]),
            fp(&[nested_other_order], &[]),
            "nested maps are sorted"
        );
        assert_eq!(fp(&[], &[]), Fingerprint::default().hex());
    }
}
