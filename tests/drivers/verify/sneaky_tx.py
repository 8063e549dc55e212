"""An explicit transaction, run by $WHO (password pw) against $URI, whose only statement the
server reports as a write: prints what the COMMIT answered (committed, or the error's code
and message), then whether the session still answers.
"""

import os, neo4j
from neo4j.exceptions import ClientError
d = neo4j.GraphDatabase.driver(os.environ["URI"], auth=(os.environ["WHO"], "pw"))
with d.session(database="neo4j") as s:
    tx = s.begin_transaction()
    tx.run("RETURN 'sneaky' AS x").consume()
    try:
        tx.commit()
        print("committed")
    except ClientError as e:
        print(e.code, e.message)
    print(s.run("RETURN 1 AS x").single()["x"])
