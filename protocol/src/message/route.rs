//! ROUTE and the routing table in its SUCCESS.

use super::extra::Extra;
use crate::packstream::{Map, Value};

/// ROUTE `routing bookmarks extra` (4.4+) or `routing bookmarks db` (4.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The routing context (`address` plus URI parameters).
    pub routing: Map,
    /// Bookmarks.
    pub bookmarks: Vec<String>,
    /// 4.4+: `{db, imp_user}`. On 4.3 the bare `db` is stored here as `{db}`.
    pub extra: Map,
}

impl Extra for Route {
    fn extra(&self) -> &Map {
        &self.extra
    }
}

/// One role entry of a routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    /// `ROUTE`, `READ` or `WRITE`.
    pub role: String,
    /// `host:port` addresses.
    pub addresses: Vec<String>,
}

/// The `rt` of a ROUTE SUCCESS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingTable {
    /// Seconds the table may be cached.
    pub ttl: i64,
    /// Database it describes (4.4+).
    pub db: Option<String>,
    /// Role entries.
    pub servers: Vec<ServerEntry>,
}

impl RoutingTable {
    /// Reads a table from the `rt` map; `None` if it is not shaped like one.
    pub fn from_map(rt: &Map) -> Option<Self> {
        let servers = rt
            .get("servers")?
            .as_list()?
            .iter()
            .map(|s| {
                let s = s.as_map()?;
                Some(ServerEntry {
                    role: s.get("role")?.as_str()?.to_owned(),
                    addresses: s
                        .get("addresses")?
                        .as_list()?
                        .iter()
                        .map(|a| a.as_str().map(str::to_owned))
                        .collect::<Option<_>>()?,
                })
            })
            .collect::<Option<_>>()?;
        Some(RoutingTable {
            ttl: rt.get("ttl")?.as_int()?,
            db: rt.get("db").and_then(Value::as_str).map(str::to_owned),
            servers,
        })
    }

    /// A table that sends every role to one address.
    pub fn single(address: &str, ttl: i64, db: Option<String>) -> Self {
        RoutingTable {
            ttl,
            db,
            servers: ["ROUTE", "READ", "WRITE"]
                .into_iter()
                .map(|role| ServerEntry {
                    role: role.to_owned(),
                    addresses: vec![address.to_owned()],
                })
                .collect(),
        }
    }

    /// The `rt` map.
    pub fn to_map(&self) -> Map {
        let mut rt = Map::new();
        rt.insert("ttl", self.ttl);
        if let Some(db) = &self.db {
            rt.insert("db", db.as_str());
        }
        let servers = self
            .servers
            .iter()
            .map(|s| {
                Value::Map(Map::from([
                    (
                        "addresses",
                        Value::List(
                            s.addresses
                                .iter()
                                .map(|a| Value::from(a.as_str()))
                                .collect(),
                        ),
                    ),
                    ("role", Value::from(s.role.as_str())),
                ]))
            })
            .collect::<Vec<_>>();
        rt.insert("servers", servers);
        rt
    }
}

/// Replaces every address in `rt.servers[*].addresses` with `address` (one per role, so
/// drivers that keep only the last entry still see it). Other keys are kept as they are.
/// Returns how many addresses were replaced.
pub fn rewrite_routing_table(rt: &mut Map, address: &str) -> usize {
    let mut replaced = 0;
    let Some(Value::List(servers)) = rt.get_mut("servers") else {
        return 0;
    };
    for server in servers.iter_mut() {
        let Value::Map(entry) = server else { continue };
        if let Some(Value::List(addrs)) = entry.get_mut("addresses") {
            replaced += addrs.len();
            if !addrs.is_empty() {
                *addrs = vec![Value::from(address)];
            }
        }
    }
    replaced
}

/// An address of a routing table that could not be mapped: the address as written (a
/// value that is not a string is shown as PackStream debug text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmapped(pub String);

impl std::fmt::Display for Unmapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unmapped {}

/// Maps every address in `rt.servers[*].addresses` through `map`, keeping the order and
/// the roles. Returns how many were mapped, or the first address `map` has no answer for
/// (the table is then left partly mapped: do not use it).
pub fn map_routing_table(
    rt: &mut Map,
    mut map: impl FnMut(&str) -> Option<String>,
) -> Result<usize, Unmapped> {
    let mut mapped = 0;
    let Some(Value::List(servers)) = rt.get_mut("servers") else {
        return Ok(0);
    };
    for server in servers.iter_mut() {
        let Value::Map(entry) = server else { continue };
        let Some(Value::List(addrs)) = entry.get_mut("addresses") else {
            continue;
        };
        let mut seen = Vec::with_capacity(addrs.len());
        for a in addrs.iter() {
            let Some(from) = a.as_str() else {
                return Err(Unmapped(format!("{a:?}")));
            };
            let to = map(from).ok_or_else(|| Unmapped(from.to_owned()))?;
            // Two members fronted by one address appear once.
            if !seen.contains(&to) {
                seen.push(to);
            }
            mapped += 1;
        }
        *addrs = seen.into_iter().map(Value::from).collect();
    }
    Ok(mapped)
}
