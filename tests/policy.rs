//! Table tests of the pure policy decision: actor matching, classes, databases, label
//! scope, guards, default verdicts, audit mode, trusted gateways. No I/O.

use boltward::cypher::classify;
use boltward::policy::{decide, Actor, Decision, Policy};

const POLICY: &str = r#"
[policy]
mode = "enforce"
default = "deny"
trusted_gateways = ["gateway"]

[[policy.rules]]
name = "ops"
actors = { principals = ["root", "ops-*"] }
allow = ["read", "write", "schema", "admin", "procedure", "external", "db-switch"]
allow_schema_drop = true

[[policy.rules]]
name = "agents-read-only"
actors = { principals = ["agent-*"] }
allow = ["read"]

[[policy.rules]]
name = "crm-writer"
actors = { principals = ["crm"], addresses = ["10.0.0.0/8"] }
databases = ["crm"]
allow = ["read", "write"]
labels = ["Customer", "BOUGHT", "Product"]
max_deletes_per_tx = 10

[[policy.rules]]
name = "gateway-bots"
actors = { principals = ["gateway"], claimed = ["bot-*"] }
allow = ["read"]

[[policy.rules]]
name = "gateway-humans"
actors = { principals = ["gateway"] }
allow = ["read", "write"]

[[policy.rules]]
name = "no-procedures"
actors = { user_agents = ["*scraper*"] }
deny = ["procedure", "external"]
allow = ["read", "procedure", "external"]
"#;

fn actor(principal: &str) -> Actor {
    Actor {
        principal: Some(principal.into()),
        scheme: Some("basic".into()),
        address: Some("10.1.2.3".parse().unwrap()),
        ..Actor::default()
    }
}

#[test]
fn decision_table() {
    let p = Policy::from_toml(POLICY).unwrap();
    let with_claim = |claim: &str| Actor {
        claimed: Some(claim.into()),
        ..actor("gateway")
    };
    let scraper = Actor {
        user_agent: Some("my-scraper/1".into()),
        ..actor("someone")
    };
    let outside = Actor {
        address: Some("192.168.1.1".parse().unwrap()),
        ..actor("crm")
    };
    let cases: Vec<(Actor, &str, Option<&str>, Decision, &str)> = vec![
        (
            actor("root"),
            "MATCH (n) RETURN n",
            None,
            Decision::Allow,
            "ops",
        ),
        (actor("ops-1"), "DROP INDEX i", None, Decision::Allow, "ops"),
        (
            actor("root"),
            "MATCH (n) DETACH DELETE n",
            None,
            Decision::Deny,
            "guard:unbounded-delete",
        ),
        (
            actor("agent-7"),
            "MATCH (n) RETURN n",
            None,
            Decision::Allow,
            "agents-read-only",
        ),
        (
            actor("agent-7"),
            "CREATE (n)",
            None,
            Decision::Deny,
            "agents-read-only",
        ),
        (
            actor("agent-7"),
            "CALL my.proc()",
            None,
            Decision::Deny,
            "agents-read-only",
        ),
        (
            actor("agent-7"),
            "EXPLAIN CREATE (n)",
            None,
            Decision::Allow,
            "agents-read-only",
        ),
        (
            actor("crm"),
            "CREATE (:Customer)-[:BOUGHT]->(:Product)",
            Some("crm"),
            Decision::Allow,
            "crm-writer",
        ),
        (
            actor("crm"),
            "CREATE (:Employee)",
            Some("crm"),
            Decision::Deny,
            "crm-writer",
        ),
        (
            actor("crm"),
            "MATCH (c:Customer {id: 1}) SET c:$($l)",
            Some("crm"),
            Decision::Deny,
            "crm-writer",
        ),
        (
            actor("crm"),
            "MATCH (n:Anything) RETURN n",
            Some("crm"),
            Decision::Allow,
            "crm-writer",
        ),
        (
            actor("crm"),
            "CREATE (:Customer)",
            Some("other"),
            Decision::Deny,
            "default",
        ),
        (
            outside,
            "CREATE (:Customer)",
            Some("crm"),
            Decision::Deny,
            "default",
        ),
        (
            with_claim("bot-3"),
            "CREATE (n)",
            None,
            Decision::Deny,
            "gateway-bots",
        ),
        (
            with_claim("alice"),
            "CREATE (n)",
            None,
            Decision::Allow,
            "gateway-humans",
        ),
        (
            Actor {
                claimed: Some("bot-3".into()),
                ..actor("agent-7")
            },
            "MATCH (n) RETURN n",
            None,
            Decision::Allow,
            "agents-read-only",
        ),
        (
            scraper.clone(),
            "CALL db.labels()",
            None,
            Decision::Allow,
            "no-procedures",
        ),
        (
            scraper,
            "CALL my.proc()",
            None,
            Decision::Deny,
            "no-procedures",
        ),
        (
            actor("stranger"),
            "RETURN 1",
            None,
            Decision::Deny,
            "default",
        ),
    ];
    for (i, (a, q, db, want, rule)) in cases.into_iter().enumerate() {
        let v = decide(&p, &a, &classify(q), db);
        assert_eq!(
            (v.verdict, v.rule.as_str()),
            (want, rule),
            "case {i}: {q} as {:?}: {}",
            a.principal,
            v.reason
        );
        assert!(!v.would_deny);
    }
}

