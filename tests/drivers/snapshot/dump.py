"""Every node and relationship of database $DB (the default when empty) of $URI with its
properties' Python types and values, then the names of the indexes and constraints: one
line each, to compare two graphs value by value. Environment: URI, PW, DB.
"""

import os, neo4j
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]))
with d.session(database=os.environ.get("DB") or None) as s:
    for r in s.run("MATCH (n) RETURN labels(n) AS l, properties(n) AS p"):
        print(sorted(r["l"]), sorted((k, type(v).__name__, repr(v)) for k, v in r["p"].items()))
    for r in s.run("MATCH (a)-[r]->(b) RETURN type(r) AS t, properties(r) AS p, a.name AS a, b.name AS b"):
        print(r["t"], sorted((k, type(v).__name__, repr(v)) for k, v in r["p"].items()), r["a"], r["b"])
    print(sorted(r["name"] for r in s.run("SHOW INDEXES YIELD name, owningConstraint WHERE owningConstraint IS NULL RETURN name")))
    print(sorted(r["name"] for r in s.run("SHOW CONSTRAINTS YIELD name RETURN name")))
d.close()
