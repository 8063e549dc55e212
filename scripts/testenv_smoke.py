#!/usr/bin/env python3
"""Python half of scripts/smoke-testenv.sh: real neo4j driver against the backend.

  python testenv_smoke.py PORT PASSWORD DB1 DB2

Exits non-zero on the first failed expectation. Works with neo4j 5.28.x and 6.x.
"""

import sys

import neo4j
from neo4j import GraphDatabase


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def main():
    port, pw, db1, db2 = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    tag = f"py neo4j {neo4j.__version__}"
    with GraphDatabase.driver(f"bolt://127.0.0.1:{port}", auth=("root", pw)) as d:
        d.verify_connectivity()
        info = d.get_server_info()
        check(tuple(info.protocol_version)[0] == 5, f"{tag}: Bolt {info.protocol_version}, agent {info.agent!r}")

        before = d.execute_query("MATCH (n:Person) RETURN count(n) AS c", database_=db1).records[0]["c"]
        recs, summ, _ = d.execute_query("CREATE (n:Person {name:'a'}) RETURN n", database_=db1)
        check(recs[0]["n"]["name"] == "a" and summ.counters.nodes_created == 1,
              f"{tag}: CREATE on {db1} (query_type {summ.query_type!r})")
        after = d.execute_query("MATCH (n:Person) RETURN count(n) AS c", database_=db1).records[0]["c"]
        check(after == before + 1, f"{tag}: MATCH count on {db1} {before} -> {after}")

        with d.session(database=db2) as s:
            n0 = s.run("MATCH (t:T) RETURN count(t) AS c").single()["c"]
            tx = s.begin_transaction()
            tx.run("CREATE (:T {v: 1})").consume()
            tx.commit()
            tx = s.begin_transaction()
            tx.run("CREATE (:T {v: 2})").consume()
            check(tx.run("MATCH (t:T) RETURN count(t) AS c").single()["c"] == n0 + 2,
                  f"{tag}: explicit tx on {db2} sees its own write")
            tx.rollback()
            check(s.run("MATCH (t:T) RETURN count(t) AS c").single()["c"] == n0 + 1,
                  f"{tag}: commit kept, rollback discarded on {db2}")
            res = s.run("EXPLAIN MATCH (t:T) RETURN t")
            check(len(list(res)) == 0 and res.consume().plan is not None, f"{tag}: EXPLAIN returns a plan, no rows")

        other = d.execute_query("MATCH (n:Person) RETURN count(n) AS c", database_=db2).records[0]["c"]
        check(other == 0, f"{tag}: {db2} is a separate database (Person count {other})")

    with GraphDatabase.driver(f"neo4j://127.0.0.1:{port}", auth=("root", pw)) as d:
        one = d.execute_query("RETURN 1 AS one", database_=db1).records[0]["one"]
        check(one == 1, f"{tag}: neo4j:// routing driver works")


if __name__ == "__main__":
    main()
