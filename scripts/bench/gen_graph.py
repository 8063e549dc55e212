"""Generates a benchmark graph in DATABASE: NODES :Item nodes with mixed property types
(integer, string, float, boolean, date, local date-time, list, point; a tenth also
:Featured) and NODES :LINKS relationships.

    python gen_graph.py HOST:PORT PASSWORD NODES [DATABASE]   (database default: src)
"""
import sys, neo4j
server, pw, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sys.argv[4] if len(sys.argv) > 4 else "src"
with neo4j.GraphDatabase.driver(f"bolt://{server}", auth=("root", pw)) as d, d.session(database=db) as s:
    s.run("CREATE INDEX item_i IF NOT EXISTS FOR (n:Item) ON (n.i)").consume()
    step = 20000
    for lo in range(0, n, step):
        s.run("""UNWIND range($lo, $hi) AS i
                 CREATE (x:Item {i: i, name: 'item-' + toString(i), score: i * 0.25, even: i % 2 = 0,
                                 day: date('2024-01-01') + duration({days: i % 365}),
                                 at: localdatetime('2024-01-01T00:00:00') + duration({seconds: i}),
                                 tags: ['t' + toString(i % 7), 't' + toString(i % 11)],
                                 where: point({x: toFloat(i % 100), y: toFloat(i % 37)})})
                 FOREACH (_ IN CASE WHEN i % 10 = 0 THEN [1] ELSE [] END | SET x:Featured)""",
              lo=lo, hi=min(lo + step, n) - 1).consume()
    for lo in range(0, n, step):
        s.run("""UNWIND range($lo, $hi) AS i
                 MATCH (a:Item {i: i}) MATCH (b:Item {i: (i * 7 + 1) % $n})
                 CREATE (a)-[:LINKS {w: i * 0.5, since: date('2020-01-01')}]->(b)""",
              lo=lo, hi=min(lo + step, n) - 1, n=n).consume()
