#!/usr/bin/env python3
"""Driver scenarios for boltward's differential integration tests (Python driver).

Runs a fixed set of scenarios with the official `neo4j` Python driver (works with
5.28.x and 6.x) against one Bolt endpoint and prints one JSON object per line:

  {"scenario": NAME, "ok": true|false, "result": <normalized>, "error": null|{...}}

The integration tests run this twice, once directly against the server and once
through boltward, and compare the two outputs (see tests/drivers/compare.py).
Results are normalized so that two runs compare equal: the run id becomes
"<run>", element ids / timings / bookmark contents are dropped, every integer is
the string "i:<n>", non-finite floats are "NaN" / "Infinity" / "-Infinity" and
-0.0 is "-0.0". tests/drivers/scenarios.mjs produces the same format.

Usage:
  python scenarios.py --uri bolt://127.0.0.1:7687 --password PW --db neo4j --db2 other
         --run-id ID [--user root] [--scenarios a,b,c] [--ca-file CA.pem]

Exit status: 0 when every scenario ran (even if some failed), 2 on a usage error.
"""

import argparse
import concurrent.futures
import hashlib
import json
import math
import re
import sys
import threading
import time
import urllib.parse
import warnings

import neo4j
from neo4j import GraphDatabase
from neo4j.exceptions import Neo4jError, TransientError
from neo4j.graph import Node, Path, Relationship
from neo4j.spatial import CartesianPoint, Point, WGS84Point
from neo4j.time import Date, DateTime, Duration, Time
import pytz  # a dependency of neo4j 5.x and 6.x; needed for offsets on Time values

SCENARIOS = [
    "auto_commit",
    "explicit_tx",
    "execute_query",
    "managed_tx_retry",
    "large_result",
    "large_param",
    "value_types",
    "syntax_error_recovery",
    "bookmarks",
    "two_databases",
    "concurrent_sessions",
    "routing",
]

LARGE_RESULT_ROWS = 100_000
LARGE_STRING_CHARS = 1_100_000
LARGE_LIST_LEN = 20_000
CONCURRENT_SESSIONS = 50
UNKNOWN_DB = "boltward_no_such_database"


class CheckFailed(Exception):
    """A scenario observed something other than what it expects."""


def check(cond, what):
    if not cond:
        raise CheckFailed(what)


# --------------------------------------------------------------------------
# normalization


