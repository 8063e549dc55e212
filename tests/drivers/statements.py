"""Runs Cypher statements with the Python driver and prints what each one did.

  python statements.py --uri URI [--user root] [--password PW] [--agent UA] [--db DB]
      [--mode auto|execute_query] [--params JSON] [--cert FILE --key FILE]
      [--timeout SECONDS] STATEMENT...

The password defaults to $PW. With --mode auto (the default) every statement is an
auto-commit query, all in one session; with execute_query each one is the driver's
execute_query (a managed transaction). --params is a JSON object passed to every
statement. Prints one JSON object per statement:

  {"ok": true, "records": [[value, ...], ...], "server": "host:port"}
  {"ok": false, "type": "Forbidden", "code": "...", "message": "...", "gql_status": "..."}

A server's refusal is data (exit 0); a driver that cannot connect or is refused a TLS
handshake exits 1 with the error on stderr.
"""

import argparse
import json
import os

import neo4j
from neo4j.exceptions import Neo4jError


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--uri", required=True)
    p.add_argument("--user", default="root")
    p.add_argument("--password", default=os.environ.get("PW", ""))
    p.add_argument("--agent")
    p.add_argument("--db")
    p.add_argument("--mode", choices=["auto", "execute_query"], default="auto")
    p.add_argument("--params", default="{}")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--timeout", type=float)
    p.add_argument("statements", nargs="+")
    a = p.parse_args()

    options = {}
    if a.agent:
        options["user_agent"] = a.agent
    if a.timeout:
        options["connection_timeout"] = a.timeout
    if a.cert:
        from neo4j.auth_management import ClientCertificate

        options["client_certificate"] = ClientCertificate(a.cert, a.key)
    params = json.loads(a.params)
    with neo4j.GraphDatabase.driver(a.uri, auth=(a.user, a.password), **options) as d:
        with d.session(database=a.db) as s:
            for q in a.statements:
                try:
                    if a.mode == "auto":
                        result = s.run(q, params)
                        records = [list(r.values()) for r in result]
                        server = result.consume().server.address
                    else:
                        eager = d.execute_query(q, params, database_=a.db)
                        records = [list(r.values()) for r in eager.records]
                        server = eager.summary.server.address
                    out = {"ok": True, "records": records, "server": f"{server[0]}:{server[1]}"}
                except Neo4jError as e:
                    out = {
                        "ok": False,
                        "type": type(e).__name__,
                        "code": e.code,
                        "message": e.message,
                        "gql_status": getattr(e, "gql_status", None),
                    }
                print(json.dumps(out, default=str), flush=True)


main()
