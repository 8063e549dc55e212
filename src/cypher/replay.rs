//! Replay safety: why running a journaled write again, on another server, could give a
//! different result than it gave when it was committed.
//!
//! The mirror (issue 15) and point-in-time restore replay the journal's statements as
//! text. A statement that reads the clock, draws a random number, names internal ids, picks
//! "some" rows with an unordered `LIMIT`, or calls a routine with such behaviour can write
//! something else on the replica. The parser reports what it meets into
//! [`Facts::replay`](super::parse::Facts::replay) from the names it resolved (after the
//! escape pass, the lexer and backtick unquoting, case-insensitively), so a disguise cannot
//! hide a hazard; [`classify`](super::classify()) keeps them for statements that are not
//! pure reads.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One reason a write may not replay to the same result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayHazard {
    /// `rand()`, `randomUUID()`.
    Random,
    /// Reads the clock: `timestamp()`, temporal constructors without a value
    /// (`datetime()`, `date({timezone: 'UTC'})`), `.statement()`, `.transaction()`,
    /// `.realtime()`, `.truncate(unit)` without an input.
    Clock,
    /// `id(…)` or `elementId(…)`, or a routine taking or giving internal ids: ids are
    /// allocated by each server and differ between them.
    InternalId,
    /// `SKIP`/`OFFSET`/`LIMIT` not directly preceded by an `ORDER BY`, or a vector
    /// `SEARCH` (approximate top-k): which rows are kept depends on the server.
    UnorderedLimit,
    /// A procedure or function the catalog marks `nondeterministic`.
    NondeterministicProcedure,
    /// Reads a file, URL or other system (LOAD CSV, `apoc.load.*`, …), which may differ
    /// or be missing where the statement is replayed.
    External,
    /// The statement could not be parsed, runs Cypher only known at run time, or calls a
    /// routine the catalog does not know: nothing proves it safe.
    Unknown,
}

impl ReplayHazard {
    /// All hazards.
    pub const ALL: [ReplayHazard; 7] = [
        ReplayHazard::Random,
        ReplayHazard::Clock,
        ReplayHazard::InternalId,
        ReplayHazard::UnorderedLimit,
        ReplayHazard::NondeterministicProcedure,
        ReplayHazard::External,
        ReplayHazard::Unknown,
    ];

