"""A write through boltward ($URI) in database alpha; with WAIT=1, then polls the audit
database directly ($DIRECT) until the intent and outcome the journal sink wrote are there
(at most 60 s). Prints one JSON object with the AuditLogEntry rows seen. Environment:
URI, DIRECT, PW, RUN, WAIT.
"""

import os, json, time, neo4j
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
proxy = neo4j.GraphDatabase.driver(os.environ["URI"], auth=auth)
direct = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
with proxy.session(database="alpha") as s:
    s.run("CREATE (:JSink {run: $run})", run=run).consume()
out = {"rows": []}
if os.environ.get("WAIT") == "1":
    # The sink writes asynchronously: poll until the intent and its outcome are there.
    deadline = time.time() + 60
    while time.time() < deadline:
        rows = direct.execute_query(
            "MATCH (e:AuditLogEntry) WHERE any(q IN coalesce(e.statements, []) WHERE q CONTAINS 'JSink') "
            "OR e.kind = 'outcome' RETURN e.kind AS kind, e.lsn AS lsn, e.principal AS principal, "
            "e.intent AS intent, e.result AS result, e.statements AS statements ORDER BY e.lsn",
            database_="audit").records
        out["rows"] = [dict(r) for r in rows]
        intents = {r["lsn"] for r in rows if r["kind"] == "intent"}
        if any(r["kind"] == "outcome" and r["intent"] in intents for r in rows):
            break
        time.sleep(0.1)
print(json.dumps(out))
