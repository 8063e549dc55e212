"""Creates, in database types of $URI, an index, a constraint and a small graph holding every
Bolt value type as a property (integers at the edge of 64 bits, NaN, bytes, lists,
temporal values with offsets and zone ids, durations, 2D/3D Cartesian and WGS-84 points).
Environment: URI, PW.
"""

import os, datetime, neo4j, pytz
from neo4j.time import Date, Time, DateTime, Duration
from neo4j.spatial import CartesianPoint, WGS84Point
# Zone ids through pytz: the driver's as_timezone overflows the stack on a zoneinfo tzinfo.
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=("root", os.environ["PW"]))
def retried(s, *args, **kw):
    # Other tests load the same server: ArcadeDB may abort a statement with a transient
    # error under concurrent load; each statement here is one auto-commit, so retry it.
    deadline = __import__("time").time() + 60
    while True:
        try:
            return s.run(*args, **kw).consume()
        except neo4j.exceptions.TransientError:
            if __import__("time").time() > deadline:
                raise
            __import__("time").sleep(0.2)
with d.session(database="types") as s:
    retried(s, "CREATE INDEX person_name IF NOT EXISTS FOR (n:Person) ON (n.name)")
    retried(s, "CREATE CONSTRAINT city_name IF NOT EXISTS FOR (n:City) REQUIRE n.name IS UNIQUE")
    retried(s, """CREATE (a:Person:Admin {name: 'ann', i: $i, neg: -7, f: 1.5, nan: $nan, b: true,
                s: 'grüße 🌍', bytes: $bytes, ints: [1, 2, 3], strs: ['x', 'y'], empty: [],
                d: $d, t: time('03:04:05.000000006+02:00'), lt: $lt, ldt: $ldt, dt: $dt,
                dtz: $dtz, dur: $dur, c2: $c2, c3: $c3, w2: $w2, w3: $w3})
             CREATE (b:Person {name: 'bob'}) CREATE (c:City {name: 'Berlin'}) CREATE (o {orphan: 1})
             CREATE (a)-[:KNOWS {since: $d, w: 0.5}]->(b) CREATE (a)-[:LIVES_IN]->(c)
             CREATE (b)-[:LIVES_IN {bytes: $bytes}]->(c) CREATE (b)-[:SELF]->(b)""",
          i=2**62, nan=float("nan"), bytes=b"\x00\xff\x10", d=Date(2024, 1, 2), lt=Time(1, 2, 3, 4),
          ldt=DateTime(2024, 1, 2, 3, 4, 5, 6),
          dt=DateTime(2024, 1, 2, 3, 4, 5, 123456789, tzinfo=datetime.timezone.utc),
          dtz=pytz.timezone("Europe/Berlin").localize(DateTime(2024, 7, 2, 3, 4, 5, 0)),
          dur=Duration(months=1, days=2, seconds=3, nanoseconds=4),
          c2=CartesianPoint((1.0, 2.0)), c3=CartesianPoint((1.0, 2.0, 3.0)),
          w2=WGS84Point((13.4, 52.5)), w3=WGS84Point((13.4, 52.5, 34.0)))
d.close()
