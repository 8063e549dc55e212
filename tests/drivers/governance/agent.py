"""An agent (user agent agent/1.0, through $PROXY) tries to write three ways in database
alpha: auto-commit, an explicit transaction and execute_query; after each, whether the
session still answers. An admin (directly, $DIRECT) counts what was written. Prints one
JSON object. Environment: RUN (a unique run id), PW, DIRECT, PROXY (bolt:// URIs).
"""

import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
agent = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="agent/1.0")
res = {}
def code(e):
    return [e.code, e.message]
with agent.session(database="alpha") as s:
    try:
        s.run("CREATE (:Gov {run: $run})", run=run).consume()
        res["auto"] = "allowed"
    except ClientError as e:
        res["auto"] = code(e)
    res["after_auto"] = s.run("RETURN 1 AS x").single()["x"]
    tx = s.begin_transaction()
    tx.run("MATCH (n:Gov) RETURN count(n)").consume()
    try:
        tx.run("MERGE (:Gov {run: $run})", run=run).consume()
        res["tx"] = "allowed"
    except ClientError as e:
        res["tx"] = code(e)
    tx.close()
    res["after_tx"] = s.run("RETURN 2 AS x").single()["x"]
try:
    agent.execute_query("CREATE (:Gov {run: $run}) RETURN 1", run=run, database_="alpha")
    res["execute_query"] = "allowed"
except ClientError as e:
    res["execute_query"] = code(e)
res["read_via_execute_query"] = agent.execute_query("RETURN 3 AS x", database_="alpha").records[0]["x"]
res["count"] = admin.execute_query("MATCH (n:Gov {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps(res))
