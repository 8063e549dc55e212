"""48 concurrent sessions create ten nodes each through boltward ($URI, database alpha),
auto-commit, half of them reading the created node back. Prints 'ERRORS n [first three]'
and 'NODES n' (the run's nodes counted afterwards). Environment: URI, PW, RUN.
"""

import os, threading, neo4j
run = os.environ["RUN"]
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]), max_connection_pool_size=48)
errors = []
def worker(w):
    with d.session(database="alpha") as s:
        for i in range(10):
            try:
                if i % 2:
                    s.run("CREATE (:Busy {run: $run, w: $w, i: $i})", run=run, w=w, i=i).consume()
                else:
                    s.run("CREATE (n:Busy {run: $run, w: $w, i: $i}) RETURN n.i AS i", run=run, w=w, i=i).single()
            except Exception as e:
                errors.append("%s %s" % (type(e).__name__, e))
ts = [threading.Thread(target=worker, args=(w,)) for w in range(48)]
for t in ts: t.start()
for t in ts: t.join()
n = d.execute_query("MATCH (n:Busy {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print("ERRORS", len(errors), errors[:3])
print("NODES", n)