    /// The name used in JSON and documentation.
    pub fn as_str(self) -> &'static str {
        match self {
            ReplayHazard::Random => "random",
            ReplayHazard::Clock => "clock",
            ReplayHazard::InternalId => "internal-id",
            ReplayHazard::UnorderedLimit => "unordered-limit",
            ReplayHazard::NondeterministicProcedure => "nondeterministic-procedure",
            ReplayHazard::External => "external",
            ReplayHazard::Unknown => "unknown",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<ReplayHazard> {
        ReplayHazard::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

impl fmt::Display for ReplayHazard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The temporal types whose constructors read the clock when given no value.
const TEMPORALS: &[&str] = &["datetime", "date", "time", "localdatetime", "localtime"];

/// What the arguments of a call look like, as far as the clock is concerned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallArgs {
    /// How many arguments.
    pub count: usize,
    /// The only argument is a map literal naming no key but `timezone`
    /// (`datetime({timezone: 'Europe/Paris'})` is the current instant there).
    pub clock_map: bool,
}

/// The hazard of calling the built-in function `name` (lower case, qualified, as resolved),
/// if any. Namespaced routines of the catalog are looked up by the parser.
pub(crate) fn builtin(name: &str, args: CallArgs) -> Option<ReplayHazard> {
    match name {
        "rand" | "randomuuid" => return Some(ReplayHazard::Random),
        "timestamp" => return Some(ReplayHazard::Clock),
        "id" | "elementid" => return Some(ReplayHazard::InternalId),
        _ => {}
    }
    if TEMPORALS.contains(&name) {
        // `datetime()` and `datetime({timezone: …})` are now; a string, a map of fields or
        // another temporal is a fixed value. A variable or parameter is not looked into:
        // its value is journaled with the statement.
        let now = args.count == 0 || (args.count == 1 && args.clock_map);
        return now.then_some(ReplayHazard::Clock);
    }
    let (ty, f) = name.split_once('.')?;
    if !TEMPORALS.contains(&ty) {
        return None;
    }
    match f {
        // Their only argument is a time zone: always the clock.
        "statement" | "transaction" | "realtime" => Some(ReplayHazard::Clock),
        // `date.truncate(unit [, input [, fields]])`: without an input, now.
        "truncate" => (args.count < 2).then_some(ReplayHazard::Clock),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::classify;
    use super::ReplayHazard::{self, *};

    /// `(statement, hazards)`: statements that write unless they are listed as reads.
    const TABLE: &[(&str, &[ReplayHazard])] = &[
        // Random.
        ("CREATE (:A {id: randomUUID()})", &[Random]),
        ("CREATE (:A {x: rand()})", &[Random]),
        ("CREATE (:A {x: RAND()})", &[Random]),
        ("CREATE (:A {id: RandomUuid()})", &[Random]),
        ("CREATE (:A {x: `rand`()})", &[Random]),
        ("CREATE (:A {x: r\\u0061nd()})", &[Random]),
        ("CREATE (:A {x: rand /* ( */ ( ) })", &[Random]),
        ("CREATE (:A {x: rand // c\n()})", &[Random]),
        ("MATCH (n) SET n.x = toInteger(rand() * 10)", &[Random]),
        // Clock.
        ("CREATE (:A {at: timestamp()})", &[Clock]),
        ("CREATE (:A {at: datetime()})", &[Clock]),
        ("CREATE (:A {at: date()})", &[Clock]),
        ("CREATE (:A {at: time()})", &[Clock]),
        ("CREATE (:A {at: localdatetime()})", &[Clock]),
        ("CREATE (:A {at: localtime()})", &[Clock]),
        ("CREATE (:A {at: DateTime()})", &[Clock]),
        ("CREATE (:A {at: `datetime`()})", &[Clock]),
        ("CREATE (:A {at: datetime.realtime()})", &[Clock]),
        ("CREATE (:A {at: datetime.statement()})", &[Clock]),
        ("CREATE (:A {at: date.transaction()})", &[Clock]),
        (
            "CREATE (:A {at: localtime.realtime('Europe/Paris')})",
            &[Clock],
        ),
        ("CREATE (:A {at: `datetime`.`realtime`()})", &[Clock]),
        ("CREATE (:A {at: `datetime.realtime`()})", &[Clock]),
        ("CREATE (:A {at: DATETIME . REALTIME ()})", &[Clock]),
        ("CREATE (:A {at: datetime({timezone: 'UTC'})})", &[Clock]),
        ("CREATE (:A {at: date.truncate('month')})", &[Clock]),
        ("CREATE (:A {at: date(datetime())})", &[Clock]),
        ("CREATE (:A {at: d\\u0061te()})", &[Clock]),
        // Deterministic look-alikes.
        ("CREATE (:A {at: datetime('2020-01-01T00:00:00Z')})", &[]),
        ("CREATE (:A {at: date('2020-01-01')})", &[]),
        ("CREATE (:A {at: date({year: 2020})})", &[]),
        (
            "CREATE (:A {at: datetime({year: 2020, timezone: 'UTC'})})",
            &[],
        ),
        ("CREATE (:A {at: datetime.fromepoch(1, 2)})", &[]),
        ("CREATE (:A {at: datetime.fromepochmillis(1)})", &[]),
        (
            "CREATE (:A {at: date.truncate('month', date('2020-05-05'))})",
            &[],
        ),
        ("CREATE (:A {at: datetime($at)})", &[]),
        ("MATCH (n) SET n.y = n.rand", &[]),
        ("MATCH (n) SET n.y = n.datetime", &[]),
        ("CREATE (:A {datetime: 1, rand: 2, timestamp: 3})", &[]),
        ("WITH 1 AS timestamp CREATE (:A {t: timestamp})", &[]),
        ("WITH 1 AS rand, 2 AS id CREATE (:A {x: rand, y: id})", &[]),
        ("CREATE (:A {s: 'rand() timestamp() id(n)'})", &[]),
        ("CREATE (:A {s: \"datetime()\"}) // rand()", &[]),
        ("CREATE (:A) /* LIMIT 1 rand() */", &[]),
        ("CREATE (:`rand` {x: 1})", &[]),
        (
            "CREATE (:A {x: duration.between(date('2020-01-01'), date('2021-01-01'))})",
            &[],
        ),
        // Internal ids.
        ("MATCH (n) WHERE id(n) = 4 SET n.x = 1", &[InternalId]),
        ("MATCH (n) WHERE elementId(n) = $e DELETE n", &[InternalId]),
        ("MATCH (n) CREATE (:Copy {of: ID(n)})", &[InternalId]),
        ("MATCH (n) CREATE (:Copy {of: ElementID(n)})", &[InternalId]),
        ("MATCH (n) WHERE n.id = 4 SET n.x = 1", &[]),
        // Unordered LIMIT / SKIP.
        ("MATCH (n) WITH n LIMIT 10 DELETE n", &[UnorderedLimit]),
        ("MATCH (n) WITH n SKIP 1 SET n.x = 1", &[UnorderedLimit]),
        ("MATCH (n) WITH n ORDER BY n.x LIMIT 10 DELETE n", &[]),
        (
            "MATCH (n) WITH n ORDER BY n.x SKIP 1 LIMIT 10 DELETE n",
            &[],
        ),
        (
            "MATCH (n) WITH n ORDER BY n.x LIMIT 10 WITH n LIMIT 2 DELETE n",
            &[UnorderedLimit],
        ),
        ("MATCH (n) SET n.x = 1 RETURN n LIMIT 1", &[UnorderedLimit]),
        ("CYPHER 25 MATCH (n) LIMIT 3 SET n.x = 1", &[UnorderedLimit]),
        ("CYPHER 25 MATCH (n) ORDER BY n.k LIMIT 3 SET n.x = 1", &[]),
        (
            "CALL { MATCH (n) RETURN n LIMIT 1 } SET n.x = 1",
            &[UnorderedLimit],
        ),
        (
            "MATCH (n) WITH n ORDER BY elementId(n) LIMIT 1 SET n.x = rand()",
            &[InternalId, Random],
        ),
        // Catalog routines.
        (
            "CREATE (:A {id: apoc.create.uuid()})",
            &[NondeterministicProcedure],
        ),
        (
            "CREATE (:A {id: APOC.Create.UUID()})",
            &[NondeterministicProcedure],
        ),
        (
            "CALL apoc.create.uuids(3) YIELD uuid CREATE (:A {id: uuid})",
            &[NondeterministicProcedure],
        ),
        (
            "CREATE (:A {x: apoc.coll.shuffle([1, 2])})",
            &[NondeterministicProcedure],
        ),
        (
            "CREATE (:A {x: apoc.coll.randomItem([1, 2])})",
            &[NondeterministicProcedure],
        ),
        (
            "CREATE (:A {x: apoc.text.random(5, 'a-z')})",
            &[NondeterministicProcedure],
        ),
        (
            "CREATE (:A {x: apoc.date.currentTimestamp()})",
            &[NondeterministicProcedure],
        ),
        ("CREATE (:A {x: apoc.coll.sort([2, 1])})", &[]),
        ("CALL apoc.util.sleep(10) CREATE (:A)", &[]),
        (
            "MATCH (n) CREATE (:Copy {of: apoc.node.id(n)})",
            &[InternalId],
        ),
        // Dynamic Cypher: literal text is looked into, the rest is unknown.
        (
            "CALL apoc.cypher.doIt('CREATE (:A {x: rand()})', {})",
            &[Random],
        ),
        (
            "CALL apoc.cypher.doIt('MATCH (n) RETURN n LIMIT 1', {}) YIELD value CREATE (:A)",
            &[UnorderedLimit],
        ),
        ("CALL apoc.cypher.doIt($q, {})", &[Unknown]),
        ("CALL my.own.proc() CREATE (:A)", &[Unknown]),
        // External.
        (
            "LOAD CSV FROM 'file:///a.csv' AS r CREATE (:A {x: r[0]})",
            &[External],
        ),
        // Unparsed: nothing proven.
        ("CREATE (:A {x: 1}", &[Unknown]),
        ("CREATE (:A {x: 1}) ???", &[Unknown]),
    ];

    /// Reads never carry hazards, whatever they call.
    const READS: &[&str] = &[
        "RETURN rand()",
        "MATCH (n) RETURN id(n), datetime() LIMIT 3",
        "RETURN apoc.create.uuid()",
        "EXPLAIN CREATE (:A {x: rand()})",
    ];

    #[test]
    fn hazards_of_writes() {
        assert!(TABLE.len() >= 40);
        let mut failures = Vec::new();
        for (q, want) in TABLE {
            let c = classify(q);
            assert!(!c.is_read(), "{q} is a write: {:?}", c.classes);
            let got: Vec<_> = c.replay.iter().copied().collect();
            let mut want = want.to_vec();
            want.sort();
            if got != want {
                failures.push(format!("{q:?}: expected {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn reads_have_none() {
        for q in READS {
            let c = classify(q);
            assert!(c.is_read(), "{q}: {:?}", c.classes);
            assert!(c.replay.is_empty(), "{q}: {:?}", c.replay);
        }
    }

    /// Case and escapes change nothing (the fuzz target checks the same on the corpus).
    #[test]
    fn disguises_keep_hazards() {
        use super::super::obfuscate::{obfuscate, Seeded, Transforms};
        let t = Transforms {
            separators: true,
            case: true,
            prefix: false,
            escapes: true,
        };
        for (q, _) in TABLE {
            let want = classify(q).replay;
            for seed in 0..8 {
                let Some(d) = obfuscate(q, t, &mut Seeded(seed)) else {
                    continue;
                };
                assert_eq!(classify(&d).replay, want, "{q:?} vs {d:?}");
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for h in ReplayHazard::ALL {
            assert_eq!(ReplayHazard::parse(h.as_str()), Some(h));
            let json = serde_json::to_string(&h).unwrap();
            assert_eq!(json, format!("\"{h}\""));
        }
    }
}
