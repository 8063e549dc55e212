"""Up to $N creates through boltward ($URI, database full) until one is refused; then a
read in the same session. Prints one JSON object: how many succeeded, the refusal's code
and message, and the read's answer. Environment: URI, PW, N.
"""

import os, json, neo4j
from neo4j.exceptions import Neo4jError
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]))
res = {"ok": 0}
with d.session(database="full") as s:
    for i in range(int(os.environ["N"])):
        try:
            s.run("CREATE (:Full {i: $i, pad: $pad})", i=i, pad="x" * 200).consume()
            res["ok"] += 1
        except Neo4jError as e:
            res["code"], res["message"] = e.code, e.message
            break
    res["read"] = s.run("RETURN 41 + 1 AS x").single()["x"]
print(json.dumps(res))
