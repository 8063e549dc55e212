"""A cleaner (user agent cleaner/1.0, through $PROXY) deletes every node of its run in one
transaction (over the deletion budget: its COMMIT must fail), checks the session still
answers, then deletes one node. An admin (directly, $DIRECT) seeds three nodes and counts
what is left. Prints one JSON object. Environment: RUN, PW, DIRECT, PROXY.
"""

import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
cleaner = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="cleaner/1.0")
admin.execute_query("UNWIND range(1, 3) AS k CREATE (:Bud {run: $run, k: k})", run=run, database_="alpha")
res = {}
with cleaner.session(database="alpha") as s:
    tx = s.begin_transaction()
    tx.run("MATCH (n:Bud {run: $run}) WHERE n.k >= 0 DETACH DELETE n", run=run).consume()
    try:
        tx.commit()
        res["commit"] = "committed"
    except ClientError as e:
        res["commit"] = [e.code, e.message]
    res["after"] = s.run("RETURN 4 AS x").single()["x"]
    tx = s.begin_transaction()
    tx.run("MATCH (n:Bud {run: $run}) WHERE n.k = 1 DETACH DELETE n", run=run).consume()
    tx.commit()
res["left"] = admin.execute_query("MATCH (n:Bud {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps(res))