def _fmt_offset(seconds):
    sign = "-" if seconds < 0 else "+"
    s = abs(int(seconds))
    out = "%s%02d:%02d" % (sign, s // 3600, (s % 3600) // 60)
    if s % 60:
        out += ":%02d" % (s % 60)
    return out


def _fmt_time(t):
    return "%02d:%02d:%02d.%09d" % (t.hour, t.minute, t.second, t.nanosecond)


def _fmt_date(d):
    return "%04d-%02d-%02d" % (d.year, d.month, d.day)


def _zone_name(tz):
    for attr in ("zone", "key"):  # pytz / zoneinfo
        name = getattr(tz, attr, None)
        if isinstance(name, str):
            return name
    return None


def norm(v):
    """Driver value -> JSON-able value, identical to normalize() in scenarios.mjs."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return "i:%d" % v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        if v == 0.0 and math.copysign(1.0, v) < 0:
            return "-0.0"
        return v
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": bytes(v).hex()}
    if isinstance(v, Node):
        return {"$node": {"labels": sorted(v.labels), "props": norm(dict(v.items()))}}
    if isinstance(v, Relationship):
        return {"$rel": {"type": v.type, "props": norm(dict(v.items()))}}
    if isinstance(v, Path):
        nodes = list(v.nodes)
        rels = []
        for i, r in enumerate(v.relationships):
            nr = norm(r)
            nr["$rel"]["forward"] = r.start_node.element_id == nodes[i].element_id
            rels.append(nr)
        return {"$path": {"nodes": [norm(n) for n in nodes], "rels": rels}}
    if isinstance(v, DateTime):
        local = "%sT%s" % (_fmt_date(v), _fmt_time(v))
        if v.tzinfo is None:
            return {"$localdatetime": local}
        off = v.utcoffset()
        return {
            "$datetime": local,
            "offset": None if off is None else _fmt_offset(off.total_seconds()),
            "zone": _zone_name(v.tzinfo),
        }
    if isinstance(v, Date):
        return {"$date": _fmt_date(v)}
    if isinstance(v, Time):
        if v.tzinfo is None:
            return {"$localtime": _fmt_time(v)}
        off = v.utcoffset()
        return {"$time": _fmt_time(v), "offset": None if off is None else _fmt_offset(off.total_seconds())}
    if isinstance(v, Duration):
        return {"$duration": {"months": norm(v.months), "days": norm(v.days),
                              "seconds": norm(v.seconds), "nanoseconds": norm(v.nanoseconds)}}
    if isinstance(v, Point):
        return {"$point": {"srid": norm(v.srid), "coords": [norm(float(c)) for c in v]}}
    # after the driver types: Duration and Point are tuple subclasses
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, dict):
        return {str(k): norm(x) for k, x in v.items()}
    return {"$unknown": type(v).__name__, "repr": repr(v)}


class Normalizer:
    """Final pass over a scenario's JSON: hide the run id and server addresses."""

    def __init__(self, run_id, uri):
        self.run_id = run_id
        host_port = urllib.parse.urlsplit(uri).netloc.rsplit("@", 1)[-1]
        pats = [
            r"\b(?:localhost|127\.0\.0\.1)(?::\d+)?\b",
            r"\[?::1\]?:\d+",
            r"\('(?:localhost|127\.0\.0\.1|::1)', \d+(?:, \d+, \d+)?\)",
        ]
        # ArcadeDB's DatabaseNotFound message names the server's directory
        self.dir_re = re.compile(r"/[^\s'\"]*/databases/")
        if host_port:
            pats.insert(0, re.escape(host_port))
        self.addr_re = re.compile("|".join(pats))

    def text(self, s):
        if self.run_id:
            s = s.replace(self.run_id, "<run>")
        s = self.dir_re.sub("<dir>/databases/", s)
        return self.addr_re.sub("<addr>", s)

    def __call__(self, v):
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self(x) for x in v]
        if isinstance(v, dict):
            return {self.text(k): self(x) for k, x in v.items()}
        return v


def err_info(e):
    """Exception -> {"type", "code", "message", ...} (code None for non-server errors)."""
    code = getattr(e, "code", None) if isinstance(e, Neo4jError) else None
    info = {
        "type": type(e).__name__,
        "code": code,
        "message": getattr(e, "message", None) or str(e),
    }
    if isinstance(e, Neo4jError):
        info["classification"] = code.split(".")[1] if code and code.count(".") >= 2 else None
        info["gql_status"] = getattr(e, "gql_status", None)
    if isinstance(e, (Neo4jError, neo4j.exceptions.DriverError)):
        info["retryable"] = bool(e.is_retryable())
    return info


def sub_error(e):
    """Short error form for per-value results."""
    info = err_info(e)
    return {"error": info["code"] or info["type"], "message": info["message"]}


def records_of(result):
    return [norm(dict(r.items())) for r in result]


def counters_of(summary):
    c = summary.counters
    return {
        "nodes_created": c.nodes_created,
        "nodes_deleted": c.nodes_deleted,
        "relationships_created": c.relationships_created,
        "properties_set": c.properties_set,
        "labels_added": c.labels_added,
        "contains_updates": c.contains_updates,
    }


def summary_of(summary):
    return {
        "query_type": summary.query_type,
        "counters": norm(counters_of(summary)),
        "database": summary.database,
    }


def bookmark_info(bookmarks):
    raw = list(bookmarks.raw_values) if bookmarks is not None else []
    return {"present": len(raw) > 0, "count": norm(len(raw))}


