"""The journal test's traffic through boltward ($URI): an app (app/1) writes auto-commit,
in a managed transaction of two statements and in database beta, and reads; an agent
(agent/1, read-only by policy) tries a delete. Prints one JSON object with the agent's
refusal code. Environment: URI, PW, RUN.
"""

import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
agent = neo4j.GraphDatabase.driver(os.environ["URI"], auth=auth, user_agent="agent/1")
app = neo4j.GraphDatabase.driver(os.environ["URI"], auth=auth, user_agent="app/1")
out = {}
# auto-commit write
with app.session(database="alpha") as s:
    s.run("CREATE (:JPerson {run: $run, name: 'ada'})", run=run).consume()
# explicit (managed) transaction with two statements, one naming a relationship type
def tx(t):
    t.run("MATCH (p:JPerson {run: $run}) SET p.age = 36", run=run).consume()
    t.run("MATCH (p:JPerson {run: $run}) CREATE (p)-[:KNOWS]->(:JPet {run: $run})", run=run).consume()
with app.session(database="alpha") as s:
    s.execute_write(tx)
# reads are not journaled
app.execute_query("MATCH (n:JPerson {run: $run}) RETURN n.name", run=run, database_="alpha")
# refused: agents may only read
try:
    agent.execute_query("MATCH (p:JPerson {run: $run}) DETACH DELETE p", run=run, database_="alpha")
    out["refused"] = None
except ClientError as e:
    out["refused"] = e.code
# a write in another database
app.execute_query("CREATE (:JOther {run: $run})", run=run, database_="beta")
print(json.dumps(out))
