"""Writes while boltward's writes are paused (POST /v1/writes/pause on its control port).
MODE=resume: a managed write in a thread is held; a read flows meanwhile; after resume
the write lands once. MODE=timeout: an auto-commit write is held past the bound and must
fail, and the session still answers. Prints one JSON object. Environment: URI, PW,
CONTROL (host:port), TOKEN, RUN, MODE.
"""

import os, json, threading, time, urllib.request, neo4j
from neo4j.exceptions import Neo4jError
ctl, tok, run = os.environ["CONTROL"], os.environ["TOKEN"], os.environ["RUN"]
def control(path):
    req = urllib.request.Request(f"http://{ctl}{path}", method="POST" if "writes" in path else "GET",
                                 headers={"Authorization": f"Bearer {tok}"})
    return json.loads(urllib.request.urlopen(req).read())
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]))
res = {}
if os.environ["MODE"] == "resume":
    control("/v1/writes/pause")
    done = {}
    def writer():
        t0 = time.time()
        d.execute_query("CREATE (:Gate {run: $run})", run=run, database_="neo4j")
        done["waited"] = time.time() - t0
    t = threading.Thread(target=writer); t.start()
    # Wait until boltward holds the write (or the writer got through, which the asserts catch).
    deadline = time.time() + 60
    while control("/v1/status")["writes"]["held"] < 1 and "waited" not in done and time.time() < deadline:
        time.sleep(0.02)
    res["read_while_paused"] = d.execute_query("RETURN 7 AS x", database_="neo4j", routing_="r").records[0]["x"]
    res["held"] = control("/v1/status")["writes"]["held"]
    res["writer_done_before_resume"] = "waited" in done
    control("/v1/writes/resume")
    t.join(30)
    res["writer_done"] = "waited" in done
    res["count"] = d.execute_query("MATCH (n:Gate {run: $run}) RETURN count(n) AS c", run=run, database_="neo4j").records[0]["c"]
else:
    control("/v1/writes/pause")
    with d.session(database="neo4j") as s:
        try:
            s.run("CREATE (:Gate {run: $run})", run=run).consume()
            res["write"] = "ran"
        except Neo4jError as e:
            res["write"] = e.code
        res["after"] = s.run("RETURN 1 AS x").single()["x"]
    control("/v1/writes/resume")
print(json.dumps(res))
