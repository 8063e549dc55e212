"""A janitor (user agent janitor/1, through $PROXY) deletes six nodes one at a time; the
delete-rate breaker must stop it after three. Prints one JSON object: what each delete
answered and how many nodes are left. Environment: RUN, PW, DIRECT, PROXY.
"""

import os, json, neo4j
from neo4j.exceptions import ClientError
run = os.environ["RUN"]
auth = ("root", os.environ["PW"])
admin = neo4j.GraphDatabase.driver(os.environ["DIRECT"], auth=auth)
j = neo4j.GraphDatabase.driver(os.environ["PROXY"], auth=auth, user_agent="janitor/1")
admin.execute_query("UNWIND range(1, 6) AS k CREATE (:Rate {run: $run, k: k})", run=run, database_="alpha")
out = []
for k in range(1, 7):
    try:
        j.execute_query("MATCH (n:Rate {run: $run, k: $k}) DELETE n", run=run, k=k, database_="alpha")
        out.append("deleted")
    except ClientError as e:
        out.append(e.message)
left = admin.execute_query("MATCH (n:Rate {run: $run}) RETURN count(n) AS c", run=run, database_="alpha").records[0]["c"]
print(json.dumps({"out": out, "left": left}))
