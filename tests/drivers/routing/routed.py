"""Runs reads and writes through a routing driver (neo4j:// $URI, root/$PW, database
neo4j): three execute_query reads, three writes and a write session. Prints the address
of every server that answered (from each result's server info), one per line, sorted.
"""

import os, neo4j
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]))
seen = set()
for mode in (neo4j.RoutingControl.READ, neo4j.RoutingControl.WRITE):
    for i in range(3):
        r = d.execute_query("RETURN $i AS i", i=i, database_="neo4j", routing_=mode)
        seen.add(r.summary.server.address)
with d.session(database="neo4j", default_access_mode=neo4j.WRITE_ACCESS) as s:
    seen.add(s.run("CREATE (n:Routed) RETURN n").consume().server.address)
for a in sorted(f"{a[0]}:{a[1]}" for a in seen):
    print(a)
d.close()
