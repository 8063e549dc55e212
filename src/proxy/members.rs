//! The members of a cluster and the listeners that front them: routing tables are
//! rewritten so that a driver is only ever given addresses of boltward's listeners, each
//! forwarding to one member. Every write therefore passes through this one boltward (one
//! journal, one order) whichever member leads.
//!
//! Without members (one server, the zero-config case) every address in a routing table is
//! the listener's own. With members, an address no member has is refused
//! (`upstream.unknown_members = "refuse"`, the default: no driver is handed an address
//! that bypasses boltward) or collapsed onto the listener (`"collapse"`). Listeners are
//! opened only for configured members: a routing table never makes boltward listen or
//! connect anywhere new.

use crate::config::UnknownMembers;
use boltward_protocol::message::Success;
use std::collections::HashMap;

/// Member address → the address drivers are given for it.
#[derive(Debug, Default)]
pub(crate) struct Members {
    advertised: HashMap<String, String>,
    unknown: Option<UnknownMembers>,
}

/// A routing table named an address boltward does not front.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct UnknownMember(pub(crate) String);

impl std::fmt::Display for UnknownMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "boltward: the routing table names {}, which is not one of the cluster members boltward fronts; add it as [[upstream.members]] (or set upstream.unknown_members = \"collapse\" if every member is reached through one address)",
            self.0
        )
    }
}

fn key(addr: &str) -> String {
    addr.trim().to_ascii_lowercase()
}

impl Members {
    /// `pairs` of (member address, advertised address); `unknown` applies when there is
    /// at least one member.
    pub(crate) fn new(
        pairs: impl IntoIterator<Item = (String, String)>,
        unknown: UnknownMembers,
    ) -> Self {
        let advertised: HashMap<_, _> = pairs.into_iter().map(|(m, a)| (key(&m), a)).collect();
        let unknown = (!advertised.is_empty()).then_some(unknown);
        Members {
            advertised,
            unknown,
        }
    }

    /// Where drivers reach `addr`, on a listener advertised as `own`.
    fn map(&self, addr: &str, own: &str) -> Option<String> {
        match self.unknown {
            None | Some(UnknownMembers::Collapse) => Some(
                self.advertised
                    .get(&key(addr))
                    .cloned()
                    .unwrap_or_else(|| own.to_owned()),
            ),
            Some(UnknownMembers::Refuse) => self.advertised.get(&key(addr)).cloned(),
        }
    }

    /// Rewrites a ROUTE answer for a listener advertised as `own`; returns how many
    /// addresses were rewritten.
    pub(crate) fn route(&self, s: &mut Success, own: &str) -> Result<usize, UnknownMember> {
        if self.unknown.is_none() {
            return Ok(s.rewrite_routing_table(own));
        }
        s.map_routing_table(|a| self.map(a, own))
            .map_err(|e| UnknownMember(e.0))
    }

    /// The `advertised_address` to give for a server that calls itself `addr`.
    pub(crate) fn advertised(&self, addr: Option<&str>, own: &str) -> String {
        addr.and_then(|a| self.advertised.get(&key(a)).cloned())
            .unwrap_or_else(|| own.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use boltward_protocol::message::RoutingTable;
    use boltward_protocol::{Map, Value};

    fn table(write: &[&str], read: &[&str], route: &[&str]) -> Success {
        let rt = RoutingTable {
            ttl: 300,
            db: Some("neo4j".into()),
            servers: [("WRITE", write), ("READ", read), ("ROUTE", route)]
                .into_iter()
                .map(|(role, a)| boltward_protocol::message::ServerEntry {
                    role: role.into(),
                    addresses: a.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
        };
        Success::new(Map::from([("rt", Value::Map(rt.to_map()))]))
    }

    fn roles(s: &Success) -> Vec<(String, Vec<String>)> {
        s.routing_table()
            .unwrap()
            .servers
            .into_iter()
            .map(|e| (e.role, e.addresses))
            .collect()
    }

    fn cluster(unknown: UnknownMembers) -> Members {
        Members::new(
            [
                ("core1:7687".into(), "bw:7701".into()),
                ("core2:7687".into(), "bw:7702".into()),
                ("CORE3:7687".into(), "bw:7703".into()),
            ],
            unknown,
        )
    }

    #[test]
    fn members_map_to_their_listeners_in_order_and_role() {
        let m = cluster(UnknownMembers::Refuse);
        let mut s = table(
            &["core2:7687"],
            &["core1:7687", "core3:7687"],
            &["core1:7687", "core2:7687", "core3:7687"],
        );
        assert_eq!(m.route(&mut s, "bw:7687"), Ok(6));
        assert_eq!(
            roles(&s),
            [
                ("WRITE".into(), vec!["bw:7702".into()]),
                ("READ".into(), vec!["bw:7701".into(), "bw:7703".into()]),
                (
                    "ROUTE".into(),
                    vec!["bw:7701".into(), "bw:7702".into(), "bw:7703".into()]
                ),
            ]
        );
    }

    #[test]
    fn an_unknown_address_is_refused_by_default_and_never_passed_on() {
        let m = cluster(UnknownMembers::Refuse);
        let mut s = table(&["core1:7687"], &["10.9.9.9:7687"], &["core1:7687"]);
        let e = m.route(&mut s, "bw:7687").unwrap_err();
        assert_eq!(e, UnknownMember("10.9.9.9:7687".into()));
        assert!(e.to_string().contains("upstream.unknown_members"));
    }

    #[test]
    fn collapse_sends_unknown_addresses_to_the_listener() {
        let m = cluster(UnknownMembers::Collapse);
        let mut s = table(
            &["core1:7687"],
            &["10.9.9.9:7687", "elsewhere:1"],
            &["core1:7687"],
        );
        m.route(&mut s, "bw:7687").unwrap();
        assert_eq!(roles(&s)[1], ("READ".into(), vec!["bw:7687".into()]));
    }

    #[test]
    fn without_members_every_address_is_the_listeners_own() {
        let m = Members::new([], UnknownMembers::Refuse);
        let mut s = table(&["a:1"], &["b:2", "c:3"], &["a:1"]);
        m.route(&mut s, "bw:7687").unwrap();
        for (_, addrs) in roles(&s) {
            assert_eq!(addrs, ["bw:7687"]);
        }
        assert_eq!(m.advertised(Some("a:1"), "bw:7687"), "bw:7687");
    }

    #[test]
    fn advertised_addresses_follow_the_member() {
        let m = cluster(UnknownMembers::Refuse);
        assert_eq!(m.advertised(Some("core3:7687"), "bw:7687"), "bw:7703");
        assert_eq!(m.advertised(Some("other:1"), "bw:7687"), "bw:7687");
        assert_eq!(m.advertised(None, "bw:7687"), "bw:7687");
    }
}
