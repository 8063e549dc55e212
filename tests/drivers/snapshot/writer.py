"""Writes through boltward ($URI, default database) one managed transaction at a time,
about a hundred per second, until standard input closes; prints 'ACK i' per acknowledged
write, then every acknowledged i on one line and how many :OnlyOnTarget nodes the driver
sees. Environment: URI, PW.
"""

import os, sys, threading, time, neo4j
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]), max_connection_pool_size=4)
stop = threading.Event()
def watch():
    sys.stdin.read()  # the test closes stdin to stop the writer
    stop.set()
threading.Thread(target=watch, daemon=True).start()
acked = []
i = 0
def create(tx, i):
    tx.run("CREATE (:Live {i: $i})", i=i).consume()
while not stop.is_set():
    i += 1
    with d.session() as s:
        s.execute_write(create, i)
    acked.append(i)
    print("ACK", i, flush=True)
    time.sleep(0.01)  # pacing: a steady stream of writes, not a flood
with d.session() as s:
    target = s.run("MATCH (n:OnlyOnTarget) RETURN count(n) AS c").single()["c"]
d.close()
print(" ".join(map(str, acked)))
print(target)
