"""A reader (user agent agent/1.0, through $PROXY) tries writes disguised from a keyword
reader (unicode escapes, a comment ended by CR, APOC with a literal or dynamic statement,
a malformed escape); after each, whether the session still answers. An admin (directly)
counts what was written. Prints one JSON object. Environment: RUN, PW, DIRECT, PROXY.
"""

import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
agent = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="agent/1.0")
statements = {
    "escaped_create": "\\u0043REATE (:Obf {run: $run})",
    "cr_comment": "WITH 1 AS x // note\rCREATE (:Obf {run: $run})",
    "escaped_newline_comment": "WITH 1 AS x // ok\\u000aCREATE (:Obf {run: $run})",
    "apoc_literal_write": "RETURN apoc.cypher.runFirstColumnSingle('CREATE (n:Obf {run: $run}) RETURN n', {run: $run}) AS n",
    "apoc_dynamic": "CALL apoc.cypher.run($q, {run: $run}) YIELD value RETURN value",
    "malformed_escape": "RETURN '\\u00zz' AS x",
}
res = {}
with agent.session(database="alpha") as s:
    for name, q in statements.items():
        try:
            s.run(q, run=run, q="CREATE (:Obf {run: $run})").consume()
            res[name] = "allowed"
        except ClientError as e:
            res[name] = [e.code, e.message]
        res[name + "_after"] = s.run("RETURN 1 AS x").single()["x"]
res["count"] = admin.execute_query("MATCH (n:Obf {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps(res))
