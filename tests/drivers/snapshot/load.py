"""Six workers write through boltward ($URI, database load) until standard input closes:
odd ones create a node auto-commit, even ones bump their counter and create two linked
nodes in one transaction. Prints 'ACK w i' per acknowledged write, then 'acked errors
[first errors]' (errors are boltward's refusals only). Environment: URI, PW.
"""

import os, sys, threading, neo4j
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]), max_connection_pool_size=8)
errors, acked = [], []
lock = threading.Lock()
stop = threading.Event()
def watch():
    sys.stdin.read()  # the test closes stdin to stop the load
    stop.set()
threading.Thread(target=watch, daemon=True).start()
def worker(w):
    i = 0
    while not stop.is_set():
        i += 1
        try:
            with d.session(database="load") as s:
                if w % 2:
                    s.run("CREATE (:W {w: $w, i: $i})", w=w, i=i).consume()
                else:
                    tx = s.begin_transaction()
                    tx.run("MATCH (c:Counter {w: $w}) SET c.n = c.n + 1", w=w).consume()
                    tx.run("CREATE (:W {w: $w, i: $i})-[:AFTER]->(:W {w: $w, i: -$i})", w=w, i=i).consume()
                    tx.commit()
            with lock:
                acked.append(1)
                print("ACK", w, i, flush=True)
        except neo4j.exceptions.Neo4jError as e:
            # ArcadeDB's optimistic concurrency aborts some concurrent transactions
            # (DeadlockDetected); only a refusal by boltward (paused writes) is an error.
            if "boltward" in str(e):
                with lock:
                    errors.append(f"{e.code}: {e.message}")
with d.session(database="load") as s:
    s.run("UNWIND range(0, 5) AS w CREATE (:Counter {w: w, n: 0})").consume()
ts = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
[t.start() for t in ts]
[t.join() for t in ts]
d.close()
print(len(acked), len(errors), errors[:3])
