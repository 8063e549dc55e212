"""Eight workers update four nodes through boltward ($URI, database alpha) in an
order-sensitive way (v = v*7 + w, and a history list), auto-commit and in two-statement
transactions, retrying conflicts. Prints 'ERRORS n' (writes that never committed).
Environment: URI, PW, RUN.
"""

import os, random, threading, neo4j
from neo4j.exceptions import Neo4jError
run = os.environ["RUN"]
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]), max_connection_pool_size=16)
with d.session(database="alpha") as s:
    s.run("UNWIND range(0, 3) AS k CREATE (:Ord {run: $run, k: k, v: 1, hist: []})", run=run).consume()
UPDATE = "MATCH (n:Ord {run: $run, k: $k}) SET n.v = (n.v * 7 + $w) % 1000003, n.hist = n.hist + [$w]"
errors = []
def worker(w):
    rnd = random.Random(w)
    for i in range(25):
        k = rnd.randrange(4)
        tag = w * 1000 + i
        for attempt in range(60):
            try:
                with d.session(database="alpha") as s:
                    if i % 4 == 3:
                        s.run(UPDATE, run=run, k=k, w=tag).consume()
                    else:
                        tx = s.begin_transaction()
                        tx.run(UPDATE, run=run, k=k, w=tag).consume()
                        tx.run("MATCH (a:Ord {run: $run, k: $k}) SET a.last = $w", run=run, k=(k + 1) % 4, w=tag).consume()
                        tx.commit()
                break
            except Neo4jError as e:
                continue
        else:
            errors.append(tag)
ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print("ERRORS", len(errors))
