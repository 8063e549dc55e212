"""A driver in front of a cluster, through boltward: neo4j:// routing.

  python cluster.py URI cluster   # 10 × (managed write, managed read); prints counts
  python cluster.py URI connect   # one auto-commit read; prints what happened

Prints one JSON object: {"writes": n, "reads": n, "errors": [{type, code, message}]}.
"""

import json
import sys

import neo4j

uri, mode = sys.argv[1], sys.argv[2]
out = {"writes": 0, "reads": 0, "errors": []}
d = neo4j.GraphDatabase.driver(uri, auth=("neo4j", "pw"))
try:
    if mode == "cluster":
        for _ in range(10):
            with d.session(database="neo4j") as s:
                s.execute_write(lambda tx: tx.run("CREATE (n) RETURN 1 AS WRITE").consume())
                out["writes"] += 1
                s.execute_read(lambda tx: tx.run("RETURN 1 AS x").consume())
                out["reads"] += 1
    else:
        with d.session(database="neo4j") as s:
            s.run("RETURN 1 AS x").consume()
            out["reads"] += 1
except Exception as e:  # noqa: BLE001 - reported, the test decides
    out["errors"].append({"type": type(e).__name__, "code": getattr(e, "code", None), "message": str(e)})
finally:
    d.close()
print(json.dumps(out))
