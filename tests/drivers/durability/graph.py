"""The run's four :Ord nodes in database $DB of $URI, as one JSON object: a SHA-256 of
their properties, the row count and the number of updates. Environment: URI, PW, DB, RUN.
"""

import os, json, hashlib, neo4j
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]))
rows = d.execute_query("MATCH (n:Ord {run: $run}) RETURN n.k AS k, n.v AS v, n.hist AS hist, n.last AS last ORDER BY k",
                       run=os.environ["RUN"], database_=os.environ["DB"]).records
data = json.dumps([dict(r) for r in rows], sort_keys=True)
print(json.dumps({"hash": hashlib.sha256(data.encode()).hexdigest(), "rows": len(rows), "updates": sum(len(r["hist"]) for r in rows)}))