#[test]
fn claimed_actor_needs_a_trusted_gateway() {
    let p = Policy::from_toml(POLICY).unwrap();
    let a = Actor {
        claimed: Some("bot-1".into()),
        ..actor("agent-7")
    };
    assert_eq!(a.trusted_claim(&p), None);
    let g = Actor {
        claimed: Some("bot-1".into()),
        ..actor("gateway")
    };
    assert_eq!(g.trusted_claim(&p), Some("bot-1"));
}

#[test]
fn audit_mode_allows_and_records() {
    let p = Policy::from_toml(&POLICY.replace("mode = \"enforce\"", "mode = \"audit\"")).unwrap();
    let v = decide(&p, &actor("agent-7"), &classify("CREATE (n)"), None);
    assert_eq!(v.verdict, Decision::Allow);
    assert!(v.would_deny);
    assert_eq!(v.rule, "agents-read-only");
}

#[test]
fn defaults_and_budget() {
    let open = Policy::default();
    assert_eq!(
        decide(&open, &Actor::default(), &classify("CREATE (n)"), None).verdict,
        Decision::Allow
    );
    let v = decide(
        &open,
        &Actor::default(),
        &classify("DROP CONSTRAINT c"),
        None,
    );
    assert_eq!(
        (v.verdict, v.rule.as_str()),
        (Decision::Deny, "guard:schema-drop")
    );
    let p = Policy::from_toml(POLICY).unwrap();
    let v = decide(
        &p,
        &actor("crm"),
        &classify("MATCH (c:Customer {id: 1}) DELETE c"),
        Some("crm"),
    );
    assert_eq!(v.max_deletes_per_tx, Some(10));
}

#[test]
fn invalid_policies_say_where() {
    for (text, needle) in [
        (
            "[[policy.rules]]\nname = \"a\"\nallow = [\"write\", \"teleport\"]",
            "unknown class \"teleport\"",
        ),
        (
            "[[policy.rules]]\nname = \"a\"\n[[policy.rules]]\nname = \"a\"",
            "unique",
        ),
        (
            "[[policy.rules]]\nname = \"a\"\nactors = { addresses = [\"10.0.0.0/40\"] }",
            "CIDR",
        ),
        ("[policy]\nmode = \"loud\"", "mode"),
        (
            "[[policy.rules]]\nname = \"a\"\ndelete_rate = { max = 1, window_secs = 0 }",
            "window_secs",
        ),
    ] {
        let e = Policy::from_toml(text).unwrap_err().to_string();
        assert!(e.contains(needle), "{text}: {e}");
    }
}