# --------------------------------------------------------------------------
# scenarios


class Ctx:
    def __init__(self, args, driver):
        self.args = args
        self.driver = driver
        self.db = args.db
        self.db2 = args.db2
        self.run = args.run_id
        self.scheme = urllib.parse.urlsplit(args.uri).scheme.lower()

    def session(self, db=None, **kw):
        return self.driver.session(database=db or self.db, **kw)


def sc_auto_commit(ctx, out):
    with ctx.session() as s:
        res = s.run("CREATE (n:BwAuto {run: $run, name: $name, n: $n}) RETURN n.name AS name, n.n AS n",
                    run=ctx.run, name="auto", n=42)
        out["create_records"] = records_of(res)
        out["create_summary"] = summary_of(res.consume())
        res = s.run("MATCH (n:BwAuto {run: $run}) RETURN n.name AS name, n.n AS n, labels(n) AS labels",
                    run=ctx.run)
        out["read_records"] = records_of(res)
        out["read_summary"] = summary_of(res.consume())
        out["bookmark_after_auto_commit"] = bookmark_info(s.last_bookmarks())
    check(len(out["read_records"]) == 1, "read back exactly one node")


def _count(tx_or_session, label, run):
    return tx_or_session.run("MATCH (n:%s {run: $run}) RETURN count(n) AS c" % label, run=run).single()["c"]


def sc_explicit_tx(ctx, out):
    with ctx.session() as s:
        tx = s.begin_transaction()
        tx.run("CREATE (:BwTx {run: $run, step: 1})", run=ctx.run).consume()
        res = tx.run("CREATE (n:BwTx {run: $run, step: 2}) RETURN n.step AS step", run=ctx.run)
        out["second_statement"] = records_of(res)
        out["in_tx_count"] = norm(_count(tx, "BwTx", ctx.run))
        tx.commit()
        out["after_commit"] = norm(_count(s, "BwTx", ctx.run))
        out["bookmark_after_commit"] = bookmark_info(s.last_bookmarks())

        tx = s.begin_transaction()
        tx.run("CREATE (:BwTx {run: $run, step: 3})", run=ctx.run).consume()
        out["in_rolled_back_tx_count"] = norm(_count(tx, "BwTx", ctx.run))
        tx.rollback()
        out["after_rollback"] = norm(_count(s, "BwTx", ctx.run))
        res = s.run("MATCH (n:BwTx {run: $run}) RETURN n.step AS step ORDER BY step", run=ctx.run)
        out["steps"] = records_of(res)
    check(out["after_commit"] == "i:2", "commit kept both statements")
    check(out["after_rollback"] == "i:2", "rollback discarded the write")


def sc_execute_query(ctx, out):
    d = ctx.driver
    recs, summ, keys = d.execute_query(
        "UNWIND range(1, 3) AS k CREATE (n:BwEq {run: $run, k: k}) RETURN n.k AS k ORDER BY k",
        run=ctx.run, database_=ctx.db, routing_=neo4j.RoutingControl.WRITE)
    out["write"] = {"keys": list(keys), "records": [norm(dict(r.items())) for r in recs],
                    "summary": summary_of(summ)}
    recs, summ, keys = d.execute_query(
        "MATCH (n:BwEq {run: $run}) RETURN n.k AS k, n.run AS run ORDER BY k",
        parameters_={"run": ctx.run}, database_=ctx.db, routing_=neo4j.RoutingControl.READ)
    out["read"] = {"keys": list(keys), "records": [norm(dict(r.items())) for r in recs],
                   "summary": summary_of(summ)}
    check(len(recs) == 3, "read back the 3 nodes")


