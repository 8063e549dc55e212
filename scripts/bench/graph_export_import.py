"""The baseline boltward's snapshot/restore is compared with: a plain export/import script
using the Python driver, the way operators write one (export every node and relationship
to JSON lines, import them with parameterised CREATE statements in batched transactions).

    python graph_export_import.py export URI DB FILE
    python graph_export_import.py import URI DB FILE [--per-row]

Temporal, spatial and byte values go through the driver's types and a JSON encoding
(str/base64), which is lossy: part of why boltward keeps PackStream instead.
Prints "<seconds> <entities>".
"""
import base64, json, sys, time
import neo4j

def enc(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$b": base64.b64encode(v).decode()}
    if isinstance(v, list):
        return [enc(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return {"$s": str(v)}

def dec(v):
    if isinstance(v, dict) and "$b" in v:
        return base64.b64decode(v["$b"])
    if isinstance(v, dict) and "$s" in v:
        return v["$s"]
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v

def export(uri, db, path, auth):
    t0, n = time.time(), 0
    with neo4j.GraphDatabase.driver(uri, auth=auth) as d, d.session(database=db) as s, open(path, "w") as f:
        for r in s.run("MATCH (n) RETURN n"):
            node = r["n"]
            f.write(json.dumps({"k": "n", "id": node.element_id, "l": sorted(node.labels),
                                "p": {k: enc(v) for k, v in node.items()}}) + "\n")
            n += 1
        for r in s.run("MATCH ()-[r]->() RETURN r"):
            rel = r["r"]
            f.write(json.dumps({"k": "r", "t": rel.type, "s": rel.start_node.element_id,
                                "e": rel.end_node.element_id,
                                "p": {k: enc(v) for k, v in rel.items()}}) + "\n")
            n += 1
    print(f"{time.time() - t0:.3f} {n}")

def load(uri, db, path, auth, per_row):
    t0, n, batch = time.time(), 0, 1000
    with neo4j.GraphDatabase.driver(uri, auth=auth) as d, d.session(database=db) as s:
        s.run("CREATE INDEX import_id IF NOT EXISTS FOR (n:Imported) ON (n.import_id)").consume()
        groups = {}
        def flush(key, rows):
            if key[0] == "n":
                labels = "".join(f":`{l}`" for l in key[1])
                q = f"UNWIND $rows AS row CREATE (n:Imported{labels} {{import_id: row.id}}) SET n += row.p"
                one = f"CREATE (n:Imported{labels} {{import_id: $id}}) SET n += $p"
            else:
                q = (f"UNWIND $rows AS row MATCH (a:Imported {{import_id: row.s}}) MATCH (b:Imported {{import_id: row.e}}) "
                     f"CREATE (a)-[r:`{key[1]}`]->(b) SET r += row.p")
                one = (f"MATCH (a:Imported {{import_id: $s}}) MATCH (b:Imported {{import_id: $e}}) "
                       f"CREATE (a)-[r:`{key[1]}`]->(b) SET r += $p")
            with s.begin_transaction() as tx:
                if per_row:
                    for row in rows:
                        tx.run(one, **row).consume()
                else:
                    tx.run(q, rows=rows).consume()
                tx.commit()
        with open(path) as f:
            for line in f:
                o = json.loads(line)
                if o["k"] == "n":
                    key, row = ("n", tuple(o["l"])), {"id": o["id"], "p": {k: dec(v) for k, v in o["p"].items()}}
                else:
                    if any(k[0] == "n" for k in groups):
                        for k in [k for k in groups if k[0] == "n"]:
                            flush(k, groups.pop(k))
                    key, row = ("r", o["t"]), {"s": o["s"], "e": o["e"], "p": {k: dec(v) for k, v in o["p"].items()}}
                rows = groups.setdefault(key, [])
                rows.append(row)
                n += 1
                if len(rows) >= batch:
                    flush(key, groups.pop(key))
        for k in sorted(groups, key=lambda k: k[0]):
            flush(k, groups[k])
        while s.run("MATCH (n:Imported) WITH n LIMIT 10000 SET n.import_id = null REMOVE n:Imported RETURN count(n) AS c").single()["c"]:
            pass
    print(f"{time.time() - t0:.3f} {n}")

if __name__ == "__main__":
    mode, uri, db, path = sys.argv[1:5]
    auth = ("root", sys.argv[5] if len(sys.argv) > 5 and not sys.argv[5].startswith("--") else "bench-password")
    if mode == "export":
        export(uri, db, path, auth)
    else:
        load(uri, db, path, auth, "--per-row" in sys.argv)
