"""Eight workers write through boltward ($URI, database alpha) until standard input closes
(the test closes it once it has killed boltward), half auto-commit, half in explicit
transactions; prints 'ACK <id>' for each acknowledged write. Environment: URI, PW, RUN.
"""

import os, sys, threading, time, neo4j
run, uri = os.environ["RUN"], os.environ["URI"]
d = neo4j.GraphDatabase.driver(uri, auth=("root", os.environ["PW"]), max_connection_pool_size=16)
lock = threading.Lock()
# The test closes stdin once it has killed boltward: then the workers stop.
killed = threading.Event()
def watch():
    sys.stdin.read()
    killed.set()
threading.Thread(target=watch, daemon=True).start()
def worker(w):
    i = 0
    deadline = time.time() + 300
    while not killed.is_set() and time.time() < deadline:
        i += 1
        ident = f"{w}-{i}"
        try:
            with d.session(database="alpha") as s:
                if w % 2 == 0:
                    s.run("CREATE (:Crash {run: $run, id: $id})", run=run, id=ident).consume()
                else:
                    tx = s.begin_transaction()
                    tx.run("CREATE (:Crash {run: $run, id: $id})", run=run, id=ident).consume()
                    tx.commit()
            with lock:
                print("ACK", ident, flush=True)
        except Exception as e:
            # Before the kill: retry shortly; after it: stop.
            killed.wait(0.05)
ts = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in ts: t.start()
for t in ts: t.join()
print("DONE", flush=True)