def sc_managed_tx_retry(ctx, out):
    attempts = []

    def work(tx):
        attempts.append(len(attempts) + 1)
        tx.run("CREATE (:BwRetry {run: $run, attempt: $a})", run=ctx.run, a=len(attempts)).consume()
        if len(attempts) == 1:
            raise TransientError("boltward scenario: simulated transient failure")
        return tx.run("MATCH (n:BwRetry {run: $run}) RETURN n.attempt AS a ORDER BY a", run=ctx.run).values()

    with ctx.session() as s:
        inside = s.execute_write(work)
        out["attempts"] = norm(len(attempts))
        out["seen_inside_last_attempt"] = norm(inside)
        res = s.run("MATCH (n:BwRetry {run: $run}) RETURN n.attempt AS a ORDER BY a", run=ctx.run)
        out["committed"] = norm(res.values())
        out["bookmark"] = bookmark_info(s.last_bookmarks())
    check(len(attempts) == 2, "retried exactly once")
    check(out["committed"] == [["i:2"]], "only the second attempt was committed")


def sc_large_result(ctx, out):
    with ctx.session() as s:
        res = s.run("UNWIND range(1, $n) AS i RETURN i", n=LARGE_RESULT_ROWS)
        count = total = 0
        first = last = None
        for rec in res:
            i = rec[0]
            if first is None:
                first = i
            last = i
            count += 1
            total += i
        out["count"] = norm(count)
        out["sum"] = norm(total)
        out["first"] = norm(first)
        out["last"] = norm(last)
        out["summary"] = summary_of(res.consume())
    check(count == LARGE_RESULT_ROWS, "streamed every record")


def large_param_values():
    s = ("abcdefghi" + "\u00e9") * (LARGE_STRING_CHARS // 10)
    lst = [(i - LARGE_LIST_LEN // 2) ** 3 for i in range(LARGE_LIST_LEN)]
    return s, lst


def sc_large_param(ctx, out):
    s, lst = large_param_values()
    with ctx.session() as sess:
        rec = sess.run(
            "RETURN size($s) AS slen, $s AS s, size($l) AS llen, $l AS l, "
            "reduce(acc = 0, x IN $l | acc + x) AS lsum",
            s=s, l=lst).single()
    rs, rl = rec["s"], rec["l"]
    out["sent"] = {"string_chars": norm(len(s)), "string_utf8_bytes": norm(len(s.encode("utf-8"))),
                   "string_sha256": hashlib.sha256(s.encode("utf-8")).hexdigest(),
                   "list_len": norm(len(lst)), "list_sum": norm(sum(lst))}
    out["returned"] = {
        "size_s": norm(rec["slen"]),
        "string_sha256": hashlib.sha256(rs.encode("utf-8")).hexdigest() if isinstance(rs, str) else None,
        "string_equal": rs == s,
        "size_l": norm(rec["llen"]),
        "list_equal": rl == lst,
        "list_sum_client": norm(sum(rl)) if isinstance(rl, list) else None,
        "list_sum_server": norm(rec["lsum"]),
    }
    check(rs == s and rl == lst, "large parameters echoed unchanged")


def _fixed(minutes):
    return pytz.FixedOffset(minutes)


def param_values():
    """(name, value) pairs; scenarios.mjs builds the same values."""
    return [
        ("null", None),
        ("bool_true", True),
        ("bool_false", False),
        ("int_zero", 0),
        ("int_max", 2 ** 63 - 1),
        ("int_min", -(2 ** 63)),
        ("int_neg_max", -(2 ** 63 - 1)),
        ("int_boundaries", [-17, -16, 127, 128, -128, -129, 32767, 32768, -32768, -32769,
                            2147483647, 2147483648, -2147483648, -2147483649]),
        ("float", 3.141592653589793),
        ("float_nan", float("nan")),
        ("float_inf", float("inf")),
        ("float_ninf", float("-inf")),
        ("float_negzero", -0.0),
        ("float_tiny", 5e-324),
        ("float_max", 1.7976931348623157e308),
        ("string_empty", ""),
        ("string_unicode", "h\u00e9llo \u2713 \U0001F600 \u4e2d\u6587 \"q\" \\ \n\t nul:\u0000"),
        ("bytes_empty", b""),
        ("bytes", bytes(range(256))),
        ("list_empty", []),
        ("list_mixed", [1, "a", None, 2.5, True]),
        ("map_empty", {}),
        ("map", {"a": 1, "b": "x", "c": None, "d": [1, 2]}),
        ("nested", {"l": [{"m": [1, [2, {"n": None}]]}, []], "e": {"f": {"g": [True, 1.5]}}}),
        ("date", Date(2024, 2, 29)),
        ("time_offset", Time(12, 34, 56, 123456789, tzinfo=_fixed(120))),
        ("local_time", Time(1, 2, 3, 4)),
        ("datetime_offset", DateTime(2024, 1, 2, 3, 4, 5, 6, tzinfo=_fixed(-330))),
        ("datetime_zone", pytz.timezone("Europe/Berlin").localize(DateTime(2024, 7, 1, 12, 0, 0, 1000))),
        ("datetime_zone_winter", pytz.timezone("Europe/Berlin").localize(DateTime(2024, 1, 15, 8, 30, 0, 0))),
        ("local_datetime", DateTime(2024, 1, 2, 3, 4, 5, 999999999)),
        ("duration", Duration(months=14, days=3, seconds=7, nanoseconds=5)),
        ("point_cartesian_2d", CartesianPoint((1.5, -2.5))),
        ("point_wgs84_2d", WGS84Point((13.4, 52.5))),
        ("point_cartesian_3d", CartesianPoint((1.0, 2.0, 3.0))),
        ("point_wgs84_3d", WGS84Point((13.4, 52.5, 100.0))),
    ]


CYPHER_VALUES = [
    ("int_max", "RETURN 9223372036854775807 AS v"),
    ("int_min", "RETURN -9223372036854775807 - 1 AS v"),
    ("int_overflow", "RETURN 9223372036854775807 + 1 AS v"),
    ("int_div_zero", "RETURN 1 / 0 AS v"),
    ("float_nan", "RETURN 0.0 / 0.0 AS v"),
    ("float_inf", "RETURN 1.0 / 0.0 AS v"),
    ("float_negzero", "RETURN -0.0 AS v"),
    ("string_unicode", "RETURN 'h\u00e9llo \u2713 \U0001F600' AS v"),
    ("list", "RETURN [1, 'a', null, 2.5, [true]] AS v"),
    ("map", "RETURN {a: 1, b: {c: [1, 2]}} AS v"),
    ("date", "RETURN date('2024-02-29') AS v"),
    ("time_offset", "RETURN time('12:34:56.123456789+02:00') AS v"),
    ("local_time", "RETURN localtime('01:02:03.000000004') AS v"),
    ("datetime_offset", "RETURN datetime('2024-01-02T03:04:05.000000006-05:30') AS v"),
    ("datetime_zone", "RETURN datetime('2024-07-01T12:00:00.000001[Europe/Berlin]') AS v"),
    ("datetime_zone_map", "RETURN datetime({year: 2024, month: 1, day: 15, hour: 8, minute: 30, "
                          "timezone: 'Europe/Berlin'}) AS v"),
    ("local_datetime", "RETURN localdatetime('2024-01-02T03:04:05.999999999') AS v"),
    ("duration", "RETURN duration('P1Y2M3DT7.000000005S') AS v"),
    ("duration_between", "RETURN duration.between(date('2024-01-01'), date('2024-03-15')) AS v"),
    ("point_cartesian_2d", "RETURN point({x: 1.5, y: -2.5}) AS v"),
    ("point_wgs84_2d", "RETURN point({longitude: 13.4, latitude: 52.5}) AS v"),
    ("point_cartesian_3d", "RETURN point({x: 1.0, y: 2.0, z: 3.0}) AS v"),
    ("point_wgs84_3d", "RETURN point({longitude: 13.4, latitude: 52.5, height: 100.0}) AS v"),
    ("distance", "RETURN point.distance(point({x: 0.0, y: 0.0}), point({x: 3.0, y: 4.0})) AS v"),
]


def sc_value_types(ctx, out):
    values = param_values()
    with ctx.session() as s:
        for name, v in values:
            try:
                out["param/" + name] = norm(s.run("RETURN $v AS v", v=v).single(strict=True)["v"])
            except Exception as e:  # noqa: BLE001 - each value is reported on its own
                out["param/" + name] = sub_error(e)
        for name, q in CYPHER_VALUES:
            try:
                out["cypher/" + name] = norm(s.run(q).single(strict=True)["v"])
            except Exception as e:  # noqa: BLE001
                out["cypher/" + name] = sub_error(e)
        for name, v in values:
            try:
                s.run("CREATE (n:BwValue {run: $run, name: $name, v: $v})", run=ctx.run, name=name, v=v).consume()
                rec = s.run("MATCH (n:BwValue {run: $run, name: $name}) RETURN n.v AS v",
                            run=ctx.run, name=name).single(strict=True)
                out["property/" + name] = norm(rec["v"])
            except Exception as e:  # noqa: BLE001
                out["property/" + name] = sub_error(e)
        try:
            s.run("CREATE (a:BwVtA:BwVtStart {run: $run, name: 'a', n: 1})"
                  "-[:BW_VT_REL {run: $run, w: 2.5}]->(b:BwVtB {run: $run, name: 'b', tags: ['x', 'y']})"
                  "<-[:BW_VT_BACK {run: $run}]-(c:BwVtC {run: $run, name: 'c'})", run=ctx.run).consume()
            rec = s.run("MATCH p = (a:BwVtA)-[r:BW_VT_REL]->(b) WHERE a.run = $run RETURN a, r, b, p",
                        run=ctx.run).single(strict=True)
            out["graph/one_hop"] = {k: norm(rec[k]) for k in ("a", "r", "b", "p")}
        except Exception as e:  # noqa: BLE001
            out["graph/one_hop"] = sub_error(e)
        try:
            rec = s.run("MATCH p = (a:BwVtA)-[:BW_VT_REL]->(b)<-[:BW_VT_BACK]-(c) WHERE a.run = $run "
                        "RETURN p, length(p) AS len, [n IN nodes(p) | n.name] AS names, "
                        "[r IN relationships(p) | type(r)] AS types", run=ctx.run).single(strict=True)
            out["graph/two_hop_mixed_direction"] = {k: norm(rec[k]) for k in ("p", "len", "names", "types")}
        except Exception as e:  # noqa: BLE001
            out["graph/two_hop_mixed_direction"] = sub_error(e)


def sc_syntax_error_recovery(ctx, out):
    with ctx.session() as s:
        try:
            res = s.run("THIS IS NOT CYPHER")
            out["bad_records"] = records_of(res)
            out["bad"] = None
        except Exception as e:  # noqa: BLE001
            out["bad"] = err_info(e)
        out["after"] = norm(s.run("RETURN 1 AS one").single(strict=True)["one"])
        out["after_second"] = norm(s.run("RETURN $x AS x", x="again").single(strict=True)["x"])
    check(out["bad"] is not None, "the syntax error was reported")
    check(out["after"] == "i:1", "the session recovered")


def sc_bookmarks(ctx, out):
    with ctx.session() as a:
        a.run("CREATE (:BwBm {run: $run, how: 'auto'})", run=ctx.run).consume()
        out["after_auto_commit"] = bookmark_info(a.last_bookmarks())
        a.execute_write(lambda tx: tx.run("CREATE (:BwBm {run: $run, how: 'managed'})", run=ctx.run).consume())
        bms = a.last_bookmarks()
        out["after_managed_write"] = bookmark_info(bms)
    with ctx.session(bookmarks=bms) as b:
        res = b.execute_read(lambda tx: tx.run(
            "MATCH (n:BwBm {run: $run}) RETURN n.how AS how ORDER BY how", run=ctx.run).values())
        out["read_with_bookmarks"] = norm(res)
        out["reader_last_bookmarks"] = bookmark_info(b.last_bookmarks())
    check(out["read_with_bookmarks"] == [["auto"], ["managed"]], "session B sees both writes")


def sc_two_databases(ctx, out):
    # A driver (connection pool) of its own: its connections switch between the two
    # databases, and the shared driver's connections stay on --db. (ArcadeDB treats
    # a `db` of "neo4j" or "system" as "keep the connection's current database", so
    # switching back to a database named neo4j does not work there; see README.md.)
    d = make_driver(ctx.args)
    try:
        for key, db in (("db1", ctx.db), ("db2", ctx.db2)):
            with d.session(database=db) as s:
                s.run("CREATE (:BwTwoDb {run: $run, where: $w})", run=ctx.run, w=key).consume()
        for key, db in (("db1", ctx.db), ("db2", ctx.db2)):
            with d.session(database=db) as s:
                out["read_" + key] = norm(s.run("MATCH (n:BwTwoDb {run: $run}) RETURN n.where AS w ORDER BY w",
                                                run=ctx.run).values())
            recs, _, _ = d.execute_query("MATCH (n:BwTwoDb {run: $run}) RETURN count(n) AS c",
                                         run=ctx.run, database_=db)
            out["count_" + key] = norm(recs[0]["c"])
        try:
            with d.session(database=UNKNOWN_DB) as s:
                out["unknown_db"] = norm(s.run("RETURN 1 AS one").values())
        except Exception as e:  # noqa: BLE001
            out["unknown_db"] = sub_error(e)
        # both databases are still usable on the pooled connections afterwards
        for key, db in (("db1", ctx.db), ("db2", ctx.db2)):
            recs, _, _ = d.execute_query("MATCH (n:BwTwoDb {run: $run}) RETURN n.where AS w",
                                         run=ctx.run, database_=db)
            out[key + "_after_unknown"] = [norm(r["w"]) for r in recs]
    finally:
        d.close()
    check(out["read_db1"] == [["db1"]] and out["read_db2"] == [["db2"]], "databases are isolated")
    check(out["db1_after_unknown"] == ["db1"] and out["db2_after_unknown"] == ["db2"],
          "databases are isolated after the unknown-database error")


def sc_concurrent_sessions(ctx, out):
    n = CONCURRENT_SESSIONS
    barrier = threading.Barrier(n)

    def worker(i):
        with ctx.session() as s:
            try:
                barrier.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
            s.run("CREATE (:BwConc {run: $run, i: $i})", run=ctx.run, i=i).consume()
            c = s.run("MATCH (n:BwConc {run: $run, i: $i}) RETURN count(n) AS c", run=ctx.run, i=i).single()["c"]
            if c != 1:
                raise CheckFailed("session %d read back %d nodes" % (i, c))

    errors = {}
    ok = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        for fut in [pool.submit(worker, i) for i in range(n)]:
            try:
                fut.result()
                ok += 1
            except Exception as e:  # noqa: BLE001
                key = err_info(e)["code"] or type(e).__name__
                errors[key] = errors.get(key, 0) + 1
    out["sessions"] = norm(n)
    out["succeeded"] = norm(ok)
    out["errors"] = {k: norm(v) for k, v in sorted(errors.items())}
    with ctx.session() as s:
        out["total_nodes"] = norm(_count(s, "BwConc", ctx.run))
    check(ok == n, "every concurrent session succeeded")


def _port_of(address, default):
    try:
        return int(address.port)
    except Exception:  # noqa: BLE001
        return default


def sc_routing(ctx, out):
    if not ctx.scheme.startswith("neo4j"):
        out["skipped"] = "bolt"
        return
    uri_port = urllib.parse.urlsplit(ctx.args.uri).port or 7687
    d = ctx.driver
    recs, summ, _ = d.execute_query("CREATE (n:BwRoute {run: $run}) RETURN count(n) AS c", run=ctx.run,
                                    database_=ctx.db, routing_=neo4j.RoutingControl.WRITE)
    out["write"] = {"records": [norm(dict(r.items())) for r in recs], "query_type": summ.query_type,
                    "server_port_is_uri_port": _port_of(summ.server.address, None) == uri_port}
    recs, summ, _ = d.execute_query("MATCH (n:BwRoute {run: $run}) RETURN count(n) AS c", run=ctx.run,
                                    database_=ctx.db, routing_=neo4j.RoutingControl.READ)
    out["read"] = {"records": [norm(dict(r.items())) for r in recs], "query_type": summ.query_type,
                   "server_port_is_uri_port": _port_of(summ.server.address, None) == uri_port}
    with ctx.session(default_access_mode=neo4j.READ_ACCESS) as s:
        out["read_session"] = norm(s.execute_read(
            lambda tx: tx.run("MATCH (n:BwRoute {run: $run}) RETURN count(n) AS c", run=ctx.run).single()["c"]))
    check(out["read"]["records"] == [{"c": "i:1"}], "routed read sees the routed write")


# --------------------------------------------------------------------------


def make_driver(args):
    uri = args.uri
    parts = urllib.parse.urlsplit(uri)
    kw = dict(
        auth=(args.user, args.password),
        max_connection_pool_size=CONCURRENT_SESSIONS + 14,
        connection_timeout=10.0,
        connection_acquisition_timeout=30.0,
        max_transaction_retry_time=15.0,
    )
    if args.ca_file and parts.scheme.endswith("+s"):
        uri = urllib.parse.urlunsplit(parts._replace(scheme=parts.scheme[:-2]))
        kw["encrypted"] = True
        kw["trusted_certificates"] = neo4j.TrustCustomCAs(args.ca_file)
    return GraphDatabase.driver(uri, **kw)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Run boltward driver scenarios (Python driver).")
    p.add_argument("--uri", required=True)
    p.add_argument("--user", default="root")
    p.add_argument("--password", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--db2", required=True)
    p.add_argument("--run-id", required=True)
    p.add_argument("--scenarios", default="")
    p.add_argument("--ca-file", default=None)
    args = p.parse_args(argv)  # exits 2 on a usage error
    names = [s.strip() for s in args.scenarios.split(",") if s.strip()] or list(SCENARIOS)
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        p.error("unknown scenario(s): %s (known: %s)" % (", ".join(unknown), ", ".join(SCENARIOS)))
    scheme = urllib.parse.urlsplit(args.uri).scheme.lower()
    if scheme not in ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"):
        p.error("unsupported URI scheme %r" % scheme)
    if len(args.run_id) < 6:
        # it is replaced by "<run>" everywhere in the output, so it must not be a common substring
        p.error("--run-id must be at least 6 characters (and unique per run)")
    args.scenario_list = names
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    warnings.simplefilter("ignore")
    fix = Normalizer(args.run_id, args.uri)
    driver = make_driver(args)
    ctx = Ctx(args, driver)
    try:
        for name in args.scenario_list:
            out = {}
            line = {"scenario": name, "ok": True, "result": out, "error": None}
            t0 = time.monotonic()
            try:
                globals()["sc_" + name](ctx, out)
            except Exception as e:  # noqa: BLE001 - reported, not raised
                line["ok"] = False
                line["error"] = err_info(e)
            print(json.dumps(fix(line), sort_keys=True, ensure_ascii=False, allow_nan=False), flush=True)
            # timings go to stderr only, so that two runs' stdout compare equal
            print("scenarios.py: %s %s %.2fs" % (name, "ok" if line["ok"] else "FAILED", time.monotonic() - t0),
                  file=sys.stderr, flush=True)
    finally:
        try:
            driver.close()
        except Exception:  # noqa: BLE001
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
